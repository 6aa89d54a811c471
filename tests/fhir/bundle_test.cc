#include "fhir/bundle.h"

#include <boost/test/unit_test.hpp>

#include "fhir/reference.h"

namespace countersign::fhir {
namespace {

json::Document Doc(std::string_view text) {
  auto parsed = json::Parse(text);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  return std::move(parsed).value();
}

json::Value Resource(BundleBuilder& builder, std::string_view text) {
  return json::Value(Doc(text), builder.allocator());
}

BOOST_AUTO_TEST_SUITE(bundle)

BOOST_AUTO_TEST_CASE(empty_transaction_has_no_entry_array) {
  BundleBuilder builder(BundleType::kTransaction);
  BOOST_TEST(builder.size() == 0u);
  BOOST_TEST(json::Stringify(builder.Release()) ==
             R"({"resourceType":"Bundle","type":"transaction"})");
}

BOOST_AUTO_TEST_CASE(batch_type) {
  BundleBuilder builder(BundleType::kBatch);
  BOOST_TEST(*json::GetString(builder.document(), "type") == "batch");
}

BOOST_AUTO_TEST_CASE(create_gets_a_fresh_uuid_full_url) {
  BundleBuilder builder(BundleType::kTransaction);
  std::string a = builder.AddCreate(Resource(builder, R"({"resourceType":"Observation"})"));
  std::string b =
      builder.AddCreate(Resource(builder, R"({"resourceType":"Observation"})"), "identifier=s|1");
  BOOST_TEST(a != b);
  BOOST_TEST(Reference::Parse(a)->is_uuid);
  BOOST_TEST(builder.size() == 2u);
  json::Document bundle = builder.Release();
  const json::Value& e0 = bundle["entry"][0];
  BOOST_TEST(*json::GetString(e0, "fullUrl") == a);
  BOOST_TEST(json::Stringify(e0["request"]) == R"({"method":"POST","url":"Observation"})");
  BOOST_TEST(json::Stringify(e0["resource"]) == R"({"resourceType":"Observation"})");
  BOOST_TEST(json::Stringify(bundle["entry"][1]["request"]) ==
             R"({"method":"POST","url":"Observation","ifNoneExist":"identifier=s|1"})");
}

BOOST_AUTO_TEST_CASE(create_with_given_full_url) {
  BundleBuilder builder(BundleType::kTransaction);
  std::string url = builder.AddCreate(Resource(builder, R"({"resourceType":"Patient"})"), {},
                                      "urn:uuid:00000000-0000-4000-8000-000000000001");
  BOOST_TEST(url == "urn:uuid:00000000-0000-4000-8000-000000000001");
  BOOST_TEST(*json::GetString(builder.document()["entry"][0], "fullUrl") == url);
}

BOOST_AUTO_TEST_CASE(update_uses_type_id_and_weak_etag) {
  BundleBuilder builder(BundleType::kTransaction);
  auto url =
      builder.AddUpdate(Resource(builder, R"({"resourceType":"Observation","id":"o1"})"), "3");
  BOOST_TEST_REQUIRE(url.ok());
  BOOST_TEST(*url == "Observation/o1");
  BOOST_TEST(json::Stringify(builder.document()["entry"][0]) ==
             R"({"fullUrl":"Observation/o1","resource":{"resourceType":"Observation","id":"o1"},)"
             R"("request":{"method":"PUT","url":"Observation/o1","ifMatch":"W/\"3\""}})");
  auto unconditional =
      builder.AddUpdate(Resource(builder, R"({"resourceType":"Patient","id":"p"})"));
  BOOST_TEST_REQUIRE(unconditional.ok());
  BOOST_TEST(json::Member(builder.document()["entry"][1]["request"], "ifMatch") == nullptr);
}

BOOST_AUTO_TEST_CASE(update_without_type_or_id_is_invalid_and_adds_nothing) {
  BundleBuilder builder(BundleType::kTransaction);
  auto no_id = builder.AddUpdate(Resource(builder, R"({"resourceType":"Observation"})"));
  BOOST_TEST(no_id.status().IsInvalid());
  auto no_type = builder.AddUpdate(Resource(builder, R"({"id":"x"})"));
  BOOST_TEST(no_type.status().IsInvalid());
  auto bad_id = builder.AddUpdate(Resource(builder, R"({"resourceType":"Patient","id":"a/b"})"));
  BOOST_TEST(bad_id.status().IsInvalid());
  BOOST_TEST(builder.size() == 0u);
}

BOOST_AUTO_TEST_CASE(delete_has_no_resource) {
  BundleBuilder builder(BundleType::kTransaction);
  builder.AddDelete("Observation", "o1", "5");
  builder.AddDelete("Observation", "o2");
  BOOST_TEST(json::Stringify(builder.document()["entry"]) ==
             R"([{"request":{"method":"DELETE","url":"Observation/o1","ifMatch":"W/\"5\""}},)"
             R"({"request":{"method":"DELETE","url":"Observation/o2"}}])");
}

BOOST_AUTO_TEST_CASE(release_leaves_an_empty_builder_of_the_same_type) {
  BundleBuilder builder(BundleType::kBatch);
  builder.AddDelete("Patient", "1");
  json::Document first = builder.Release();
  BOOST_TEST(first["entry"].Size() == 1u);
  BOOST_TEST(builder.size() == 0u);
  builder.AddDelete("Patient", "2");
  json::Document second = builder.Release();
  BOOST_TEST(*json::GetString(second, "type") == "batch");
  BOOST_TEST(*json::GetString(second["entry"][0]["request"], "url") == "Patient/2");
  BOOST_TEST(*json::GetString(first["entry"][0]["request"], "url") == "Patient/1");
}

BOOST_AUTO_TEST_CASE(built_bundle_reads_back) {
  BundleBuilder builder(BundleType::kTransaction);
  std::string patient = builder.AddCreate(Resource(builder, R"({"resourceType":"Patient"})"));
  builder.AddEntry(json::Value(), {}, {"GET", "Patient?identifier=s|1", "", ""});
  builder.AddDelete("Observation", "o9", "2");
  json::Document bundle = builder.Release();
  auto entries = ReadEntries(bundle);
  BOOST_TEST_REQUIRE(entries.ok());
  BOOST_TEST_REQUIRE(entries->size() == 3u);
  const auto& e = *entries;
  BOOST_TEST(e[0].full_url == patient);
  BOOST_TEST_REQUIRE(e[0].resource != nullptr);
  BOOST_TEST(*json::GetString(*e[0].resource, "resourceType") == "Patient");
  BOOST_TEST(e[0].request.method == "POST");
  BOOST_TEST(e[1].resource == nullptr);
  BOOST_TEST(e[1].request.url == "Patient?identifier=s|1");
  BOOST_TEST(e[2].request.if_match == "W/\"2\"");
  BOOST_TEST(e[2].response_status.empty());
}

BOOST_AUTO_TEST_CASE(reads_transaction_response) {
  json::Document response = Doc(R"({"resourceType":"Bundle","type":"transaction-response","entry":[
    {"response":{"status":"201 Created","location":"Patient/p1/_history/1","etag":"W/\"1\""}},
    {"resource":{"resourceType":"Observation","id":"o1"},
     "response":{"status":"200 OK","outcome":{"resourceType":"OperationOutcome","issue":[]}}}]})");
  auto entries = ReadEntries(response);
  BOOST_TEST_REQUIRE(entries.ok());
  BOOST_TEST_REQUIRE(entries->size() == 2u);
  BOOST_TEST((*entries)[0].response_status == "201 Created");
  BOOST_TEST((*entries)[0].response_location == "Patient/p1/_history/1");
  BOOST_TEST((*entries)[0].response_etag == "W/\"1\"");
  BOOST_TEST((*entries)[0].response_outcome == nullptr);
  BOOST_TEST((*entries)[1].response_status == "200 OK");
  BOOST_TEST_REQUIRE((*entries)[1].response_outcome != nullptr);
  BOOST_TEST(*json::GetString(*(*entries)[1].response_outcome, "resourceType") ==
             "OperationOutcome");
  BOOST_TEST(*json::GetString(*(*entries)[1].resource, "id") == "o1");
}

BOOST_AUTO_TEST_CASE(bundle_without_entries_reads_empty) {
  auto entries = ReadEntries(Doc(R"({"resourceType":"Bundle","type":"searchset","total":0})"));
  BOOST_TEST_REQUIRE(entries.ok());
  BOOST_TEST(entries->empty());
}

BOOST_AUTO_TEST_CASE(malformed_bundles_are_invalid_and_name_the_entry) {
  struct Case {
    const char* json;
    const char* reason;
  };
  const Case cases[] = {
      {R"({"resourceType":"Patient"})", "not a Bundle"},
      {R"([])", "not a Bundle"},
      {R"({"resourceType":"Bundle","entry":{}})", "Bundle.entry is not an array"},
      {R"({"resourceType":"Bundle","entry":[{},1]})", "Bundle.entry[1]: not an object"},
      {R"({"resourceType":"Bundle","entry":[{"fullUrl":1}]})", "entry[0]: fullUrl is not a string"},
      {R"({"resourceType":"Bundle","entry":[{"resource":[]}]})",
       "entry[0]: resource is not an object"},
      {R"({"resourceType":"Bundle","entry":[{"request":{"method":"GET"}}]})",
       "entry[0]: request needs string method and url"},
      {R"({"resourceType":"Bundle","entry":[{"request":"GET"}]})",
       "entry[0]: request is not an object"},
      {R"({"resourceType":"Bundle","entry":[{"response":{}}]})",
       "entry[0]: response needs a string status"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":"200","outcome":"x"}}]})",
       "entry[0]: response.outcome is not an object"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.json) {
      auto entries = ReadEntries(Doc(c.json));
      BOOST_TEST_REQUIRE(!entries.ok());
      BOOST_TEST(entries.status().IsInvalid());
      BOOST_TEST(entries.status().message().find(c.reason) != std::string::npos,
                 entries.status().message());
    }
  }
}

BOOST_AUTO_TEST_CASE(next_link) {
  BOOST_TEST(NextLink(Doc(R"({"resourceType":"Bundle","link":[{"relation":"self","url":"a"},
                                                                {"relation":"next","url":"b"}]})"))
                 .value() == "b");
  BOOST_TEST(!NextLink(Doc(R"({"resourceType":"Bundle","link":[{"relation":"self","url":"a"}]})")));
  BOOST_TEST(!NextLink(Doc(R"({"resourceType":"Bundle"})")));
  BOOST_TEST(!NextLink(Doc(R"({"resourceType":"Bundle","link":{"relation":"next","url":"b"}})")));
  BOOST_TEST(!NextLink(Doc(R"({"link":[{"relation":"next","url":""}]})")));
}

BOOST_AUTO_TEST_CASE(rewrite_references_everywhere) {
  const char* uuid = "urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427";
  json::Document doc = Doc(R"({"resourceType":"Bundle","entry":[
    {"fullUrl":"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427","resource":{"resourceType":"Patient"}},
    {"resource":{"resourceType":"Observation",
      "subject":{"reference":"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427","display":"x"},
      "performer":[{"reference":"Practitioner/1"},
                   {"reference":"URN:UUID:1B4E28BA-2FA1-41D2-883F-0016D3CCA427"}],
      "note":[{"text":"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"}],
      "extension":[{"valueReference":{"reference":"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"}}],
      "focus":[[{"reference":"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"}]],
      "basedOn":[{"reference":{"reference":"urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"}}]}}]})");
  RewriteReferences(doc, uuid, "Patient/p1", doc.GetAllocator());
  const json::Value& obs = doc["entry"][1]["resource"];
  BOOST_TEST(*json::GetString(obs["subject"], "reference") == "Patient/p1");
  BOOST_TEST(*json::GetString(obs["subject"], "display") == "x");
  BOOST_TEST(*json::GetString(obs["performer"][0], "reference") == "Practitioner/1");
  BOOST_TEST(*json::GetString(obs["performer"][1], "reference") == "Patient/p1");
  BOOST_TEST(*json::GetString(obs["extension"][0]["valueReference"], "reference") == "Patient/p1");
  BOOST_TEST(*json::GetString(obs["focus"][0][0], "reference") == "Patient/p1");
  BOOST_TEST(*json::GetString(obs["basedOn"][0]["reference"], "reference") == "Patient/p1");
  // Only "reference" members change: fullUrl and free text keep the placeholder.
  BOOST_TEST(*json::GetString(doc["entry"][0], "fullUrl") == uuid);
  BOOST_TEST(*json::GetString(obs["note"][0], "text") == uuid);
}

BOOST_AUTO_TEST_CASE(rewrite_references_survives_deep_nesting) {
  json::Document doc;
  auto& alloc = doc.GetAllocator();
  json::Value inner(rapidjson::kObjectType);
  json::SetString(inner, "reference", "urn:uuid:00000000-0000-4000-8000-000000000000", alloc);
  for (int i = 0; i < 100000; ++i) {
    json::Value wrapper(rapidjson::kArrayType);
    wrapper.PushBack(inner, alloc);
    inner = std::move(wrapper);
  }
  static_cast<json::Value&>(doc) = std::move(inner);
  RewriteReferences(doc, "urn:uuid:00000000-0000-4000-8000-000000000000", "Patient/1", alloc);
  const json::Value* v = &static_cast<const json::Value&>(doc);
  while (v->IsArray()) v = &(*v)[0];
  BOOST_TEST(*json::GetString(*v, "reference") == "Patient/1");
  // Let the pool allocator reclaim; destroying nested Values recurses only with CrtAllocator.
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
