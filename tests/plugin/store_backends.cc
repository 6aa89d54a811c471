#include "tests/plugin/store_backends.h"

#include <boost/test/unit_test.hpp>

#include "plugin/core/pg_store.h"
#include "plugin/core/sqlite_store.h"
#include "tests/plugin/core_fixture.h"
#include "tests/support/test_postgres.h"

namespace countersign::core::testing {

using countersign::testing::TestPostgres;

namespace {

class SqliteInstance : public StoreInstance {
 public:
  explicit SqliteInstance(SqliteStoreOptions options) : options_(options) {}
  std::unique_ptr<Store> Open() override {
    auto s = SqliteStore::Open(dir_.Path("store.db"), options_);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    return std::move(s).value();
  }

 private:
  TempDir dir_;
  SqliteStoreOptions options_;
};

// A fresh database on the test process's throwaway PostgreSQL server; every Open() is another
// PgStore (another instance, as far as the database can tell) on it.
class PostgresInstance : public StoreInstance {
 public:
  PostgresInstance() {
    auto server = TestPostgres::Shared();
    BOOST_REQUIRE_MESSAGE(server.ok(), server.status().ToString());
    server_ = *server;
    auto db = server_->CreateDatabase();
    BOOST_REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    db_ = *db;
  }
  ~PostgresInstance() override {
    Status s = server_->DropDatabase(db_);
    if (!s.ok()) BOOST_TEST_MESSAGE("drop " << db_ << ": " << s.ToString());
  }
  std::unique_ptr<Store> Open() override {
    PgStoreOptions options;
    options.conninfo = server_->SocketConnInfo(db_);
    auto s = PgStore::Open(options);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    return std::move(s).value();
  }

 private:
  TestPostgres* server_ = nullptr;
  std::string db_;
};

}  // namespace

const std::vector<StoreBackend>& StoreBackends() {
  static const std::vector<StoreBackend> kBackends = {
      {"sqlite", [] { return std::make_unique<SqliteInstance>(SqliteStoreOptions{}); }},
      {"sqlite-group-commit",
       [] { return std::make_unique<SqliteInstance>(SqliteStoreOptions{.group_commit = true}); }},
      // Every transaction fsync'd, the engine's bookkeeping too (store.h: the relaxed default
      // skips that fsync; the contract is the same either way).
      {"sqlite-all-synced",
       [] {
         return std::make_unique<SqliteInstance>(
             SqliteStoreOptions{.relaxed_engine_bookkeeping = false});
       }},
      {"postgres", [] { return std::make_unique<PostgresInstance>(); }},
  };
  return kBackends;
}

std::vector<std::string> StoreBackendNames() {
  std::vector<std::string> names;
  for (const auto& b : StoreBackends()) names.push_back(b.name);
  return names;
}

std::unique_ptr<StoreInstance> MakeStoreInstance(const std::string& name) {
  for (const auto& b : StoreBackends()) {
    if (b.name == name) return b.make();
  }
  BOOST_FAIL("unknown store backend " + name);
  return nullptr;
}

}  // namespace countersign::core::testing
