// SqliteStore specifics the conformance suite cannot state for every backend: the file, its
// schema version, refusing foreign or newer files, and group commit batching.
#include "plugin/core/sqlite_store.h"

#include <sqlite3.h>

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <thread>

#include "plugin/core/migrations.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::TempDir;

BOOST_AUTO_TEST_SUITE(sqlite_store)

BOOST_AUTO_TEST_CASE(migrations_are_embedded_in_number_order) {
  const auto& m = EmbeddedMigrations();
  BOOST_REQUIRE(!m.empty());
  BOOST_TEST(m[0].number == 1);
  BOOST_TEST(std::string(m[0].name) == "001_init.sql");
  BOOST_TEST(std::string(m[0].sql).find("CREATE TABLE proposals") != std::string::npos);
  for (size_t i = 1; i < m.size(); ++i) BOOST_TEST(m[i].number > m[i - 1].number);
}

BOOST_AUTO_TEST_CASE(a_new_file_gets_the_newest_schema_in_wal_mode) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.Path("a.db"));
  BOOST_REQUIRE(store.ok());
  BOOST_TEST(*(*store)->SchemaVersion() == EmbeddedMigrations().back().number);
  sqlite3* db = nullptr;
  sqlite3_open(dir.Path("a.db").c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  BOOST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  BOOST_TEST(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
  // Reopening applies nothing twice.
  store->reset();
  auto again = SqliteStore::Open(dir.Path("a.db"));
  BOOST_REQUIRE_MESSAGE(again.ok(), again.status().ToString());
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_is_refused) {
  TempDir dir;
  std::ofstream(dir.Path("junk.db")) << std::string(8192, 'x');
  auto store = SqliteStore::Open(dir.Path("junk.db"));
  BOOST_TEST(!store.ok());
  BOOST_TEST((store.status().kind() == ErrorKind::kCorruption), store.status().ToString());
  auto missing = SqliteStore::Open(dir.Path("no/such/dir/x.db"));
  BOOST_TEST((missing.status().kind() == ErrorKind::kIoError), missing.status().ToString());
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused) {
  TempDir dir;
  SqliteStore::Open(dir.Path("n.db"));
  sqlite3* db = nullptr;
  sqlite3_open(dir.Path("n.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto store = SqliteStore::Open(dir.Path("n.db"));
  BOOST_TEST(store.status().IsUnsupported());
  BOOST_TEST(store.status().message().find("999") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(group_commit_batches_concurrent_writers) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.Path("g.db"), {.group_commit = true});
  BOOST_REQUIRE(store.ok());
  SqliteStore& s = **store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 40; ++i) {
        AuditRecord a;
        a.at = i;
        a.actor = "Practitioner/" + std::to_string(t);
        a.action = audit::kView;
        BOOST_REQUIRE(s.AppendAudit(a).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto stats = s.Stats();
  BOOST_TEST(stats.changes == 320);
  BOOST_TEST(stats.commits <= stats.changes);
  BOOST_TEST_MESSAGE("group commit: " << stats.changes << " changes in " << stats.commits << " commits");
  auto v = VerifyAudit(s);
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == 320);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
