#include "plugin/core/proposal.h"

#include <ostream>

namespace countersign::core {

const char* StatusName(ProposalStatus status) {
  switch (status) {
    case ProposalStatus::kPending: return "pending";
    case ProposalStatus::kApproved: return "approved";
    case ProposalStatus::kCommitting: return "committing";
    case ProposalStatus::kCommitted: return "committed";
    case ProposalStatus::kRejected: return "rejected";
    case ProposalStatus::kExpired: return "expired";
    case ProposalStatus::kConflict: return "conflict";
    case ProposalStatus::kFailed: return "failed";
  }
  return "unknown";
}

const std::vector<ProposalStatus>& AllStatuses() {
  static const std::vector<ProposalStatus> kAll = {
      ProposalStatus::kPending,   ProposalStatus::kApproved, ProposalStatus::kCommitting,
      ProposalStatus::kCommitted, ProposalStatus::kRejected, ProposalStatus::kExpired,
      ProposalStatus::kConflict,  ProposalStatus::kFailed};
  return kAll;
}

std::ostream& operator<<(std::ostream& os, ProposalStatus status) {
  return os << StatusName(status);
}

std::optional<ProposalStatus> ParseStatus(std::string_view name) {
  for (ProposalStatus s : AllStatuses()) {
    if (name == StatusName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace countersign::core
