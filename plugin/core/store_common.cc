#include "plugin/core/store_common.h"

#include "plugin/core/audit_chain.h"
#include "plugin/core/page_cursor.h"
#include "plugin/core/state_machine.h"

namespace countersign::core {

Status CheckNewProposal(const NewProposal& p) {
  if (p.id.empty() || p.kind.empty() || p.ai_principal.empty() || p.idempotency_key.empty() ||
      p.owner.empty() || p.patient.empty()) {
    return Status::Invalid("a proposal needs id, kind, patient, owner, AI principal and "
                           "idempotency key");
  }
  return Status::Ok();
}

ProposalEvent SubmitEvent(const NewProposal& p, const std::string& actor_role) {
  ProposalEvent e;
  e.at = p.created_at;
  e.actor = p.ai_principal;
  e.actor_role = actor_role;
  e.event = "submit";
  e.to_status = "pending";
  return e;
}

namespace {

Proposal NewlyCreatedProposal(const NewProposal& p, const std::string& draft_sha256,
                              const ProposalEvent& submit_event) {
  Proposal out;
  out.id = p.id;
  out.kind = p.kind;
  out.action = p.action;
  out.patient = p.patient;
  out.owner = p.owner;
  out.ai_principal = p.ai_principal;
  out.status = ProposalStatus::kPending;
  out.revision = 0;
  out.created_at = p.created_at;
  out.updated_at = p.created_at;
  out.expires_at = p.expires_at;
  out.encounter = p.encounter;
  out.idempotency_key = p.idempotency_key;
  out.draft_sha256 = draft_sha256;
  out.row_version = 1;
  out.draft_json = p.draft_json;
  out.bundle_json = p.bundle_json;
  out.patches_json = p.patches_json;
  ProposalEvent first = submit_event;
  first.seq = 1;
  out.history.push_back(std::move(first));
  return out;
}

}  // namespace

Result<CreateResult> CreateAnswer(Store& store, CreateResult out, const NewProposal& p,
                                  const std::string& draft_sha256,
                                  const ProposalEvent& submit_event) {
  if (out.created) {
    out.proposal = NewlyCreatedProposal(p, draft_sha256, submit_event);
    return out;
  }
  auto earlier = store.GetProposal(out.proposal.id);
  if (!earlier.ok()) return earlier.status();
  out.proposal = std::move(earlier).value();
  return out;
}

Status IdempotencyKeyReused(const std::string& idempotency_key) {
  return Status::Conflict("idempotency key " + idempotency_key +
                          " was already used for a different draft");
}

Status CheckPageRequest(const PageRequest& page, int64_t& after_created, std::string& after_id) {
  if (page.limit < 1 || page.limit > 1000) return Status::Invalid("page limit must be 1..1000");
  if (!page.after.empty() && !DecodePageCursor(page.after, after_created, after_id)) {
    return Status::Invalid("malformed page cursor");
  }
  return Status::Ok();
}

Status CheckUpdate(const ProposalUpdate& u) {
  if (u.event.event.empty() || u.event.actor.empty()) {
    return Status::Invalid("an update needs an event name and an actor");
  }
  return Status::Ok();
}

Status CheckUpdateAgainst(const ProposalUpdate& u, ProposalStatus current, int64_t row_version,
                          int64_t revision) {
  if (current != u.expected_status) {
    return Status::Conflict(std::string("proposal ") + u.proposal_id + " is " +
                            StatusName(current) + ", not " + StatusName(u.expected_status));
  }
  if (u.expected_row_version && *u.expected_row_version != row_version) {
    return Status::Conflict("proposal " + u.proposal_id + " changed meanwhile (row version " +
                            std::to_string(row_version) + ")");
  }
  if (u.new_status) CS_RETURN_IF_ERROR(CheckTransition(current, *u.new_status));
  if (u.revision) {
    if (u.revision->revision != revision + 1) {
      return Status::Invalid("revision must be " + std::to_string(revision + 1));
    }
    revision = u.revision->revision;
  }
  if (u.approval && u.approval->revision != revision) {
    return Status::Invalid("an approval must be of the current revision " +
                           std::to_string(revision));
  }
  return Status::Ok();
}

Status AlreadyApproved(const ApprovalRecord& approval) {
  return Status::Conflict(approval.approver + " already approved revision " +
                          std::to_string(approval.revision));
}

ProposalEvent UpdateEvent(const ProposalUpdate& u, ProposalStatus current) {
  ProposalEvent e = u.event;
  if (u.new_status) {
    e.from_status = StatusName(current);
    e.to_status = StatusName(*u.new_status);
  }
  return e;
}

const std::string* ApprovedBundleIn(const ProposalUpdate& u) {
  if (u.new_bundle_json) return &*u.new_bundle_json;
  if (u.revision) return &u.revision->bundle_json;
  return nullptr;
}

ProposalUpdate ClaimUpdate(const OutboxEntry& e, bool first_claim, const std::string& worker,
                           int64_t now) {
  ProposalUpdate u;
  u.proposal_id = e.proposal_id;
  u.expected_status = first_claim ? ProposalStatus::kApproved : ProposalStatus::kCommitting;
  if (first_claim) u.new_status = ProposalStatus::kCommitting;
  u.event.at = now;
  u.event.actor = worker;
  u.event.actor_role = "commit-engine";
  u.event.event = first_claim ? "transition" : "reclaim";
  u.event.detail_json = "{\"outbox\":" + std::to_string(e.id) + "}";
  AuditRecord a;
  a.at = now;
  a.actor = worker;
  a.actor_role = "commit-engine";
  a.action = audit::kCommitAttempt;
  a.proposal_id = e.proposal_id;
  a.detail_json = "{\"outbox\":" + std::to_string(e.id) + ",\"attempt\":" +
                  std::to_string(e.attempts) + "}";
  u.audit = a;
  return u;
}

std::string OutboxColumns(const std::string& prefix) {
  static const char* const kNames[] = {"id",         "proposal_id", "revision",    "created_at",
                                       "state",      "attempts",    "claimed_by",  "lease_until",
                                       "completed_at", "result_json", "bundle_sha256",
                                       "not_before"};
  std::string out;
  for (const char* name : kNames) {
    if (!out.empty()) out += ", ";
    out += prefix + name;
  }
  return out;
}

}  // namespace countersign::core
