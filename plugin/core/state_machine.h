// The proposal state machine: the one table of legal transitions.
//
//   pending   -> approved | rejected | expired
//   approved  -> committing
//   committing-> committed | conflict | failed
//   conflict  -> pending (a fresh review of a rebased revision) | rejected
//   committed, rejected, expired, failed: final.
//
// Every store backend refuses an illegal transition with kIllegalState, whatever the caller.
#pragma once

#include <vector>

#include "fhir/status.h"
#include "plugin/core/proposal.h"

namespace countersign::core {

bool IsLegalTransition(ProposalStatus from, ProposalStatus to);
// OK, or kIllegalState "illegal transition approved -> pending".
Status CheckTransition(ProposalStatus from, ProposalStatus to);
bool IsFinal(ProposalStatus status);
std::vector<ProposalStatus> NextStatuses(ProposalStatus from);

}  // namespace countersign::core
