#include "plugin/core/provenance.h"

#include "fhir/resource.h"
#include "plugin/core/clock.h"

namespace countersign::core {

namespace {

json::Value Agent(const char* type_code, const char* type_display, const Principal& who,
                  const std::string& role, json::Allocator& a) {
  json::Value agent(rapidjson::kObjectType);
  json::Set(agent, "type",
            fhir::CodeableConceptJson({kParticipantTypeSystem, type_code, type_display}, a), a);
  if (!role.empty()) {
    json::Value roles(rapidjson::kArrayType);
    json::Value cc(rapidjson::kObjectType);
    json::SetString(cc, "text", role, a);
    roles.PushBack(cc, a);
    json::Set(agent, "role", std::move(roles), a);
  }
  json::Value ref(rapidjson::kObjectType);
  json::SetString(ref, "reference", who.id, a);
  if (!who.display.empty()) json::SetString(ref, "display", who.display, a);
  json::Set(agent, "who", std::move(ref), a);
  return agent;
}

json::Value& ArrayMember(json::Value& obj, const char* name, json::Allocator& a) {
  if (!obj.HasMember(name) || !obj[name].IsArray()) {
    json::Set(obj, name, json::Value(rapidjson::kArrayType), a);
  }
  return obj[name];
}

}  // namespace

json::Value* FindProvenance(json::Document& bundle) {
  json::Value* entries = bundle.IsObject() && bundle.HasMember("entry") ? &bundle["entry"] : nullptr;
  if (!entries || !entries->IsArray()) return nullptr;
  for (auto& e : entries->GetArray()) {
    if (!e.IsObject() || !e.HasMember("resource")) continue;
    json::Value& r = e["resource"];
    auto type = fhir::ResourceType(r);
    if (type && *type == "Provenance") return &r;
  }
  return nullptr;
}

Status AddVerifier(json::Document& bundle, const Principal& who, const std::string& role,
                   int64_t at) {
  json::Value* prov = FindProvenance(bundle);
  if (!prov) return Status::Invalid("the pending Bundle has no Provenance");
  auto& a = bundle.GetAllocator();
  ArrayMember(*prov, "agent", a).PushBack(Agent("verifier", "Verifier", who, role, a), a);
  std::string now = FormatInstant(at);
  if (!prov->HasMember("occurredPeriod") && !prov->HasMember("occurredDateTime")) {
    json::Value period(rapidjson::kObjectType);
    if (auto recorded = json::GetString(*prov, "recorded")) json::SetString(period, "start", *recorded, a);
    json::SetString(period, "end", now, a);
    json::Set(*prov, "occurredPeriod", std::move(period), a);
  } else if (prov->HasMember("occurredPeriod") && (*prov)["occurredPeriod"].IsObject()) {
    json::SetString((*prov)["occurredPeriod"], "end", now, a);
  }
  json::SetString(*prov, "recorded", now, a);
  return Status::Ok();
}

Status AddRevisionAuthor(json::Document& bundle, const Principal& who, const std::string& role,
                         const std::string& proposal_id, int64_t revised_revision) {
  json::Value* prov = FindProvenance(bundle);
  if (!prov) return Status::Invalid("the pending Bundle has no Provenance");
  auto& a = bundle.GetAllocator();
  ArrayMember(*prov, "agent", a).PushBack(Agent("author", "Author", who, role, a), a);
  json::Value entity(rapidjson::kObjectType);
  json::SetString(entity, "role", "revision", a);
  json::Value what(rapidjson::kObjectType);
  json::Value ident(rapidjson::kObjectType);
  json::SetString(ident, "system", kRevisionIdentifierSystem, a);
  json::SetString(ident, "value", proposal_id + "/" + std::to_string(revised_revision), a);
  json::Set(what, "identifier", std::move(ident), a);
  json::SetString(what, "display",
                  revised_revision == 0 ? "AI draft (original)"
                                        : "revision " + std::to_string(revised_revision), a);
  json::Set(entity, "what", std::move(what), a);
  ArrayMember(*prov, "entity", a).PushBack(entity, a);
  return Status::Ok();
}

}  // namespace countersign::core
