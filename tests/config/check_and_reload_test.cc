// What check-config and serve share: values serve cannot use are refused at load, warnings for
// settings that weaken the deployment, Service::Check without side effects (no store file
// created), and the API token reload that SIGHUP triggers.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "plugin/config/service.h"

namespace countersign::config {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config";

std::string Text(const std::string& fhir_extra, const std::string& extra = "") {
  return R"({"fhir": {"base_url": "http://127.0.0.1:8103/fhir/R4")" + fhir_extra + R"(},
    "principals": "principals.json", "approval_policy": "approval-policy.json",
    "guardrails": "guardrails.json", "mappings": {"rules_dir": "../../mappings/rules"})" +
         extra + "}";
}

std::string ErrorOf(const std::string& text) {
  auto c = Config::Parse(text, kFixtures);
  BOOST_REQUIRE_MESSAGE(!c.ok(), "expected an error for " << text);
  return c.status().message();
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/cs-config-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

BOOST_AUTO_TEST_CASE(listen_values_serve_cannot_bind_are_refused) {
  for (const char* listen : {"https://127.0.0.1:8400", "[::]:8400", "999.1.1.1:80",
                             "localhost:8400", "127.0.0.1:", "127.0.0.1:8400x", ":8400",
                             "127.0.0.1:65536", "127.0.0.1:-1"}) {
    std::string e = ErrorOf(Text("", std::string(R"(, "server": {"listen": ")") + listen + "\"}"));
    BOOST_TEST(e.find("server.listen") != std::string::npos, listen << ": " << e);
  }
  auto ok = Config::Parse(Text("", R"(, "server": {"listen": "127.0.0.1:0"})"), kFixtures);
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  BOOST_TEST(ok->listen_host == "127.0.0.1");
  BOOST_TEST(ok->listen_port == 0);
}

BOOST_AUTO_TEST_CASE(fhir_values_the_client_cannot_use_are_refused) {
  for (const char* url : {"http://", "https://", "http:// space.example/R4", "http://h/R4#frag",
                          "http://h/R4?x=1"}) {
    std::string text = Text("");
    text.replace(text.find("http://127.0.0.1:8103/fhir/R4"), 29, url);
    BOOST_TEST(ErrorOf(text).find("fhir.base_url") != std::string::npos, url);
  }
  BOOST_TEST(ErrorOf(Text(R"(, "request_timeout_ms": 0)")).find("fhir.request_timeout_ms") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(Text(R"(, "connect_timeout_ms": 0)")).find("fhir.connect_timeout_ms") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(Text(R"(, "tls": {"ca_file": "no-such-ca.pem"})")).find("fhir.tls.ca_file") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(weakening_settings_load_with_a_warning) {
  auto c = Config::Parse(Text(R"(, "tls": {"verify": false})"), kFixtures);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  BOOST_REQUIRE_EQUAL(c->warnings.size(), 1u);
  BOOST_TEST(c->warnings[0].find("fhir.tls.verify") != std::string::npos);
  std::string remote = Text("");
  remote.replace(remote.find("127.0.0.1:8103"), 14, "fhir.example.org");
  auto r = Config::Parse(remote, kFixtures);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_EQUAL(r->warnings.size(), 1u);
  BOOST_TEST(r->warnings[0].find("plain http://") != std::string::npos);
  auto quiet = Config::Parse(Text(""), kFixtures);
  BOOST_TEST(quiet->warnings.empty());
}

BOOST_AUTO_TEST_CASE(check_creates_no_store_and_names_an_unusable_one) {
  TempDir dir;
  const std::string db = dir.path + "/Clínica Pérez & co.db";
  auto at = [&](const std::string& path) {
    auto c = Config::Parse(Text("", R"(, "store": {"path": ")" + path + "\"}"), kFixtures);
    BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    return std::move(c).value();
  };
  std::vector<std::string> notes;
  BOOST_TEST(Service::Check(at(db), &notes).ok());
  BOOST_TEST(!fs::exists(db));
  BOOST_TEST(fs::is_empty(dir.path));  // no -wal, no -shm either

  Status missing_dir = Service::Check(at(dir.path + "/nowhere/x.db"), &notes);
  BOOST_TEST(!missing_dir.ok());
  BOOST_TEST(missing_dir.message().find("directory does not exist") != std::string::npos);

  Write(db, "not a database, just text");
  Status not_sqlite = Service::Check(at(db), &notes);
  BOOST_TEST(not_sqlite.message().find("not an SQLite database") != std::string::npos);
  fs::remove(db);

  {  // a real store, made world-readable: loads, with a warning
    auto opened = Service::Open(at(db));
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  }
  chmod(db.c_str(), 0644);
  notes.clear();
  BOOST_TEST(Service::Check(at(db), &notes).ok());
  bool warned = false;
  for (const auto& n : notes) warned = warned || n.find("chmod 600") != std::string::npos;
  BOOST_TEST(warned);
}

BOOST_AUTO_TEST_CASE(reload_revokes_and_adds_tokens_without_a_restart) {
  TempDir dir;
  for (const char* f : {"principals.json", "approval-policy.json", "guardrails.json"}) {
    fs::copy_file(kFixtures + "/" + f, dir.path + "/" + f);
  }
  const std::string old_token = "old token, Acme Health AI", new_token = "new | token # ñ";
  auto config_with = [&](const std::string& ada_token) {
    return R"({"fhir": {"base_url": "http://127.0.0.1:8103/fhir/R4"},
      "store": {"path": "cs.db"}, "principals": "principals.json",
      "approval_policy": "approval-policy.json", "guardrails": "guardrails.json",
      "mappings": {"rules_dir": ")" + std::string(COUNTERSIGN_SOURCE_DIR) + R"(/mappings/rules"},
      "tokens": [{"principal": "Device/ai-scribe", "sha256": ")" + TokenHash("ai") + R"("},
                 {"principal": "Practitioner/dr-ada", "sha256": ")" + TokenHash(ada_token) +
           R"("}]})";
  };
  const std::string path = dir.path + "/countersign.json";
  Write(path, config_with(old_token));
  auto cfg = Config::Load(path);
  BOOST_REQUIRE_MESSAGE(cfg.ok(), cfg.status().ToString());
  auto service = Service::Open(*cfg);
  BOOST_REQUIRE_MESSAGE(service.ok(), service.status().ToString());
  Service& s = **service;
  BOOST_TEST(s.Authenticate(old_token)->id == "Practitioner/dr-ada");
  BOOST_TEST(s.Authenticate(new_token).status().IsUnauthorized());

  Write(path, config_with(new_token));
  std::string summary;
  Status reloaded = s.ReloadTokens(&summary);
  BOOST_REQUIRE_MESSAGE(reloaded.ok(), reloaded.ToString());
  BOOST_TEST(summary == "2 tokens (1 new, 1 revoked)");
  BOOST_TEST(s.Authenticate(old_token).status().IsUnauthorized());
  BOOST_TEST(s.Authenticate(new_token)->id == "Practitioner/dr-ada");
  BOOST_TEST(s.Authenticate("ai")->id == "Device/ai-scribe");

  // A broken file, or a token for a principal the running instance lacks: nothing changes.
  Write(path, "{\"fhir\": ");
  BOOST_TEST(!s.ReloadTokens(&summary).ok());
  BOOST_TEST(s.Authenticate(new_token)->id == "Practitioner/dr-ada");
  std::string with_new_principal = config_with(old_token);
  Write(dir.path + "/principals.json",
        R"({"principals": [{"id": "Device/ai-scribe", "roles": ["ai-agent"]},
           {"id": "Practitioner/dr-ada", "roles": ["clinician"]},
           {"id": "Practitioner/new-doc", "roles": ["clinician"]}]})");
  with_new_principal.replace(with_new_principal.find("Practitioner/dr-ada"), 19,
                             "Practitioner/new-doc");
  Write(path, with_new_principal);
  Status refused = s.ReloadTokens(&summary);
  BOOST_TEST(refused.message().find("needs a restart") != std::string::npos, refused.ToString());
  BOOST_TEST(s.Authenticate(new_token)->id == "Practitioner/dr-ada");
  BOOST_TEST(s.Authenticate(old_token).status().IsUnauthorized());
}

}  // namespace
}  // namespace countersign::config
