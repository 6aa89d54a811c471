// PgStore: open + migrations and the transaction runners. Reads live in pg_store_read.cc, writes
// in pg_store_write.cc.
#include "plugin/core/pg_store.h"

#include <chrono>
#include <random>
#include <thread>

#include "plugin/core/migrations.h"

namespace countersign::core {

using pg::Conn;
using pg::Params;

namespace {

// The advisory lock that serializes migrations across instances ("CsMigrat" in ASCII; any
// constant of our own would do).
constexpr int64_t kMigrationLock = 0x43734d6967726174;

Status MigrateIn(Conn& c) {
  CS_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock($1::bigint)",
                             Params().Add(kMigrationLock)).status());
  // Created under the lock, so a second instance waits here and then sees it.
  CS_RETURN_IF_ERROR(c.Exec(
      "CREATE TABLE IF NOT EXISTS countersign_schema (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
  auto v = c.Query("SELECT COALESCE(MAX(version), 0) FROM countersign_schema");
  if (!v.ok()) return v.status();
  const int64_t version = v->Int(0, 0);
  const auto& migrations = EmbeddedPgMigrations();
  const int newest = migrations.empty() ? 0 : migrations.back().number;
  if (version > newest) {
    return Status::Unsupported("database schema version " + std::to_string(version) +
                               " is newer than this build (" + std::to_string(newest) + ")");
  }
  for (const Migration& m : migrations) {
    if (m.number <= version) continue;
    Status s = c.Exec(m.sql);  // constant SQL of our own (several statements)
    if (s.ok()) {
      s = c.Query("INSERT INTO countersign_schema (version, name) VALUES ($1, $2)",
                  Params().Add(int64_t{m.number}).Add(std::string_view(m.name)))
              .status();
    }
    if (!s.ok()) return Status::Error(s.kind(), std::string("migration ") + m.name + ": " +
                                                    s.message());
  }
  return Status::Ok();
}

// Every pending migration in one transaction: a database is never left half-migrated.
Status Migrate(Conn& c) {
  CS_RETURN_IF_ERROR(c.Exec("BEGIN"));
  Status s = MigrateIn(c);
  if (s.ok()) s = c.Exec("COMMIT");
  if (!s.ok()) c.Exec("ROLLBACK");
  return s;
}

// Random pause before running a transaction again, growing with the attempt: instances that
// collided once should not collide in lockstep.
void Backoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const int cap_us = 2000 << std::min(attempt, 6);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % cap_us));
}

}  // namespace

PgStore::PgStore(const PgStoreOptions& options)
    : options_(options), pool_(options.conninfo, options.password, options.max_connections) {}

PgStore::~PgStore() = default;

Result<std::unique_ptr<PgStore>> PgStore::Open(const PgStoreOptions& options) {
  if (options.conninfo.empty()) return Status::Invalid("postgres: conninfo is required");
  if (options.max_connections < 1) return Status::Invalid("postgres: max_connections < 1");
  if (options.max_tx_attempts < 1) return Status::Invalid("postgres: max_tx_attempts < 1");
  std::unique_ptr<PgStore> store(new PgStore(options));
  auto lease = store->pool_.Acquire();
  if (!lease.ok()) return lease.status();
  CS_RETURN_IF_ERROR(Migrate(**lease));
  return store;
}

Result<int> PgStore::SchemaVersion() {
  int version = 0;
  Status s = RunRead([&](Conn& c) -> Status {
    auto v = c.Query("SELECT COALESCE(MAX(version), 0) FROM countersign_schema");
    if (!v.ok()) return v.status();
    version = static_cast<int>(v->Int(0, 0));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return version;
}

Status PgStore::RunWrite(const ConnFn& fn, Sync sync) {
  bool replaced_stale = false;
  for (int attempt = 1;; ++attempt) {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    Conn& c = **lease;
    // Re-derivable bookkeeping commits without waiting for the WAL flush (store.h), this
    // transaction only; sent with the BEGIN, one round trip.
    const bool relaxed = sync == Sync::kRederivable && options_.relaxed_engine_bookkeeping;
    Status s = c.Exec(relaxed ? "BEGIN ISOLATION LEVEL READ COMMITTED; "
                                "SET LOCAL synchronous_commit = off"
                              : "BEGIN ISOLATION LEVEL READ COMMITTED");
    if (!s.ok()) {
      // Nothing ran yet: a pooled connection the server dropped (restart, idle timeout) is
      // replaced once; anything else is reported.
      const bool stale = !c.Healthy();
      lease->Discard();
      if (stale && !replaced_stale) {
        replaced_stale = true;
        --attempt;
        continue;
      }
      return s;
    }
    s = fn(c);
    if (s.ok()) s = c.Exec("COMMIT");
    if (s.ok()) return s;
    const bool retryable = c.LastErrorRetryable();
    if (c.Healthy()) c.Exec("ROLLBACK");  // a failed one leaves the connection to be dropped
    if (!retryable || attempt >= options_.max_tx_attempts) return s;
    Backoff(attempt);
  }
}

Status PgStore::RunRead(const ConnFn& fn) {
  for (int attempt = 1;; ++attempt) {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    Status s = fn(**lease);
    // Reads change nothing, so one more try on a fresh connection is always safe.
    if (s.ok() || (*lease)->Healthy() || attempt == 2) return s;
    lease->Discard();
  }
}

}  // namespace countersign::core
