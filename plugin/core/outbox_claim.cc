#include "plugin/core/outbox_claim.h"

#include "plugin/core/audit_chain.h"

namespace countersign::core {

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

}  // namespace countersign::core
