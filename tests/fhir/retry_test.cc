// Faults a real server cannot produce (a connection reset before the request leaves, or after the
// server applied it), through FaultInjectingTransport over the real libcurl transport to the
// loopback server; the retry schedule through an injected sleeper; the transport pool; secrets
// kept out of every error.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "fhir/client.h"
#include "tests/support/fault_injecting_transport.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::fhir {
namespace {

using testing::FaultPlan;
using testing::MakeFaultInjectingClient;

const char* kPatient =
    R"({"resourceType":"Patient","identifier":[{"system":"urn:test","value":"reset-1"}]})";

json::Document Json(const char* text) {
  auto d = json::Parse(text);
  BOOST_REQUIRE(d.ok());
  return std::move(d).value();
}

ClientOptions FastOptions(testing::TestFhirServer& server) {
  ClientOptions options;
  options.base_url = server.base_url();
  options.retry.initial_backoff = std::chrono::milliseconds(1);
  return options;
}

// How many resources of type match query, read by the harness (no client logic).
size_t CountOnServer(testing::TestFhirServer& server, const std::string& type,
                     const std::string& query) {
  auto r = server.Raw("GET", "/" + type + "?" + query + (query.empty() ? "" : "&") + "_count=1000");
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_EQUAL(r->status, 200);
  auto b = json::Parse(r->body);
  BOOST_REQUIRE(b.ok());
  const json::Value* entries = json::Member(*b, "entry");
  return entries ? entries->Size() : 0;
}

BOOST_AUTO_TEST_SUITE(connection_resets)

BOOST_AUTO_TEST_CASE(a_conditional_create_survives_a_reset_after_apply_without_duplicate) {
  auto& server = testing::SharedTestFhirServer();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailNext(1, FaultPlan::When::kAfterSend, "POST");
  auto client = MakeFaultInjectingClient(FastOptions(server), plan);
  auto made = client->Create(Json(kPatient), "identifier=urn:test|reset-1");
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->attempts == 2);
  BOOST_TEST(made->http_status == 200);  // the retry found the first attempt's resource
  BOOST_TEST(plan->inner_sends() == 2);
  BOOST_TEST(CountOnServer(server, "Patient", "identifier=urn:test|reset-1") == 1u);
}

BOOST_AUTO_TEST_CASE(a_plain_create_is_not_retried_after_a_reset) {
  auto& server = testing::SharedTestFhirServer();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailNext(1, FaultPlan::When::kAfterSend, "POST");
  auto client = MakeFaultInjectingClient(FastOptions(server), plan);
  auto made = client->Create(Json(kPatient));
  BOOST_TEST(made.status().IsNetwork());
  BOOST_TEST(plan->sends() == 1);
  BOOST_TEST(CountOnServer(server, "Patient", "") == 1u);  // applied once, never sent again
}

BOOST_AUTO_TEST_CASE(a_plain_create_is_not_retried_after_a_timeout) {
  auto& server = testing::SharedTestFhirServer();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailNext(1, FaultPlan::When::kAfterSend, "POST", ErrorKind::kTimeout);
  auto client = MakeFaultInjectingClient(FastOptions(server), plan);
  auto made = client->Create(Json(kPatient));
  BOOST_TEST(made.status().IsTimeout());
  BOOST_TEST(plan->sends() == 1);
  BOOST_TEST(CountOnServer(server, "Patient", "") == 1u);
}

BOOST_AUTO_TEST_CASE(reads_are_retried_after_a_reset_before_sending) {
  auto& server = testing::SharedTestFhirServer();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailNext(2, FaultPlan::When::kBeforeSend);
  auto client = MakeFaultInjectingClient(FastOptions(server), plan);
  auto caps = client->GetCapabilities();
  BOOST_REQUIRE_MESSAGE(caps.ok(), caps.status().ToString());
  BOOST_TEST(caps->transaction);
  BOOST_TEST(plan->pending() == 0);
  BOOST_TEST(plan->sends() == 3);
  BOOST_TEST(plan->inner_sends() == 1);
}

BOOST_AUTO_TEST_CASE(a_retried_if_match_update_that_conflicts_with_itself_says_so) {
  auto& server = testing::SharedTestFhirServer();
  auto plan = std::make_shared<FaultPlan>();
  auto client = MakeFaultInjectingClient(FastOptions(server), plan);
  auto made = client->Create(Json(kPatient));
  BOOST_REQUIRE(made.ok());
  plan->FailNext(1, FaultPlan::When::kAfterSend, "PUT");  // applied, answer lost
  json::Document next = std::move(made->body);
  json::SetString(next, "gender", "female", next.GetAllocator());
  auto updated = client->Update(next, made->version_id);
  BOOST_TEST(updated.status().IsConflict());  // the retry's If-Match meets its own first attempt
  BOOST_TEST(updated.status().message().find("may have been applied") != std::string::npos,
             updated.status().message());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retry_schedule)

BOOST_AUTO_TEST_CASE(backoff_sleeps_through_the_injected_sleeper_within_its_caps) {
  auto& server = testing::SharedTestFhirServer();
  ClientOptions options = FastOptions(server);
  options.retry.initial_backoff = std::chrono::milliseconds(100);
  options.retry.max_backoff = std::chrono::milliseconds(150);
  std::mutex mu;
  std::vector<std::chrono::milliseconds> slept;
  options.sleep = [&](std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu);
    slept.push_back(d);
  };
  auto plan = std::make_shared<FaultPlan>();
  plan->FailNext(3, FaultPlan::When::kBeforeSend, "GET");
  auto client = MakeFaultInjectingClient(options, plan);
  auto start = std::chrono::steady_clock::now();
  auto caps = client->GetCapabilities();
  auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_REQUIRE_MESSAGE(caps.ok(), caps.status().ToString());
  BOOST_REQUIRE_EQUAL(slept.size(), 3u);
  BOOST_TEST(slept[0].count() < 100);
  BOOST_TEST(slept[1].count() < 150);  // min(max_backoff, 200)
  BOOST_TEST(slept[2].count() < 150);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 2000);
}

BOOST_AUTO_TEST_CASE(the_attempt_budget_ends_with_the_last_error) {
  auto& server = testing::SharedTestFhirServer();
  ClientOptions options = FastOptions(server);
  options.retry.max_attempts = 2;
  auto plan = std::make_shared<FaultPlan>();
  plan->FailNext(5, FaultPlan::When::kBeforeSend);
  auto client = MakeFaultInjectingClient(options, plan);
  auto r = client->Read("Patient", "x");
  BOOST_TEST(r.status().IsNetwork());
  BOOST_TEST(plan->sends() == 2);
  BOOST_TEST(plan->pending() == 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(transport_pool)

BOOST_AUTO_TEST_CASE(one_transport_per_concurrent_caller_reused_across_calls) {
  auto& server = testing::SharedTestFhirServer();
  ClientOptions options = FastOptions(server);
  std::atomic<int> made{0};
  auto client = FhirClient::CreateWithTransport(options, [&] {
    ++made;
    return MakeCurlTransport(options);
  });
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(client->GetCapabilities(/*refresh=*/true).ok());
  BOOST_TEST(made.load() == 1);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (!client->Read("Patient", "nobody").status().IsNotFound()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(made.load() >= 1);
  BOOST_TEST(made.load() <= 3);  // at most one per concurrent caller
}

BOOST_AUTO_TEST_SUITE_END()

// Secrets out of every error, whatever its source (no server needed: a canned transport).
class CannedTransport : public HttpTransport {
 public:
  explicit CannedTransport(HttpResponse response) : response_(std::move(response)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    last_authorization_ = HttpResponse{0, request.headers, {}}.Header("Authorization");
    return response_;
  }
  static inline std::string last_authorization_;

 private:
  HttpResponse response_;
};

BOOST_AUTO_TEST_SUITE(secrets)

BOOST_AUTO_TEST_CASE(an_echoed_authorization_header_is_redacted) {
  ClientOptions options;
  options.base_url = "http://127.0.0.1:9/fhir/R4";
  options.auth.bearer_token = "sekrit-token-456";
  HttpResponse echo;
  echo.status = 401;
  echo.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login",
    "diagnostics":"bad token Bearer sekrit-token-456"}]})";
  auto client = FhirClient::CreateWithTransport(options, [&] {
    return std::make_unique<CannedTransport>(echo);
  });
  auto r = client->Read("Patient", "x");
  BOOST_TEST(CannedTransport::last_authorization_ == "Bearer sekrit-token-456");
  BOOST_TEST(r.status().IsUnauthorized());
  BOOST_TEST(r.status().http_status() == 401);
  BOOST_TEST(r.status().ToString().find("sekrit") == std::string::npos, r.status().ToString());
  BOOST_TEST(r.status().operation_outcome().find("sekrit") == std::string::npos);
  BOOST_TEST(r.status().ToString().find("[redacted]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(basic_credentials_are_redacted_in_every_form) {
  ClientOptions options;
  options.base_url = "http://127.0.0.1:9/fhir/R4";
  options.auth.basic_user = "svc";
  options.auth.basic_password = "pa55word";
  HttpResponse echo;
  echo.status = 403;
  // "svc:pa55word" in base64, as an Authorization: Basic header would carry it.
  echo.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden",
    "diagnostics":"Basic c3ZjOnBhNTV3b3Jk refused; password pa55word"}]})";
  auto client = FhirClient::CreateWithTransport(options, [&] {
    return std::make_unique<CannedTransport>(echo);
  });
  auto r = client->Read("Patient", "x");
  BOOST_TEST(CannedTransport::last_authorization_ == "Basic c3ZjOnBhNTV3b3Jk");
  BOOST_TEST(r.status().IsForbidden());
  BOOST_TEST(r.status().ToString().find("pa55word") == std::string::npos, r.status().ToString());
  BOOST_TEST(r.status().ToString().find("c3ZjOnBhNTV3b3Jk") == std::string::npos);
  BOOST_TEST(r.status().operation_outcome().find("pa55word") == std::string::npos);
}

// The request line, query included (what was asked decides what went wrong), but never the
// userinfo or the token.
BOOST_AUTO_TEST_CASE(network_errors_carry_the_request_line_but_no_userinfo) {
  ClientOptions options;
  options.base_url = "http://svc:hunter22@127.0.0.1:1/fhir/R4";
  options.auth.bearer_token = "tok-789";
  options.retry = RetryPolicy::None();
  auto client = FhirClient::Create(options);
  BOOST_REQUIRE(client.ok());
  auto r = client.value()->Search("Patient", "identifier=urn:mrn|12345");
  BOOST_TEST(r.status().IsNetwork());
  std::string text = r.status().ToString();
  BOOST_TEST(text.find("hunter22") == std::string::npos, text);
  BOOST_TEST(text.find("tok-789") == std::string::npos, text);
  BOOST_TEST(text.find("GET http://127.0.0.1:1/fhir/R4/Patient?identifier=urn:mrn%7C12345") !=
                 std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(a_redirect_is_an_error_not_a_silent_ok) {
  ClientOptions options;
  options.base_url = "http://127.0.0.1:9/fhir/R4";
  HttpResponse moved;
  moved.status = 302;
  moved.headers = {{"Location", "http://elsewhere.example/fhir/R4/Patient/x"}};
  auto client = FhirClient::CreateWithTransport(options, [&] {
    return std::make_unique<CannedTransport>(moved);
  });
  auto r = client->Read("Patient", "x");
  BOOST_TEST(!r.ok());
  BOOST_TEST(!r.status().ok());
  BOOST_TEST(r.status().IsInvalid());
  BOOST_TEST(r.status().http_status() == 302);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
