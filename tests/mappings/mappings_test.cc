// The mapping engine over the shipped rule files and fixture drafts: every draft maps to a
// pending Bundle of the required shape; invalid drafts name every problem by path; broken rule
// files are named with the path inside them; alternative profiles by configuration alone.
#define BOOST_TEST_MODULE mappings
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "fhir/bundle.h"
#include "fhir/json_patch.h"
#include "fhir/operation_outcome.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "mappings/engine.h"
#include "tests/mappings/r4_checks.h"

namespace countersign::mappings {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = COUNTERSIGN_SOURCE_DIR;
const std::string kRules = kRoot + "/mappings/rules";

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<MappingEngine> Engine(const ProfileSelection& selection = {}) {
  auto e = MappingEngine::Load(kRules, selection);
  BOOST_REQUIRE_MESSAGE(e.ok(), e.status().ToString());
  return std::move(e).value();
}

MapContext Context(const std::string& id = "prop-1") {
  MapContext c;
  c.proposal_id = id;
  c.recorded_time = "2026-11-25T12:00:00Z";
  return c;
}

// The invariants every mapped Bundle keeps.
void CheckShape(const MappedDraft& m, const std::string& proposal_id) {
  auto entries = fhir::ReadEntries(m.bundle);
  BOOST_REQUIRE(entries.ok());
  BOOST_REQUIRE(entries->size() >= 3u);
  BOOST_TEST(json::GetString(m.bundle, "type").value_or("") == "transaction");
  std::vector<std::string> mapped_targets;
  std::string device_url;
  size_t mapped = 0;
  for (size_t i = 0; i < entries->size(); ++i) {
    const auto& e = (*entries)[i];
    BOOST_REQUIRE(e.resource != nullptr);
    std::string type(fhir::ResourceType(*e.resource).value_or(""));
    std::vector<std::string> problems = testing::CheckR4(*e.resource);
    BOOST_TEST(problems.empty(), type << ": " << (problems.empty() ? "" : problems.front()));
    if (type == "Device") {
      device_url = e.full_url;
      BOOST_TEST(e.request.method == "POST");
      BOOST_TEST(e.full_url.rfind("urn:uuid:", 0) == 0u);
      auto ident = fhir::FindIdentifier(*e.resource, kAiDeviceIdentifierSystem);
      BOOST_REQUIRE(ident.has_value());
      BOOST_TEST(e.request.if_none_exist == fhir::IdentifierCondition(*ident));  // escaped, encoded
      BOOST_TEST(e.request.if_none_exist.find_first_of("| ") == std::string::npos);
      BOOST_TEST(json::Member(*e.resource, "deviceName") != nullptr);
      BOOST_TEST(json::Member(*e.resource, "version") != nullptr);
      BOOST_TEST(json::Member(*e.resource, "manufacturer") != nullptr);
      continue;
    }
    if (type == "Provenance") {
      BOOST_TEST(i == entries->size() - 1);  // last
      BOOST_TEST(fhir::HasSecurityLabel(*e.resource, fhir::AiAssistedLabel()));
      const json::Value* targets = json::Member(*e.resource, "target");
      BOOST_REQUIRE(targets && targets->IsArray());
      std::vector<std::string> got;
      for (const auto& t : targets->GetArray()) got.emplace_back(json::GetString(t, "reference").value_or(""));
      BOOST_TEST(got == mapped_targets, "Provenance targets every mapped resource");
      std::string agents = json::Stringify(*json::Member(*e.resource, "agent"));
      BOOST_TEST(agents.find(device_url) != std::string::npos);
      BOOST_TEST(agents.find("\"author\"") != std::string::npos);
      BOOST_TEST(json::GetString(*e.resource, "recorded").value_or("") == "2026-11-25T12:00:00Z");
      BOOST_TEST(json::Stringify(*json::Member(*e.resource, "reason")).find("\"AIAST\"") != std::string::npos);
      BOOST_TEST(e.request.method == "POST");
      continue;
    }
    ++mapped;
    BOOST_TEST(fhir::HasSecurityLabel(*e.resource, fhir::AiAssistedLabel()), type << " has AIAST");
    std::string ident;
    if (type == "Composition") {
      ident = std::string(json::GetString(*json::Member(*e.resource, "identifier"), "value").value_or(""));
    } else {
      auto id = fhir::FindIdentifier(*e.resource, kCountersignIdentifierSystem);
      BOOST_REQUIRE_MESSAGE(id.has_value(), type << " has the Countersign identifier");
      ident = id->value;
    }
    BOOST_TEST(ident == proposal_id + "/" + std::to_string(i));
    if (e.request.method == "POST") {
      BOOST_TEST(e.full_url.rfind("urn:uuid:", 0) == 0u);
      BOOST_TEST(e.request.if_none_exist == fhir::IdentifierCondition({kCountersignIdentifierSystem, ident}));
      mapped_targets.push_back(e.full_url);
    } else {
      BOOST_TEST(e.request.method == "PUT");
      std::string base(fhir::VersionId(*e.resource).value_or(""));
      BOOST_TEST(e.request.if_match == "W/\"" + base + "\"");
      BOOST_TEST(e.request.url == type + "/" + std::string(fhir::ResourceId(*e.resource).value_or("")));
      mapped_targets.push_back(e.request.url + "/_history/" + base);
      // Its reviewable patch, from the base version.
      bool patched = false;
      for (const auto& p : m.patches.GetArray()) {
        if (json::GetString(p, "target").value_or("") != e.request.url) continue;
        patched = true;
        BOOST_TEST(json::GetString(p, "baseVersion").value_or("") == base);
        BOOST_TEST(json::GetString(p, "fullUrl").value_or("") == e.full_url);
        BOOST_TEST(json::Member(p, "patch")->IsArray());
      }
      BOOST_TEST(patched, "patch for " << e.request.url);
    }
  }
  size_t updates = 0;
  for (const auto& e : *entries) updates += e.request.method == "PUT";
  BOOST_TEST(m.patches.Size() == updates);
  BOOST_TEST(mapped >= 1u);
  BOOST_TEST(!device_url.empty());
}

BOOST_AUTO_TEST_CASE(every_fixture_draft_maps_with_the_required_shape) {
  auto engine = Engine();
  int count = 0;
  for (const auto& f : fs::directory_iterator(kRoot + "/fixtures/drafts")) {
    if (f.path().extension() != ".json") continue;
    BOOST_TEST_CONTEXT(f.path().filename()) {
      auto m = engine->Map(Read(f.path()), Context("prop-" + std::to_string(count)));
      BOOST_REQUIRE_MESSAGE(m.ok(), m.status().ToString() << m.status().operation_outcome());
      CheckShape(*m, "prop-" + std::to_string(count));
      ++count;
    }
  }
  BOOST_TEST(count >= 10);
}

BOOST_AUTO_TEST_CASE(note_create_is_a_us_core_clinical_note) {
  auto m = Engine()->Map(Read(kRoot + "/fixtures/drafts/note-create.json"), Context());
  BOOST_REQUIRE(m.ok());
  const json::Value& doc = m->bundle["entry"][0]["resource"];
  BOOST_TEST(json::GetString(doc, "resourceType").value() == "DocumentReference");
  BOOST_TEST(json::GetString(doc, "docStatus").value() == "preliminary");
  BOOST_TEST(json::Stringify(doc["type"]).find("11506-3") != std::string::npos);
  BOOST_TEST(json::Stringify(doc["category"]).find("clinical-note") != std::string::npos);
  BOOST_TEST(json::GetString(doc["subject"], "reference").value() == "Patient/pat-1");
  BOOST_TEST(json::Stringify(doc["context"]).find("Encounter/enc-1") != std::string::npos);
  std::string data(json::GetString(doc["content"][0]["attachment"], "data").value());
  BOOST_TEST(data == "UGF0aWVudCByZXBvcnRzIGltcHJvdmVkIHNsZWVwLiBDb250aW51ZSBjdXJyZW50IHBsYW47IHJldmlldyBpbiA0IHdlZWtzLg==");
  BOOST_TEST(m->kind == "note");
  BOOST_TEST(m->idempotency_key == "scribe-visit-1001");
  BOOST_TEST(m->requested_owner == "Practitioner/dr-ada");
  // The prompt the AI worked from is the Provenance's derivation entity.
  std::string prov = json::Stringify(m->bundle["entry"][2]["resource"]);
  BOOST_TEST(prov.find("\"derivation\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(note_amend_supersedes_the_base_version_with_a_reviewable_patch) {
  auto m = Engine()->Map(Read(kRoot + "/fixtures/drafts/note-amend.json"), Context());
  BOOST_REQUIRE(m.ok());
  const json::Value& fresh = m->bundle["entry"][0]["resource"];
  BOOST_TEST(json::Stringify(fresh["relatesTo"]).find("DocumentReference/note-7") != std::string::npos);
  const json::Value& old_entry = m->bundle["entry"][1];
  BOOST_TEST(json::GetString(old_entry["request"], "ifMatch").value() == "W/\"3\"");
  BOOST_TEST(json::GetString(old_entry["resource"], "status").value() == "superseded");
  BOOST_REQUIRE(m->patches.Size() == 1u);
  std::vector<std::string> paths = fhir::PatchPaths(m->patches[0]["patch"]);
  std::set<std::string> touched(paths.begin(), paths.end());
  BOOST_TEST(touched.count("/status") == 1u);
  for (const auto& p : touched) {
    BOOST_TEST((p == "/status" || p.rfind("/meta/security", 0) == 0 || p.rfind("/identifier", 0) == 0), p);
  }
}

BOOST_AUTO_TEST_CASE(appointment_create_reschedule_cancel) {
  auto engine = Engine();
  auto created = engine->Map(Read(kRoot + "/fixtures/drafts/appointment-create.json"), Context());
  BOOST_REQUIRE(created.ok());
  const json::Value& appt = created->bundle["entry"][0]["resource"];
  BOOST_TEST(json::GetString(appt, "status").value() == "proposed");
  BOOST_TEST(appt["participant"].Size() == 2u);  // the patient and the practitioner
  auto moved = engine->Map(Read(kRoot + "/fixtures/drafts/appointment-reschedule.json"), Context());
  BOOST_REQUIRE(moved.ok());
  BOOST_TEST(json::GetString(moved->bundle["entry"][0]["resource"], "start").value() == "2026-12-06T10:00:00Z");
  BOOST_TEST(json::GetString(moved->bundle["entry"][0]["request"], "ifMatch").value() == "W/\"2\"");
  auto cancelled = engine->Map(Read(kRoot + "/fixtures/drafts/appointment-cancel.json"), Context());
  BOOST_REQUIRE(cancelled.ok());
  const json::Value& c = cancelled->bundle["entry"][0]["resource"];
  BOOST_TEST(json::GetString(c, "status").value() == "cancelled");
  BOOST_TEST(json::GetString(c["cancelationReason"], "text").value() == "Patient is travelling");
}

// A message is mapped as it is written once approved: sent, not a draft nobody sends
// (Communication.sent is stamped by the final approval, tested with the coordinator).
BOOST_AUTO_TEST_CASE(messages_are_written_completed_with_language_and_reply) {
  auto engine = Engine();
  auto es = engine->Map(Read(kRoot + "/fixtures/drafts/message-create-es.json"), Context());
  BOOST_REQUIRE(es.ok());
  const json::Value& c = es->bundle["entry"][0]["resource"];
  BOOST_TEST(json::GetString(c, "resourceType").value() == "Communication");
  BOOST_TEST(json::GetString(c, "status").value() == "completed");
  BOOST_TEST(json::GetString(c, "language").value() == "es");
  auto reply = engine->Map(Read(kRoot + "/fixtures/drafts/message-reply.json"), Context());
  BOOST_REQUIRE(reply.ok());
  BOOST_TEST(json::Stringify(reply->bundle["entry"][0]["resource"]["inResponseTo"]).find("Communication/msg-44") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(alternative_profiles_by_configuration_alone) {
  auto engine = Engine({{"message", "communication-request"}, {"note", "composition"}});
  BOOST_TEST(engine->ProfileFor("message") == "communication-request");
  auto msg = engine->Map(Read(kRoot + "/fixtures/drafts/message-create.json"), Context());
  BOOST_REQUIRE_MESSAGE(msg.ok(), msg.status().ToString());
  BOOST_TEST(json::GetString(msg->bundle["entry"][0]["resource"], "resourceType").value() == "CommunicationRequest");
  CheckShape(*msg, "prop-1");
  auto note = engine->Map(Read(kRoot + "/fixtures/drafts/note-create.json"), Context());
  BOOST_REQUIRE_MESSAGE(note.ok(), note.status().ToString());
  const json::Value& comp = note->bundle["entry"][0]["resource"];
  BOOST_TEST(json::GetString(comp, "resourceType").value() == "Composition");
  BOOST_TEST(json::Stringify(comp["section"]).find("xhtml") != std::string::npos);
  CheckShape(*note, "prop-1");
  // An action the alternative does not have is refused with its path.
  auto amend = engine->Map(Read(kRoot + "/fixtures/drafts/note-amend.json"), Context());
  BOOST_TEST(amend.status().IsInvalid());
  BOOST_TEST(amend.status().operation_outcome().find("draft.action") != std::string::npos);
  // Unknown selections fail at load.
  BOOST_TEST(MappingEngine::Load(kRules, {{"message", "fax"}}).status().IsInvalid());
  BOOST_TEST(MappingEngine::Load(kRules, {{"lab", "x"}}).status().IsInvalid());
}

BOOST_AUTO_TEST_CASE(invalid_drafts_name_every_problem_by_path) {
  auto engine = Engine();
  int count = 0;
  for (const auto& f : fs::directory_iterator(kRoot + "/fixtures/drafts/invalid")) {
    std::string name = f.path().filename().string();
    if (name.find(".expected.") != std::string::npos) continue;
    BOOST_TEST_CONTEXT(name) {
      auto expected = json::Parse(Read(f.path().parent_path() / (f.path().stem().string() + ".expected.json")));
      BOOST_REQUIRE(expected.ok());
      std::set<std::string> want;
      for (const auto& p : (*expected)["paths"].GetArray()) want.insert(p.GetString());
      auto m = engine->Map(Read(f.path()), Context());
      BOOST_REQUIRE(!m.ok());
      BOOST_TEST(m.status().IsInvalid());
      auto oo = json::Parse(m.status().operation_outcome());
      BOOST_REQUIRE(oo.ok());
      std::set<std::string> got;
      for (const auto& issue : fhir::ReadOperationOutcome(*oo)) {
        for (const auto& e : issue.expression) got.insert(e);
      }
      BOOST_TEST(got == want);
      ++count;
    }
  }
  BOOST_TEST(count >= 9);
  auto not_json = engine->Map("{\"kind\": ", Context());
  BOOST_TEST(not_json.status().IsInvalid());
}

BOOST_AUTO_TEST_CASE(base_version_from_the_server_when_not_embedded) {
  auto engine = Engine();
  auto draft = json::Parse(Read(kRoot + "/fixtures/drafts/appointment-cancel.json"));
  json::Document base;
  base.CopyFrom(draft->operator[]("target")["resource"], base.GetAllocator());
  json::Remove((*draft)["target"], "resource");
  std::string text = json::Stringify(*draft);
  BOOST_TEST(engine->Map(text, Context()).status().IsInvalid());  // no server to ask
  MapContext ctx = Context();
  std::string asked;
  ctx.resolve_base = [&](const fhir::Reference& ref) -> Result<json::Document> {
    asked = ref.Versioned();
    json::Document d;
    d.CopyFrom(base, d.GetAllocator());
    return d;
  };
  auto m = engine->Map(text, ctx);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  BOOST_TEST(asked == "Appointment/appt-9/_history/2");
  ctx.resolve_base = [](const fhir::Reference&) -> Result<json::Document> {
    return Status::NotFound("gone");
  };
  auto missing = engine->Map(text, ctx);
  BOOST_TEST(missing.status().operation_outcome().find("draft.target") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(appointment_end_from_duration_and_reschedule_clears_the_old_duration) {
  auto engine = Engine();
  auto created = engine->Map(Read(kRoot + "/fixtures/drafts/appointment-create-duration.json"), Context());
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().ToString());
  const json::Value& appt = created->bundle["entry"][0]["resource"];
  // 23:45 +01:00 plus 30 minutes crosses midnight and the year, in the draft's own offset.
  BOOST_TEST(json::GetString(appt, "end").value() == "2027-01-01T00:15:00+01:00");
  BOOST_TEST(json::GetInt(appt, "minutesDuration").value() == 30);
  BOOST_TEST(appt["participant"].Size() == 3u);
  BOOST_TEST(json::GetString(appt["participant"][2], "required").value() == "optional");

  auto moved = engine->Map(Read(kRoot + "/fixtures/drafts/appointment-reschedule-duration.json"), Context());
  BOOST_REQUIRE_MESSAGE(moved.ok(), moved.status().ToString());
  const json::Value& next = moved->bundle["entry"][0]["resource"];
  BOOST_TEST(json::GetString(next, "end").value() == "2026-12-09T15:40:00Z");
  BOOST_TEST(json::Member(next, "minutesDuration") == nullptr);  // the old 20 would contradict
  std::vector<std::string> paths = fhir::PatchPaths(moved->patches[0]["patch"]);
  BOOST_TEST((std::find(paths.begin(), paths.end(), "/minutesDuration") != paths.end()));
  BOOST_TEST((std::find(paths.begin(), paths.end(), "/participant") == paths.end()));  // untouched
}

BOOST_AUTO_TEST_CASE(every_message_fixture_maps_under_the_communication_request_profile) {
  auto engine = Engine({{"message", "communication-request"}});
  for (const char* name : {"message-create", "message-create-es", "message-reply"}) {
    BOOST_TEST_CONTEXT(name) {
      auto m = engine->Map(Read(kRoot + "/fixtures/drafts/" + name + ".json"), Context());
      BOOST_REQUIRE_MESSAGE(m.ok(), m.status().ToString());
      CheckShape(*m, "prop-1");
      const json::Value& r = m->bundle["entry"][0]["resource"];
      BOOST_TEST(json::GetString(r, "status").value() == "active");  // a request to send, approved
      BOOST_TEST(json::GetString(r, "authoredOn").value() == "2026-11-25T12:00:00Z");
      if (std::string(name) == "message-reply") {
        BOOST_TEST(json::GetString(r["about"][0], "reference").value() == "Communication/msg-44");
      }
    }
  }
  // Notes keep their default profile.
  BOOST_TEST(engine->ProfileFor("note") == "us-core-documentreference");
}

BOOST_AUTO_TEST_CASE(a_note_without_date_is_dated_when_mapped) {
  auto draft = json::Parse(Read(kRoot + "/fixtures/drafts/note-create.json"));
  json::Remove((*draft)["content"], "date");
  auto m = Engine()->Map(json::Stringify(*draft), Context());
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(json::GetString(m->bundle["entry"][0]["resource"], "date").value() == "2026-11-25T12:00:00Z");
}

BOOST_AUTO_TEST_CASE(a_base_read_from_the_server_must_be_the_target) {
  auto draft = json::Parse(Read(kRoot + "/fixtures/drafts/appointment-cancel.json"));
  json::Remove((*draft)["target"], "resource");
  MapContext ctx = Context();
  ctx.resolve_base = [](const fhir::Reference&) -> Result<json::Document> {
    return json::Parse(R"({"resourceType":"Appointment","id":"other","meta":{"versionId":"2"},"status":"booked"})");
  };
  auto m = Engine()->Map(json::Stringify(*draft), ctx);
  BOOST_TEST(m.status().IsInvalid());
  BOOST_TEST(m.status().operation_outcome().find("draft.target.reference") != std::string::npos);
  ctx.resolve_base = [](const fhir::Reference&) -> Result<json::Document> {
    return Status::Unavailable("server down");
  };
  BOOST_TEST(Engine()->Map(json::Stringify(*draft), ctx).status().IsUnavailable());  // not the draft's fault
}

// The Bundle with its random urn:uuid placeholders blanked, for comparing two mappings.
std::string Canonical(const json::Value& bundle) {
  static const std::regex kUuid("urn:uuid:[0-9a-f-]{36}");
  return std::regex_replace(json::Stringify(bundle), kUuid, "urn:uuid:_");
}

BOOST_AUTO_TEST_CASE(map_is_safe_from_many_threads) {
  auto engine = Engine();
  std::vector<std::string> drafts, expected;
  for (const char* name : {"note-create", "note-amend", "appointment-create-duration",
                           "appointment-reschedule", "message-reply"}) {
    drafts.push_back(Read(kRoot + "/fixtures/drafts/" + name + ".json"));
    auto m = engine->Map(drafts.back(), Context());
    BOOST_REQUIRE(m.ok());
    expected.push_back(Canonical(m->bundle));
  }
  std::atomic<int> same{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        size_t k = static_cast<size_t>(t + i) % drafts.size();
        auto m = engine->Map(drafts[k], Context());
        if (m.ok() && Canonical(m->bundle) == expected[k]) ++same;
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(same.load() == 800);  // every result as when mapped alone
}

}  // namespace
}  // namespace countersign::mappings
