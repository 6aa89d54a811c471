// Rule files, templates and dateTime arithmetic: the parts of the rule language a rule author
// relies on, and the errors a broken rule file gives at load (file + JSON path inside it).
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "mappings/datetime.h"
#include "mappings/engine.h"
#include "mappings/rules.h"
#include "mappings/template.h"

namespace countersign::mappings {
namespace {

namespace fs = std::filesystem;
const std::string kRules = std::string(COUNTERSIGN_SOURCE_DIR) + "/mappings/rules";

std::string RenderText(const std::string& tmpl, const std::string& context) {
  auto t = json::Parse(tmpl);
  auto c = json::Parse(context);
  BOOST_REQUIRE(t.ok() && c.ok());
  json::Document out;
  json::Value v = Render(*t, *c, out.GetAllocator());
  return v.IsNull() ? "(dropped)" : json::Stringify(v);
}

BOOST_AUTO_TEST_SUITE(templates)

BOOST_AUTO_TEST_CASE(placeholders_transforms_and_fallbacks) {
  const std::string ctx = R"({"a": {"s": "x<y", "n": 3, "t": "2026-02-28T23:50:00-05:00"}, "now": "N"})";
  BOOST_TEST(RenderText(R"("{{a.n}}")", ctx) == "3");  // the JSON value, not its text
  BOOST_TEST(RenderText(R"("{{base64:a.s}}")", ctx) == R"("eDx5")");
  BOOST_TEST(RenderText(R"("<div>{{xhtml:a.s}}</div>")", ctx) == R"("<div>x&lt;y</div>")");
  BOOST_TEST(RenderText(R"("{{a.missing ?? now}}")", ctx) == R"("N")");
  BOOST_TEST(RenderText(R"("{{a.s??now}}")", ctx) == R"("x<y")");
  BOOST_TEST(RenderText(R"("{{plusMinutes:a.t,a.n}}")", ctx) == R"("2026-02-28T23:53:00-05:00")");
  BOOST_TEST(RenderText(R"("{{a.missing ?? plusMinutes:a.t,a.missing}}")", ctx) == "(dropped)");
  BOOST_TEST(RenderText(R"({"k": "{{a.missing}}", "j": ["{{a.missing}}"]})", ctx) == "(dropped)");
  BOOST_TEST(RenderText(R"({"k": "by {{a.missing}}", "l": "by {{a.s}}"})", ctx) == R"({"l":"by x<y"})");
}

BOOST_AUTO_TEST_CASE(each_expands_per_element) {
  const std::string ctx = R"({"list": [{"v": 1}, {"w": 2}, {"v": 3}]})";
  BOOST_TEST(RenderText(R"(["head", {"$each": "list", "$template": {"x": "{{item.v}}"}}])", ctx) ==
             R"(["head",{"x":1},{"x":3}])");
}

BOOST_AUTO_TEST_CASE(collect_reports_malformed_placeholders_with_their_path) {
  auto t = json::Parse(R"({"a": ["ok {{x.y}}", "{{unknown:x}}"], "b": {"$each": "l", "$template": {}},
                          "c": [{"$each": "l"}], "d": "{{plusMinutes:x}}", "e": "{{x..y}}"})");
  std::vector<PlaceholderUse> uses;
  std::vector<std::string> errors;
  CollectPlaceholders(*t, "$", &uses, &errors);
  BOOST_REQUIRE(errors.size() == 5u);
  BOOST_TEST(errors[0].rfind("$.a[1]: malformed placeholder", 0) == 0u);
  BOOST_TEST(errors[0].find("unknown transform") != std::string::npos);
  BOOST_TEST(errors[1].rfind("$.b: $each", 0) == 0u);
  BOOST_TEST(errors[2].rfind("$.c[0]: expected exactly", 0) == 0u);
  BOOST_TEST(errors[3].find("plusMinutes takes 2 paths") != std::string::npos);
  BOOST_TEST(errors[4].rfind("$.e: ", 0) == 0u);
  BOOST_REQUIRE(uses.size() == 1u);
  BOOST_TEST(uses[0].path == "x.y");
  BOOST_TEST(uses[0].at == "$.a[0]");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(datetimes)

BOOST_AUTO_TEST_CASE(fhir_datetime_recognition) {
  for (const char* ok : {"2026", "2026-02", "2024-02-29", "2026-12-01T09:00:00Z", "2026-12-01T09:00Z",
                         "2026-12-01T09:00:00.123+05:30", "2026-12-01T23:59:59-14:00"}) {
    BOOST_TEST(IsDateTime(ok), ok);
  }
  for (const char* bad : {"", "26", "2026-13", "2026-02-29", "2026-04-31", "2026-12-01T24:00:00Z",
                          "2026-12-01T09:60:00Z", "2026-12-01T09:00:00", "2026-12-01T09:00:00+5:00",
                          "2026-12-01 09:00:00Z", "2026-12-01T09:00:00.Z", "2026-12-01T09:00:00Zjunk"}) {
    BOOST_TEST(!IsDateTime(bad), bad);
  }
}

BOOST_AUTO_TEST_CASE(ordering_across_offsets_and_minute_arithmetic) {
  BOOST_TEST(*EpochSeconds("1970-01-01T00:00:00Z") == 0);
  BOOST_TEST(*EpochSeconds("1970-01-01T01:00:00+01:00") == 0);
  BOOST_TEST(*EpochSeconds("2026-12-03T10:30:00+01:00") < *EpochSeconds("2026-12-03T10:00:00Z"));
  BOOST_TEST(!EpochSeconds("2026-12-03").has_value());
  BOOST_TEST(*PlusMinutes("2024-02-28T23:30:00Z", 60) == "2024-02-29T00:30:00Z");  // leap day
  BOOST_TEST(*PlusMinutes("2026-12-31T23:45:00+01:00", 30) == "2027-01-01T00:15:00+01:00");
  BOOST_TEST(*PlusMinutes("2026-03-01T00:10:00.5-03:00", -20) == "2026-02-28T23:50:00-03:00");
  BOOST_TEST(!PlusMinutes("2026-03-01", 5).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rule_files)

// A scratch rules directory holding one file, removed at the end.
class RuleDir {
 public:
  RuleDir() : dir_(fs::temp_directory_path() / ("countersign-rules-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~RuleDir() { fs::remove_all(dir_); }
  // Loads a directory holding only `text` as broken.json; the error message (empty when loaded).
  std::string Load(const std::string& text) {
    for (const auto& f : fs::directory_iterator(dir_)) fs::remove(f.path());
    std::ofstream(dir_ / "broken.json") << text;
    auto e = MappingEngine::Load(dir_.string());
    return e.ok() ? std::string() : e.status().message();
  }
  const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
};

// A rule file with one create action whose template is `tmpl`, plus `extra` action members.
std::string OneAction(const std::string& tmpl, const std::string& extra = "") {
  return R"({"kind":"note","profile":"p","actions":{"create":{)" + extra +
         R"("writes":[{"op":"create","template":)" + tmpl + "}]}}}";
}

BOOST_AUTO_TEST_CASE(broken_rule_files_fail_loudly_naming_file_and_path) {
  RuleDir dir;
  struct Case {
    std::string text;
    std::string expect;  // start of the message
  };
  const std::string doc = R"({"resourceType":"DocumentReference","status":"current")";
  const std::vector<Case> cases = {
      {"{", "broken.json: not JSON"},
      {"[]", "broken.json: $: expected an object"},
      {R"({"kind":"note","profile":"p","colour":1,"actions":{}})", "broken.json: $.colour: unknown key"},
      {R"({"profile":"p","actions":{}})", "broken.json: $.kind: required string"},
      {R"({"kind":"note","profile":"p","actions":{}})", "broken.json: $.actions: expected a non-empty object"},
      {R"({"kind":"note","profile":"p","default":"yes","actions":{}})", "broken.json: $.default"},
      {R"({"kind":"note","profile":"p","actions":{"create":{"writes":[{"op":"delete"}]}}})",
       "broken.json: $.actions.create.writes[0].op"},
      {R"({"kind":"note","profile":"p","actions":{"create":{"writes":[]}}})",
       "broken.json: $.actions.create.writes: expected a non-empty array"},
      {OneAction(doc + R"(,"x":"{{content.text"})"), "broken.json: $.actions.create.writes[0].template.x: malformed"},
      {OneAction(doc + R"(,"x":"{{content.titel}}"})"),
       "broken.json: $.actions.create.writes[0].template.x: \"content.titel\" is not a field of the draft format"},
      {OneAction(doc + R"(,"x":["a",{"$each":"content.participants","$template":{"r":"{{item.role}}"}}]})"),
       "broken.json: $.actions.create.writes[0].template.x[1].$template.r: \"item.role\""},
      {OneAction(doc + R"(,"x":"{{item.actor}}"})"), "broken.json: $.actions.create.writes[0].template.x: \"item.actor\""},
      {OneAction(doc + R"(,"x":"{{rot13:content.text}}"})"), "broken.json: $.actions.create.writes[0].template.x: malformed"},
      {OneAction(R"({"resourceType":"lower"})"), "broken.json: $.actions.create.writes[0].template.resourceType"},
      {OneAction(doc + R"(,"id":"x"})"), "broken.json: $.actions.create.writes[0].template: id and meta"},
      {OneAction(doc + "}", R"("required":["content.text|content.txt"],)"),
       "broken.json: $.actions.create.required[0]: \"content.txt\""},
      {OneAction(doc + "}", R"("target":"document",)"), "broken.json: $.actions.create.target"},
      {OneAction(doc + "}", R"("colour":1,)"), "broken.json: $.actions.create.colour: unknown key"},
      {R"({"kind":"note","profile":"p","actions":{"amend":{"writes":[{"op":"update-target","set":{"id":"x"}}]}}})",
       "broken.json: $.actions.amend.writes[0].set"},
      {R"({"kind":"note","profile":"p","actions":{"amend":{"writes":[{"op":"update-target","set":{},"remove":["meta"]}]}}})",
       "broken.json: $.actions.amend.writes[0].remove[0]"},
      {R"({"kind":"note","profile":"p","actions":{"create":{"writes":[{"op":"create","template":{"resourceType":"Basic"},"remove":["x"]}]}}})",
       "broken.json: $.actions.create.writes[0].remove"},
  };
  for (const auto& c : cases) {
    std::string got = dir.Load(c.text);
    BOOST_TEST(got.rfind(c.expect, 0) == 0u, c.text << "\n  gave: " << got);
  }
  BOOST_TEST(dir.Load(OneAction(doc + "}")).empty());  // the minimal valid rule loads
  BOOST_TEST((MappingEngine::Load("/nonexistent/rules").status().kind() == ErrorKind::kIoError));
}

BOOST_AUTO_TEST_CASE(a_broken_copy_of_a_shipped_rule_names_the_file_and_path) {
  RuleDir dir;
  for (const auto& f : fs::directory_iterator(kRules)) fs::copy_file(f.path(), dir.path() / f.path().filename());
  std::string text;
  {
    std::ifstream in(dir.path() / "appointment-appointment.json");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  BOOST_REQUIRE(MappingEngine::Load(dir.path().string()).ok());
  size_t at = text.find("{{content.reason}}");
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, 18, "{{content.raeson}}");
  std::ofstream(dir.path() / "appointment-appointment.json") << text;
  auto loaded = MappingEngine::Load(dir.path().string());
  BOOST_TEST(loaded.status().IsInvalid());
  BOOST_TEST(loaded.status().message() ==
             "appointment-appointment.json: $.actions.create.writes[0].template.reasonCode[0].text: "
             "\"content.raeson\" is not a field of the draft format");
}

BOOST_AUTO_TEST_CASE(profile_selection_errors) {
  RuleDir dir;
  const std::string rule = R"({"kind":"note","profile":"P","actions":{"create":{"writes":[{"op":"create","template":{"resourceType":"Basic"}}]}}})";
  std::ofstream(dir.path() / "a.json") << rule;
  std::string second = rule;
  second.replace(second.find("\"P\""), 3, "\"Q\"");
  std::ofstream(dir.path() / "b.json") << second;
  // Two rules for one kind and neither is the default.
  BOOST_TEST(MappingEngine::Load(dir.path().string()).status().message().find("none is \"default\"") != std::string::npos);
  auto picked = MappingEngine::Load(dir.path().string(), {{"note", "Q"}});
  BOOST_REQUIRE(picked.ok());
  BOOST_TEST((*picked)->ProfileFor("note") == "Q");
  BOOST_TEST((*picked)->ProfileFor("lab").empty());
  BOOST_TEST(MappingEngine::Load(dir.path().string(), {{"note", "R"}}).status().IsInvalid());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::mappings
