// SqliteStore: open + migrations, reads, and the write path (plain and group commit).
// The write operations themselves live in sqlite_store_write.cc.
#include "plugin/core/sqlite_store.h"

#include "plugin/core/migrations.h"
#include "plugin/core/page_cursor.h"
#include "plugin/core/store_common.h"
#include "plugin/core/sqlite_store_internal.h"

namespace countersign::core {

using sqlite::Db;
using sqlite::Stmt;
using sqlite_internal::OutboxFromRow;

namespace {

constexpr const char* kProposalColumns =
    "id, kind, action, patient, owner, ai_principal, status, revision, created_at, updated_at, "
    "expires_at";

Status ReadSummary(const Stmt& st, ProposalSummary& s) {
  s.id = st.Text(0);
  s.kind = st.Text(1);
  s.action = st.Text(2);
  s.patient = st.Text(3);
  s.owner = st.Text(4);
  s.ai_principal = st.Text(5);
  auto status = ParseStatus(st.Text(6));
  if (!status) return Status::Corruption("proposal " + s.id + ": unknown status " + st.Text(6));
  s.status = *status;
  s.revision = st.Int(7);
  s.created_at = st.Int(8);
  s.updated_at = st.Int(9);
  s.expires_at = st.Int(10);
  return Status::Ok();
}

Status Migrate(Db& db) {
  auto st = db.Prepare("PRAGMA user_version");
  if (!st.ok()) return st.status();
  Status err;
  int version = (*st)->Step(&err) ? static_cast<int>((*st)->Int(0)) : 0;
  CS_RETURN_IF_ERROR(err);
  st = Status::Ok();  // release the statement before running DDL
  const auto& migrations = EmbeddedMigrations();
  int newest = migrations.empty() ? 0 : migrations.back().number;
  if (version > newest) {
    return Status::Unsupported("database schema version " + std::to_string(version) +
                               " is newer than this build (" + std::to_string(newest) + ")");
  }
  for (const Migration& m : migrations) {
    if (m.number <= version) continue;
    CS_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    Status s = db.Exec(m.sql);
    // user_version cannot be a bound parameter; the number comes from our own file names.
    if (s.ok()) s = db.Exec("PRAGMA user_version = " + std::to_string(m.number));
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      db.Exec("ROLLBACK");
      return Status::Error(s.kind(), std::string("migration ") + m.name + ": " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace

namespace sqlite_internal {

Result<Proposal> LoadProposal(Db& db, const std::string& id) {
  Proposal p;
  Status err;
  {
    auto st = db.Prepare(
        "SELECT p.id, p.kind, p.action, p.patient, p.owner, p.ai_principal, p.status, "
        "p.revision, p.created_at, p.updated_at, p.expires_at, p.encounter, p.idempotency_key, "
        "p.draft_sha256, p.row_version, c.draft_json, c.bundle_json, c.patches_json, "
        "c.outcome_json FROM proposals p JOIN proposal_content c ON c.proposal_id = p.id "
        "WHERE p.id = ?1");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, id);
    if (!(*st)->Step(&err)) {
      CS_RETURN_IF_ERROR(err);
      return Status::NotFound("no proposal " + id);
    }
    const Stmt& r = **st;
    CS_RETURN_IF_ERROR(ReadSummary(r, p));
    p.encounter = r.Text(11);
    p.idempotency_key = r.Text(12);
    p.draft_sha256 = r.Text(13);
    p.row_version = r.Int(14);
    p.draft_json = r.Text(15);
    p.bundle_json = r.Text(16);
    p.patches_json = r.Text(17);
    p.outcome_json = r.Text(18);
  }
  {
    auto st = db.Prepare(
        "SELECT seq, at, actor, actor_role, event, from_status, to_status, reason_code, "
        "reason_text, detail_json FROM proposal_events WHERE proposal_id = ?1 ORDER BY seq");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, id);
    while ((*st)->Step(&err)) {
      const Stmt& r = **st;
      p.history.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5),
                           r.Text(6), r.Text(7), r.Text(8), r.Text(9)});
    }
    CS_RETURN_IF_ERROR(err);
  }
  {
    auto st = db.Prepare(
        "SELECT revision, at, author, author_role, draft_json, bundle_json, patches_json, note "
        "FROM revisions WHERE proposal_id = ?1 ORDER BY revision");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, id);
    while ((*st)->Step(&err)) {
      const Stmt& r = **st;
      p.revisions.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5),
                             r.Text(6), r.Text(7)});
    }
    CS_RETURN_IF_ERROR(err);
  }
  {
    auto st = db.Prepare(
        "SELECT revision, approver, role, at FROM approvals WHERE proposal_id = ?1 "
        "ORDER BY at, approver");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, id);
    while ((*st)->Step(&err)) {
      const Stmt& r = **st;
      p.approvals.push_back({r.Int(0), r.Text(1), r.Text(2), r.Int(3)});
    }
    CS_RETURN_IF_ERROR(err);
  }
  return p;
}

OutboxEntry OutboxFromRow(const Stmt& r) {
  return {r.Int(0), r.Text(1), r.Int(2),  r.Int(3),  r.Text(4),  r.Int(5),
          r.Text(6), r.Int(7), r.Int(8), r.Text(9), r.Text(10), r.Int(11)};
}

}  // namespace sqlite_internal

struct SqliteStore::Writer {
  const WriteFn* fn = nullptr;
  Sync sync = Sync::kFull;
  Status status;
  bool done = false;
  std::condition_variable cv;
};

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Db> writer,
                         std::unique_ptr<Db> reader, const SqliteStoreOptions& options)
    : path_(std::move(path)), options_(options), writer_(std::move(writer)),
      reader_(std::move(reader)) {}

Status SqliteStore::ClaimServing() {
  std::lock_guard<std::mutex> guard(lock_mu_);
  if (lock_) return Status::Ok();
  auto lock = sqlite::InstanceLock::Acquire(path_);
  if (!lock.ok()) return lock.status();
  lock_ = std::move(lock).value();
  return Status::Ok();
}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const SqliteStoreOptions& options) {
  // Patient data: private files in a directory nobody else can write to.
  CS_RETURN_IF_ERROR(sqlite::SecureStoreFiles(path));
  auto writer = Db::Open(path, /*read_only=*/false);
  if (!writer.ok()) return writer.status();
  Db& w = **writer;
  CS_RETURN_IF_ERROR(w.Exec("PRAGMA journal_mode = WAL"));
  CS_RETURN_IF_ERROR(w.Exec("PRAGMA synchronous = FULL"));
  CS_RETURN_IF_ERROR(w.Exec("PRAGMA foreign_keys = ON"));
  // Statement journals and sorter spill in memory: otherwise every write transaction created,
  // and unlinked, a temporary file under /var/tmp (four syscalls per commit, seen with strace).
  // They hold at most one statement's undo, a few pages here.
  CS_RETURN_IF_ERROR(w.Exec("PRAGMA temp_store = MEMORY"));
  // A pragma takes no bound parameters; the number is ours, not input.
  const std::string cache = "PRAGMA cache_size = -" + std::to_string(options.cache_mib * 1024);
  CS_RETURN_IF_ERROR(w.Exec(cache));
  CS_RETURN_IF_ERROR(Migrate(w));
  auto reader = Db::Open(path, /*read_only=*/true);
  if (!reader.ok()) return reader.status();
  CS_RETURN_IF_ERROR((*reader)->Exec(cache));
  CS_RETURN_IF_ERROR((*reader)->Exec("PRAGMA temp_store = MEMORY"));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(path, std::move(writer).value(), std::move(reader).value(), options));
}

Result<int> SqliteStore::SchemaVersion() {
  return WithReader([](Db& db) -> Result<int> {
    auto st = db.Prepare("PRAGMA user_version");
    if (!st.ok()) return st.status();
    Status err;
    int v = (*st)->Step(&err) ? static_cast<int>((*st)->Int(0)) : 0;
    if (!err.ok()) return err;
    return v;
  });
}

Status SqliteStore::LimitPages(int64_t max_pages) {
  if (max_pages < 0) return Status::Invalid("max_pages cannot be negative");
  std::lock_guard<std::mutex> lock(write_mu_);
  // A pragma takes no bound parameters; the number is an integer we checked.
  return writer_->Exec("PRAGMA max_page_count = " +
                       std::to_string(max_pages == 0 ? int64_t{4294967294} : max_pages));
}

Status SqliteStore::RunWrite(const WriteFn& fn, Sync sync) {
  return options_.group_commit ? RunWriteGrouped(fn, sync) : RunWriteAlone(fn, sync);
}

Status SqliteStore::UseSync(Db& db, Sync sync) {
  bool full = sync == Sync::kFull || !options_.relaxed_engine_bookkeeping;
  if (full == writer_sync_full_) return Status::Ok();
  CS_RETURN_IF_ERROR(db.Exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  writer_sync_full_ = full;
  return Status::Ok();
}

Status SqliteStore::RunWriteAlone(const WriteFn& fn, Sync sync) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Db& db = *writer_;
  CS_RETURN_IF_ERROR(UseSync(db, sync));
  CS_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  Status s = fn(db);
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) {
    db.Exec("ROLLBACK");
    return s;
  }
  commits_.fetch_add(1);
  changes_.fetch_add(1);
  return s;
}

// LevelDB's writer queue: the writer at the front commits everyone queued behind it in one
// transaction; the others wait until their change is durable (or they reach the front).
Status SqliteStore::RunWriteGrouped(const WriteFn& fn, Sync sync) {
  Writer self;
  self.fn = &fn;
  self.sync = sync;
  std::unique_lock<std::mutex> qlock(queue_mu_);
  queue_.push_back(&self);
  while (!self.done && queue_.front() != &self) self.cv.wait(qlock);
  if (self.done) return self.status;

  std::vector<Writer*> batch;
  Sync batch_sync = Sync::kRederivable;  // one writer that needs the fsync gets it for all
  for (Writer* w : queue_) {
    if (static_cast<int>(batch.size()) >= options_.max_batch) break;
    batch.push_back(w);
    if (w->sync == Sync::kFull) batch_sync = Sync::kFull;
  }
  qlock.unlock();

  {
    std::lock_guard<std::mutex> lock(write_mu_);
    Db& db = *writer_;
    Status begin = UseSync(db, batch_sync);
    if (begin.ok()) begin = db.Exec("BEGIN IMMEDIATE");
    for (Writer* w : batch) {
      if (!begin.ok()) {
        w->status = begin;
        continue;
      }
      Status s = db.Exec("SAVEPOINT cs_writer");
      if (s.ok()) s = (*w->fn)(db);
      if (!s.ok()) db.Exec("ROLLBACK TO cs_writer");
      db.Exec("RELEASE cs_writer");
      w->status = s;
    }
    if (begin.ok()) {
      Status commit = db.Exec("COMMIT");
      if (!commit.ok()) {
        db.Exec("ROLLBACK");
        for (Writer* w : batch) {
          if (w->status.ok()) w->status = commit;
        }
      } else {
        commits_.fetch_add(1);
        changes_.fetch_add(static_cast<int64_t>(batch.size()));
      }
    }
  }

  qlock.lock();
  for (Writer* w : batch) {
    queue_.pop_front();
    if (w != &self) {
      w->done = true;
      w->cv.notify_one();
    }
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return self.status;
}

Result<Proposal> SqliteStore::GetProposal(const std::string& id) {
  return WithReader([&](Db& db) -> Result<Proposal> {
    CS_RETURN_IF_ERROR(db.Exec("BEGIN"));  // one snapshot for the proposal and its history
    auto p = sqlite_internal::LoadProposal(db, id);
    db.Exec("COMMIT");
    return p;
  });
}

Result<ProposalPage> SqliteStore::ListProposals(const ProposalFilter& filter,
                                                const PageRequest& page) {
  int64_t after_created = 0;
  std::string after_id;
  CS_RETURN_IF_ERROR(CheckPageRequest(page, after_created, after_id));
  // The SQL is assembled from constant fragments only; every value is bound.
  std::string sql = std::string("SELECT ") + kProposalColumns + " FROM proposals WHERE 1 = 1";
  if (filter.owner) sql += " AND owner = ?";
  if (filter.status) sql += " AND status = ?";
  if (filter.patient) sql += " AND patient = ?";
  if (filter.kind) sql += " AND kind = ?";
  if (filter.created_before) sql += " AND created_at < ?";
  if (!page.after.empty()) sql += " AND (created_at, id) > (?, ?)";
  sql += " ORDER BY created_at, id LIMIT ?";

  return WithReader([&](Db& db) -> Result<ProposalPage> {
    auto st = db.Prepare(sql);
    if (!st.ok()) return st.status();
    Stmt& s = **st;
    int i = 1;
    if (filter.owner) s.Bind(i++, *filter.owner);
    if (filter.status) s.Bind(i++, std::string_view(StatusName(*filter.status)));
    if (filter.patient) s.Bind(i++, *filter.patient);
    if (filter.kind) s.Bind(i++, *filter.kind);
    if (filter.created_before) s.Bind(i++, *filter.created_before);
    if (!page.after.empty()) {
      s.Bind(i++, after_created);
      s.Bind(i++, after_id);
    }
    s.Bind(i++, static_cast<int64_t>(page.limit) + 1);  // one extra: is there a next page?
    ProposalPage out;
    Status err;
    while (s.Step(&err)) {
      ProposalSummary sum;
      CS_RETURN_IF_ERROR(ReadSummary(s, sum));
      out.items.push_back(std::move(sum));
    }
    CS_RETURN_IF_ERROR(err);
    if (out.items.size() > static_cast<size_t>(page.limit)) {
      out.items.pop_back();
      out.next_cursor = EncodePageCursor(out.items.back().created_at, out.items.back().id);
    }
    return out;
  });
}

Result<std::vector<std::string>> SqliteStore::ListExpired(int64_t now, int limit) {
  return WithReader([&](Db& db) -> Result<std::vector<std::string>> {
    auto st = db.Prepare(
        "SELECT id FROM proposals WHERE status = 'pending' AND expires_at > 0 AND "
        "expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, now).Bind(2, static_cast<int64_t>(limit));
    std::vector<std::string> ids;
    Status err;
    while ((*st)->Step(&err)) ids.push_back((*st)->Text(0));
    if (!err.ok()) return err;
    return ids;
  });
}

Result<std::vector<AuditRecord>> SqliteStore::ReadAudit(int64_t after_seq, int limit) {
  return WithReader([&](Db& db) -> Result<std::vector<AuditRecord>> {
    auto st = db.Prepare(
        "SELECT seq, at, actor, actor_role, action, proposal_id, patient, outcome, detail_json, "
        "prev_hash, hash FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, after_seq).Bind(2, static_cast<int64_t>(limit));
    std::vector<AuditRecord> out;
    Status err;
    while ((*st)->Step(&err)) {
      const Stmt& r = **st;
      out.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6),
                     static_cast<int>(r.Int(7)), r.Text(8), r.Text(9), r.Text(10)});
    }
    if (!err.ok()) return err;
    return out;
  });
}

Result<AuditHead> SqliteStore::ReadAuditHead() {
  return WithReader([&](Db& db) -> Result<AuditHead> {
    auto st = db.Prepare("SELECT count, hash FROM audit_head WHERE id = 1");
    if (!st.ok()) return st.status();
    Status err;
    if (!(*st)->Step(&err)) {
      if (!err.ok()) return err;
      return Status::Corruption("audit head is missing");
    }
    return AuditHead{(*st)->Int(0), (*st)->Text(1)};
  });
}

Result<std::vector<OutboxEntry>> SqliteStore::ListOutbox(const std::string& proposal_id) {
  return WithReader([&](Db& db) -> Result<std::vector<OutboxEntry>> {
    auto st = db.Prepare("SELECT " + OutboxColumns() +
                         " FROM outbox WHERE proposal_id = ?1 ORDER BY id");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, proposal_id);
    std::vector<OutboxEntry> out;
    Status err;
    while ((*st)->Step(&err)) {
      out.push_back(OutboxFromRow(**st));
    }
    if (!err.ok()) return err;
    return out;
  });
}

Result<std::vector<LedgerEntry>> SqliteStore::ReadProvenanceLedger(const std::string& proposal_id,
                                                                   int64_t after_seq, int limit) {
  return WithReader([&](Db& db) -> Result<std::vector<LedgerEntry>> {
    auto st = db.Prepare(
        "SELECT seq, proposal_id, revision, recorded_at, provenance_json FROM provenance_ledger "
        "WHERE seq > ?1 AND (?2 = '' OR proposal_id = ?2) ORDER BY seq LIMIT ?3");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, after_seq).Bind(2, proposal_id).Bind(3, static_cast<int64_t>(limit));
    std::vector<LedgerEntry> out;
    Status err;
    while ((*st)->Step(&err)) {
      const Stmt& r = **st;
      out.push_back({r.Int(0), r.Text(1), r.Int(2), r.Int(3), r.Text(4)});
    }
    if (!err.ok()) return err;
    return out;
  });
}

Result<int64_t> SqliteStore::ReadCursor(const std::string& name) {
  if (name.empty()) return Status::Invalid("a cursor needs a name");
  return WithReader([&](Db& db) -> Result<int64_t> {
    auto st = db.Prepare("SELECT value FROM cursors WHERE name = ?1");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, name);
    Status err;
    if (!(*st)->Step(&err)) {
      if (!err.ok()) return err;
      return int64_t{0};  // never written: from the start
    }
    return (*st)->Int(0);
  });
}

Result<AuditVerification> VerifyAudit(Store& store) {
  // Head first: records appended while verifying lie past it and are checked next time.
  auto head = store.ReadAuditHead();
  if (!head.ok()) return head.status();
  int64_t limit_seq = head->count;
  return VerifyAuditChain(
      [&](int64_t after, int limit) -> Result<std::vector<AuditRecord>> {
        auto page = store.ReadAudit(after, limit);
        if (!page.ok()) return page;
        std::vector<AuditRecord> kept;
        for (auto& r : *page) {
          if (r.seq <= limit_seq) kept.push_back(std::move(r));
        }
        return kept;
      },
      *head);
}

}  // namespace countersign::core
