// The config loader: the sample config loads; every kind of mistake is named by its JSON path.
#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "plugin/config/config.h"

namespace countersign::config {
namespace {

const std::string kFixtures = std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config";

std::string Minimal(const std::string& extra = "") {
  return R"({"fhir": {"base_url": "http://127.0.0.1:8103/fhir/R4"},
    "principals": "principals.json", "approval_policy": "approval-policy.json",
    "guardrails": "guardrails.json", "mappings": {"rules_dir": "../../mappings/rules"})" +
         extra + "}";
}

std::string ErrorOf(const std::string& text) {
  auto c = Config::Parse(text, kFixtures);
  BOOST_REQUIRE_MESSAGE(!c.ok(), "expected an error for " << text);
  return c.status().message();
}

BOOST_AUTO_TEST_CASE(sample_config_loads_with_documented_defaults) {
  auto c = Config::Load(kFixtures + "/countersign.json");
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  BOOST_TEST(c->fhir.base_url == "http://127.0.0.1:8103/fhir/R4");
  BOOST_TEST(c->fhir.tls.verify);
  BOOST_TEST(c->store_path == kFixtures + "/countersign.db");
  BOOST_TEST(c->rules_dir == std::string(COUNTERSIGN_SOURCE_DIR) + "/mappings/rules");
  BOOST_TEST(c->tokens.size() == 6u);
  BOOST_TEST(c->tokens[0].sha256 == TokenHash("demo-ai-scribe-token"));
  BOOST_TEST(c->listen_host == "127.0.0.1");
  BOOST_TEST(c->listen_port == 8400);

  auto m = Config::Parse(Minimal(), kFixtures);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  BOOST_TEST(m->fhir.tls.verify);  // TLS verification is on unless turned off
  BOOST_TEST(m->worker_enabled);
  BOOST_TEST(!m->task_mirror_enabled);  // the Task mirror is opt-in
  BOOST_TEST(m->task_mirror_batch == 100);
  BOOST_TEST(m->max_body_bytes == 1u << 20);
  BOOST_TEST(m->listen_threads == 8);
}

BOOST_AUTO_TEST_CASE(bad_keys_are_named_by_path) {
  BOOST_TEST(ErrorOf(Minimal(R"(, "colour": 1)")).find("colour: unknown key") != std::string::npos);
  BOOST_TEST(ErrorOf(R"({"fhir": {"base_url": "http://x", "tls": {"verify": "yes"}}})")
                 .find("fhir.tls.verify: expected a boolean") != std::string::npos);
  BOOST_TEST(ErrorOf(R"({"fhir": {"base_url": "ftp://x"}})").find("fhir.base_url") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "worker": {"batch": 0})")).find("worker.batch: must be between") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "tokens": [{"principal": "Practitioner/nobody", "sha256": "00"}])"))
                 .find("tokens[0].principal: unknown principal") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "tokens": [{"principal": "Practitioner/dr-ada", "sha256": "xyz"}])"))
                 .find("tokens[0].sha256") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "server": {"listen": "nohostport"})")).find("server.listen") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "server": {"threads": 0})")).find("server.threads: must be between") !=
             std::string::npos);
  auto threads = Config::Parse(Minimal(R"(, "server": {"threads": 16})"), kFixtures);
  BOOST_REQUIRE_MESSAGE(threads.ok(), threads.status().ToString());
  BOOST_TEST(threads->listen_threads == 16);
  BOOST_TEST(ErrorOf(R"({"fhir": {"base_url": "http://x"}, "principals": "missing.json"})")
                 .find("principals: ") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "store": {"backend": "mysql"})")).find("store.backend") !=
             std::string::npos);
  BOOST_TEST(ErrorOf("{not json").find("not JSON") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mutual_tls_files_go_together_and_must_be_readable) {
  BOOST_TEST(ErrorOf(R"({"fhir": {"base_url": "https://x", "tls": {"client_cert_file": "c.pem"}}})")
                 .find("fhir.tls: client_cert_file and client_key_file go together") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(R"({"fhir": {"base_url": "https://x", "tls": {"client_cert_file":
      "/nonexistent/c.pem", "client_key_file": "/nonexistent/k.pem"}}})")
                 .find("fhir.tls.client_cert_file: cannot read /nonexistent/c.pem") !=
             std::string::npos);
  // Readable files (any will do for the loader: libcurl parses them at the handshake), resolved
  // against the config's directory.
  auto ok = Config::Parse(R"({"fhir": {"base_url": "https://x", "tls": {"client_cert_file":
      "principals.json", "client_key_file": "guardrails.json"}}, "principals": "principals.json",
      "approval_policy": "approval-policy.json", "guardrails": "guardrails.json",
      "mappings": {"rules_dir": "r"}})", kFixtures);
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  BOOST_TEST(ok->fhir.tls.client_cert_file == kFixtures + "/principals.json");
  BOOST_TEST(ok->fhir.tls.client_key_file == kFixtures + "/guardrails.json");
}

BOOST_AUTO_TEST_CASE(task_mirror_is_off_by_default_and_checked_like_the_rest) {
  auto on = Config::Parse(Minimal(R"(, "task_mirror": {"enabled": true, "batch": 250})"), kFixtures);
  BOOST_REQUIRE_MESSAGE(on.ok(), on.status().ToString());
  BOOST_TEST(on->task_mirror_enabled);
  BOOST_TEST(on->task_mirror_batch == 250);
  auto empty = Config::Parse(Minimal(R"(, "task_mirror": {})"), kFixtures);
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(!empty->task_mirror_enabled);
  BOOST_TEST(ErrorOf(Minimal(R"(, "task_mirror": {"enabled": true, "owner": "x"})"))
                 .find("task_mirror.owner: unknown key") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "task_mirror": {"enabled": "yes"})"))
                 .find("task_mirror.enabled: expected a boolean") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "task_mirror": {"batch": 0})"))
                 .find("task_mirror.batch: must be between 1 and 10000") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "task_mirror": {"batch": 10001})"))
                 .find("task_mirror.batch: must be between") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "task_mirror": true)"))
                 .find("task_mirror: expected an object") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(postgres_store_is_configured_by_conninfo) {
  auto c = Config::Parse(Minimal(R"(, "store": {"backend": "postgres", "postgres":
      {"conninfo": "host=db.example dbname=countersign user=cs", "max_connections": 4}})"),
                         kFixtures);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  BOOST_TEST(c->store_backend == "postgres");
  BOOST_TEST(c->store_pg_conninfo == "host=db.example dbname=countersign user=cs");
  BOOST_TEST(c->store_pg_password.empty());
  BOOST_TEST(c->store_pg_max_connections == 4);
  auto uri = Config::Parse(Minimal(R"(, "store": {"backend": "postgres", "postgres":
      {"conninfo": "postgresql://cs@db.example:5433/countersign"}})"), kFixtures);
  BOOST_REQUIRE_MESSAGE(uri.ok(), uri.status().ToString());
  BOOST_TEST(uri->store_pg_max_connections == 8);  // the default

  BOOST_TEST(ErrorOf(Minimal(R"(, "store": {"backend": "postgres"})"))
                 .find("store.postgres: required") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "store": {"backend": "postgres", "postgres": {}})"))
                 .find("store.postgres.conninfo: required") != std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "store": {"backend": "postgres", "postgres":
      {"conninfo": "host=x", "colour": 1}})")).find("store.postgres.colour: unknown key") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(Minimal(R"(, "store": {"backend": "postgres", "postgres":
      {"conninfo": "host=x", "max_connections": 0}})"))
                 .find("store.postgres.max_connections: must be between") != std::string::npos);
  // postgres settings under the sqlite backend are a mistake, not silently ignored
  BOOST_TEST(ErrorOf(Minimal(R"(, "store": {"postgres": {"conninfo": "host=x"}})"))
                 .find("store.postgres: only with") != std::string::npos);
  // A malformed conninfo is refused without being repeated (it may hold secrets).
  std::string bad = ErrorOf(Minimal(R"(, "store": {"backend": "postgres", "postgres":
      {"conninfo": "host=x s3cret-fragment"}})"));
  BOOST_TEST(bad.find("store.postgres.conninfo: not a valid") != std::string::npos);
  BOOST_TEST(bad.find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(postgres_password_only_from_the_environment) {
  for (const char* conninfo : {"host=x password=hunter2", "postgresql://cs:hunter2@x/db"}) {
    std::string e = ErrorOf(Minimal(std::string(R"(, "store": {"backend": "postgres",
        "postgres": {"conninfo": ")") + conninfo + R"("}})"));
    BOOST_TEST(e.find("store.postgres.conninfo: must not contain a password") !=
               std::string::npos);
    BOOST_TEST(e.find("hunter2") == std::string::npos);
  }
  const std::string with_env = Minimal(R"(, "store": {"backend": "postgres", "postgres":
      {"conninfo": "host=x", "password_env": "COUNTERSIGN_TEST_PG_PASSWORD"}})");
  unsetenv("COUNTERSIGN_TEST_PG_PASSWORD");
  BOOST_TEST(ErrorOf(with_env).find("store.postgres.password_env: environment variable "
                                    "COUNTERSIGN_TEST_PG_PASSWORD is not set") !=
             std::string::npos);
  setenv("COUNTERSIGN_TEST_PG_PASSWORD", "pg-from-env", 1);
  auto c = Config::Parse(with_env, kFixtures);
  unsetenv("COUNTERSIGN_TEST_PG_PASSWORD");
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  BOOST_TEST(c->store_pg_password == "pg-from-env");
  BOOST_TEST(c->store_pg_conninfo.find("pg-from-env") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(secrets_come_from_the_environment) {
  setenv("COUNTERSIGN_TEST_FHIR_TOKEN", "from-env", 1);
  auto c = Config::Parse(R"({"fhir": {"base_url": "http://x", "auth": {"bearer_token_env":
      "COUNTERSIGN_TEST_FHIR_TOKEN"}}, "principals": "principals.json",
      "approval_policy": "approval-policy.json", "guardrails": "guardrails.json",
      "mappings": {"rules_dir": "r"}})", kFixtures);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  BOOST_TEST(c->fhir.auth.bearer_token == "from-env");
  unsetenv("COUNTERSIGN_TEST_FHIR_TOKEN");
  auto missing = Config::Parse(R"({"fhir": {"base_url": "http://x", "auth": {"bearer_token_env":
      "COUNTERSIGN_TEST_FHIR_TOKEN"}}})", kFixtures);
  BOOST_TEST(missing.status().message().find("is not set") != std::string::npos);
  BOOST_TEST(missing.status().message().find("from-env") == std::string::npos);
}

// fhir.auth.smart_backend: required members named by path, the key read and checked at load
// (a check-config catches a wrong file or an unusable key), never together with static creds.
BOOST_AUTO_TEST_CASE(smart_backend_auth_is_checked_at_load) {
  std::string dir = (std::filesystem::temp_directory_path() / "countersign-cfg-XXXXXX").string();
  BOOST_REQUIRE(mkdtemp(dir.data()) != nullptr);
  std::string cmd = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out '" + dir +
                    "/es384.pem' >/dev/null 2>&1";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  std::ofstream(dir + "/not-a-key.pem") << "hello\n";
  const std::string good = R"({"smart_backend": {"client_id": "cs", "key_id": "k1", "scope":
      "system/*.cruds", "token_url": "https://fhir.example.org/oauth2/token",
      "private_key_file": ")" + dir + R"(/es384.pem"}})";
  auto parse = [&](const std::string& auth) {
    return Config::Parse(R"({"fhir": {"base_url": "https://fhir.example.org/R4", "auth": )" + auth +
                             R"(}, "principals": "principals.json", "approval_policy":
        "approval-policy.json", "guardrails": "guardrails.json", "mappings": {"rules_dir": "r"}})",
                         kFixtures);
  };
  auto c = parse(good);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  BOOST_TEST(c->fhir.auth.smart_backend.enabled());
  BOOST_TEST(c->fhir.auth.smart_backend.client_id == "cs");
  BOOST_TEST(c->fhir.auth.smart_backend.private_key_pem.find("PRIVATE KEY") != std::string::npos);

  auto error = [&](const std::string& auth) {
    auto r = parse(auth);
    BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error for " << auth);
    BOOST_TEST(r.status().message().find("BEGIN") == std::string::npos);  // no key text
    return r.status().message();
  };
  BOOST_TEST(error(R"({"smart_backend": {"client_id": "cs", "key_id": "k1", "scope": "s"}})")
                 .find("fhir.auth.smart_backend.private_key_file: required") != std::string::npos);
  BOOST_TEST(error(R"({"smart_backend": {"client_id": "cs", "key_id": "k1", "private_key_file":
      "x.pem"}})").find("fhir.auth.smart_backend.scope: required") != std::string::npos);
  BOOST_TEST(error(R"({"smart_backend": {"client_id": "cs", "key_id": "k1", "scope": "s",
      "private_key_file": "/nonexistent/key.pem"}})")
                 .find("fhir.auth.smart_backend.private_key_file: ") != std::string::npos);
  BOOST_TEST(error(R"({"smart_backend": {"client_id": "cs", "key_id": "k1", "scope": "s",
      "private_key_file": ")" + dir + R"(/not-a-key.pem"}})")
                 .find("not a PEM private key") != std::string::npos);
  BOOST_TEST(error(R"({"smart_backend": {"client_id": "cs", "key_id": "k1", "scope": "s",
      "token_url": "http://as.example.org/token", "private_key_file": ")" + dir +
                   R"(/es384.pem"}})")
                 .find("fhir.auth.smart_backend.token_url: ") != std::string::npos);
  BOOST_TEST(error(R"({"smart_backend": {"client_id": "cs", "colour": 1}})")
                 .find("fhir.auth.smart_backend.colour: unknown key") != std::string::npos);
  BOOST_TEST(error(R"({"bearer_token": "t", "smart_backend": {"client_id": "cs"}})")
                 .find("replaces a static bearer token") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace countersign::config
