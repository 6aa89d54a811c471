// The FHIR client against the loopback FHIR server (Medplum's router): CRUD and paging,
// conflicts on 409- and 412-servers, lost answers without duplicates, Retry-After, servers
// without transactions, auth, timeouts.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "fhir/bundle.h"
#include "fhir/client.h"
#include "fhir/resource.h"
#include "tests/support/test_fhir_server.h"

namespace bdata = boost::unit_test::data;

namespace countersign::fhir {
namespace {

using testing::Fault;
using testing::ServerConfig;
using testing::SharedTestFhirServer;
using testing::TestFhirServer;

std::unique_ptr<FhirClient> ClientFor(TestFhirServer& server, ClientOptions options = {}) {
  options.base_url = server.base_url();
  options.retry.initial_backoff = std::chrono::milliseconds(5);
  auto c = FhirClient::Create(options);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return std::move(c).value();
}

json::Document Json(const char* text) {
  auto d = json::Parse(text);
  BOOST_REQUIRE(d.ok());
  return std::move(d).value();
}

const char* kAppointment = R"({"resourceType":"Appointment","status":"booked",
  "start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:30:00Z",
  "participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]})";

size_t CountOnServer(TestFhirServer& server, const std::string& type, const std::string& query) {
  auto r = server.Raw("GET", "/" + type + "?" + query + "&_count=1000");
  BOOST_REQUIRE(r.ok() && r->status == 200);
  auto b = json::Parse(r->body);
  const json::Value* entries = json::Member(*b, "entry");
  return entries ? entries->Size() : 0;
}

BOOST_AUTO_TEST_SUITE(client)

BOOST_AUTO_TEST_CASE(create_read_vread_update_patch_delete) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  auto made = client->Create(Json(kAppointment));
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->http_status == 201);
  BOOST_TEST(!made->id.empty());
  BOOST_TEST(made->version_id == "1");
  BOOST_TEST(made->etag == "W/\"1\"");
  BOOST_TEST(made->location.find("/Appointment/" + made->id + "/_history/1") != std::string::npos);

  json::Document next = std::move(made->body);
  json::SetString(next, "status", "cancelled", next.GetAllocator());
  auto updated = client->Update(next, "1");
  BOOST_REQUIRE_MESSAGE(updated.ok(), updated.status().ToString());
  BOOST_TEST(updated->version_id == "2");

  auto patched = client->Patch("Appointment", made->id,
                               Json(R"([{"op":"replace","path":"/status","value":"booked"}])"), "2");
  BOOST_REQUIRE_MESSAGE(patched.ok(), patched.status().ToString());
  BOOST_TEST(patched->version_id == "3");
  BOOST_TEST(json::GetString(client->Read("Appointment", made->id)->body, "status").value() == "booked");
  BOOST_TEST(json::GetString(client->VRead("Appointment", made->id, "2")->body, "status").value() ==
             "cancelled");

  BOOST_REQUIRE(client->Delete("Appointment", made->id).ok());
  BOOST_TEST(client->Read("Appointment", made->id).status().IsGone());
  BOOST_TEST(client->Read("Appointment", "no-such-id").status().IsNotFound());
}

// Writes ask for the resource back; reads and searches do not. On a server that answers writes
// with headers only, the id and version still come from Location and ETag.
BOOST_AUTO_TEST_CASE(writes_prefer_the_representation_and_cope_without_it) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  auto made = client->Create(Json(kAppointment));
  BOOST_REQUIRE(made.ok());
  BOOST_REQUIRE(client->Read("Appointment", made->id).ok());
  BOOST_REQUIRE(client->Search("Appointment", "status=booked").ok());
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok() && seen->size() == 3u);
  BOOST_TEST((*seen)[0].prefer == "return=representation");
  BOOST_TEST((*seen)[1].prefer == "");
  BOOST_TEST((*seen)[2].prefer == "");

  testing::ServerConfig minimal;
  minimal.return_minimal = true;
  BOOST_REQUIRE(server.Configure(minimal).ok());
  auto bare = client->Create(Json(kAppointment));
  BOOST_REQUIRE_MESSAGE(bare.ok(), bare.status().ToString());
  BOOST_TEST(bare->body.IsNull());
  BOOST_TEST(!bare->id.empty());
  BOOST_TEST(bare->version_id == "1");
  auto current = client->Read("Appointment", bare->id);
  BOOST_REQUIRE(current.ok());
  auto updated = client->Update(current->body, "1");
  BOOST_REQUIRE_MESSAGE(updated.ok(), updated.status().ToString());
  BOOST_TEST(updated->id == bare->id);
  BOOST_TEST(updated->version_id == "2");
}

BOOST_AUTO_TEST_CASE(search_follows_next_links) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  for (int i = 0; i < 7; ++i) {
    BOOST_REQUIRE(client->Create(Json(R"({"resourceType":"Patient","active":true})")).ok());
  }
  auto all = client->Search("Patient", "_count=3");
  BOOST_REQUIRE_MESSAGE(all.ok(), all.status().ToString());
  BOOST_TEST(all->size() == 7u);
  auto bounded = client->Search("Patient", "_count=3", {.max_pages = 2});
  BOOST_TEST((bounded.status().kind() == ErrorKind::kTooLarge));
}

BOOST_DATA_TEST_CASE(stale_if_match_is_a_conflict, bdata::make({409, 412}), status) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.version_conflict_status = status;
  BOOST_REQUIRE(server.Configure(config).ok());
  auto client = ClientFor(server);
  auto made = client->Create(Json(kAppointment));
  BOOST_REQUIRE(made.ok());
  json::Document v1 = std::move(made->body);
  BOOST_REQUIRE(client->Update(v1, "1").ok());  // now at version 2
  auto stale = client->Update(v1, "1");
  BOOST_TEST(stale.status().IsConflict());
  BOOST_TEST(stale.status().http_status() == status);
  BOOST_TEST(stale.status().operation_outcome().find("OperationOutcome") != std::string::npos);
  auto stale_patch = client->Patch("Appointment", made->id,
                                   Json(R"([{"op":"replace","path":"/status","value":"noshow"}])"),
                                   "1");
  BOOST_TEST(stale_patch.status().IsConflict());
  BOOST_TEST(json::GetString(client->Read("Appointment", made->id)->body, "status").value() ==
             "booked");
}

BOOST_AUTO_TEST_CASE(if_match_required_is_a_conflict_without_one) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.require_if_match = true;
  BOOST_REQUIRE(server.Configure(config).ok());
  auto client = ClientFor(server);
  auto made = client->Create(Json(kAppointment));
  auto missing = client->Update(made->body);
  BOOST_TEST(missing.status().IsConflict());
  BOOST_TEST(missing.status().http_status() == 428);
  BOOST_TEST(client->Update(made->body, made->version_id).ok());
}

BOOST_AUTO_TEST_CASE(unavailable_after_apply_does_not_duplicate_a_conditional_create) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  Fault f;
  f.method = "POST";
  f.path_regex = "/Patient";
  f.status = 503;
  f.after_apply = true;
  BOOST_REQUIRE(server.AddFault(f).ok());
  auto patient = Json(R"({"resourceType":"Patient","identifier":[{"system":"urn:t","value":"once"}]})");
  auto made = client->Create(patient, "identifier=urn:t|once");
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->attempts == 2);
  BOOST_TEST(CountOnServer(server, "Patient", "identifier=urn:t|once") == 1u);
}

// libcurl sends a request once more, on a fresh connection, when a reused connection closes
// before any byte of the answer (it takes that for a stale keep-alive connection), POST
// included, and says nothing. So a POST whose answer is lost may reach the server twice, however
// the client counts its own attempts: every create Countersign sends is conditional, and every
// entry of its transactions too (the commit engine relies on it).
BOOST_AUTO_TEST_CASE(a_post_whose_answer_is_dropped_on_a_reused_connection_may_arrive_twice) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  BOOST_REQUIRE(client->Read("Patient", "warm-up").status().IsNotFound());  // a pooled connection
  Fault drop;
  drop.method = "POST";
  drop.path_regex = "/Patient";
  drop.status = 0;  // close without answering...
  drop.after_apply = true;  // ...after applying
  drop.count = 2;
  BOOST_REQUIRE(server.AddFault(drop).ok());
  auto made = client->Create(Json(R"({"resourceType":"Patient"})"));
  BOOST_TEST(made.status().IsNetwork(), made.status().ToString());
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  size_t posts = 0;
  for (const auto& r : *seen) posts += r.method == "POST";
  BOOST_TEST(posts == 2u);  // our client sent it once; libcurl re-sent it
  BOOST_TEST(CountOnServer(server, "Patient", "_count=100") == 2u);
}

BOOST_AUTO_TEST_CASE(unavailable_non_conditional_post_is_not_retried) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  Fault f;
  f.method = "POST";
  f.path_regex = "/Patient";
  f.status = 503;
  f.after_apply = true;
  BOOST_REQUIRE(server.AddFault(f).ok());
  auto made = client->Create(Json(R"({"resourceType":"Patient"})"));
  BOOST_TEST(made.status().IsUnavailable());
  BOOST_TEST(made.status().http_status() == 503);
  BOOST_TEST(server.Requests()->size() == 1u);  // sent once
}

BOOST_AUTO_TEST_CASE(unavailable_transaction_is_not_retried) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  BOOST_REQUIRE(client->GetCapabilities().ok());  // fetched before the fault is armed
  Fault f;
  f.method = "POST";
  f.path_regex = "^/fhir/R4/?$";
  f.status = 503;
  f.after_apply = true;
  BOOST_REQUIRE(server.AddFault(f).ok());
  BundleBuilder b(BundleType::kTransaction);
  json::Document appt = Json(kAppointment);
  b.AddCreate(json::Copy(appt, b.allocator()));
  json::Document bundle = b.Release();
  auto r = client->Transaction(bundle);
  BOOST_TEST(r.status().IsUnavailable());
  BOOST_TEST(r.status().http_status() == 503);
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  int posts = 0;
  for (const auto& s : seen.value()) posts += s.method == "POST" ? 1 : 0;
  BOOST_TEST(posts == 1);
  BOOST_TEST(CountOnServer(server, "Appointment", "status=booked") == 1u);  // applied once
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured) {
  auto& server = SharedTestFhirServer();
  auto client = ClientFor(server);
  Fault f;
  f.method = "GET";
  f.path_regex = "/metadata";
  f.status = 429;
  f.retry_after_s = 1;
  BOOST_REQUIRE(server.AddFault(f).ok());
  auto start = std::chrono::steady_clock::now();
  auto caps = client->GetCapabilities();
  auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_REQUIRE_MESSAGE(caps.ok(), caps.status().ToString());
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() >= 1000);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 3000);
}

BOOST_AUTO_TEST_CASE(retry_budget_ends_with_the_last_answer) {
  auto& server = SharedTestFhirServer();
  ClientOptions options;
  options.retry.max_attempts = 3;
  auto client = ClientFor(server, options);
  Fault f;
  f.method = "GET";
  f.path_regex = "/Patient";
  f.status = 503;
  f.count = 10;
  BOOST_REQUIRE(server.AddFault(f).ok());
  auto r = client->Read("Patient", "x");
  BOOST_TEST(r.status().IsUnavailable());
  BOOST_TEST(server.Requests()->size() == 3u);
}

BOOST_AUTO_TEST_CASE(transaction_on_a_server_without_transactions_is_refused_unsent) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.transactions = false;
  BOOST_REQUIRE(server.Configure(config).ok());
  auto client = ClientFor(server);
  BundleBuilder b(BundleType::kTransaction);
  json::Document appt = Json(kAppointment);
  b.AddCreate(json::Copy(appt, b.allocator()));
  json::Document bundle = b.Release();
  auto r = client->Transaction(bundle);
  BOOST_TEST(r.status().IsUnsupported());
  BOOST_TEST(r.status().message().find("transaction") != std::string::npos);
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  for (const auto& r : seen.value()) BOOST_TEST(r.method == "GET");  // only /metadata
  // With transactions on, the same Bundle commits.
  BOOST_REQUIRE(server.Configure({}).ok());
  auto fresh = ClientFor(server);
  auto ok = fresh->Transaction(bundle);
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  BOOST_TEST(json::GetString(ok->body, "type").value() == "transaction-response");
}

BOOST_AUTO_TEST_CASE(bearer_token_required_and_never_in_messages) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.bearer_token = "sekrit-token-123";
  BOOST_REQUIRE(server.Configure(config).ok());
  auto anonymous = ClientFor(server);
  auto refused = anonymous->Read("Patient", "x");
  BOOST_TEST(refused.status().IsUnauthorized());
  ClientOptions with;
  with.auth.bearer_token = "sekrit-token-123";
  auto client = ClientFor(server, with);
  auto missing = client->Read("Patient", "x");
  BOOST_TEST(missing.status().IsNotFound());  // authenticated, then not found
  BOOST_TEST(missing.status().ToString().find("sekrit") == std::string::npos);
  BOOST_TEST(missing.status().operation_outcome().find("sekrit") == std::string::npos);
  ClientOptions wrong;
  wrong.auth.bearer_token = "not-it";
  auto bad = ClientFor(server, wrong)->Read("Patient", "x");
  BOOST_TEST(bad.status().IsUnauthorized());
  BOOST_TEST(bad.status().ToString().find("not-it") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(basic_auth) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.basic_user = "svc";
  config.basic_password = "pa55";
  BOOST_REQUIRE(server.Configure(config).ok());
  ClientOptions with;
  with.auth.basic_user = "svc";
  with.auth.basic_password = "pa55";
  BOOST_TEST(ClientFor(server, with)->GetCapabilities().ok());
  with.auth.basic_password = "nope";
  BOOST_TEST(ClientFor(server, with)->GetCapabilities().status().IsUnauthorized());
}

BOOST_AUTO_TEST_CASE(slow_server_is_a_timeout) {
  auto& server = SharedTestFhirServer();
  ServerConfig config;
  config.delay_ms = 1500;
  BOOST_REQUIRE(server.Configure(config).ok());
  ClientOptions options;
  options.request_timeout = std::chrono::milliseconds(300);
  options.retry.max_attempts = 2;
  auto client = ClientFor(server, options);
  auto r = client->Read("Patient", "x");
  BOOST_TEST(r.status().IsTimeout());
  BOOST_TEST(r.status().IsTransient());
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_a_network_error) {
  ClientOptions options;
  options.base_url = "http://127.0.0.1:1/fhir/R4";
  options.retry = RetryPolicy::None();
  auto client = FhirClient::Create(options);
  BOOST_TEST(client.value()->Read("Patient", "x").status().IsNetwork());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
