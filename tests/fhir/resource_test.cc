#include "fhir/resource.h"

#include <boost/test/unit_test.hpp>

namespace countersign::fhir {
namespace {

json::Document Doc(std::string_view text) {
  auto parsed = json::Parse(text);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  return std::move(parsed).value();
}

BOOST_AUTO_TEST_SUITE(resource)

BOOST_AUTO_TEST_CASE(reads_type_id_and_version) {
  json::Document obs = Doc(R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"4"}})");
  BOOST_TEST(ResourceType(obs).value() == "Observation");
  BOOST_TEST(ResourceId(obs).value() == "o1");
  BOOST_TEST(VersionId(obs).value() == "4");

  json::Document bare = Doc(R"({"resourceType":"Observation","id":5,"meta":[]})");
  BOOST_TEST(!ResourceId(bare).has_value());  // wrong type reads as absent
  BOOST_TEST(!VersionId(bare).has_value());
  BOOST_TEST(!ResourceType(Doc("[]")).has_value());
}

BOOST_AUTO_TEST_CASE(set_id_and_version_create_or_replace) {
  json::Document r = Doc(R"({"resourceType":"Patient"})");
  SetId(r, "p1", r.GetAllocator());
  SetVersionId(r, "1", r.GetAllocator());
  BOOST_TEST(json::Stringify(r) ==
             R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  SetId(r, "p2", r.GetAllocator());
  SetVersionId(r, "2", r.GetAllocator());
  BOOST_TEST(json::Stringify(r) ==
             R"({"resourceType":"Patient","id":"p2","meta":{"versionId":"2"}})");
}

BOOST_AUTO_TEST_CASE(set_version_keeps_other_meta_and_repairs_bad_meta) {
  json::Document r = Doc(R"({"meta":{"lastUpdated":"2024-01-01T00:00:00Z"}})");
  SetVersionId(r, "9", r.GetAllocator());
  BOOST_TEST(json::Stringify(r) ==
             R"({"meta":{"lastUpdated":"2024-01-01T00:00:00Z","versionId":"9"}})");
  json::Document bad = Doc(R"({"meta":"oops"})");
  SetVersionId(bad, "1", bad.GetAllocator());
  BOOST_TEST(json::Stringify(bad) == R"({"meta":{"versionId":"1"}})");
}

BOOST_AUTO_TEST_CASE(mutators_ignore_non_objects) {
  json::Document array = Doc("[1]");
  SetId(array, "x", array.GetAllocator());
  SetVersionId(array, "1", array.GetAllocator());
  AddTag(array, {"s", "c", ""}, array.GetAllocator());
  AddSecurityLabel(array, AiAssistedLabel(), array.GetAllocator());
  AddIdentifier(array, {"s", "v"}, array.GetAllocator());
  BOOST_TEST(json::Stringify(array) == "[1]");
}

BOOST_AUTO_TEST_CASE(ai_assisted_label) {
  Coding label = AiAssistedLabel();
  BOOST_TEST(label.system == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue");
  BOOST_TEST(label.code == "AIAST");
  BOOST_TEST(label.display == "Artificial Intelligence asserted");
}

BOOST_AUTO_TEST_CASE(security_labels_are_added_once) {
  json::Document r = Doc(R"({"resourceType":"Observation"})");
  BOOST_TEST(!HasSecurityLabel(r, AiAssistedLabel()));
  AddSecurityLabel(r, AiAssistedLabel(), r.GetAllocator());
  AddSecurityLabel(r, AiAssistedLabel(), r.GetAllocator());
  // Same system+code with another display is the same label.
  AddSecurityLabel(r, {kObservationValueSystem, kAiAssistedCode, "other"}, r.GetAllocator());
  BOOST_TEST(HasSecurityLabel(r, AiAssistedLabel()));
  BOOST_TEST(json::Stringify(r) ==
             R"({"resourceType":"Observation","meta":{"security":[{"system":)"
             R"("http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"AIAST",)"
             R"("display":"Artificial Intelligence asserted"}]}})");
  AddSecurityLabel(r, {"http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R", ""},
                   r.GetAllocator());
  auto labels = SecurityLabels(r);
  BOOST_TEST_REQUIRE(labels.size() == 2u);
  BOOST_TEST(labels[1].code == "R");
  BOOST_TEST(labels[1].display.empty());
  BOOST_TEST(!HasSecurityLabel(r, {"other-system", "AIAST", ""}));
}

BOOST_AUTO_TEST_CASE(security_labels_read_existing_and_skip_junk) {
  json::Document r =
      Doc(R"({"meta":{"security":[{"system":"s","code":"c","display":"d"},7,{"code":"x"}],
                               "tag":[{"system":"t","code":"u"}]}})");
  auto labels = SecurityLabels(r);
  BOOST_TEST_REQUIRE(labels.size() == 2u);
  BOOST_TEST(labels[0].system == "s");
  BOOST_TEST(labels[0].display == "d");
  BOOST_TEST(labels[1].system.empty());
  BOOST_TEST(labels[1].code == "x");
  BOOST_TEST(HasSecurityLabel(r, {"s", "c", ""}));
  auto tags = Tags(r);
  BOOST_TEST_REQUIRE(tags.size() == 1u);
  BOOST_TEST(tags[0].code == "u");
}

BOOST_AUTO_TEST_CASE(tags_are_added_once_beside_security) {
  json::Document r = Doc(R"({"meta":{"security":[{"system":"s","code":"c"}]}})");
  AddTag(r, {"http://countersign.dev/tag", "draft", ""}, r.GetAllocator());
  AddTag(r, {"http://countersign.dev/tag", "draft", ""}, r.GetAllocator());
  AddTag(r, {"s", "c", ""}, r.GetAllocator());  // a tag is not a security label
  BOOST_TEST(
      json::Stringify(r) ==
      R"({"meta":{"security":[{"system":"s","code":"c"}],)"
      R"("tag":[{"system":"http://countersign.dev/tag","code":"draft"},{"system":"s","code":"c"}]}})");
  BOOST_TEST(SecurityLabels(r).size() == 1u);
}

BOOST_AUTO_TEST_CASE(identifier_token) {
  BOOST_TEST((Identifier{"http://hospital.example/mrn", "12345"}.Token()) ==
             "http://hospital.example/mrn|12345");
  BOOST_TEST((Identifier{"", "12345"}.Token()) == "|12345");
  // Search-syntax characters inside a part are backslash-escaped.
  BOOST_TEST((Identifier{"urn:x", "a|b,c$d\\e"}.Token()) == "urn:x|a\\|b\\,c\\$d\\\\e");
}

BOOST_AUTO_TEST_CASE(identifiers_read_find_and_add) {
  json::Document r = Doc(R"({"identifier":[{"system":"a","value":"1"},{"value":"2"},"junk",
                                            {"system":"b","value":"3"}]})");
  auto ids = Identifiers(r);
  BOOST_TEST_REQUIRE(ids.size() == 3u);
  BOOST_TEST(ids[1].system.empty());
  BOOST_TEST(ids[1].value == "2");
  BOOST_TEST(FindIdentifier(r, "b")->value == "3");
  BOOST_TEST(!FindIdentifier(r, "c").has_value());

  AddIdentifier(r, {"b", "3"}, r.GetAllocator());  // already there
  AddIdentifier(r, {"c", "4"}, r.GetAllocator());
  BOOST_TEST(Identifiers(r).size() == 4u);
  BOOST_TEST(FindIdentifier(r, "c")->value == "4");

  json::Document empty = Doc(R"({"resourceType":"Patient"})");
  AddIdentifier(empty, {"s", "v"}, empty.GetAllocator());
  BOOST_TEST(json::Stringify(empty) ==
             R"({"resourceType":"Patient","identifier":[{"system":"s","value":"v"}]})");
}

BOOST_AUTO_TEST_CASE(coding_and_codeable_concept_json) {
  json::Document d;
  auto& alloc = d.GetAllocator();
  BOOST_TEST(json::Stringify(CodingJson({"http://loinc.org", "8867-4", "Heart rate"}, alloc)) ==
             R"({"system":"http://loinc.org","code":"8867-4","display":"Heart rate"})");
  BOOST_TEST(json::Stringify(CodingJson({"http://loinc.org", "8867-4", ""}, alloc)) ==
             R"({"system":"http://loinc.org","code":"8867-4"})");
  BOOST_TEST(json::Stringify(CodeableConceptJson({"http://loinc.org", "8867-4", ""}, alloc)) ==
             R"({"coding":[{"system":"http://loinc.org","code":"8867-4"}]})");
  BOOST_TEST(json::Stringify(CodeableConceptJson({"s", "c", ""}, alloc, "Pulse")) ==
             R"({"coding":[{"system":"s","code":"c"}],"text":"Pulse"})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
