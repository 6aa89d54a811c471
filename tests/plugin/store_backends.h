// The backends the store conformance suite runs against: SQLite (plain and group commit) and
// PostgreSQL (a throwaway server, tests/support/test_postgres.h). A new backend adds one entry to
// StoreBackends(); every conformance test then runs on it too.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugin/core/store.h"

namespace countersign::core::testing {

// One database for one test: Open() (re)connects to the same database, so reopening shows what
// was durable. Destroying it drops the database.
class StoreInstance {
 public:
  virtual ~StoreInstance() = default;
  virtual std::unique_ptr<Store> Open() = 0;
};

struct StoreBackend {
  std::string name;
  std::function<std::unique_ptr<StoreInstance>()> make;
};

const std::vector<StoreBackend>& StoreBackends();
std::vector<std::string> StoreBackendNames();
std::unique_ptr<StoreInstance> MakeStoreInstance(const std::string& name);

}  // namespace countersign::core::testing
