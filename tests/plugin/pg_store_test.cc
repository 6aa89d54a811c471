// What only the PostgreSQL store does, on a throwaway server (tests/support/test_postgres.h):
// several instances on one database (claims, compare-and-set, the audit chain, migrations at
// start-up), password authentication over TCP, durable sessions, refused text, and recovery
// from connections the server dropped. The shared contracts are in store_conformance_test.cc.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "plugin/core/migrations.h"
#include "plugin/core/pg_store.h"
#include "tests/support/test_postgres.h"

namespace countersign::core::testing {
namespace {

using countersign::testing::TestPostgres;
using S = ProposalStatus;

// A fresh database, dropped at the end; Open() gives another PgStore (another instance) on it.
class PgDb {
 public:
  PgDb() {
    auto server = TestPostgres::Shared();
    BOOST_REQUIRE_MESSAGE(server.ok(), server.status().ToString());
    server_ = *server;
    auto name = server_->CreateDatabase();
    BOOST_REQUIRE_MESSAGE(name.ok(), name.status().ToString());
    name_ = *name;
  }
  ~PgDb() { server_->DropDatabase(name_); }
  std::string conninfo() const { return server_->SocketConnInfo(name_); }
  TestPostgres& server() { return *server_; }
  const std::string& name() const { return name_; }
  std::unique_ptr<PgStore> Open(int max_connections = 8) {
    PgStoreOptions options;
    options.conninfo = conninfo();
    options.max_connections = max_connections;
    auto s = PgStore::Open(options);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    return std::move(s).value();
  }
  // A raw connection for looking behind the store's back.
  std::unique_ptr<pg::Conn> Raw() {
    auto c = pg::Conn::Connect(conninfo(), "");
    BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    return std::move(c).value();
  }

 private:
  TestPostgres* server_ = nullptr;
  std::string name_;
};

NewProposal MakeNew(const std::string& id, int64_t at) {
  NewProposal p;
  p.id = id;
  p.kind = "note";
  p.action = "create";
  p.patient = "Patient/p1";
  p.ai_principal = "Device/ai-scribe";
  p.idempotency_key = "key-" + id;
  p.owner = "queue:front-desk";
  p.draft_json = R"({"text":")" + id + R"("})";
  p.bundle_json = R"({"resourceType":"Bundle","type":"transaction"})";
  p.patches_json = "[]";
  p.created_at = at;
  return p;
}

AuditRecord Audit(const std::string& action, const std::string& proposal_id, int64_t at) {
  AuditRecord a;
  a.at = at;
  a.actor = "Practitioner/dr-ada";
  a.actor_role = "clinician";
  a.action = action;
  a.proposal_id = proposal_id;
  a.patient = "Patient/p1";
  return a;
}

void Create(Store& store, const NewProposal& p) {
  auto r = store.CreateProposal(p, Audit(audit::kSubmit, p.id, p.created_at));
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
}

ProposalUpdate Approve(const std::string& id, bool enqueue) {
  ProposalUpdate u;
  u.proposal_id = id;
  u.expected_status = S::kPending;
  u.new_status = S::kApproved;
  u.enqueue_outbox = enqueue;
  u.event.at = 2000;
  u.event.actor = "Practitioner/dr-ada";
  u.event.event = "transition";
  u.audit = Audit(audit::kTransition, id, 2000);
  return u;
}

void ExpectChainIntact(Store& store, int64_t records) {
  auto v = VerifyAudit(store);
  BOOST_REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == records);
  auto all = store.ReadAudit(0, 100000);
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == static_cast<size_t>(records));
  for (size_t i = 0; i < all->size(); ++i) BOOST_TEST((*all)[i].seq == static_cast<int64_t>(i + 1));
}

BOOST_AUTO_TEST_SUITE(pg_store)

BOOST_AUTO_TEST_CASE(two_instances_never_claim_one_entry) {
  PgDb db;
  auto a = db.Open();
  auto b = db.Open();
  constexpr int kEntries = 40;
  for (int i = 0; i < kEntries; ++i) {
    std::string id = "p-" + std::to_string(i);
    Create(*a, MakeNew(id, 1000 + i));
    BOOST_REQUIRE(a->UpdateProposal(Approve(id, true)).ok());
  }
  // Four workers, two per instance, claim small batches at once until everything is claimed.
  std::mutex mu;
  std::map<int64_t, std::string> claimed_by;  // outbox id -> worker
  std::atomic<int> duplicates{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      Store& store = w % 2 == 0 ? static_cast<Store&>(*a) : static_cast<Store&>(*b);
      const std::string me = "worker-" + std::to_string(w);
      for (int round = 0; round < 200; ++round) {
        auto got = store.ClaimOutbox(me, 5000, /*lease_ms=*/1000000, /*limit=*/3);
        if (!got.ok()) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (const OutboxEntry& e : *got) {
          if (!claimed_by.emplace(e.id, me).second) ++duplicates;
        }
        if (claimed_by.size() == static_cast<size_t>(kEntries)) return;
      }
    });
  }
  for (auto& t : workers) t.join();
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(duplicates.load() == 0);
  BOOST_TEST(claimed_by.size() == static_cast<size_t>(kEntries));
  // Each entry claimed once: one attempt, claimed by the worker that got it.
  for (int i = 0; i < kEntries; ++i) {
    std::string id = "p-" + std::to_string(i);
    auto entries = a->ListOutbox(id);
    BOOST_REQUIRE(entries.ok() && entries->size() == 1u);
    const OutboxEntry& e = (*entries)[0];
    BOOST_TEST(e.attempts == 1);
    BOOST_TEST(e.claimed_by == claimed_by[e.id]);
    BOOST_TEST(b->GetProposal(id)->status == S::kCommitting);
  }
  ExpectChainIntact(*b, kEntries * 3);  // submit, approve, one commit attempt each
}

BOOST_AUTO_TEST_CASE(concurrent_appends_from_two_instances_keep_the_chain) {
  PgDb db;
  auto a = db.Open();
  auto b = db.Open();
  constexpr int kThreads = 6;
  constexpr int kEach = 30;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? static_cast<Store&>(*a) : static_cast<Store&>(*b);
      for (int i = 0; i < kEach; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        // Appends on their own and inside proposal writes, interleaved.
        if (i % 3 == 0) {
          NewProposal n = MakeNew(id, 1000 + i);
          if (!store.CreateProposal(n, Audit(audit::kSubmit, id, 1000)).ok()) ++failures;
        } else if (!store.AppendAudit(Audit(audit::kView, id, 1000 + i)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  ExpectChainIntact(*a, kThreads * kEach);
  auto head_a = a->ReadAuditHead();
  auto head_b = b->ReadAuditHead();
  BOOST_TEST(head_a->count == head_b->count);
  BOOST_TEST(head_a->hash == head_b->hash);
}

BOOST_AUTO_TEST_CASE(compare_and_set_holds_across_instances) {
  PgDb db;
  auto a = db.Open();
  auto b = db.Open();
  constexpr int kProposals = 20;
  for (int i = 0; i < kProposals; ++i) Create(*a, MakeNew("p-" + std::to_string(i), 1000 + i));
  std::atomic<int> won{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  auto race = [&](Store& store) {
    for (int i = 0; i < kProposals; ++i) {
      auto r = store.UpdateProposal(Approve("p-" + std::to_string(i), true));
      if (r.ok()) {
        ++won;
      } else if (r.status().IsConflict()) {
        ++conflicts;
      } else {
        ++other;
      }
    }
  };
  std::thread ta([&] { race(*a); });
  std::thread tb([&] { race(*b); });
  ta.join();
  tb.join();
  BOOST_TEST(won.load() == kProposals);  // exactly one approval per proposal
  BOOST_TEST(conflicts.load() == kProposals);
  BOOST_TEST(other.load() == 0);
  for (int i = 0; i < kProposals; ++i) {
    auto p = a->GetProposal("p-" + std::to_string(i));
    BOOST_TEST(p->history.size() == 2u);
    BOOST_TEST(a->ListOutbox(p->id)->size() == 1u);
  }
  ExpectChainIntact(*a, kProposals * 2);
}

BOOST_AUTO_TEST_CASE(instances_starting_together_migrate_once) {
  PgDb db;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      PgStoreOptions options;
      options.conninfo = db.conninfo();
      auto s = PgStore::Open(options);
      if (!s.ok()) {
        BOOST_TEST_MESSAGE(s.status().ToString());
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  auto store = db.Open();
  BOOST_TEST(*store->SchemaVersion() == EmbeddedPgMigrations().back().number);
  auto raw = db.Raw();
  auto rows = raw->Query("SELECT count(*) FROM countersign_schema");
  BOOST_REQUIRE(rows.ok());
  BOOST_TEST(rows->Int(0, 0) == static_cast<int64_t>(EmbeddedPgMigrations().size()));
  ExpectChainIntact(*store, 0);  // audit_head seeded once
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused) {
  PgDb db;
  db.Open();
  auto raw = db.Raw();
  BOOST_REQUIRE(raw->Query("INSERT INTO countersign_schema (version, name) VALUES ($1, $2)",
                           pg::Params().Add(int64_t{999}).Add("999_future.sql"))
                    .ok());
  PgStoreOptions options;
  options.conninfo = db.conninfo();
  BOOST_TEST(PgStore::Open(options).status().IsUnsupported());
}

BOOST_AUTO_TEST_CASE(password_authentication_over_tcp) {
  PgDb db;
  PgStoreOptions options;
  options.conninfo = db.server().TcpConnInfo(db.name());
  options.password = db.server().password();
  auto store = PgStore::Open(options);
  BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  Create(**store, MakeNew("p-1", 1000));
  BOOST_TEST((*store)->GetProposal("p-1").ok());

  options.password = "wrong-" + db.server().password();
  auto refused = PgStore::Open(options);
  BOOST_TEST((refused.status().kind() == ErrorKind::kIoError));
  BOOST_TEST(refused.status().message().find(options.password) == std::string::npos);
  options.password.clear();
  BOOST_TEST(!PgStore::Open(options).ok());
}

BOOST_AUTO_TEST_CASE(sessions_commit_durably_even_when_configured_not_to) {
  PgDb db;
  auto c = pg::Conn::Connect(db.conninfo() + " options='-c synchronous_commit=off'", "");
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  auto v = (*c)->Query("SHOW synchronous_commit");
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->Text(0, 0) == "on");
  auto strong =
      pg::Conn::Connect(db.conninfo() + " options='-c synchronous_commit=remote_apply'", "");
  BOOST_REQUIRE(strong.ok());
  BOOST_TEST((*strong)->Query("SHOW synchronous_commit")->Text(0, 0) == "remote_apply");
}

BOOST_AUTO_TEST_CASE(text_postgres_cannot_store_is_refused_whole) {
  PgDb db;
  auto store = db.Open();
  NewProposal nul = MakeNew("p-nul", 1000);
  nul.draft_json = std::string("{\"text\":\"a\0b\"}", 14);
  BOOST_TEST(store->CreateProposal(nul, Audit(audit::kSubmit, "p-nul", 1000)).status().IsInvalid());
  NewProposal bad_utf8 = MakeNew("p-utf8", 1000);
  bad_utf8.draft_json = "{\"text\":\"\xff\xfe\"}";
  BOOST_TEST(store->CreateProposal(bad_utf8, Audit(audit::kSubmit, "p-utf8", 1000))
                 .status()
                 .IsInvalid());
  BOOST_TEST(store->GetProposal("p-nul").status().IsNotFound());
  BOOST_TEST(store->GetProposal("p-utf8").status().IsNotFound());
  ExpectChainIntact(*store, 0);
}

BOOST_AUTO_TEST_CASE(connections_the_server_dropped_are_replaced) {
  PgDb db;
  auto store = db.Open(/*max_connections=*/2);
  Create(*store, MakeNew("p-1", 1000));
  auto kill_all = [&] {
    auto raw = db.Raw();
    auto r = raw->Query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid()");
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    BOOST_REQUIRE(r->size() >= 1);
    // Termination is asynchronous: wait until the backends are gone.
    for (int i = 0; i < 100; ++i) {
      auto left = raw->Query(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
          "pid <> pg_backend_pid()");
      if (left.ok() && left->Int(0, 0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    BOOST_FAIL("backends did not go away");
  };
  kill_all();
  auto read = store->GetProposal("p-1");  // a read: tried again on a fresh connection
  BOOST_REQUIRE_MESSAGE(read.ok(), read.status().ToString());
  kill_all();
  auto write = store->UpdateProposal(Approve("p-1", false));  // a write: BEGIN failed, replaced
  BOOST_REQUIRE_MESSAGE(write.ok(), write.status().ToString());
  BOOST_TEST(write->status == S::kApproved);
  ExpectChainIntact(*store, 2);
}

BOOST_AUTO_TEST_CASE(a_transaction_chosen_as_deadlock_victim_runs_again) {
  PgDb db;
  auto raw = db.Raw();
  // Deadlocks are found after deadlock_timeout (1 s by default); shorter for new sessions here.
  // (The database name is the harness's own; ALTER DATABASE takes no parameters.)
  BOOST_REQUIRE(raw->Exec(("ALTER DATABASE " + db.name() + " SET deadlock_timeout = '200ms'")
                              .c_str())
                    .ok());
  auto watcher = db.Raw();
  // Another session takes the audit head first; the store's update then locks the proposal and
  // waits for the head; that session in turn asks for the proposal: a cycle. The store's session
  // waited first, so its deadlock check fires first and aborts its own transaction (40P01).
  auto deadlocked_update = [&](PgStore& store, const std::string& id) -> Result<Proposal> {
    Create(store, MakeNew(id, 1000));
    BOOST_REQUIRE(raw->Exec("BEGIN").ok());
    BOOST_REQUIRE(raw->Query("SELECT count FROM audit_head WHERE id = 1 FOR UPDATE").ok());
    Result<Proposal> update = Status::Internal("not run");
    std::thread writer([&] { update = store.UpdateProposal(Approve(id, true)); });
    bool waiting = false;
    for (int i = 0; i < 250 && !waiting; ++i) {
      auto w = watcher->Query(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
          "wait_event_type = 'Lock'");
      waiting = w.ok() && w->Int(0, 0) >= 1;
      if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    BOOST_CHECK_MESSAGE(waiting, "the store's update never waited for the audit head");
    // Returns once the store's transaction was aborted and released the proposal.
    auto locked = raw->Query("SELECT id FROM proposals WHERE id = $1 FOR UPDATE",
                             pg::Params().Add(id));
    BOOST_CHECK_MESSAGE(locked.ok(), locked.status().ToString());
    BOOST_CHECK(raw->Exec("ROLLBACK").ok());
    writer.join();
    return update;
  };

  PgStoreOptions once;
  once.conninfo = db.conninfo();
  once.max_tx_attempts = 1;
  auto no_retry = PgStore::Open(once);
  BOOST_REQUIRE(no_retry.ok());
  auto refused = deadlocked_update(**no_retry, "p-once");
  BOOST_TEST(refused.status().IsConflict());  // the deadlock itself, when not run again
  BOOST_TEST(refused.status().message().find("40P01") != std::string::npos);
  BOOST_TEST((*no_retry)->GetProposal("p-once")->status == S::kPending);

  auto store = db.Open();  // the default: run again
  auto update = deadlocked_update(*store, "p-1");
  BOOST_REQUIRE_MESSAGE(update.ok(), update.status().ToString());
  BOOST_TEST(update->status == S::kApproved);
  BOOST_TEST(update->history.size() == 2u);  // applied once
  BOOST_TEST(store->ListOutbox("p-1")->size() == 1u);
  ExpectChainIntact(*store, 3);  // two submits, one approval
}

BOOST_AUTO_TEST_CASE(conninfo_is_checked_without_repeating_it) {
  BOOST_TEST(pg::CheckConnInfo("host=db.example dbname=cs user=cs").ok());
  BOOST_TEST(pg::CheckConnInfo("postgresql://cs@db.example/cs").ok());
  auto with_password = pg::CheckConnInfo("host=db.example password=hunter2");
  BOOST_TEST(with_password.IsInvalid());
  BOOST_TEST(with_password.message().find("hunter2") == std::string::npos);
  BOOST_TEST(pg::CheckConnInfo("postgresql://cs:hunter2@db.example/cs").IsInvalid());
  auto garbage = pg::CheckConnInfo("host=db.example hunter2");
  BOOST_TEST(garbage.IsInvalid());
  BOOST_TEST(garbage.message().find("hunter2") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core::testing
