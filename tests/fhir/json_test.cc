#include "fhir/json.h"

#include <boost/test/unit_test.hpp>

namespace countersign::json {
namespace {

Document Doc(std::string_view text) {
  auto parsed = Parse(text);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  return std::move(parsed).value();
}

std::string Nested(int depth, std::string_view leaf = "1") {
  return std::string(static_cast<size_t>(depth), '[') + std::string(leaf) +
         std::string(static_cast<size_t>(depth), ']');
}

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(parses_every_kind_of_root) {
  BOOST_TEST(Stringify(Doc(R"({"a":[1,2.5,"x",true,null,{}]})")) ==
             R"({"a":[1,2.5,"x",true,null,{}]})");
  BOOST_TEST(Doc("[]").IsArray());
  BOOST_TEST(Doc("42").GetInt() == 42);
  BOOST_TEST(Doc(R"("s")").IsString());
  BOOST_TEST(Doc("null").IsNull());
  BOOST_TEST(Doc(" \t\r\n{}\n ").IsObject());  // surrounding whitespace is fine
}

BOOST_AUTO_TEST_CASE(large_and_negative_numbers_keep_their_type) {
  Document d = Doc(R"({"big":18446744073709551615,"neg":-9223372036854775808,"f":1e300})");
  BOOST_TEST(d["big"].GetUint64() == 18446744073709551615ull);
  BOOST_TEST(d["neg"].GetInt64() == INT64_MIN);
  BOOST_TEST(d["f"].GetDouble() == 1e300);
}

BOOST_AUTO_TEST_CASE(unicode_and_escapes) {
  Document d = Doc(R"({"name":"Zo\u00eb \ud83d\ude00","nul":"a\u0000b"})");
  BOOST_TEST(*GetString(d, "name") == "Zo\xc3\xab \xf0\x9f\x98\x80");
  BOOST_TEST(GetString(d, "nul")->size() == 3u);  // embedded NUL is kept, not a terminator
  BOOST_TEST(Stringify(d) == "{\"name\":\"Zo\xc3\xab \xf0\x9f\x98\x80\",\"nul\":\"a\\u0000b\"}");
}

BOOST_AUTO_TEST_CASE(syntax_errors_name_the_byte_offset) {
  auto r = Parse(R"({"a":1,})");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.status().IsInvalid());
  BOOST_TEST(r.status().message().rfind("invalid JSON at byte 7: ", 0) == 0u, r.status().message());

  for (const char* bad : {"{", "[1,2", "{\"a\" 1}", "tru", "'x'", "{\"a\":01}", "[1,]", "\"abc",
                          "{a:1}", "NaN", "[1] // comment"}) {
    BOOST_TEST_CONTEXT(bad) {
      auto p = Parse(bad);
      BOOST_TEST(!p.ok());
      BOOST_TEST(p.status().IsInvalid());
      BOOST_TEST(p.status().message().find("invalid JSON at byte") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_body) {
  for (const char* empty : {"", "   ", "\n\t\r "}) {
    auto r = Parse(empty);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.status().message() == "empty JSON body");
  }
}

BOOST_AUTO_TEST_CASE(trailing_garbage_is_refused) {
  auto r = Parse("{} x");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.status().message() ==
             "invalid JSON at byte 3: unexpected content after the root value");
  BOOST_TEST(!Parse("{}{}").ok());
  BOOST_TEST(!Parse("1 2").ok());
  BOOST_TEST(!Parse("[1]]").ok());
  BOOST_TEST(!Parse(std::string_view("{}\0", 3)).ok());  // a NUL is content, not an end marker
  BOOST_TEST(Parse("{}  \n").ok());
}

BOOST_AUTO_TEST_CASE(input_is_bounded_by_the_view_not_by_nul) {
  std::string text = R"({"a":1}garbage)";
  auto r = Parse(std::string_view(text).substr(0, 7));
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(Stringify(*r) == R"({"a":1})");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_refused) {
  BOOST_TEST(!Parse("\"\xff\"").ok());
  BOOST_TEST(!Parse("\"\xc3\"").ok());          // truncated sequence
  BOOST_TEST(!Parse("\"\xed\xa0\x80\"").ok());  // encoded surrogate
}

BOOST_AUTO_TEST_CASE(depth_limit) {
  BOOST_TEST(Parse(Nested(64)).ok());
  auto deep = Parse(Nested(65));
  BOOST_TEST_REQUIRE(!deep.ok());
  BOOST_TEST(deep.status().IsInvalid());
  BOOST_TEST(deep.status().message() == "JSON nested deeper than 64 levels");
  BOOST_TEST(Parse(R"({"a":{"b":{"c":1}}})", 3).ok());
  BOOST_TEST(!Parse(R"({"a":{"b":{"c":{}}}})", 3).ok());
  BOOST_TEST(Parse("1", 0).ok());  // scalars have no depth
  BOOST_TEST(!Parse("[]", 0).ok());
}

BOOST_AUTO_TEST_CASE(hostile_nesting_does_not_overflow_the_stack) {
  auto r = Parse(Nested(1000000), 1 << 30);  // iterative parser: no recursion even when allowed
  BOOST_TEST(r.ok());
  auto refused = Parse(std::string(1000000, '['));
  BOOST_TEST(refused.status().message() == "JSON nested deeper than 64 levels");
}

BOOST_AUTO_TEST_CASE(stringify_and_pretty) {
  Document d = Doc(R"({ "b" : [ 1 , 2 ], "a" : { } })");
  BOOST_TEST(Stringify(d) == R"({"b":[1,2],"a":{}})");  // document order, not sorted
  BOOST_TEST(Pretty(d) == "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": {}\n}");
  BOOST_TEST(Stringify(Doc(R"("quote\" slash\\ tab\t")")) == R"("quote\" slash\\ tab\t")");
}

BOOST_AUTO_TEST_CASE(member_helpers_are_null_safe) {
  Document d = Doc(R"({"s":"x","i":7,"big":18446744073709551615,"d":1.5,"b":false,"n":null})");
  BOOST_TEST(Member(d, "s") != nullptr);
  BOOST_TEST(Member(d, "missing") == nullptr);
  BOOST_TEST(Member(Doc("[1]"), "s") == nullptr);
  BOOST_TEST(Member(Doc("null"), "s") == nullptr);
  BOOST_TEST(*GetString(d, "s") == "x");
  BOOST_TEST(!GetString(d, "i").has_value());
  BOOST_TEST(!GetString(d, "n").has_value());
  BOOST_TEST(*GetInt(d, "i") == 7);
  BOOST_TEST(!GetInt(d, "d").has_value());
  BOOST_TEST(!GetInt(d, "big").has_value());  // does not fit int64
  BOOST_TEST(!GetInt(d, "s").has_value());
  BOOST_TEST(*GetBool(d, "b") == false);
  BOOST_TEST(!GetBool(d, "n").has_value());
  BOOST_TEST(!GetBool(Doc("true"), "b").has_value());
}

BOOST_AUTO_TEST_CASE(member_names_with_nul_and_prefixes) {
  Document d = Doc(R"({"ab":1,"a\u0000b":2})");
  BOOST_TEST(*GetInt(d, "ab") == 1);
  BOOST_TEST(*GetInt(d, std::string_view("a\0b", 3)) == 2);
  BOOST_TEST(!GetInt(d, "a").has_value());  // no prefix matches
}

BOOST_AUTO_TEST_CASE(set_adds_or_replaces_in_place) {
  Document d = Doc(R"({"a":1,"b":2})");
  auto& alloc = d.GetAllocator();
  Set(d, "a", Value("x"), alloc);
  SetString(d, "c", "new", alloc);
  BOOST_TEST(Stringify(d) == R"({"a":"x","b":2,"c":"new"})");
  std::string temporary = "owned";
  SetString(d, temporary, temporary, alloc);
  temporary.assign("clobbered");  // Set copies both name and text
  BOOST_TEST(Stringify(d) == R"({"a":"x","b":2,"c":"new","owned":"owned"})");
}

BOOST_AUTO_TEST_CASE(remove_member) {
  Document d = Doc(R"({"a":1,"b":2})");
  Remove(d, "a");
  Remove(d, "missing");
  BOOST_TEST(Stringify(d) == R"({"b":2})");
  Document array = Doc("[1]");
  Remove(array, "a");  // not an object: nothing to do
  BOOST_TEST(Stringify(array) == "[1]");
}

BOOST_AUTO_TEST_CASE(copy_is_deep_and_string_makes_owned_text) {
  Document src = Doc(R"({"a":{"b":[1]}})");
  Document dst;
  Value copy = Copy(src, dst.GetAllocator());
  src["a"]["b"][0] = 2;
  BOOST_TEST(Stringify(copy) == R"({"a":{"b":[1]}})");
  std::string text = "abc";
  Value s = String(text, dst.GetAllocator());
  text[0] = 'z';
  BOOST_TEST(std::string(s.GetString()) == "abc");
}

BOOST_AUTO_TEST_CASE(duplicate_member_names_are_refused) {
  // Found by fuzzing (fixtures/fuzz/json_patch_fuzz/duplicate-member-names): with a repeated
  // name, lookups and comparisons disagree about what the document says.
  auto top = Parse(R"({"a":1,"a":[1,2]})");
  BOOST_TEST(top.status().IsInvalid());
  BOOST_TEST(top.status().message().find("\"a\" appears twice") != std::string::npos);
  BOOST_TEST(Parse(R"({"x":[{"k":1,"j":2,"k":3}]})").status().IsInvalid());
  std::string wide = "{";
  for (int i = 0; i < 40; ++i) wide += "\"m" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  BOOST_TEST(Parse(wide + "\"m0\":1}").status().IsInvalid());
  BOOST_TEST(Parse(wide + "\"z\":1}").ok());
  BOOST_TEST(Parse(R"({"a":{"a":{"a":1}}})").ok());  // the same name at different levels is fine
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::json
