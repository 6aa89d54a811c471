// The Service opens the store the config names: store.backend "postgres" on a throwaway server
// (tests/support/test_postgres.h), with the password taken from the environment.
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include "plugin/config/service.h"
#include "tests/support/test_postgres.h"

namespace countersign::config {
namespace {

const std::string kFixtures = std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config";

std::string PgConfig(const std::string& conninfo, const std::string& password_env) {
  return R"({"fhir": {"base_url": "http://127.0.0.1:8103/fhir/R4"},
    "principals": "principals.json", "approval_policy": "approval-policy.json",
    "guardrails": "guardrails.json", "mappings": {"rules_dir": "../../mappings/rules"},
    "store": {"backend": "postgres", "postgres": {"conninfo": ")" + conninfo +
         R"(", "password_env": ")" + password_env + R"("}}})";
}

BOOST_AUTO_TEST_CASE(service_opens_the_postgres_store_the_config_names) {
  auto server = testing::TestPostgres::Shared();
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  auto db = (*server)->CreateDatabase();
  BOOST_REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  // Over TCP, so the password from the environment is what lets it in.
  const std::string conninfo = (*server)->TcpConnInfo(*db);
  setenv("COUNTERSIGN_TEST_PG_PASSWORD", (*server)->password().c_str(), 1);
  auto config = Config::Parse(PgConfig(conninfo, "COUNTERSIGN_TEST_PG_PASSWORD"), kFixtures);
  BOOST_REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  {
    auto service = Service::Open(*config);
    BOOST_REQUIRE_MESSAGE(service.ok(), service.status().ToString());
    core::AuditRecord a;
    a.at = 1000;
    a.actor = "Practitioner/dr-ada";
    a.actor_role = "clinician";
    a.action = core::audit::kView;
    BOOST_REQUIRE((*service)->store().AppendAudit(a).ok());
  }
  auto again = Service::Open(*config);  // another instance on the same database sees it
  BOOST_REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  BOOST_TEST((*again)->store().ReadAuditHead()->count == 1);

  setenv("COUNTERSIGN_TEST_PG_PASSWORD", "not-the-password", 1);
  auto wrong = Config::Parse(PgConfig(conninfo, "COUNTERSIGN_TEST_PG_PASSWORD"), kFixtures);
  unsetenv("COUNTERSIGN_TEST_PG_PASSWORD");
  BOOST_REQUIRE(wrong.ok());
  auto refused = Service::Open(*wrong);
  BOOST_TEST(!refused.ok());
  BOOST_TEST(refused.status().message().find("store (postgres)") != std::string::npos);
  BOOST_TEST(refused.status().message().find("not-the-password") == std::string::npos);
  again->reset();
  BOOST_TEST((*server)->DropDatabase(*db).ok());
}

}  // namespace
}  // namespace countersign::config
