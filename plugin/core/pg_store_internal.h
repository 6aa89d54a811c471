// Helpers shared by pg_store_read.cc and pg_store_write.cc. Each runs on the connection it is
// given, inside whatever transaction is open there.
#pragma once

#include <string>

#include "plugin/core/pg_conn.h"
#include "plugin/core/store.h"

namespace countersign::core::pg_internal {

// The proposal with history, revisions and approvals; kNotFound when absent.
Result<Proposal> LoadProposal(pg::Conn& c, const std::string& id);
// Appends to the audit chain: locks audit_head (held to the end of the transaction), seals the
// record against it and advances it.
Result<AuditRecord> AppendAuditIn(pg::Conn& c, const AuditRecord& record);
// Inserts a history event with the proposal's next seq (the caller holds the proposal's row).
Status InsertEvent(pg::Conn& c, const std::string& proposal_id, const ProposalEvent& e);
// Row i of a result selected with OutboxColumns() (store_common.h).
OutboxEntry OutboxFromRow(const pg::Rows& r, int i);
// Applies one ProposalUpdate (see Store::UpdateProposal), locking the proposal row first.
Status ApplyUpdateIn(pg::Conn& c, const ProposalUpdate& update);

}  // namespace countersign::core::pg_internal
