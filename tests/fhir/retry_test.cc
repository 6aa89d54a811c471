// Faults a real server cannot produce (a connection reset after the request was sent), through
// a decorator over the real libcurl transport to the loopback server.
#include <boost/test/unit_test.hpp>

#include "fhir/client.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::fhir {
namespace {

// Resets the next `remaining` sends: before they reach the server, or after (the server applied
// the request, the answer is lost).
class ResettingTransport : public HttpTransport {
 public:
  ResettingTransport(std::unique_ptr<HttpTransport> inner, int* remaining, bool after)
      : inner_(std::move(inner)), remaining_(remaining), after_(after) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (*remaining_ > 0) {
      --*remaining_;
      if (after_) (void)inner_->Send(request);
      return Status::Network(request.method + " " + request.url + ": connection reset by peer");
    }
    return inner_->Send(request);
  }

 private:
  std::unique_ptr<HttpTransport> inner_;
  int* remaining_;
  bool after_;
};

const char* kPatient = R"({"resourceType":"Patient","identifier":[{"system":"urn:test","value":"reset-1"}]})";

BOOST_AUTO_TEST_SUITE(connection_resets)

BOOST_AUTO_TEST_CASE(a_conditional_create_survives_a_reset_after_apply_without_duplicate) {
  auto& server = testing::SharedTestFhirServer();
  ClientOptions options;
  options.base_url = server.base_url();
  options.retry.initial_backoff = std::chrono::milliseconds(1);
  int resets = 1;
  auto client = FhirClient::CreateWithTransport(options, [&] {
    return std::make_unique<ResettingTransport>(MakeCurlTransport(options), &resets, true);
  });
  auto parsed = json::Parse(kPatient);
  auto made = client->Create(*parsed, "identifier=urn:test|reset-1");
  BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
  BOOST_TEST(made->attempts == 2);
  BOOST_TEST(made->http_status == 200);  // the retry found the first attempt's resource
  auto all = client->Search("Patient", "identifier=urn:test|reset-1");
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_plain_create_is_not_retried_after_a_reset) {
  auto& server = testing::SharedTestFhirServer();
  ClientOptions options;
  options.base_url = server.base_url();
  int resets = 1;
  auto client = FhirClient::CreateWithTransport(options, [&] {
    return std::make_unique<ResettingTransport>(MakeCurlTransport(options), &resets, true);
  });
  auto made = client->Create(*json::Parse(kPatient));
  BOOST_TEST(made.status().IsNetwork());
  auto all = client->Search("Patient", "");
  BOOST_TEST(all->size() == 1u);  // applied once, never sent again
}

BOOST_AUTO_TEST_CASE(reads_are_retried_after_a_reset_before_sending) {
  auto& server = testing::SharedTestFhirServer();
  ClientOptions options;
  options.base_url = server.base_url();
  options.retry.initial_backoff = std::chrono::milliseconds(1);
  int resets = 2;
  auto client = FhirClient::CreateWithTransport(options, [&] {
    return std::make_unique<ResettingTransport>(MakeCurlTransport(options), &resets, false);
  });
  auto caps = client->GetCapabilities();
  BOOST_REQUIRE_MESSAGE(caps.ok(), caps.status().ToString());
  BOOST_TEST(caps->transaction);
  BOOST_TEST(resets == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
