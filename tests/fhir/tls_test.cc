// HTTPS: a self-signed FHIR server is refused by default and trusted once its CA is configured;
// mutual TLS with a client certificate.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>

#include "fhir/client.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::fhir {
namespace {

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(self_signed_server_needs_its_ca) {
  std::string dir = (std::filesystem::temp_directory_path() / "countersign-tls-XXXXXX").string();
  BOOST_REQUIRE(mkdtemp(dir.data()) != nullptr);
  BOOST_REQUIRE(testing::MakeTestCertificates(dir).ok());
  auto server = testing::TestFhirServer::Start(dir);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  BOOST_TEST((*server)->base_url().rfind("https://", 0) == 0);

  ClientOptions options;
  options.base_url = (*server)->base_url();
  options.retry = RetryPolicy::None();
  auto strict = FhirClient::Create(options);
  auto refused = strict.value()->GetCapabilities();
  BOOST_TEST(refused.status().IsNetwork());
  BOOST_TEST(refused.status().message().find("TLS certificate verification failed") !=
             std::string::npos, refused.status().message());

  BOOST_TEST_MESSAGE("refused: " << refused.status().ToString());

  options.tls.ca_file = dir + "/ca.pem";
  auto trusting = FhirClient::Create(options);
  auto caps = trusting.value()->GetCapabilities();
  BOOST_TEST(caps.ok(), caps.status().ToString());
  // A second call reuses the pooled handle (and its TLS connection).
  BOOST_TEST(trusting.value()->Read("Patient", "nobody").status().IsNotFound());

  // Verification off only when asked for explicitly.
  ClientOptions unverified;
  unverified.base_url = (*server)->base_url();
  unverified.retry = RetryPolicy::None();
  unverified.tls.verify = false;
  BOOST_TEST(FhirClient::Create(unverified).value()->GetCapabilities().ok());
  server->reset();
  std::filesystem::remove_all(dir);
}

// A gateway that demands mutual TLS: refused without a client certificate, served with the one
// the CA signed; a certificate without its key is refused before anything is sent.
BOOST_AUTO_TEST_CASE(client_certificate_for_mutual_tls) {
  std::string dir = (std::filesystem::temp_directory_path() / "countersign-mtls-XXXXXX").string();
  BOOST_REQUIRE(mkdtemp(dir.data()) != nullptr);
  BOOST_REQUIRE(testing::MakeTestCertificates(dir).ok());
  auto server = testing::TestFhirServer::Start(dir);
  BOOST_REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  testing::ServerConfig config;
  config.require_client_cert = true;
  BOOST_REQUIRE((*server)->Configure(config).ok());

  ClientOptions options;
  options.base_url = (*server)->base_url();
  options.retry = RetryPolicy::None();
  options.tls.ca_file = dir + "/ca.pem";
  auto anonymous = FhirClient::Create(options).value()->Read("Patient", "nobody");
  BOOST_TEST(anonymous.status().IsUnauthorized(), anonymous.status().ToString());

  options.tls.client_cert_file = dir + "/client.pem";
  auto half = FhirClient::Create(options);
  BOOST_TEST(half.status().IsInvalid());
  options.tls.client_key_file = dir + "/client-key.pem";
  auto with_cert = FhirClient::Create(options).value();
  BOOST_TEST(with_cert->Read("Patient", "nobody").status().IsNotFound());  // through, and answered
  BOOST_TEST(with_cert->GetCapabilities().ok());
  server->reset();
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
