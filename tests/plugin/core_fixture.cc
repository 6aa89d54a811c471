#include "tests/plugin/core_fixture.h"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>

#include "fhir/bundle.h"
#include "fhir/json_patch.h"
#include "fhir/resource.h"

namespace countersign::core::testing {

namespace {

json::Value Ref(std::string_view reference, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  json::SetString(v, "reference", reference, a);
  return v;
}

void Label(json::Value& r, const std::string& proposal_id, size_t index, json::Allocator& a) {
  fhir::AddSecurityLabel(r, fhir::AiAssistedLabel(), a);
  fhir::AddIdentifier(r, {mappings::kCountersignIdentifierSystem,
                          proposal_id + "/" + std::to_string(index)}, a);
}

// If-None-Exist on the Countersign identifier, as the real mapping engine writes it.
std::string Condition(const std::string& proposal_id, size_t index) {
  return std::string("identifier=") + mappings::kCountersignIdentifierSystem + "|" + proposal_id +
         "/" + std::to_string(index);
}

json::Value MappedResource(const std::string& type, const json::Value& draft,
                           const std::string& patient, json::Allocator& a) {
  std::string text(json::GetString(draft, "text").value_or(""));
  json::Value r(rapidjson::kObjectType);
  json::SetString(r, "resourceType", type, a);
  if (type == "DocumentReference") {
    json::SetString(r, "status", "current", a);
    json::SetString(r, "docStatus", "preliminary", a);
    json::Set(r, "subject", Ref(patient, a), a);
    json::SetString(r, "description", text, a);
    json::Value content(rapidjson::kArrayType);
    json::Value att(rapidjson::kObjectType);
    json::Value attachment(rapidjson::kObjectType);
    json::SetString(attachment, "contentType", "text/plain", a);
    json::SetString(attachment, "title", "AI draft note", a);
    json::Set(att, "attachment", std::move(attachment), a);
    content.PushBack(att, a);
    json::Set(r, "content", std::move(content), a);
  } else if (type == "Communication") {
    json::SetString(r, "status", "completed", a);
    json::Set(r, "subject", Ref(patient, a), a);
    json::Value payload(rapidjson::kArrayType);
    json::Value item(rapidjson::kObjectType);
    json::SetString(item, "contentString", text, a);
    payload.PushBack(item, a);
    json::Set(r, "payload", std::move(payload), a);
  } else if (type == "Appointment") {
    json::SetString(r, "status", "proposed", a);
    json::SetString(r, "description", text, a);
    json::Value participants(rapidjson::kArrayType);
    json::Value part(rapidjson::kObjectType);
    json::Set(part, "actor", Ref(patient, a), a);
    json::SetString(part, "status", "needs-action", a);
    participants.PushBack(part, a);
    json::Set(r, "participant", std::move(participants), a);
  } else {
    json::SetString(r, "status", "final", a);
    json::Set(r, "subject", Ref(patient, a), a);
  }
  return r;
}

}  // namespace

Result<mappings::MappedDraft> FakeMapper::Map(std::string_view draft_json,
                                              const mappings::MapContext& ctx) const {
  auto draft = json::Parse(draft_json);
  if (!draft.ok()) return draft.status();
  if (json::GetBool(*draft, "invalid").value_or(false)) {
    return Status::Error(ErrorKind::kInvalid, "draft is invalid", 0,
                         fhir::OperationOutcomeJson({{"error", "invalid", "bad draft", {"draft"}}}));
  }
  mappings::MappedDraft m;
  m.kind = std::string(json::GetString(*draft, "kind").value_or("note"));
  m.action = json::Member(*draft, "update") ? "update" : "create";
  m.patient = std::string(json::GetString(*draft, "patient").value_or("Patient/p1"));
  m.idempotency_key = std::string(json::GetString(*draft, "idempotency_key").value_or(""));
  m.requested_owner = std::string(json::GetString(*draft, "requested_owner").value_or(""));
  m.profile = m.kind;
  std::string type = m.kind == "note" ? "DocumentReference"
                   : m.kind == "message" ? "Communication" : "Appointment";
  if (auto t = json::GetString(*draft, "resource_type")) type = std::string(*t);

  fhir::BundleBuilder b(fhir::BundleType::kTransaction);
  auto& a = b.allocator();
  std::vector<std::string> targets;
  size_t index = 0;
  m.patches.SetArray();
  if (const json::Value* upd = json::Member(*draft, "update")) {
    const json::Value* base = json::Member(*upd, "base");
    if (!base) return Status::Invalid("update without base");
    json::Value next(*base, a);
    if (const json::Value* changes = json::Member(*upd, "changes")) {
      for (const auto& c : changes->GetObject()) {
        json::Set(next, std::string_view(c.name.GetString(), c.name.GetStringLength()),
                  json::Value(c.value, a), a);
      }
    }
    if (json::GetBool(*upd, "also_create").value_or(false)) {
      // Like a note amendment: a new resource created before the update of the old one.
      json::Value r = MappedResource(type, *draft, m.patient, a);
      Label(r, ctx.proposal_id, index, a);
      targets.push_back(b.AddCreate(std::move(r), Condition(ctx.proposal_id, index)));
      ++index;
    }
    Label(next, ctx.proposal_id, index++, a);
    std::string version(fhir::VersionId(*base).value_or(""));
    std::string target = std::string(fhir::ResourceType(*base).value_or("")) + "/" +
                         std::string(fhir::ResourceId(*base).value_or(""));
    json::Document patch = fhir::DiffJsonPatch(*base, next);
    auto full_url = b.AddUpdate(std::move(next), version);
    if (!full_url.ok()) return full_url.status();
    targets.push_back(*full_url);
    auto& pa = m.patches.GetAllocator();
    json::Value item(rapidjson::kObjectType);
    json::SetString(item, "fullUrl", *full_url, pa);
    json::SetString(item, "target", target, pa);
    json::SetString(item, "baseVersion", version, pa);
    json::Set(item, "patch", json::Value(patch, pa), pa);
    m.patches.PushBack(item, pa);
  } else {
    int64_t copies = 1 + json::GetInt(*draft, "extra_entries").value_or(0);
    for (int64_t i = 0; i < copies; ++i) {
      json::Value r = MappedResource(type, *draft, m.patient, a);
      Label(r, ctx.proposal_id, index, a);
      targets.push_back(b.AddCreate(std::move(r), Condition(ctx.proposal_id, index)));
      ++index;
    }
  }
  if (auto del = json::GetString(*draft, "delete")) {
    std::string d(*del);
    b.AddDelete(d.substr(0, d.find('/')), d.substr(d.find('/') + 1));
  }
  json::Value device(rapidjson::kObjectType);
  json::SetString(device, "resourceType", "Device", a);
  fhir::AddIdentifier(device, {mappings::kAiDeviceIdentifierSystem, "acme/scribe/1.0"}, a);
  std::string device_url =
      b.AddCreate(std::move(device), std::string("identifier=") + mappings::kAiDeviceIdentifierSystem +
                                         "|acme/scribe/1.0");
  json::Value prov(rapidjson::kObjectType);
  json::SetString(prov, "resourceType", "Provenance", a);
  json::Value tv(rapidjson::kArrayType);
  for (const auto& t : targets) tv.PushBack(Ref(t, a), a);
  json::Set(prov, "target", std::move(tv), a);
  json::SetString(prov, "recorded", ctx.recorded_time.empty() ? "2024-01-01T00:00:00Z" : ctx.recorded_time, a);
  json::Value agents(rapidjson::kArrayType);
  json::Value agent(rapidjson::kObjectType);
  json::Set(agent, "type", fhir::CodeableConceptJson({"http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"}, a), a);
  json::Set(agent, "who", Ref(device_url, a), a);
  agents.PushBack(agent, a);
  json::Set(prov, "agent", std::move(agents), a);
  b.AddCreate(std::move(prov));
  m.bundle = b.Release();
  m.draft.CopyFrom(*draft, m.draft.GetAllocator());
  return m;
}

std::string FixturePath(const std::string& relative) {
  return std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/" + relative;
}

PrincipalDirectory LoadPrincipals() {
  auto p = PrincipalDirectory::LoadFile(FixturePath("config/principals.json"));
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  return std::move(p).value();
}

ApprovalPolicy LoadPolicy() {
  auto p = ApprovalPolicy::LoadFile(FixturePath("config/approval-policy.json"));
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  return std::move(p).value();
}

Guardrails LoadGuardrails() {
  auto g = Guardrails::LoadFile(FixturePath("config/guardrails.json"));
  BOOST_REQUIRE_MESSAGE(g.ok(), g.status().ToString());
  return std::move(g).value();
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "countersign-core-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  BOOST_REQUIRE(made != nullptr);
  dir_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

CoreHarness::CoreHarness(const SqliteStoreOptions& opts)
    : db_path(dir.Path("countersign.db")),
      options(opts),
      principals(LoadPrincipals()),
      policy(LoadPolicy()),
      guardrails(LoadGuardrails()) {
  Reopen();
}

void CoreHarness::Reopen() {
  coordinator.reset();
  store.reset();
  auto s = SqliteStore::Open(db_path, options);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  store = std::move(s).value();
  CoordinatorDeps deps;
  deps.store = store.get();
  deps.mapper = real_mapper ? real_mapper.get() : static_cast<mappings::MappingEngine*>(&mapper);
  deps.principals = &principals;
  deps.policy = &policy;
  deps.guardrails = &guardrails;
  deps.clock = &clock;
  coordinator = std::make_unique<Coordinator>(deps);
}

void CoreHarness::UseRealMappings(const mappings::ProfileSelection& selection) {
  auto engine = mappings::MappingEngine::Load(std::string(COUNTERSIGN_SOURCE_DIR) + "/mappings/rules",
                                              selection);
  BOOST_REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  real_mapper = std::move(engine).value();
  Reopen();
}

const Principal& CoreHarness::P(const std::string& id) const {
  const Principal* p = principals.Find(id);
  BOOST_REQUIRE_MESSAGE(p != nullptr, "no principal " + id);
  return *p;
}

std::string NoteDraft(const std::string& key, const std::string& text, const std::string& patient) {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::SetString(d, "kind", "note", a);
  json::SetString(d, "patient", patient, a);
  json::SetString(d, "idempotency_key", key, a);
  json::SetString(d, "text", text, a);
  json::SetString(d, "author", "Practitioner/dr-ada", a);
  return json::Stringify(d);
}

Proposal CoreHarness::SubmitNote(const std::string& key, const std::string& text,
                                 const std::string& patient) {
  auto r = coordinator->Submit(P("Device/ai-scribe"), NoteDraft(key, text, patient));
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r->proposal);
}

}  // namespace countersign::core::testing
