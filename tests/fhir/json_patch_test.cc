#include "fhir/json_patch.h"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <random>
#include <sstream>

namespace countersign::fhir {
namespace {

json::Document Doc(std::string_view text) {
  auto parsed = json::Parse(text);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString() << " in " << text);
  return std::move(parsed).value();
}

json::Document LoadFixture(const std::string& name) {
  std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/json-patch/" + name);
  BOOST_REQUIRE_MESSAGE(in, "cannot open fixture " << name);
  std::stringstream text;
  text << in.rdbuf();
  // RapidJSON directly, not json::Parse: RFC 6902 A.13 repeats "op" on purpose, to check that
  // ApplyJsonPatch refuses it too (json::Parse already refuses repeated names at the door).
  json::Document d;
  d.Parse(text.str().c_str());
  BOOST_REQUIRE_MESSAGE(!d.HasParseError(), "fixture " << name << " is not JSON");
  return d;
}

// Runs every case of a json-patch-tests style fixture: {comment, doc, patch, expected | error}.
// Error cases must also leave the document untouched.
void RunFixture(const std::string& name) {
  json::Document cases = LoadFixture(name);
  BOOST_REQUIRE(cases.IsArray());
  BOOST_REQUIRE_GT(cases.Size(), 0u);
  for (auto& c : cases.GetArray()) {
    std::string comment(json::GetString(c, "comment").value_or("?"));
    BOOST_TEST_CONTEXT(name << ": " << comment) {
      json::Document target;
      target.CopyFrom(c["doc"], target.GetAllocator());
      std::string before = json::Stringify(target);
      Status s = ApplyJsonPatch(target, c["patch"], target.GetAllocator());
      if (const json::Value* expected = json::Member(c, "expected")) {
        BOOST_TEST(s.ok(), s.ToString());
        BOOST_TEST(JsonEquals(target, *expected), json::Stringify(target));
      } else {
        BOOST_TEST(s.IsInvalid());
        BOOST_TEST(s.message() == std::string(*json::GetString(c, "error")));
        BOOST_TEST(json::Stringify(target) == before);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE(json_patch)

BOOST_AUTO_TEST_CASE(rfc6902_appendix_a) { RunFixture("rfc6902-appendix-a.json"); }

BOOST_AUTO_TEST_CASE(edge_cases) { RunFixture("edge-cases.json"); }

BOOST_AUTO_TEST_CASE(patch_must_be_an_array) {
  json::Document target = Doc(R"({"a":1})");
  json::Document patch = Doc(R"({"op":"remove","path":"/a"})");
  Status s = ApplyJsonPatch(target, patch, target.GetAllocator());
  BOOST_TEST(s.IsInvalid());
  BOOST_TEST(json::Stringify(target) == R"({"a":1})");
}

BOOST_AUTO_TEST_CASE(empty_patch_changes_nothing) {
  json::Document target = Doc(R"({"a":[1,{"b":null}]})");
  BOOST_TEST(ApplyJsonPatch(target, Doc("[]"), target.GetAllocator()).ok());
  BOOST_TEST(json::Stringify(target) == R"({"a":[1,{"b":null}]})");
}

BOOST_AUTO_TEST_CASE(members_keep_document_order_after_remove) {
  json::Document target = Doc(R"({"a":1,"b":2,"c":3,"d":4})");
  BOOST_TEST(
      ApplyJsonPatch(target, Doc(R"([{"op":"remove","path":"/b"}])"), target.GetAllocator()).ok());
  BOOST_TEST(json::Stringify(target) == R"({"a":1,"c":3,"d":4})");
}

BOOST_AUTO_TEST_CASE(patch_values_outlive_the_patch_document) {
  json::Document target = Doc(R"({"name":[]})");
  {
    json::Document patch =
        Doc(R"([{"op":"add","path":"/name/-","value":{"family":"Chalmers","given":["Peter"]}}])");
    BOOST_REQUIRE(ApplyJsonPatch(target, patch, target.GetAllocator()).ok());
  }  // patch and its allocator are gone: target must hold its own copy
  BOOST_TEST(json::Stringify(target) == R"({"name":[{"family":"Chalmers","given":["Peter"]}]})");
}

BOOST_AUTO_TEST_CASE(applies_to_a_nested_value) {
  json::Document doc = Doc(R"({"entry":[{"resource":{"status":"preliminary"}}]})");
  json::Value& resource = doc["entry"][0]["resource"];
  BOOST_REQUIRE(ApplyJsonPatch(resource,
                               Doc(R"([{"op":"replace","path":"/status","value":"final"}])"),
                               doc.GetAllocator())
                    .ok());
  BOOST_TEST(json::Stringify(doc) == R"({"entry":[{"resource":{"status":"final"}}]})");
}

BOOST_AUTO_TEST_CASE(json_equals_compares_numbers_by_value) {
  BOOST_TEST(JsonEquals(Doc("1"), Doc("1.0")));
  BOOST_TEST(JsonEquals(Doc("-0.0"), Doc("0")));
  BOOST_TEST(JsonEquals(Doc("1e2"), Doc("100")));
  BOOST_TEST(!JsonEquals(Doc("1"), Doc("1.5")));
  BOOST_TEST(JsonEquals(Doc("18446744073709551615"), Doc("18446744073709551615")));
  BOOST_TEST(!JsonEquals(Doc("18446744073709551615"), Doc("-1")));
  BOOST_TEST(!JsonEquals(Doc("9007199254740993"), Doc("9007199254740992")));  // beyond double
  BOOST_TEST(!JsonEquals(Doc("0"), Doc("false")));
  BOOST_TEST(!JsonEquals(Doc("null"), Doc("false")));
  BOOST_TEST(!JsonEquals(Doc("true"), Doc("false")));
  BOOST_TEST(JsonEquals(Doc(R"("a\u0000b")"), Doc(R"("a\u0000b")")));
  BOOST_TEST(!JsonEquals(Doc(R"("a\u0000b")"), Doc(R"("a\u0000c")")));
  BOOST_TEST(
      JsonEquals(Doc(R"({"a":[1,{"b":2}],"c":null})"), Doc(R"({"c":null,"a":[1.0,{"b":2}]})")));
  BOOST_TEST(!JsonEquals(Doc(R"({"a":1})"), Doc(R"({"b":1})")));
  BOOST_TEST(!JsonEquals(Doc("[]"), Doc("{}")));
}

BOOST_AUTO_TEST_CASE(patch_paths_lists_path_and_from) {
  json::Document patch = Doc(R"([{"op":"test","path":"/a","value":1},
                                 {"op":"move","from":"/b","path":"/c"},
                                 {"op":"copy","from":"/d/0","path":"/e/-"}])");
  std::vector<std::string> expected{"/a", "/c", "/b", "/e/-", "/d/0"};
  BOOST_TEST(PatchPaths(patch) == expected, boost::test_tools::per_element());
  BOOST_TEST(PatchPaths(Doc("{}")).empty());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(json_patch_diff)

BOOST_AUTO_TEST_CASE(equal_values_give_an_empty_patch) {
  json::Document a = Doc(R"({"a":[1,2],"b":{"c":1.0}})");
  json::Document b = Doc(R"({"b":{"c":1},"a":[1,2]})");
  BOOST_TEST(json::Stringify(DiffJsonPatch(a, b)) == "[]");
}

BOOST_AUTO_TEST_CASE(guards_replaced_and_removed_values_with_tests) {
  json::Document from = Doc(R"({"status":"preliminary","note":"x","code":{"text":"a"}})");
  json::Document to = Doc(R"({"status":"final","code":{"text":"a"},"issued":"2024-01-01"})");
  BOOST_TEST(json::Stringify(DiffJsonPatch(from, to)) ==
             R"([{"op":"test","path":"/status","value":"preliminary"},)"
             R"({"op":"replace","path":"/status","value":"final"},)"
             R"({"op":"test","path":"/note","value":"x"},)"
             R"({"op":"remove","path":"/note"},)"
             R"({"op":"add","path":"/issued","value":"2024-01-01"}])");
}

BOOST_AUTO_TEST_CASE(without_tests_when_asked) {
  json::Document from = Doc(R"({"a":1,"b":2})");
  json::Document to = Doc(R"({"a":3})");
  BOOST_TEST(json::Stringify(DiffJsonPatch(from, to, {.emit_tests = false})) ==
             R"([{"op":"replace","path":"/a","value":3},{"op":"remove","path":"/b"}])");
}

BOOST_AUTO_TEST_CASE(arrays_of_equal_length_are_diffed_element_wise) {
  json::Document from = Doc(R"({"given":["Jim","Bob"]})");
  json::Document to = Doc(R"({"given":["Jim","Robert"]})");
  BOOST_TEST(json::Stringify(DiffJsonPatch(from, to)) ==
             R"([{"op":"test","path":"/given/1","value":"Bob"},)"
             R"({"op":"replace","path":"/given/1","value":"Robert"}])");
}

BOOST_AUTO_TEST_CASE(arrays_of_different_length_are_replaced_whole) {
  json::Document from = Doc(R"({"given":["Jim"]})");
  json::Document to = Doc(R"({"given":["Jim","Bob"]})");
  BOOST_TEST(json::Stringify(DiffJsonPatch(from, to)) ==
             R"([{"op":"test","path":"/given","value":["Jim"]},)"
             R"({"op":"replace","path":"/given","value":["Jim","Bob"]}])");
}

BOOST_AUTO_TEST_CASE(escapes_member_names_in_paths) {
  json::Document from = Doc(R"({"a/b":1,"c~d":1})");
  json::Document to = Doc(R"({"a/b":2,"c~d":1,"~/":0})");
  json::Document patch = DiffJsonPatch(from, to, {.emit_tests = false});
  BOOST_TEST(
      json::Stringify(patch) ==
      R"([{"op":"replace","path":"/a~1b","value":2},{"op":"add","path":"/~0~1","value":0}])");
  BOOST_REQUIRE(ApplyJsonPatch(from, patch, from.GetAllocator()).ok());
  BOOST_TEST(JsonEquals(from, to));
}

BOOST_AUTO_TEST_CASE(type_change_at_the_root_replaces_the_document) {
  json::Document from = Doc(R"({"a":1})");
  json::Document to = Doc(R"([1])");
  BOOST_TEST(json::Stringify(DiffJsonPatch(from, to)) ==
             R"([{"op":"test","path":"","value":{"a":1}},{"op":"replace","path":"","value":[1]}])");
}

BOOST_AUTO_TEST_CASE(stale_base_is_refused_instead_of_overwritten) {
  // The clinician's edit was computed against version 1; someone else changed status since.
  json::Document v1 =
      Doc(R"({"resourceType":"Observation","status":"preliminary","valueQuantity":{"value":5}})");
  json::Document edited =
      Doc(R"({"resourceType":"Observation","status":"final","valueQuantity":{"value":5}})");
  json::Document v2 =
      Doc(R"({"resourceType":"Observation","status":"amended","valueQuantity":{"value":5}})");
  json::Document patch = DiffJsonPatch(v1, edited);
  Status s = ApplyJsonPatch(v2, patch, v2.GetAllocator());
  BOOST_TEST(s.IsInvalid());
  BOOST_TEST(s.message() == "op 0 (test /status): value differs");
  BOOST_TEST(*json::GetString(v2, "status") == "amended");
}

// ---------------------------------------------------------------------------------------------
// Property: for random pairs (a, b), Apply(Diff(a, b), a) == b, and the guarded patch refuses a
// document that differs from a at any location the patch replaces or removes.

class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  // Resources are objects, so the documents under test are too; values below vary freely.
  json::Value MakeDocument(json::Allocator& alloc) {
    json::Value object(rapidjson::kObjectType);
    for (int i = Pick(5) + 1; i > 0; --i) json::Set(object, Name(), Make(alloc, 3), alloc);
    return object;
  }

  json::Value Make(json::Allocator& alloc, int depth) {
    int kind = Pick(depth <= 0 ? 5 : 7);
    switch (kind) {
      case 0: return json::Value();
      case 1: return json::Value(Pick(2) == 0);
      case 2: return json::Value(Pick(5) - 2);
      case 3: return json::Value(Pick(4) + 0.5);
      case 4: return json::String(Name(), alloc);
      case 5: {
        json::Value array(rapidjson::kArrayType);
        for (int i = Pick(4); i > 0; --i) array.PushBack(Make(alloc, depth - 1), alloc);
        return array;
      }
      default: {
        json::Value object(rapidjson::kObjectType);
        for (int i = Pick(5); i > 0; --i) json::Set(object, Name(), Make(alloc, depth - 1), alloc);
        return object;
      }
    }
  }

  // A copy of value with random edits: members dropped/added/changed, elements changed,
  // arrays resized, scalars replaced.
  json::Value Mutate(const json::Value& value, json::Allocator& alloc, int depth) {
    bool container = value.IsObject() || value.IsArray();
    if (Pick(container ? 6 : 2) == 0) return Make(alloc, depth);
    json::Value out(value, alloc);
    if (out.IsObject()) {
      if (out.MemberCount() > 0 && Pick(3) == 0)
        out.EraseMember(out.MemberBegin() + Pick(out.MemberCount()));
      if (Pick(3) == 0) json::Set(out, Name(), Make(alloc, depth - 1), alloc);
      for (auto& m : out.GetObject()) {
        if (Pick(3) == 0) m.value = Mutate(m.value, alloc, depth - 1);
      }
    } else if (out.IsArray()) {
      if (Pick(4) == 0) out.PushBack(Make(alloc, depth - 1), alloc);
      for (auto& e : out.GetArray()) {
        if (Pick(3) == 0) e = Mutate(e, alloc, depth - 1);
      }
    }
    return out;
  }

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  // Names include the characters JSON Pointer must escape.
  std::string Name() {
    static const char* kNames[] = {"a", "b", "status", "a/b", "~", "~1", "", "0", "-", "x y"};
    return kNames[Pick(10)];
  }
  std::mt19937 rng_;
};

BOOST_AUTO_TEST_CASE(apply_of_diff_reproduces_the_target) {
  RandomJson random(20240611);
  int non_empty = 0;
  for (int round = 0; round < 2000; ++round) {
    json::Document a;
    static_cast<json::Value&>(a) = random.MakeDocument(a.GetAllocator());
    json::Document b;
    static_cast<json::Value&>(b) = random.Mutate(a, b.GetAllocator(), 4);
    for (bool emit_tests : {true, false}) {
      json::Document patch = DiffJsonPatch(a, b, {.emit_tests = emit_tests});
      if (emit_tests && patch.Size() > 0) ++non_empty;
      json::Document work;
      work.CopyFrom(a, work.GetAllocator());
      Status s = ApplyJsonPatch(work, patch, work.GetAllocator());
      BOOST_TEST_REQUIRE(s.ok(), s.ToString()
                                     << "\na=" << json::Stringify(a) << "\nb=" << json::Stringify(b)
                                     << "\npatch=" << json::Stringify(patch));
      BOOST_TEST_REQUIRE(JsonEquals(work, b), "a=" << json::Stringify(a)
                                                   << "\nb=" << json::Stringify(b)
                                                   << "\ngot=" << json::Stringify(work));
    }
  }
  BOOST_TEST(non_empty > 1200);  // the generator really produces differences
}

BOOST_AUTO_TEST_CASE(diff_refuses_a_document_changed_where_it_writes) {
  RandomJson random(7);
  int checked = 0;
  for (int round = 0; round < 2000; ++round) {
    json::Document a;
    static_cast<json::Value&>(a) = random.MakeDocument(a.GetAllocator());
    json::Document b;
    static_cast<json::Value&>(b) = random.Mutate(a, b.GetAllocator(), 4);
    json::Document patch = DiffJsonPatch(a, b);
    std::vector<std::string> guarded;
    for (const auto& op : patch.GetArray()) {
      if (json::GetString(op, "op") == "test") guarded.emplace_back(*json::GetString(op, "path"));
    }
    if (guarded.empty()) continue;
    // c: a, changed at one guarded location to a value the generator never makes.
    const std::string& where = guarded[random.Pick(static_cast<int>(guarded.size()))];
    json::Document c;
    c.CopyFrom(a, c.GetAllocator());
    json::Document change =
        Doc(R"([{"op":"replace","path":"","value":"changed by someone else"}])");
    change[0]["path"].SetString(where.c_str(), static_cast<rapidjson::SizeType>(where.size()),
                                change.GetAllocator());
    BOOST_REQUIRE(ApplyJsonPatch(c, change, c.GetAllocator()).ok());
    std::string before = json::Stringify(c);
    Status s = ApplyJsonPatch(c, patch, c.GetAllocator());
    BOOST_TEST_REQUIRE(s.IsInvalid(), "changed " << where << "\na=" << json::Stringify(a)
                                                 << "\npatch=" << json::Stringify(patch));
    BOOST_TEST(s.message().find("value differs") != std::string::npos, s.message());
    BOOST_TEST(json::Stringify(c) == before);
    ++checked;
  }
  BOOST_TEST(checked > 1000);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::fhir
