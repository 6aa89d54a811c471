#include "fhir/reference.h"

#include <boost/test/unit_test.hpp>
#include <regex>
#include <set>

namespace countersign::fhir {
namespace {

Reference MustParse(std::string_view text) {
  auto ref = Reference::Parse(text);
  BOOST_REQUIRE_MESSAGE(ref.ok(), ref.status().ToString());
  return std::move(ref).value();
}

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(relative) {
  Reference ref = MustParse("Patient/123");
  BOOST_TEST(ref.base.empty());
  BOOST_TEST(ref.type == "Patient");
  BOOST_TEST(ref.id == "123");
  BOOST_TEST(ref.version_id.empty());
  BOOST_TEST(!ref.is_uuid);
  BOOST_TEST(ref.Relative() == "Patient/123");
  BOOST_TEST(ref.Versioned() == "Patient/123");
  BOOST_TEST(ref.ToString() == "Patient/123");
}

BOOST_AUTO_TEST_CASE(relative_versioned) {
  Reference ref = MustParse("Observation/a-b.c/_history/2");
  BOOST_TEST(ref.type == "Observation");
  BOOST_TEST(ref.id == "a-b.c");
  BOOST_TEST(ref.version_id == "2");
  BOOST_TEST(ref.Relative() == "Observation/a-b.c");
  BOOST_TEST(ref.Versioned() == "Observation/a-b.c/_history/2");
  BOOST_TEST(ref.ToString() == "Observation/a-b.c/_history/2");
}

BOOST_AUTO_TEST_CASE(absolute) {
  Reference ref = MustParse("https://x.example/fhir/R4/Patient/123");
  BOOST_TEST(ref.base == "https://x.example/fhir/R4");
  BOOST_TEST(ref.type == "Patient");
  BOOST_TEST(ref.id == "123");
  BOOST_TEST(ref.Relative() == "Patient/123");
  BOOST_TEST(ref.ToString() == "https://x.example/fhir/R4/Patient/123");
}

BOOST_AUTO_TEST_CASE(absolute_versioned_and_bare_host) {
  Reference ref = MustParse("http://localhost:8080/Encounter/e1/_history/7");
  BOOST_TEST(ref.base == "http://localhost:8080");
  BOOST_TEST(ref.type == "Encounter");
  BOOST_TEST(ref.id == "e1");
  BOOST_TEST(ref.version_id == "7");
  BOOST_TEST(ref.ToString() == "http://localhost:8080/Encounter/e1/_history/7");
}

BOOST_AUTO_TEST_CASE(absolute_with_history_in_the_base_path) {
  // A "_history" segment inside the base must not be mistaken for a version.
  Reference ref = MustParse("https://x/_history/fhir/Patient/1");
  BOOST_TEST(ref.base == "https://x/_history/fhir");
  BOOST_TEST(ref.type == "Patient");
  BOOST_TEST(ref.version_id.empty());
}

BOOST_AUTO_TEST_CASE(scheme_is_case_insensitive) {
  Reference ref = MustParse("HTTPS://x/fhir/Patient/1");
  BOOST_TEST(ref.base == "HTTPS://x/fhir");
  BOOST_TEST(ref.ToString() == "HTTPS://x/fhir/Patient/1");
}

BOOST_AUTO_TEST_CASE(urn_uuid) {
  Reference ref = MustParse("urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427");
  BOOST_TEST(ref.is_uuid);
  BOOST_TEST(ref.type.empty());
  BOOST_TEST(ref.id == "1b4e28ba-2fa1-41d2-883f-0016d3cca427");
  BOOST_TEST(ref.Relative() == "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427");
  BOOST_TEST(ref.ToString() == "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427");
}

BOOST_AUTO_TEST_CASE(urn_uuid_prefix_is_case_insensitive_and_uuid_kept_as_given) {
  Reference ref = MustParse("URN:UUID:1B4E28BA-2FA1-41D2-883F-0016D3CCA427");
  BOOST_TEST(ref.is_uuid);
  BOOST_TEST(ref.id == "1B4E28BA-2FA1-41D2-883F-0016D3CCA427");
  BOOST_TEST(ref.ToString() == "urn:uuid:1B4E28BA-2FA1-41D2-883F-0016D3CCA427");
}

BOOST_AUTO_TEST_CASE(same_reference_text_ignores_case_only_for_uuids) {
  BOOST_TEST(SameReferenceText("urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                               "URN:UUID:1B4E28BA-2FA1-41D2-883F-0016D3CCA427"));
  BOOST_TEST(!SameReferenceText("urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                                "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca428"));
  BOOST_TEST(SameReferenceText("Patient/1", "Patient/1"));
  BOOST_TEST(!SameReferenceText("Patient/a", "Patient/A"));  // FHIR ids are case-sensitive
  BOOST_TEST(!SameReferenceText("urn:uuid:ab", "urn:uuid:abc"));
}

BOOST_AUTO_TEST_CASE(round_trips) {
  for (const char* text : {"Patient/1", "Patient/1/_history/3", "https://h/fhir/Patient/1",
                           "https://h/fhir/Patient/1/_history/3", "http://h:1/Patient/x",
                           "urn:uuid:00000000-0000-4000-8000-000000000000"}) {
    BOOST_TEST(MustParse(text).ToString() == text);
    BOOST_TEST((MustParse(MustParse(text).ToString()) == MustParse(text)));
  }
}

BOOST_AUTO_TEST_CASE(rejects_invalid_forms_with_a_reason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"", "empty"},
      {"#contained", "contained references are not supported"},
      {"urn:oid:1.2.3", "only urn:uuid placeholders are supported"},
      {"urn:uuid:not-a-uuid", "urn:uuid must be followed by a UUID"},
      {"urn:uuid:1b4e28ba2fa141d2883f0016d3cca427", "urn:uuid must be followed by a UUID"},
      {"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca42g", "urn:uuid must be followed by a UUID"},
      {"Patient", "expected Type/id"},
      {"Patient/", "must not end with '/'"},
      {"/Patient/1", "must not start with '/'"},
      {"patient/1", "\"patient\" is not a resource type name"},
      {"Pat1ent/1", "\"Pat1ent\" is not a resource type name"},
      {"Patient/1_2", "\"1_2\" is not a valid id"},
      {"Patient/1/2", "expected Type/id"},
      {"Patient/1/_history", "expected Type/id"},
      {"Patient/1/history/2", "expected Type/id"},
      {"Patient/1/_history/", "must not end with '/'"},
      {"Patient//_history/1", "\"\" is not a valid id"},
      {"Patient/1/_history/2/3", "expected Type/id"},
      {"Patient?identifier=x|1", "unsupported reference form"},
      {"Patient/1#frag", "unsupported reference form"},
      {"https://", "must not end with '/'"},
      {"https://?", "query and fragment are not allowed"},
      {"https:///Patient/1", "missing host"},
      {"https://h/Patient", "expected base/Type/id"},
      {"https://h/fhir/Patient/1?x=1", "query and fragment are not allowed"},
      {"https://h/fhir/Patient/1/", "must not end with '/'"},
      {"https://h/fhir/Patient//_history/1", "\"\" is not a valid id"},
      {"ftp://h/Patient/1", "unsupported reference form"},
  };
  for (const auto& c : cases) {
    auto ref = Reference::Parse(c.text);
    BOOST_TEST_CONTEXT(c.text) {
      BOOST_TEST_REQUIRE(!ref.ok());
      BOOST_TEST(ref.status().IsInvalid());
      BOOST_TEST(ref.status().message().find(c.reason) != std::string::npos,
                 ref.status().message());
    }
  }
}

BOOST_AUTO_TEST_CASE(id_length_limit) {
  std::string id64(64, 'a');
  BOOST_TEST(IsValidId(id64));
  BOOST_TEST(!IsValidId(id64 + "a"));
  BOOST_TEST(MustParse("Patient/" + id64).id == id64);
  BOOST_TEST(!Reference::Parse("Patient/" + id64 + "a").ok());
}

BOOST_AUTO_TEST_CASE(valid_type_and_id_rules) {
  BOOST_TEST(IsValidResourceType("Patient"));
  BOOST_TEST(IsValidResourceType("MedicationRequest"));
  BOOST_TEST(!IsValidResourceType(""));
  BOOST_TEST(!IsValidResourceType("patient"));
  BOOST_TEST(!IsValidResourceType("Patient1"));
  BOOST_TEST(!IsValidResourceType("Médication"));
  BOOST_TEST(IsValidId("A-z.0"));
  BOOST_TEST(!IsValidId(""));
  BOOST_TEST(!IsValidId("a b"));
  BOOST_TEST(!IsValidId("a/b"));
  BOOST_TEST(!IsValidId("é"));
}

BOOST_AUTO_TEST_CASE(new_uuid_is_random_version_4_lowercase) {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string uuid = NewUuid();
    BOOST_TEST_REQUIRE(std::regex_match(uuid, v4), uuid);
    seen.insert(uuid);
  }
  BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(time_ordered_uuid_is_version_7_with_the_time_first) {
  const std::regex v7("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const int64_t ms = 1764579600123;  // 2025-12-01T09:00:00.123Z
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string uuid = NewTimeOrderedUuid(ms);
    BOOST_TEST_REQUIRE(std::regex_match(uuid, v7), uuid);
    // The first 48 bits are the time, big-endian: 0x019ad923e6fb is ms.
    BOOST_TEST(uuid.substr(0, 8) + uuid.substr(9, 4) == "019ad923e6fb");
    BOOST_TEST(IsValidId(uuid));
    seen.insert(uuid);
  }
  BOOST_TEST(seen.size() == 1000u);  // 74 random bits apart
  // Later milliseconds sort after earlier ones, as text too.
  BOOST_TEST(NewTimeOrderedUuid(ms) < NewTimeOrderedUuid(ms + 1));
  BOOST_TEST(NewTimeOrderedUuid(999) < NewTimeOrderedUuid(ms));
}

BOOST_AUTO_TEST_CASE(new_uuid_urn_parses_as_a_placeholder) {
  std::string urn = NewUuidUrn();
  BOOST_TEST(urn.rfind("urn:uuid:", 0) == 0u);
  Reference ref = MustParse(urn);
  BOOST_TEST(ref.is_uuid);
  BOOST_TEST(ref.ToString() == urn);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
