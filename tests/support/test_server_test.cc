// Smoke test of the loopback FHIR test server (tests/fhir-server) through its C++ harness: the
// spec behaviours and switches the integration suites rely on, checked with plain HTTP (Raw).
#define BOOST_TEST_MODULE test_server_test
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fhir/json.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::testing {
namespace {

const std::vector<std::string> kFhirJson = {"Content-Type: application/fhir+json"};

json::Document ParseBody(const TestFhirServer::RawResponse& r) {
  auto d = json::Parse(r.body);
  BOOST_REQUIRE_MESSAGE(d.ok(), "body is not JSON: " + r.body);
  return std::move(d).value();
}

std::string IdOf(const TestFhirServer::RawResponse& r) {
  auto d = ParseBody(r);
  return std::string(json::GetString(d, "id").value_or(""));
}

// POSTs a Patient and returns its server-assigned id.
std::string CreatePatient(TestFhirServer& server, const std::string& family) {
  auto r = server.Raw("POST", "/Patient",
                      R"({"resourceType":"Patient","name":[{"family":")" + family + R"("}]})",
                      kFhirJson);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_EQUAL(r->status, 201);
  return IdOf(*r);
}

int64_t SearchTotal(TestFhirServer& server, const std::string& type_and_query) {
  auto r = server.Raw("GET", "/" + type_and_query);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_EQUAL(r->status, 200);
  auto d = ParseBody(*r);
  return json::GetInt(d, "total").value_or(-1);
}

std::string TempDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "countersign-h1-XXXXXX").string();
  BOOST_REQUIRE(mkdtemp(dir.data()) != nullptr);
  return dir;
}

BOOST_AUTO_TEST_SUITE(test_server)

BOOST_AUTO_TEST_CASE(starts_and_resets) {
  TestFhirServer& server = SharedTestFhirServer();
  BOOST_TEST(server.port() > 0);
  BOOST_TEST(server.base_url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/fhir/R4");
  CreatePatient(server, "Before");
  BOOST_TEST(SearchTotal(server, "Patient") == 1);
  BOOST_REQUIRE(server.Reset().ok());
  BOOST_TEST(SearchTotal(server, "Patient") == 0);
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  BOOST_REQUIRE_EQUAL(seen->size(), 1u);  // the search above, nothing from before the reset
  BOOST_TEST((*seen)[0].method == "GET");
  BOOST_TEST((*seen)[0].path == "/fhir/R4/Patient");
  BOOST_TEST((*seen)[0].status == 200);
}

BOOST_AUTO_TEST_CASE(create_and_read_through_raw) {
  TestFhirServer& server = SharedTestFhirServer();
  // A client-supplied id on POST is ignored: the server assigns one.
  auto created =
      server.Raw("POST", "/Patient", R"({"resourceType":"Patient","id":"mine"})", kFhirJson);
  BOOST_REQUIRE(created.ok());
  BOOST_TEST(created->status == 201);
  BOOST_TEST(created->etag == "W/\"1\"");
  std::string id = IdOf(*created);
  BOOST_TEST(!id.empty());
  BOOST_TEST(id != "mine");
  BOOST_TEST(created->location == server.base_url() + "/Patient/" + id + "/_history/1");

  auto read = server.Raw("GET", "/Patient/" + id);
  BOOST_REQUIRE(read.ok());
  BOOST_TEST(read->status == 200);
  BOOST_TEST(IdOf(*read) == id);
  BOOST_TEST(server.Raw("GET", "/Patient/mine")->status == 404);

  // PUT that creates answers 201; a deleted resource reads as 410.
  auto put =
      server.Raw("PUT", "/Patient/p-put", R"({"resourceType":"Patient","id":"p-put"})", kFhirJson);
  BOOST_TEST(put->status == 201);
  BOOST_TEST(server.Raw("DELETE", "/Patient/p-put")->status == 200);
  BOOST_TEST(server.Raw("GET", "/Patient/p-put")->status == 410);
}

BOOST_AUTO_TEST_CASE(stale_if_match_is_a_version_conflict) {
  TestFhirServer& server = SharedTestFhirServer();
  std::string id = CreatePatient(server, "V");
  std::string body = R"({"resourceType":"Patient","id":")" + id + R"(","active":true})";
  std::vector<std::string> unquoted = kFhirJson;
  unquoted.push_back("If-Match: 1");  // unquoted: honoured, not ignored
  auto updated = server.Raw("PUT", "/Patient/" + id, body, unquoted);
  BOOST_TEST(updated->status == 200);
  BOOST_TEST(updated->etag == "W/\"2\"");

  std::vector<std::string> stale = kFhirJson;
  stale.push_back("If-Match: W/\"1\"");
  auto refused = server.Raw("PUT", "/Patient/" + id, body, stale);
  BOOST_TEST(refused->status == 412);
  BOOST_TEST(json::GetString(ParseBody(*refused), "resourceType").value_or("") ==
             "OperationOutcome");
  std::vector<std::string> stale_patch = {"Content-Type: application/json-patch+json",
                                          "If-Match: W/\"1\""};
  BOOST_TEST(server
                 .Raw("PATCH", "/Patient/" + id, R"([{"op":"add","path":"/active","value":false}])",
                      stale_patch)
                 ->status == 412);

  ServerConfig config;
  config.version_conflict_status = 409;
  BOOST_REQUIRE(server.Configure(config).ok());
  BOOST_TEST(server.Raw("PUT", "/Patient/" + id, body, stale)->status == 409);
  BOOST_TEST(server.Raw("GET", "/Patient/" + id)->etag == "W/\"2\"");
}

BOOST_AUTO_TEST_CASE(transactions_off_are_refused_and_not_declared) {
  TestFhirServer& server = SharedTestFhirServer();
  auto declares = [&](const std::string& code) {
    auto r = server.Raw("GET", "/metadata");
    BOOST_REQUIRE(r.ok());
    BOOST_REQUIRE_EQUAL(r->status, 200);
    auto cs = ParseBody(*r);
    const auto* rest = json::Member(cs, "rest");
    BOOST_REQUIRE(rest != nullptr && rest->IsArray() && !rest->Empty());
    BOOST_TEST(json::GetString((*rest)[0], "mode").value_or("") == "server");
    const auto* interactions = json::Member((*rest)[0], "interaction");
    if (interactions == nullptr || !interactions->IsArray()) return false;
    for (const auto& i : interactions->GetArray()) {
      if (json::GetString(i, "code").value_or("") == code) return true;
    }
    return false;
  };
  BOOST_TEST(declares("transaction"));
  BOOST_TEST(declares("batch"));

  ServerConfig config;
  config.transactions = false;
  BOOST_REQUIRE(server.Configure(config).ok());
  BOOST_TEST(!declares("transaction"));
  BOOST_TEST(declares("batch"));
  auto r = server.Raw("POST", "", R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]})",
                      kFhirJson);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((r->status == 400 || r->status == 422));
  BOOST_TEST(r->body.find("transactions not supported") != std::string::npos, r->body);
  BOOST_TEST(SearchTotal(server, "Patient") == 0);
}

BOOST_AUTO_TEST_CASE(failed_transaction_is_rolled_back) {
  TestFhirServer& server = SharedTestFhirServer();
  auto put = server.Raw("PUT", "/Patient/p1", R"({"resourceType":"Patient","id":"p1"})", kFhirJson);
  BOOST_REQUIRE_EQUAL(put->status, 201);
  // A create (referenced through an upper-case urn:uuid), an update, then a stale update: the
  // last entry fails, so nothing of the first two may remain.
  auto r = server.Raw("POST", "", R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"urn:uuid:0C5E8B5A-1D7F-4C33-9E2A-6B1F0D2E3A4B",
       "resource":{"resourceType":"Patient","name":[{"family":"New"}]},
       "request":{"method":"POST","url":"Patient"}},
      {"resource":{"resourceType":"Communication","status":"completed",
                   "subject":{"reference":"urn:uuid:0c5e8b5a-1d7f-4c33-9e2a-6b1f0d2e3a4b"}},
       "request":{"method":"POST","url":"Communication"}},
      {"resource":{"resourceType":"Patient","id":"p1","active":true},
       "request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"1\""}},
      {"resource":{"resourceType":"Patient","id":"p1","active":false},
       "request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"1\""}}]})",
                      kFhirJson);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == 412);
  BOOST_TEST(json::GetString(ParseBody(*r), "resourceType").value_or("") == "OperationOutcome");
  BOOST_TEST(SearchTotal(server, "Patient") == 1);
  BOOST_TEST(SearchTotal(server, "Communication") == 0);
  auto p1 = server.Raw("GET", "/Patient/p1");
  BOOST_TEST(p1->etag == "W/\"1\"");
  BOOST_TEST(p1->body.find("active") == std::string::npos);

  // The same Bundle without the stale entry commits, with the placeholder rewritten.
  auto ok = server.Raw("POST", "", R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"urn:uuid:0C5E8B5A-1D7F-4C33-9E2A-6B1F0D2E3A4B",
       "resource":{"resourceType":"Patient","name":[{"family":"New"}]},
       "request":{"method":"POST","url":"Patient"}},
      {"resource":{"resourceType":"Communication","status":"completed",
                   "subject":{"reference":"urn:uuid:0c5e8b5a-1d7f-4c33-9e2a-6b1f0d2e3a4b"}},
       "request":{"method":"POST","url":"Communication"}}]})",
                       kFhirJson);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->status == 200);
  BOOST_TEST(ok->body.find("urn:uuid") == std::string::npos, ok->body);
  BOOST_TEST(SearchTotal(server, "Communication") == 1);
}

BOOST_AUTO_TEST_CASE(conditional_create_in_a_large_transaction) {
  TestFhirServer& server = SharedTestFhirServer();
  std::string entries;
  for (int i = 0; i < 12; ++i) {  // stock MemoryRepository stops at 8 conditional entries
    if (!entries.empty()) entries += ",";
    std::string v = std::to_string(i % 6);
    entries +=
        R"({"resource":{"resourceType":"Patient","identifier":[{"system":"urn:t","value":")" + v +
        R"("}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:t|)" + v +
        R"("}})";
  }
  std::string bundle =
      R"({"resourceType":"Bundle","type":"transaction","entry":[)" + entries + "]}";
  BOOST_TEST(server.Raw("POST", "", bundle, kFhirJson)->status == 200);
  BOOST_TEST(SearchTotal(server, "Patient") == 6);
  BOOST_TEST(server.Raw("POST", "", bundle, kFhirJson)->status == 200);
  BOOST_TEST(SearchTotal(server, "Patient") == 6);

  std::vector<std::string> cond = kFhirJson;
  cond.push_back("If-None-Exist: identifier=urn:t|0");
  auto again = server.Raw("POST", "/Patient", R"({"resourceType":"Patient"})", cond);
  BOOST_TEST(again->status == 200);
  BOOST_TEST(SearchTotal(server, "Patient") == 6);
}

BOOST_AUTO_TEST_CASE(fault_after_apply_loses_the_answer) {
  TestFhirServer& server = SharedTestFhirServer();
  Fault fault;
  fault.method = "POST";
  fault.path_regex = "/Patient$";
  fault.status = 503;
  fault.after_apply = true;
  BOOST_REQUIRE(server.AddFault(fault).ok());
  auto r = server.Raw("POST", "/Patient", R"({"resourceType":"Patient"})", kFhirJson);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == 503);
  BOOST_TEST(SearchTotal(server, "Patient") == 1);  // applied all the same
  BOOST_TEST(server.Raw("POST", "/Patient", R"({"resourceType":"Patient"})", kFhirJson)->status ==
             201);

  Fault before;
  before.status = 429;
  before.retry_after_s = 1;
  before.path_regex = "/Patient$";
  BOOST_REQUIRE(server.AddFault(before).ok());
  BOOST_TEST(server.Raw("POST", "/Patient", R"({"resourceType":"Patient"})", kFhirJson)->status ==
             429);
  BOOST_TEST(SearchTotal(server, "Patient") == 2);  // not applied

  Fault drop;
  drop.status = 0;  // the connection closes without an answer
  BOOST_REQUIRE(server.AddFault(drop).ok());
  BOOST_TEST(!server.Raw("GET", "/Patient").ok());
  BOOST_REQUIRE(server.ClearFaults().ok());

  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  std::vector<int> statuses;
  for (const auto& s : *seen) statuses.push_back(s.status);
  BOOST_TEST(statuses == (std::vector<int>{503, 200, 201, 429, 200, 0}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bearer_token_required) {
  TestFhirServer& server = SharedTestFhirServer();
  ServerConfig config;
  config.bearer_token = "t0ken";
  BOOST_REQUIRE(server.Configure(config).ok());
  auto none = server.Raw("GET", "/metadata", "", {"Authorization:"});
  BOOST_TEST(none->status == 401);
  BOOST_TEST(json::GetString(ParseBody(*none), "resourceType").value_or("") == "OperationOutcome");
  BOOST_TEST(server.Raw("GET", "/metadata", "", {"Authorization: Bearer wrong"})->status == 401);
  BOOST_TEST(server.Raw("GET", "/metadata")->status == 200);  // Raw sends the configured token
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  BOOST_REQUIRE_EQUAL(seen->size(), 3u);
  BOOST_TEST(!(*seen)[0].had_authorization);
  BOOST_TEST((*seen)[2].had_authorization);
}

BOOST_AUTO_TEST_CASE(restart_keeps_data_and_port) {
  auto started = TestFhirServer::Start();
  BOOST_REQUIRE_MESSAGE(started.ok(), started.status().ToString());
  TestFhirServer& server = **started;
  std::string id = CreatePatient(server, "Kept");
  std::vector<std::string> v1 = kFhirJson;
  v1.push_back("If-Match: W/\"1\"");
  BOOST_TEST(server
                 .Raw("PUT", "/Patient/" + id,
                      R"({"resourceType":"Patient","id":")" + id + R"(","active":true})", v1)
                 ->status == 200);
  BOOST_TEST(server.Raw("DELETE", "/Patient/" + CreatePatient(server, "Gone"))->status == 200);
  ServerConfig config;
  config.version_conflict_status = 409;
  BOOST_REQUIRE(server.Configure(config).ok());

  int port = server.port();
  BOOST_REQUIRE(server.Restart().ok());
  BOOST_TEST(server.port() == port);
  auto read = server.Raw("GET", "/Patient/" + id);
  BOOST_REQUIRE(read.ok());
  BOOST_TEST(read->status == 200);
  BOOST_TEST(read->etag == "W/\"2\"");
  BOOST_TEST(server.Raw("GET", "/Patient/" + id + "/_history/1")->status == 200);
  BOOST_TEST(SearchTotal(server, "Patient") == 1);  // the deleted one stays deleted
  BOOST_TEST(
      server.Raw("PUT", "/Patient/" + id, R"({"resourceType":"Patient","id":")" + id + R"("})", v1)
          ->status == 409);
}

BOOST_AUTO_TEST_CASE(tls_with_test_certificates) {
  std::string dir = TempDir();
  BOOST_REQUIRE(MakeTestCertificates(dir).ok());
  for (const char* f : {"ca.pem", "server.pem", "server-key.pem"}) {
    BOOST_TEST(std::filesystem::exists(dir + "/" + f), f);
  }
  {
    auto started = TestFhirServer::Start(dir);
    BOOST_REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    TestFhirServer& server = **started;
    BOOST_TEST(server.base_url() ==
               "https://127.0.0.1:" + std::to_string(server.port()) + "/fhir/R4");
    auto r = server.Raw("GET", "/metadata");  // verified against ca.pem (CURLOPT_CAINFO)
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    BOOST_TEST(r->status == 200);
    BOOST_REQUIRE(server.Reset().ok());  // admin calls over TLS too
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::testing
