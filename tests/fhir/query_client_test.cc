// Hostile identifiers through the client against the loopback FHIR server: conditional creates
// and searches whose values hold spaces, '&', '+', '#', '%', ',', '|', '$', '\' and non-ASCII
// find exactly the resource they name, a query written without encoding still arrives intact,
// and an error names the whole request line (query included) but no credential.
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "fhir/client.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "tests/support/fault_injecting_transport.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::fhir {
namespace {

using testing::Fault;
using testing::ServerConfig;
using testing::SharedTestFhirServer;

// Values a vendor, model or identifier may hold; each differs from the others only in what a
// careless encoder would lose (a '+' read as a space, '%20' decoded twice, ',' read as OR).
const std::vector<std::string> kHostile = {
    "Acme Health AI/scribe-large/2026.10",
    "Acme+Health+AI/scribe-large/2026.10",
    "Acme%20Health%20AI/scribe-large/2026.10",
    "Clínica Pérez & Söhne, #1 + 50% | x $ \\ y",
    "Clínica Pérez & Söhne",
    "Clínica Pérez",
    "a,b",
    "a",
    "東京 = ?;",
};

std::unique_ptr<FhirClient> Client(testing::TestFhirServer& server, ClientOptions options = {}) {
  options.base_url = server.base_url();
  options.retry.initial_backoff = std::chrono::milliseconds(5);
  auto c = FhirClient::Create(options);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c).value();
}

json::Document PatientWith(const std::string& value) {
  json::Document d(rapidjson::kObjectType);
  json::SetString(d, "resourceType", "Patient", d.GetAllocator());
  AddIdentifier(d, {"urn:test:hostile", value}, d.GetAllocator());
  return d;
}

BOOST_AUTO_TEST_SUITE(hostile_queries)

BOOST_AUTO_TEST_CASE(conditional_creates_and_searches_find_exactly_their_identifier) {
  auto& server = SharedTestFhirServer();
  auto client = Client(server);
  std::map<std::string, std::string> ids;
  for (const std::string& v : kHostile) {
    Identifier ident{"urn:test:hostile", v};
    auto made = client->Create(PatientWith(v), IdentifierCondition(ident));
    BOOST_REQUIRE_MESSAGE(made.ok(), v << ": " << made.status().ToString());
    BOOST_TEST(made->http_status == 201, v);  // nothing else matched it
    ids[v] = made->id;
  }
  for (const std::string& v : kHostile) {
    Identifier ident{"urn:test:hostile", v};
    auto again = client->Create(PatientWith(v), IdentifierCondition(ident));
    BOOST_REQUIRE_MESSAGE(again.ok(), v << ": " << again.status().ToString());
    BOOST_TEST(again->http_status == 200, v);  // found, not created again
    BOOST_TEST(again->id == ids[v], v);
    auto found = client->Search("Patient", SearchParams{{"identifier", ident.Token()}});
    BOOST_REQUIRE_MESSAGE(found.ok(), v << ": " << found.status().ToString());
    BOOST_REQUIRE_MESSAGE(found->size() == 1u, v << ": " << found->size() << " matches");
    BOOST_TEST(std::string(ResourceId((*found)[0]).value_or("")) == ids[v], v);
  }
  auto all = client->Search("Patient", "");
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == kHostile.size());
}

BOOST_AUTO_TEST_CASE(a_query_written_without_encoding_still_arrives) {
  auto& server = SharedTestFhirServer();
  auto client = Client(server);
  BOOST_REQUIRE(client->Create(PatientWith("Acme Health AI/scribe-large/2026.10")).ok());
  // The form callers used before: a space and a '|' as they are (libcurl refused the space).
  auto found = client->Search("Patient", "identifier=urn:test:hostile|Acme Health AI/scribe-large/2026.10");
  BOOST_REQUIRE_MESSAGE(found.ok(), found.status().ToString());
  BOOST_TEST(found->size() == 1u);
  auto made = client->Create(PatientWith("Acme Health AI/scribe-large/2026.10"),
                             "identifier=urn:test:hostile|Acme Health AI/scribe-large/2026.10");
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->http_status == 200);
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  for (const auto& r : *seen) {
    BOOST_TEST(r.path.find(' ') == std::string::npos, r.path);
    BOOST_TEST(r.if_none_exist.find(' ') == std::string::npos, r.if_none_exist);
  }
}

BOOST_AUTO_TEST_CASE(errors_name_the_whole_request_line_but_no_credential) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.bearer_token = "sekrit token+/=&";
  BOOST_REQUIRE(server.Configure(config).ok());
  ClientOptions with;
  with.auth.bearer_token = config.bearer_token;
  with.retry.max_attempts = 1;
  auto client = Client(server, with);
  Fault f;
  f.method = "GET";
  f.path_regex = "/Device";
  f.status = 503;
  BOOST_REQUIRE(server.AddFault(f).ok());
  Identifier ident{"urn:countersign:ai-model", "Clínica Pérez & Acme Health AI/m/1"};
  auto r = client->Search("Device", IdentifierCondition(ident));
  BOOST_REQUIRE(!r.ok());
  std::string message = r.status().ToString();
  BOOST_TEST(message.find("GET /Device?" + IdentifierCondition(ident)) != std::string::npos, message);
  BOOST_TEST(message.find("sekrit") == std::string::npos, message);
  BOOST_TEST(message.find(PercentEncode(config.bearer_token)) == std::string::npos, message);

  // No answer at all (the transport's own message): the same request line.
  auto plan = std::make_shared<testing::FaultPlan>();
  plan->FailNext(1, testing::FaultPlan::When::kBeforeSend);
  ClientOptions options = with;
  options.base_url = server.base_url();
  auto faulty = testing::MakeFaultInjectingClient(options, plan);
  auto lost = faulty->Search("Device", IdentifierCondition(ident));
  BOOST_REQUIRE(!lost.ok());
  BOOST_TEST(lost.status().message().find("Device?" + IdentifierCondition(ident)) != std::string::npos,
             lost.status().message());
}

BOOST_AUTO_TEST_CASE(curl_network_errors_keep_the_query_and_drop_userinfo) {
  ClientOptions options;
  options.base_url = "http://user:pass-word@127.0.0.1:1/fhir/R4";  // nothing listens on port 1
  options.retry.max_attempts = 1;
  options.connect_timeout = std::chrono::milliseconds(500);
  auto client = FhirClient::Create(options);
  BOOST_REQUIRE(client.ok());
  auto r = (*client)->Search("Device", IdentifierCondition({"urn:x", "Acme Health AI"}));
  BOOST_REQUIRE(!r.ok());
  std::string message = r.status().ToString();
  BOOST_TEST(message.find("/fhir/R4/Device?identifier=urn:x%7CAcme%20Health%20AI") != std::string::npos,
             message);
  BOOST_TEST(message.find("pass-word") == std::string::npos, message);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
