// The approval policy: per kind, which roles may decide (approve, amend, reject), whether two
// distinct approvers are needed, how the owner is chosen, and when a pending proposal expires.
// An ai-agent principal can never decide, whatever the configuration says.
//
// Config JSON:
// {
//   "submit_roles": ["ai-agent"],
//   "view_roles": ["clinician", "front-desk", "admin"],
//   "reassign_roles": ["admin", "front-desk"],
//   "reject_reasons": [{"code": "clinically-inaccurate", "display": "..."}, ...],
//   "owner_only": false,
//   "kinds": {
//     "note": {"approver_roles": ["clinician"], "two_approvers": false,
//              "owner": ["requested", "draft:/author", "queue:clinical-review"],
//              "expiry_minutes": 4320, "owner_only": true}
//   }
// }
// Owner rules are tried in order, the first that matches wins: "requested" (the draft's
// requested owner, when it is a queue or a known person who may decide the kind),
// "draft:<JSON pointer>" (a reference string, or an object with "reference", at that place in
// the draft; the same condition), "queue:<name>" (always matches). The order is the policy's
// say over the AI's: a queue listed before "requested" always wins, and without "requested" the
// AI's choice is ignored.
// owner_only (top level: the default for every kind; per kind: overrides it): a person may
// approve, amend, reject or retry only a proposal they own, themselves or through one of their
// queues (principals' "queues"); others must have it reassigned first.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"
#include "plugin/core/principals.h"

namespace countersign::core {

inline constexpr const char* kRejectReasonSystem = "urn:countersign:reject-reason";

struct KindPolicy {
  std::vector<std::string> approver_roles;
  bool two_approvers = false;
  std::vector<std::string> owner_rules;
  bool owner_only = false;
  int64_t expiry_ms = 0;  // 0 = never
};

struct RejectReasonCode {
  std::string code;
  std::string display;
};

class ApprovalPolicy {
 public:
  // kInvalid naming the JSON path of the first problem.
  static Result<ApprovalPolicy> Parse(std::string_view json_text);
  static Result<ApprovalPolicy> LoadFile(const std::string& path);

  // nullptr when the kind is not configured (such drafts are refused).
  const KindPolicy* For(std::string_view kind) const;

  // OK, or kForbidden saying why. `role` receives the role the principal acts in.
  Status CheckSubmit(const Principal& p, std::string* role) const;
  Status CheckDecide(const Principal& p, std::string_view kind, std::string* role) const;
  // CheckDecide for a proposal owned by `owner`: with owner_only, kForbidden unless p owns it.
  Status CheckDecide(const Principal& p, std::string_view kind, std::string_view owner,
                     std::string* role) const;
  Status CheckView(const Principal& p, std::string* role) const;
  Status CheckReassign(const Principal& p, std::string_view current_owner, std::string* role) const;

  // The owner for a new proposal of kind (see the owner rules above).
  Result<std::string> ChooseOwner(std::string_view kind, std::string_view requested_owner,
                                  const json::Value& draft,
                                  const PrincipalDirectory& principals) const;
  // A valid owner: a known principal or "queue:<name>".
  static bool IsValidOwner(std::string_view owner, const PrincipalDirectory& principals);

  const RejectReasonCode* FindRejectReason(std::string_view code) const;
  const std::vector<RejectReasonCode>& reject_reasons() const { return reject_reasons_; }

 private:
  std::map<std::string, KindPolicy, std::less<>> kinds_;
  std::vector<std::string> submit_roles_;
  std::vector<std::string> view_roles_;
  std::vector<std::string> reassign_roles_;
  std::vector<RejectReasonCode> reject_reasons_;
};

}  // namespace countersign::core
