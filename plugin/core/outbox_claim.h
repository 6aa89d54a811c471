// What claiming an outbox entry records, the same on every Store backend: the proposal moves
// approved -> committing on the first claim (a reclaim after a lapsed lease keeps it committing),
// with a proposal event and a commit-attempt audit record naming the outbox entry and attempt.
#pragma once

#include <cstdint>
#include <string>

#include "plugin/core/store.h"

namespace countersign::core {

// The update a backend applies, in the claim's transaction, for entry e just claimed by worker
// at now. e must already carry the claim (attempts counted); first_claim: e was "ready" before.
ProposalUpdate ClaimUpdate(const OutboxEntry& e, bool first_claim, const std::string& worker,
                           int64_t now);

}  // namespace countersign::core
