// CapabilityStatement parsing, the retry policy's arithmetic and the HTTP status -> kind map.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "fhir/client.h"

namespace countersign::fhir {
namespace {

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/" + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

BOOST_AUTO_TEST_SUITE(capabilities)

BOOST_AUTO_TEST_CASE(epic_sandbox_has_no_transactions_and_read_only_types) {
  auto caps = Capabilities::ParseText(ReadFixture("servers/epic-r4-capabilitystatement.json"));
  BOOST_REQUIRE_MESSAGE(caps.ok(), caps.status().ToString());
  BOOST_TEST(!caps->transaction);
  BOOST_TEST(!caps->batch);
  BOOST_TEST(caps->fhir_version == "4.0.1");
  BOOST_TEST(caps->CanCreate("DocumentReference"));
  BOOST_TEST(caps->CanUpdate("DocumentReference"));
  BOOST_TEST(caps->CanCreate("Communication"));
  BOOST_TEST(!caps->CanUpdate("Communication"));
  BOOST_TEST(!caps->CanCreate("Appointment"));   // read-only in the sandbox
  BOOST_TEST(!caps->CanUpdate("Appointment"));
  BOOST_TEST(caps->Supports("Appointment", "read"));
  BOOST_TEST(caps->Supports("Appointment", "search-type"));
  BOOST_TEST(!caps->CanPatch("DocumentReference"));
  BOOST_TEST(!caps->Supports("DocumentReference", "delete"));
  BOOST_TEST(caps->Supports("Communication", "search-type"));
  BOOST_TEST(caps->types.at("Provenance").interactions.size() == 1u);
  BOOST_TEST(caps->types.at("DocumentReference").versioning.empty());  // not declared
  BOOST_TEST(caps->software == "Epic May 2026");
  BOOST_TEST(!caps->CanCreate("Provenance"));    // Provenance is read-only
  BOOST_TEST(caps->Supports("Provenance", "read"));
  BOOST_TEST(!caps->CanCreate("Device"));
  BOOST_TEST(!caps->ConditionalCreate("DocumentReference"));
  BOOST_TEST(!caps->VersionedUpdate("DocumentReference"));
  BOOST_TEST(!caps->Supports("NoSuchType", "read"));
  BOOST_TEST(caps->CanUpdate("Task"));
  BOOST_TEST(!caps->UpdateCreate("Task"));  // updateCreate: false (no client-assigned ids)
}

BOOST_AUTO_TEST_CASE(declared_interactions_conditional_create_and_versioning) {
  auto caps = Capabilities::ParseText(R"({"resourceType":"CapabilityStatement","fhirVersion":"4.0.1",
    "software":{"name":"HAPI FHIR","version":"7.0"},
    "rest":[{"mode":"client","interaction":[{"code":"batch"}]},
            {"mode":"server","interaction":[{"code":"transaction"},{"code":"history-system"}],
             "resource":[{"type":"Appointment","interaction":[{"code":"read"},{"code":"update"},
               {"code":"patch"}],"versioning":"versioned-update","conditionalCreate":true,
               "conditionalUpdate":true,"updateCreate":true},
              {"type":"Task","interaction":[{"code":"read"}],"updateCreate":true}]}]})");
  BOOST_REQUIRE(caps.ok());
  BOOST_TEST(caps->transaction);
  BOOST_TEST(!caps->batch);  // declared for mode=client only
  BOOST_TEST(caps->software == "HAPI FHIR 7.0");
  BOOST_TEST(caps->CanPatch("Appointment"));
  BOOST_TEST(caps->ConditionalCreate("Appointment"));
  BOOST_TEST(caps->types.at("Appointment").conditional_update);
  BOOST_TEST(caps->VersionedUpdate("Appointment"));
  BOOST_TEST(!caps->CanCreate("Appointment"));
  BOOST_TEST(caps->UpdateCreate("Appointment"));
  BOOST_TEST(!caps->UpdateCreate("Task"));  // updateCreate without the update interaction
}

BOOST_AUTO_TEST_CASE(not_a_capability_statement_is_invalid) {
  BOOST_TEST(Capabilities::ParseText(R"({"resourceType":"Patient"})").status().IsInvalid());
  BOOST_TEST(Capabilities::ParseText(R"({"resourceType":"CapabilityStatement"})").status().IsInvalid());
  BOOST_TEST(Capabilities::ParseText("not json").status().IsInvalid());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(retry_after_seconds_and_http_date) {
  BOOST_TEST(ParseRetryAfter("3")->count() == 3000);
  BOOST_TEST(ParseRetryAfter(" 0 ")->count() == 0);
  BOOST_TEST(!ParseRetryAfter("soon").has_value());
  BOOST_TEST(!ParseRetryAfter("").has_value());
  BOOST_TEST(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")->count() == 0);  // in the past
  auto future = ParseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT");
  BOOST_REQUIRE(future.has_value());
  BOOST_TEST(future->count() > int64_t{365} * 24 * 3600 * 1000);
}

BOOST_AUTO_TEST_CASE(full_jitter_backoff_is_bounded_and_honours_retry_after) {
  RetryPolicy p;
  p.initial_backoff = std::chrono::milliseconds(100);
  p.max_backoff = std::chrono::milliseconds(1000);
  p.max_retry_after = std::chrono::milliseconds(5000);
  auto top = [] { return 0.999999; };
  auto bottom = [] { return 0.0; };
  BOOST_TEST(BackoffDelay(p, 1, std::nullopt, top).count() == 99);
  BOOST_TEST(BackoffDelay(p, 2, std::nullopt, top).count() == 199);
  BOOST_TEST(BackoffDelay(p, 3, std::nullopt, top).count() == 399);
  BOOST_TEST(BackoffDelay(p, 10, std::nullopt, top).count() == 999);  // capped
  BOOST_TEST(BackoffDelay(p, 5, std::nullopt, bottom).count() == 0);
  BOOST_TEST(BackoffDelay(p, 1, std::chrono::milliseconds(2000), top).count() == 2000);
  BOOST_TEST(BackoffDelay(p, 1, std::chrono::milliseconds(90000), top).count() == 5000);
}

BOOST_AUTO_TEST_CASE(statuses_map_to_one_kind_each) {
  BOOST_TEST((KindForHttpStatus(200) == ErrorKind::kOk));
  BOOST_TEST((KindForHttpStatus(201) == ErrorKind::kOk));
  BOOST_TEST((KindForHttpStatus(404) == ErrorKind::kNotFound));
  BOOST_TEST((KindForHttpStatus(410) == ErrorKind::kGone));
  for (int s : {409, 412, 423, 428}) BOOST_TEST((KindForHttpStatus(s) == ErrorKind::kConflict));
  BOOST_TEST((KindForHttpStatus(401) == ErrorKind::kUnauthorized));
  BOOST_TEST((KindForHttpStatus(403) == ErrorKind::kForbidden));
  for (int s : {400, 405, 415, 422}) BOOST_TEST((KindForHttpStatus(s) == ErrorKind::kInvalid));
  for (int s : {429, 500, 502, 503, 504}) {
    BOOST_TEST((KindForHttpStatus(s) == ErrorKind::kUnavailable));
    BOOST_TEST(IsRetryableHttpStatus(s));
  }
  BOOST_TEST(!IsRetryableHttpStatus(501));
  BOOST_TEST(!IsRetryableHttpStatus(409));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
