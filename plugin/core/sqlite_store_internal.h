// Helpers shared by sqlite_store.cc (reads, open) and sqlite_store_write.cc (writes). Each runs
// on the connection it is given, inside whatever transaction is open there.
#pragma once

#include <string>

#include "plugin/core/sqlite_db.h"
#include "plugin/core/store.h"

namespace countersign::core::sqlite_internal {

// The proposal with history, revisions and approvals; kNotFound when absent.
Result<Proposal> LoadProposal(sqlite::Db& db, const std::string& id);
// Appends to the audit chain (reads and advances audit_head).
Result<AuditRecord> AppendAuditIn(sqlite::Db& db, const AuditRecord& record);
// Inserts a history event with the next seq.
Status InsertEventForCreate(sqlite::Db& db, const std::string& proposal_id, const ProposalEvent& e);
// One outbox row selected with OutboxColumns() (store_common.h).
OutboxEntry OutboxFromRow(const sqlite::Stmt& r);
// Applies one ProposalUpdate (see Store::UpdateProposal).
Status ApplyUpdateIn(sqlite::Db& db, const ProposalUpdate& update);

}  // namespace countersign::core::sqlite_internal
