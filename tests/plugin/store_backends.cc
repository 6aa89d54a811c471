#include "tests/plugin/store_backends.h"

#include <boost/test/unit_test.hpp>

#include "plugin/core/sqlite_store.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core::testing {

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
      // {"postgres", ...}: the PostgreSQL backend registers here when it exists.
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
