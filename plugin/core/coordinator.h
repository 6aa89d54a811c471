// The Coordinator: the governance operations on proposals, each acting as an authenticated
// principal passed in by the caller (REST surface, CLI). Identity is never read from a request
// body: the approver is the `who` argument, re-resolved in the PrincipalDirectory so only its
// configured roles count.
//
// Every operation that shows content (View, ReviewDiff), submits, or decides is audited in the
// store's hash-chained trail; refused decisions are audited with outcome 4 (minor failure).
//
// Threading: thread-safe if the Store is (SqliteStore is); dependencies must outlive it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/json.h"
#include "fhir/reference.h"
#include "fhir/status.h"
#include "mappings/engine.h"
#include "plugin/core/approval_policy.h"
#include "plugin/core/clock.h"
#include "plugin/core/guardrails.h"
#include "plugin/core/principals.h"
#include "plugin/core/store.h"

namespace countersign::core {

// Reads a resource's current version from the FHIR server ("Appointment/1" -> the resource).
using CurrentReader = std::function<Result<json::Document>(const std::string& type_and_id)>;

struct CoordinatorDeps {
  Store* store = nullptr;
  const mappings::MappingEngine* mapper = nullptr;
  const PrincipalDirectory* principals = nullptr;
  const ApprovalPolicy* policy = nullptr;
  const Guardrails* guardrails = nullptr;
  Clock* clock = nullptr;  // SystemClock() when null
  // For drafts that update a resource without embedding its base version (MapContext).
  std::function<Result<json::Document>(const fhir::Reference&)> resolve_base;
};

struct SubmitResult {
  Proposal proposal;
  bool created = true;  // false: an idempotent re-submission returned the earlier proposal
};

// A reviewer's edit: exactly one of the two.
struct Amendment {
  std::optional<std::string> draft_json;    // an edited draft: mapped again like a submission
  std::optional<std::string> bundle_patch;  // RFC 6902 patch on the pending Bundle's resources
  std::string note;                         // why (free text)
  // The revision the edit was made on; kConflict when the proposal has moved on since. Unset:
  // the current revision.
  std::optional<int64_t> revision;
};

struct RejectReason {
  std::string code;  // one of the policy's reject_reasons
  std::string text;  // free text; required for code "other"
};

class Coordinator {
 public:
  explicit Coordinator(CoordinatorDeps deps);

  // Maps the draft, applies guardrails and the owner policy, stores it pending. kForbidden for
  // a principal without a submit role or a guardrail violation (operation_outcome() names it);
  // kInvalid for a draft the mapping refuses; kConflict for a reused idempotency key.
  Result<SubmitResult> Submit(const Principal& who, std::string_view draft_json);

  // The proposal with content and history; the view is audited (it shows PHI).
  Result<Proposal> View(const Principal& who, const std::string& id);
  // The queue: summaries only (no content), for roles that may view.
  Result<ProposalPage> List(const Principal& who, const ProposalFilter& filter,
                            const PageRequest& page);

  // Approves `revision`, the revision the approver saw; kConflict (nothing changes) when the
  // proposal has moved on to another revision since, e.g. an amendment by someone else. Without
  // a revision the current one is approved: for callers that showed nothing (REST, the CLI and
  // the C ABI always pass one). With a two-approver rule the first approval leaves the proposal
  // pending; a second distinct approver of the same revision approves it. Approvals count for
  // their revision only: an amendment starts the count again. The final approval adds the
  // verifier(s) to the Provenance and writes the outbox entry in the same transaction.
  Result<Proposal> Approve(const Principal& who, const std::string& id, std::string note = {},
                           std::optional<int64_t> revision = std::nullopt);
  // Edits, re-validates, guardrail-checks, stores a revision beside the original, and approves
  // it as the same principal (who also becomes the revision's author in the Provenance).
  Result<Proposal> AmendAndApprove(const Principal& who, const std::string& id,
                                   const Amendment& amendment);
  // Rejects with a coded reason (kInvalid when the code is missing or unknown).
  Result<Proposal> Reject(const Principal& who, const std::string& id, const RejectReason& reason);
  Result<Proposal> Reassign(const Principal& who, const std::string& id,
                            const std::string& new_owner, const std::string& reason);

  // A failed commit queued again by a person who may approve its kind, once the cause is fixed
  // (the server's auth, an outage longer than the retry budget, a rule the server enforced):
  // failed -> approved with a new outbox entry for the same approved content, and the commit
  // engine reconciles with the server first, so nothing an earlier attempt wrote is duplicated.
  // kIllegalState unless failed, or when the failed attempt marked resources it had created
  // entered-in-error (a retry would count them as written; submit the draft anew instead);
  // kInvalid without a reason.
  Result<Proposal> RetryCommit(const Principal& who, const std::string& id,
                               const std::string& reason);

  // A proposal in conflict (the server moved past its base version): carries each update's own
  // change (its patch minus the "test" guards) over to the server's current version, as a new
  // revision with If-Match on that version, and moves it back to pending for a fresh approval.
  // kConflict when the change no longer applies (the same elements moved): nothing changes.
  Result<Proposal> Rebase(const Principal& who, const std::string& id,
                          const CurrentReader& read_current);

  // Moves every pending proposal past its deadline to expired; returns how many.
  Result<int> ExpireDue();

  // For each update in the proposal: the server's current version, whether it moved past the
  // proposal's base version, and the patch from the server's current resource to the pending
  // one. Audited as a view. [{"target","baseVersion","serverVersion","moved","patch"}]
  Result<json::Document> ReviewDiff(const Principal& who, const std::string& id,
                                    const CurrentReader& read_current);

 private:
  struct Actor {
    const Principal* principal = nullptr;  // the directory's copy
    std::string role;
  };
  int64_t Now() const { return deps_.clock->NowMillis(); }
  // The directory's principal for who; kUnauthorized when unknown or its roles differ.
  Result<const Principal*> Resolve(const Principal& who) const;
  // The directory's principal for who, with the role check(principal, &role) grants; a refusal
  // is audited under action (outcome 4) and returned.
  using RoleCheck = std::function<Status(const Principal&, std::string* role)>;
  Result<Actor> Authorize(const Principal& who, const char* action, const std::string& proposal_id,
                          const std::string& patient, const RoleCheck& check);
  // Authorize for deciding on p (role for its kind, and p's status may move to target).
  Result<Actor> CheckDecision(const Principal& who, const Proposal& p, const char* action,
                              ProposalStatus target);
  // An update of p by actor, compare-and-set on p's status and row version.
  ProposalUpdate UpdateOf(const Proposal& p, const Actor& actor, const char* event) const;
  void AuditRefusal(const Principal& who, const char* action, const std::string& proposal_id,
                    const std::string& patient, const Status& why);
  AuditRecord MakeAudit(const Actor& actor, const char* action, const Proposal& p,
                        std::string detail_json) const;
  // The approval step shared by Approve and AmendAndApprove; `update` may already carry a
  // revision (then approvals of the new revision count).
  Result<Proposal> FinishApproval(const Actor& actor, const Proposal& p, ProposalUpdate update,
                                  json::Document bundle, int64_t revision, const char* action);
  // Builds the amended bundle/patches (amend.cc side of the coordinator).
  Result<Revision> BuildRevision(const Actor& actor, const Proposal& p, const Amendment& amendment);

  CoordinatorDeps deps_;
};

}  // namespace countersign::core
