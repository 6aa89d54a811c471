// Drafts with NUL and other control characters in their strings: every string of every fixture
// draft, one at a time, is refused with its path, and nothing crashes. A string read up to its
// first NUL in one place and whole in another once let `"kind":"note\u0000"` pass validation (as
// "note") and then find no rule (as "note\0"), a null dereference in the daemon.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "fhir/operation_outcome.h"
#include "mappings/engine.h"

namespace countersign::mappings {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = COUNTERSIGN_SOURCE_DIR;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<MappingEngine> Load(const ProfileSelection& selection = {}) {
  auto e = MappingEngine::Load(kRoot + "/mappings/rules", selection);
  BOOST_REQUIRE_MESSAGE(e.ok(), e.status().ToString());
  return std::move(e).value();
}

MapContext Ctx() {
  MapContext c;
  c.proposal_id = "prop-nul";
  c.recorded_time = "2026-11-25T12:00:00Z";
  return c;
}

std::set<std::string> Expressions(const Status& s) {
  std::set<std::string> out;
  auto oo = json::Parse(s.operation_outcome());
  if (!oo.ok()) return out;
  for (const auto& issue : fhir::ReadOperationOutcome(*oo)) {
    for (const auto& e : issue.expression) out.insert(e);
  }
  return out;
}

// Calls visit(path, value) for every string value in v; paths as the validator names them.
void EachString(json::Value& v, const std::string& path,
                const std::function<void(const std::string&, json::Value&)>& visit) {
  if (v.IsString()) {
    visit(path, v);
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      EachString(m.value, path + "." + std::string(m.name.GetString(), m.name.GetStringLength()),
                 visit);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      EachString(v[i], path + "[" + std::to_string(i) + "]", visit);
    }
  }
}

// For each string in the draft: the draft with `edit` applied to that string only.
std::vector<std::pair<std::string, std::string>> Variants(
    const std::string& draft_text, const std::function<std::string(std::string_view)>& edit) {
  auto probe = json::Parse(draft_text);
  BOOST_REQUIRE(probe.ok());
  std::vector<std::string> paths;
  EachString(*probe, "draft", [&](const std::string& p, json::Value&) { paths.push_back(p); });
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& target : paths) {
    auto doc = json::Parse(draft_text);
    EachString(*doc, "draft", [&](const std::string& p, json::Value& v) {
      if (p != target) return;
      std::string text = edit(std::string_view(v.GetString(), v.GetStringLength()));
      v = json::String(text, doc->GetAllocator());
    });
    out.emplace_back(target, json::Stringify(*doc));  // the writer emits \u0000
  }
  return out;
}

std::vector<std::string> FixtureDrafts() {
  std::vector<std::string> out;
  for (const auto& f : fs::directory_iterator(kRoot + "/fixtures/drafts")) {
    if (f.path().extension() == ".json") out.push_back(f.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

BOOST_AUTO_TEST_CASE(nul_in_kind_is_refused_not_a_crash) {
  auto engine = Load();
  std::string draft = ReadText(kRoot + "/fixtures/drafts/note-create.json");
  size_t at = draft.find("\"note\"");
  BOOST_REQUIRE(at != std::string::npos);
  draft.replace(at, 6, "\"note\\u0000\"");
  auto m = engine->Map(draft, Ctx());
  BOOST_REQUIRE(!m.ok());
  BOOST_TEST(m.status().IsInvalid(), m.status().ToString());
  BOOST_TEST(Expressions(m.status()).count("draft.kind") == 1u);
  BOOST_TEST(m.status().operation_outcome().find("NUL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_nul_in_any_string_of_any_fixture_is_refused_with_its_path) {
  size_t tried = 0;
  for (const ProfileSelection& selection :
       {ProfileSelection{}, ProfileSelection{{"message", "communication-request"}}}) {
    auto engine = Load(selection);
    for (const std::string& file : FixtureDrafts()) {
      std::string text = ReadText(file);
      for (const auto& edit : std::vector<std::function<std::string(std::string_view)>>{
               [](std::string_view s) { return std::string(s) + std::string(1, '\0'); },
               [](std::string_view s) { return std::string(1, '\0') + std::string(s); },
               [](std::string_view s) {
                 return std::string(s.substr(0, s.size() / 2)) + std::string(1, '\0') + "x" +
                        std::string(s.substr(s.size() / 2));
               },
               [](std::string_view s) { return std::string(s) + "\x07"; }}) {
        for (const auto& [path, variant] : Variants(text, edit)) {
          BOOST_TEST_CONTEXT(file << " " << path) {
            auto m = engine->Map(variant, Ctx());
            BOOST_REQUIRE(!m.ok());
            BOOST_TEST(m.status().IsInvalid(), m.status().ToString());
            BOOST_TEST(Expressions(m.status()).count(path) == 1u);
            ++tried;
          }
        }
      }
    }
  }
  BOOST_TEST(tried > 300u);
}

BOOST_AUTO_TEST_CASE(tab_cr_lf_and_non_ascii_stay_accepted) {
  auto engine = Load();
  std::string draft = ReadText(kRoot + "/fixtures/drafts/note-create.json");
  auto doc = json::Parse(draft);
  BOOST_REQUIRE(doc.ok());
  auto& a = doc->GetAllocator();
  json::SetString((*doc)["content"], "text", "Línea 1\tA & B + C # 100% | x, y\r\nClínica Pérez",
                  a);
  json::SetString((*doc)["ai"], "vendor", "Acme Health AI, Clínica Pérez & Co #1 100% +", a);
  auto m = engine->Map(json::Stringify(*doc), Ctx());
  BOOST_TEST(m.ok(), m.status().ToString());
}

BOOST_AUTO_TEST_CASE(a_control_character_in_a_member_name_is_refused) {
  auto engine = Load();
  std::string draft = ReadText(kRoot + "/fixtures/drafts/note-create.json");
  size_t at = draft.find("\"requested_owner\"");
  BOOST_REQUIRE(at != std::string::npos);
  draft.replace(at, 17, "\"requested_owner\\u0000\"");
  auto m = engine->Map(draft, Ctx());
  BOOST_REQUIRE(!m.ok());
  BOOST_TEST(m.status().IsInvalid());
  // Named with the character escaped, so the path itself carries no NUL.
  BOOST_TEST(Expressions(m.status()).count("draft.requested_owner\\u0000") == 1u);
  for (const std::string& e : Expressions(m.status())) BOOST_TEST(e.find('\0') == std::string::npos);
}

}  // namespace
}  // namespace countersign::mappings
