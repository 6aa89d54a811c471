// What every Store backend decides the same way, apart from its SQL: the checks of store.h's
// contract, the error messages they give, and the records a backend writes for the engine. One
// copy here keeps SqliteStore and PgStore from drifting apart (the conformance suite checks
// the behaviour; this keeps the source single).
#pragma once

#include <cstdint>
#include <string>

#include "plugin/core/store.h"

namespace countersign::core {

// CreateProposal: kInvalid unless every required member is set.
Status CheckNewProposal(const NewProposal& p);
// The "submit" history event of a new proposal, by its AI principal in actor_role.
ProposalEvent SubmitEvent(const NewProposal& p, const std::string& actor_role);
// CreateProposal's answer once its transaction has committed. With out.created: the new
// proposal exactly as GetProposal would read it back (pending, revision 0, row version 1, the
// submit event as seq 1), built without the read — on SQLite the reader's page cache is stale
// after every write, and the read-back cost a tenth of a submission's CPU; the conformance suite
// checks it against GetProposal. Otherwise the earlier submission under the same key, read from
// store.
Result<CreateResult> CreateAnswer(Store& store, CreateResult out, const NewProposal& p,
                                  const std::string& draft_sha256,
                                  const ProposalEvent& submit_event);
// CreateProposal: the key was used before for a different draft.
Status IdempotencyKeyReused(const std::string& idempotency_key);

// ListProposals: kInvalid unless 1 <= page.limit <= 1000 and page.after is empty or a cursor
// EncodePageCursor made; fills the keyset position (0 and "" without a cursor).
Status CheckPageRequest(const PageRequest& page, int64_t& after_created, std::string& after_id);

// UpdateProposal, before anything is read: kInvalid without an event name and an actor.
Status CheckUpdate(const ProposalUpdate& u);
// UpdateProposal, against the stored row (status, row_version, revision) before anything is
// written: compare-and-set on status and row version, the state machine, the revision number
// (current + 1) and the approval's revision (the revision current after this update).
Status CheckUpdateAgainst(const ProposalUpdate& u, ProposalStatus current, int64_t row_version,
                          int64_t revision);
// UpdateProposal: the approval's (approver, revision) is already stored.
Status AlreadyApproved(const ApprovalRecord& approval);
// The history event an update records: u.event, with from/to when the status changes.
ProposalEvent UpdateEvent(const ProposalUpdate& u, ProposalStatus current);
// The Bundle an enqueued outbox entry is hashed over when the update itself carries it (a new
// bundle, or an amendment's); nullptr: the stored bundle_json is the approved one.
const std::string* ApprovedBundleIn(const ProposalUpdate& u);

// The update a backend applies, in the claim's transaction, for entry e just claimed by worker
// at now: the proposal moves approved -> committing on the first claim (a reclaim after a lapsed
// lease keeps it committing), with a proposal event and a commit-attempt audit record naming the
// outbox entry and attempt. e must already carry the claim (attempts counted); first_claim: e
// was "ready" before.
ProposalUpdate ClaimUpdate(const OutboxEntry& e, bool first_claim, const std::string& worker,
                           int64_t now);

// The outbox columns every backend selects, in OutboxEntry's member order, each prefixed (e.g.
// "o." for a join): "id, proposal_id, ..., not_before".
std::string OutboxColumns(const std::string& prefix = "");

}  // namespace countersign::core
