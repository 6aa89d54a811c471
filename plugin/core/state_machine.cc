#include "plugin/core/state_machine.h"

#include <string>

namespace countersign::core {

namespace {
using S = ProposalStatus;
struct Edge {
  S from;
  S to;
};
constexpr Edge kLegal[] = {
    {S::kPending, S::kApproved},    {S::kPending, S::kRejected},   {S::kPending, S::kExpired},
    {S::kApproved, S::kCommitting}, {S::kCommitting, S::kCommitted},
    {S::kCommitting, S::kConflict}, {S::kCommitting, S::kFailed},  {S::kConflict, S::kPending},
    {S::kConflict, S::kRejected},
    // A failed commit retried by a person once the cause is fixed (Coordinator::RetryCommit).
    {S::kFailed, S::kApproved},
};
}  // namespace

bool IsLegalTransition(ProposalStatus from, ProposalStatus to) {
  for (const Edge& e : kLegal) {
    if (e.from == from && e.to == to) return true;
  }
  return false;
}

Status CheckTransition(ProposalStatus from, ProposalStatus to) {
  if (IsLegalTransition(from, to)) return Status::Ok();
  return Status::IllegalState(std::string("illegal transition ") + StatusName(from) + " -> " +
                              StatusName(to));
}

bool IsFinal(ProposalStatus status) { return NextStatuses(status).empty(); }

std::vector<ProposalStatus> NextStatuses(ProposalStatus from) {
  std::vector<ProposalStatus> out;
  for (const Edge& e : kLegal) {
    if (e.from == from) out.push_back(e.to);
  }
  return out;
}

}  // namespace countersign::core
