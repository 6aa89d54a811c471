#include "tests/commit/commit_fixture.h"

#include <boost/test/unit_test.hpp>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "fhir/bundle.h"
#include "fhir/reference.h"
#include "fhir/resource.h"
#include "mappings/engine.h"
#include "plugin/commit/commit_executor.h"

namespace countersign::commit::testing {

using countersign::testing::SharedTestFhirServer;

fhir::RetryPolicy CommitHarness::FastRetry() {
  fhir::RetryPolicy p;
  p.max_attempts = 3;
  p.initial_backoff = std::chrono::milliseconds(5);
  p.max_backoff = std::chrono::milliseconds(50);
  p.max_total = std::chrono::milliseconds(5000);
  p.max_retry_after = std::chrono::milliseconds(3000);
  return p;
}

CommitHarness::CommitHarness(const countersign::testing::ServerConfig& server_config,
                             fhir::RetryPolicy retry, const fhir::AuthOptions* auth)
    : server(SharedTestFhirServer()) {
  BOOST_REQUIRE(server.Configure(server_config).ok());
  fhir::ClientOptions options;
  options.base_url = server.base_url();
  options.auth.bearer_token = server_config.bearer_token;
  if (auth != nullptr) options.auth = *auth;
  options.request_timeout = std::chrono::milliseconds(2000);
  options.retry = retry;
  auto c = fhir::FhirClient::Create(options);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  client = std::move(c).value();
  CommitEngineDeps deps;
  deps.store = core.store.get();
  deps.client = client.get();
  deps.guardrails = &core.guardrails;
  deps.clock = &core.clock;
  CommitEngineOptions opts;
  opts.worker_id = "test-worker";
  opts.retry_delay_ms = 1000;
  opts.max_attempts = 4;
  engine = std::make_unique<CommitEngine>(deps, opts);
}

std::string CommitHarness::ApprovedNote(const std::string& key, const std::string& text) {
  core::Proposal p = core.SubmitNote(key, text);
  auto approved = core.coordinator->Approve(core.P("Practitioner/dr-ada"), p.id);
  BOOST_REQUIRE_MESSAGE(approved.ok(), approved.status().ToString());
  BOOST_REQUIRE(approved->status == core::ProposalStatus::kApproved);
  return p.id;
}

std::string CommitHarness::ApprovedUpdate(const std::string& key, const std::string& type_and_id,
                                          const std::string& changes_json, bool also_create,
                                          const std::string& kind) {
  json::Document base = ServerRead(type_and_id);
  auto changes = json::Parse(changes_json);
  BOOST_REQUIRE(changes.ok());
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::SetString(d, "kind", kind, a);
  json::SetString(d, "patient", "Patient/p1", a);
  json::SetString(d, "idempotency_key", key, a);
  json::SetString(d, "text", "AI text for " + key, a);
  json::Value upd(rapidjson::kObjectType);
  json::Set(upd, "base", json::Copy(base, a), a);
  json::Set(upd, "changes", json::Copy(*changes, a), a);
  if (also_create) json::Set(upd, "also_create", json::Value(true), a);
  json::Set(d, "update", std::move(upd), a);
  auto submitted = core.coordinator->Submit(core.P("Device/ai-scribe"), json::Stringify(d));
  BOOST_REQUIRE_MESSAGE(submitted.ok(), submitted.status().ToString() << submitted.status().operation_outcome());
  std::string approver = kind == "note" ? "Practitioner/dr-ada" : "Practitioner/fd-sam";
  auto approved = core.coordinator->Approve(core.P(approver), submitted->proposal.id);
  BOOST_REQUIRE_MESSAGE(approved.ok(), approved.status().ToString());
  return submitted->proposal.id;
}

core::Coordinator& CommitHarness::Drafts() {
  if (!rules_) {
    auto loaded = mappings::MappingEngine::Load(std::string(COUNTERSIGN_SOURCE_DIR) + "/mappings/rules");
    BOOST_REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
    rules_ = std::move(loaded).value();
  }
  if (!drafts_ || drafts_store_ != core.store.get()) {
    core::CoordinatorDeps deps;
    deps.store = core.store.get();
    deps.mapper = rules_.get();
    deps.principals = &core.principals;
    deps.policy = &core.policy;
    deps.guardrails = &core.guardrails;
    deps.clock = &core.clock;
    drafts_ = std::make_unique<core::Coordinator>(deps);
    drafts_store_ = core.store.get();
  }
  return *drafts_;
}

std::string CommitHarness::ApprovedDraft(const std::string& draft_json, const std::string& ai,
                                         const std::string& approver) {
  auto submitted = Drafts().Submit(core.P(ai), draft_json);
  BOOST_REQUIRE_MESSAGE(submitted.ok(), submitted.status().ToString()
                                            << submitted.status().operation_outcome());
  auto approved = Drafts().Approve(core.P(approver), submitted->proposal.id);
  BOOST_REQUIRE_MESSAGE(approved.ok(), approved.status().ToString());
  BOOST_REQUIRE(approved->status == core::ProposalStatus::kApproved);
  return submitted->proposal.id;
}

namespace {
json::Document HostileFixture(const std::string& name) {
  std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/drafts/hostile/" + name);
  std::stringstream text;
  text << in.rdbuf();
  auto d = json::Parse(text.str());
  BOOST_REQUIRE_MESSAGE(d.ok(), name << ": " << d.status().ToString());
  return std::move(d).value();
}
}  // namespace

std::string CommitHarness::HostileNoteDraft(const std::string& key, const std::string& text) {
  json::Document d = HostileFixture("note-create.json");
  json::SetString(d, "idempotency_key", key, d.GetAllocator());
  if (!text.empty()) json::SetString(d["content"], "text", text, d.GetAllocator());
  return json::Stringify(d);
}

std::string CommitHarness::HostileUpdateDraft(const std::string& fixture, const std::string& key,
                                              const std::string& type_and_id,
                                              const std::string& content_json) {
  json::Document d = HostileFixture(fixture);
  auto& a = d.GetAllocator();
  json::Document base = ServerRead(type_and_id);
  json::Value target(rapidjson::kObjectType);
  json::SetString(target, "reference", type_and_id, a);
  json::SetString(target, "version", fhir::VersionId(base).value_or(""), a);
  json::Set(target, "resource", json::Copy(base, a), a);
  json::Set(d, "target", std::move(target), a);
  json::SetString(d, "idempotency_key", key, a);
  // The draft is about the patient the resource names.
  std::string patient;
  if (const json::Value* subject = json::Member(base, "subject")) {
    patient = std::string(json::GetString(*subject, "reference").value_or(""));
  }
  if (const json::Value* parts = json::Member(base, "participant"); parts && parts->IsArray()) {
    for (const auto& p : parts->GetArray()) {
      const json::Value* actor = json::Member(p, "actor");
      std::string ref(actor ? json::GetString(*actor, "reference").value_or("") : "");
      if (ref.rfind("Patient/", 0) == 0) patient = ref;
    }
  }
  if (!patient.empty()) json::SetString(d, "patient", patient, a);
  auto content = json::Parse(content_json);
  BOOST_REQUIRE(content.ok() && content->IsObject());
  for (const auto& m : content->GetObject()) {
    json::Set(d["content"], std::string_view(m.name.GetString(), m.name.GetStringLength()),
              json::Value(m.value, a), a);
  }
  return json::Stringify(d);
}

std::string CommitHarness::ApprovedHostileReschedule(const std::string& key,
                                                     const std::string& type_and_id,
                                                     const std::string& start) {
  std::string draft = HostileUpdateDraft("appointment-reschedule.json", key, type_and_id,
                                         R"({"minutesDuration":30,"start":")" + start + R"("})");
  auto d = json::Parse(draft);
  BOOST_REQUIRE(d.ok());
  json::Remove((*d)["content"], "end");
  return ApprovedDraft(json::Stringify(*d), "Device/ai-scheduler", "Practitioner/fd-sam");
}

std::string CommitHarness::HostileDeviceIdentifier(const std::string& fixture) {
  json::Document d = HostileFixture(fixture);
  const json::Value& ai = d["ai"];
  return std::string(json::GetString(ai, "vendor").value_or("")) + "/" +
         std::string(json::GetString(ai, "model").value_or("")) + "/" +
         std::string(json::GetString(ai, "version").value_or(""));
}

std::string CommitHarness::TokenQuery(const std::string& name, const std::string& system,
                                      const std::string& value) {
  auto escape = [](const std::string& part) {
    std::string out;
    for (char c : part) {
      if (c == '\\' || c == '|' || c == ',' || c == '$') out += '\\';
      out += c;
    }
    return out;
  };
  std::string token = escape(system) + "|" + escape(value);
  std::string encoded;
  for (unsigned char c : token) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      encoded += hex;
    }
  }
  return name + "=" + encoded;
}

std::vector<json::Document> CommitHarness::ProvenancesOf(const std::string& id) {
  return ServerSearch("Provenance", TokenQuery("_tag", kProvenanceTagSystem, id));
}

std::vector<CommitOutcome> CommitHarness::Drain(int max_rounds) {
  std::vector<CommitOutcome> all;
  for (int round = 0; round < max_rounds; ++round) {
    auto report = engine->RunOnce();
    BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    for (auto& o : report->outcomes) all.push_back(o);
    if (report->claimed == 0) break;
    core.clock.Advance(120'000);  // past any retry delay and lease
  }
  return all;
}

core::ProposalStatus CommitHarness::StatusOf(const std::string& id) {
  auto p = core.store->GetProposal(id);
  BOOST_REQUIRE(p.ok());
  return p->status;
}

json::Document CommitHarness::ServerRead(const std::string& type_and_id) {
  auto r = server.Raw("GET", "/" + type_and_id);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_REQUIRE_MESSAGE(r->status == 200, type_and_id << ": HTTP " << r->status << " " << r->body);
  auto d = json::Parse(r->body);
  BOOST_REQUIRE(d.ok());
  return std::move(d).value();
}

std::vector<json::Document> CommitHarness::ServerSearch(const std::string& type,
                                                        const std::string& query) {
  // Every page (_count 1000, _offset): the crash test counts thousands of resources.
  std::vector<json::Document> out;
  for (int offset = 0; offset < 1'000'000; offset += 1000) {
    auto r = server.Raw("GET", "/" + type + "?" + query + (query.empty() ? "" : "&") +
                                   "_count=1000&_offset=" + std::to_string(offset));
    BOOST_REQUIRE_MESSAGE(r.ok() && r->status == 200, "search " << type << "?" << query);
    auto bundle = json::Parse(r->body);
    BOOST_REQUIRE(bundle.ok());
    size_t page = 0;
    if (const json::Value* entries = json::Member(*bundle, "entry")) {
      for (const auto& e : entries->GetArray()) {
        if (const json::Value* res = json::Member(e, "resource")) {
          json::Document d;
          d.CopyFrom(*res, d.GetAllocator());
          out.push_back(std::move(d));
          ++page;
        }
      }
    }
    if (page < 1000) break;
  }
  return out;
}

size_t CommitHarness::CountByIdentifier(const std::string& type, const std::string& proposal_id,
                                        int entry) {
  return ServerSearch(type, TokenQuery("identifier", mappings::kCountersignIdentifierSystem,
                                       proposal_id + "/" + std::to_string(entry)))
      .size();
}

std::string CommitHarness::ServerCreate(const std::string& resource_json) {
  auto parsed = json::Parse(resource_json);
  BOOST_REQUIRE(parsed.ok());
  std::string type(fhir::ResourceType(*parsed).value_or(""));
  auto r = server.Raw("POST", "/" + type, resource_json);
  BOOST_REQUIRE_MESSAGE(r.ok() && r->status == 201, "create " << type << ": " << (r.ok() ? r->body : ""));
  // The id from Location (".../Type/id/_history/1"): servers that answer minimally send no body.
  auto ref = fhir::Reference::Parse(r->location);
  BOOST_REQUIRE_MESSAGE(ref.ok() && ref->type == type, "create " << type << ": " << r->location);
  return type + "/" + ref->id;
}

void CommitHarness::ServerUpdate(const std::string& type_and_id, const std::string& resource_json) {
  auto r = server.Raw("PUT", "/" + type_and_id, resource_json);
  BOOST_REQUIRE_MESSAGE(r.ok() && r->status == 200, "update " << type_and_id);
}

size_t CommitHarness::WritesSeen() {
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  size_t n = 0;
  for (const auto& r : *seen) {
    if (r.method != "GET") ++n;
  }
  return n;
}

void CommitHarness::ExpectNoteCommittedOnce(const std::string& id) {
  BOOST_TEST(StatusOf(id) == core::ProposalStatus::kCommitted);
  BOOST_TEST(CountByIdentifier("DocumentReference", id) == 1u);
  auto provs = ProvenancesOf(id);
  BOOST_REQUIRE(provs.size() == 1u);
  auto notes = ServerSearch("DocumentReference",
                            TokenQuery("identifier", mappings::kCountersignIdentifierSystem, id + "/0"));
  BOOST_REQUIRE(notes.size() == 1u);
  std::string expected = "DocumentReference/" +
                         std::string(fhir::ResourceId(notes[0]).value_or("")) + "/_history/" +
                         std::string(fhir::VersionId(notes[0]).value_or(""));
  const json::Value* targets = json::Member(provs[0], "target");
  BOOST_REQUIRE(targets && targets->IsArray() && targets->Size() == 1u);
  BOOST_TEST(json::GetString((*targets)[0], "reference").value_or("") == expected);
  BOOST_TEST(json::Member((*targets)[0], "extension") == nullptr);
  // The AI Device is an agent, by server reference.
  const json::Value* agents = json::Member(provs[0], "agent");
  BOOST_REQUIRE(agents && agents->IsArray());
  bool device_agent = false;
  for (const auto& a : agents->GetArray()) {
    auto who = json::Member(a, "who");
    if (who && json::GetString(*who, "reference").value_or("").rfind("Device/", 0) == 0) {
      device_agent = true;
    }
  }
  BOOST_TEST(device_agent);
}

size_t CommitHarness::RequestsSeen(const std::string& method, const std::string& path_regex) {
  auto seen = server.Requests();
  BOOST_REQUIRE(seen.ok());
  const std::regex path(path_regex);
  size_t n = 0;
  for (const auto& r : *seen) {
    if (r.method == method && std::regex_search(r.path, path)) ++n;
  }
  return n;
}

}  // namespace countersign::commit::testing
