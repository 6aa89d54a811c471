// PgStore: the Store on a PostgreSQL server (libpq), for deployments that run several
// Countersign instances on one database.
//
// Same contracts as every Store (store.h). How they hold across instances:
// - Each mutating call is one READ COMMITTED transaction; the proposal row is locked (FOR
//   UPDATE) before its status is compared, so compare-and-set holds across instances.
// - Audit records are appended under a row lock on the one-row audit_head table, taken last in
//   every transaction: seq stays gapless and the hash chain unbroken whatever writes concurrently.
// - ClaimOutbox locks entries with FOR UPDATE SKIP LOCKED: two instances never claim one entry.
// - Durability: an OK return means the server committed with synchronous_commit on (a session
//   setting of "off" is raised to "on" at connect), except for the engine's re-derivable
//   bookkeeping (store.h: ClaimOutbox, DeferOutbox, CompleteOutbox to committed, WriteCursor),
//   which commits with SET LOCAL synchronous_commit = off unless
//   relaxed_engine_bookkeeping is false: still atomic and crash-safe, only the last few such
//   commits may be lost in a server crash, and the engine re-derives them.
// - A transaction that fails on a serialization failure or deadlock is run again (a few times,
//   with jitter) before kConflict is returned. When the connection drops during COMMIT the
//   outcome is unknown and the call answers kIoError (a submit can be repeated safely: the
//   idempotency key deduplicates it).
// Differences from SQLite: text must be valid UTF-8 without NUL bytes (kInvalid otherwise).
//
// Threading: thread-safe. A pool hands each concurrent caller its own connection (at most
// max_connections; further callers wait).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "plugin/core/pg_conn.h"
#include "plugin/core/store.h"

namespace countersign::core {

struct PgStoreOptions {
  std::string conninfo;   // libpq conninfo: "host=... dbname=... user=..." or postgresql://...
  std::string password;   // overrides any password in conninfo; never logged
  int max_connections = 8;
  int max_tx_attempts = 5;  // runs of one transaction on serialization failure/deadlock
  // Re-derivable bookkeeping commits without waiting for the WAL flush (see above).
  bool relaxed_engine_bookkeeping = true;
};

class PgStore : public Store {
 public:
  // Connects and applies pending migrations (all in one transaction, under an advisory lock so
  // instances starting together apply them once). kIoError when the server cannot be reached,
  // kUnsupported when the database's schema is newer than this build knows, kInvalid for bad
  // options.
  static Result<std::unique_ptr<PgStore>> Open(const PgStoreOptions& options);
  ~PgStore() override;

  // The schema version recorded in the database (the highest applied migration).
  Result<int> SchemaVersion();

  Result<CreateResult> CreateProposal(const NewProposal& proposal,
                                      const AuditRecord& audit) override;
  Result<Proposal> GetProposal(const std::string& id) override;
  Result<ProposalPage> ListProposals(const ProposalFilter& filter,
                                     const PageRequest& page) override;
  Result<Proposal> UpdateProposal(const ProposalUpdate& update) override;
  Result<std::vector<std::string>> ListExpired(int64_t now, int limit) override;
  Result<AuditRecord> AppendAudit(const AuditRecord& record) override;
  Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) override;
  Result<AuditHead> ReadAuditHead() override;
  Result<std::vector<OutboxEntry>> ClaimOutbox(const std::string& worker, int64_t now,
                                               int64_t lease_ms, int limit) override;
  Status CompleteOutbox(int64_t outbox_id, const std::string& worker,
                        const std::string& result_json, const ProposalUpdate& update) override;
  Result<std::vector<OutboxEntry>> ListOutbox(const std::string& proposal_id) override;
  Status DeferOutbox(int64_t outbox_id, const std::string& worker, int64_t not_before,
                     const std::string& result_json) override;
  Result<std::vector<LedgerEntry>> ReadProvenanceLedger(const std::string& proposal_id,
                                                        int64_t after_seq, int limit) override;
  Result<int64_t> ReadCursor(const std::string& name) override;
  Status WriteCursor(const std::string& name, int64_t value) override;

 private:
  enum class Sync { kFull, kRederivable };

  using ConnFn = std::function<Status(pg::Conn&)>;

  explicit PgStore(const PgStoreOptions& options);
  // Runs fn inside one transaction, committed before it returns OK; again on a serialization
  // failure or deadlock, and on a fresh connection when a pooled one turned out to be broken.
  // fn must reset whatever it fills in: it may run more than once.
  Status RunWrite(const ConnFn& fn, Sync sync = Sync::kFull);
  // Runs fn on a pooled connection (autocommit; fn opens a read-only snapshot when several
  // statements must agree); once more on a fresh connection if the pooled one was broken.
  Status RunRead(const ConnFn& fn);

  PgStoreOptions options_;
  pg::Pool pool_;
};

}  // namespace countersign::core
