// SqliteStore: the embedded default Store — one database file in WAL mode.
//
// Durability: synchronous=FULL, so every committed transaction is fsync'd before the call
// returns, except re-derivable bookkeeping (Store contract in store.h: ClaimOutbox,
// DeferOutbox, a committed CompleteOutbox, WriteCursor), which commits with synchronous=NORMAL
// (WAL: safe against a process crash; a power cut may roll it back to the last synced
// transaction, and the next fsync'd transaction makes it durable too). With group commit on,
// concurrent writers queue up and the first in line commits the whole queue as one transaction
// (one fsync), each writer's change inside its own SAVEPOINT so a refused change rolls back
// alone; every writer is acknowledged only after that commit.
//
// Threading: thread-safe. Writes are serialized on one connection; reads use a second
// connection and see only committed data.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "plugin/core/sqlite_db.h"
#include "plugin/core/sqlite_files.h"
#include "plugin/core/store.h"

namespace countersign::core {

struct SqliteStoreOptions {
  bool group_commit = false;  // batch concurrent writers: one transaction and fsync per batch
  int max_batch = 128;        // writers per group commit at most
  int cache_mib = 64;         // page cache per connection
  // false: the commit engine's bookkeeping is fsync'd too (every transaction synchronous=FULL).
  bool relaxed_engine_bookkeeping = true;
};

class SqliteStore : public Store {
 public:
  // Opens or creates the database at path and applies pending migrations. kIoError when the
  // file cannot be opened, kCorruption when it is not a database, kUnsupported when its schema
  // is newer than this build knows.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const SqliteStoreOptions& options = {});
  ~SqliteStore() override;

  // An exclusive lock on "<path>.lock" until this store closes (sqlite_files.h).
  Status ClaimServing() override;

  // The schema version recorded in the file (the highest applied migration).
  Result<int> SchemaVersion();

  // Caps the database at max_pages pages (PRAGMA max_page_count on the writer; never below the
  // current size; 0 lifts the cap). A write that needs more fails as storage full
  // (plugin/core/storage_full.h), exactly as on a full disk: tests use it to make that path
  // real, and a deployment may use it as a hard size bound.
  Status LimitPages(int64_t max_pages);

  // Write transactions committed (each one fsync) and the changes they carried; with group
  // commit, changes/commits is the mean batch size.
  struct WriteStats {
    int64_t commits = 0;
    int64_t changes = 0;
  };
  WriteStats Stats() const { return {commits_.load(), changes_.load()}; }

  // Seeds proposals for benchmarks and tests: n rows made by make(i), in one transaction, with
  // their submit events but no audit records (the audit chain is untouched). Not for production.
  Status SeedProposals(int64_t n, const std::function<NewProposal(int64_t)>& make);

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
  using WriteFn = std::function<Status(sqlite::Db&)>;
  struct Writer;
  // kFull: fsync'd before OK. kRederivable: re-derived after a power cut (the commit engine's
  // bookkeeping, cursors; see store.h), so it skips the fsync when
  // options_.relaxed_engine_bookkeeping.
  enum class Sync { kFull, kRederivable };

  SqliteStore(std::string path, std::unique_ptr<sqlite::Db> writer,
              std::unique_ptr<sqlite::Db> reader, const SqliteStoreOptions& options);
  // Runs fn inside a write transaction (or a savepoint of a group commit); OK only once durable.
  Status RunWrite(const WriteFn& fn, Sync sync = Sync::kFull);
  Status RunWriteAlone(const WriteFn& fn, Sync sync);
  Status RunWriteGrouped(const WriteFn& fn, Sync sync);
  // Sets the writer's synchronous pragma for the next transaction (outside one; write_mu_ held).
  Status UseSync(sqlite::Db& db, Sync sync);
  // Runs fn on the read connection.
  template <typename F>
  auto WithReader(F&& fn) {
    std::lock_guard<std::mutex> lock(read_mu_);
    return fn(*reader_);
  }

  std::string path_;
  SqliteStoreOptions options_;
  std::mutex lock_mu_;  // guards lock_
  std::unique_ptr<sqlite::InstanceLock> lock_;
  std::mutex write_mu_;  // guards writer_
  std::unique_ptr<sqlite::Db> writer_;
  bool writer_sync_full_ = true;  // the writer's current synchronous pragma; guarded by write_mu_
  std::mutex read_mu_;   // guards reader_
  std::unique_ptr<sqlite::Db> reader_;
  std::mutex queue_mu_;  // guards queue_ (group commit)
  std::deque<Writer*> queue_;
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> changes_{0};
};

}  // namespace countersign::core
