#include "fhir/resource.h"

namespace countersign::fhir {
namespace {

std::string StringOr(const json::Value& object, std::string_view name) {
  auto s = json::GetString(object, name);
  return s ? std::string(*s) : std::string();
}

// resource.name as an object or array, replacing a member of the wrong type: a malformed meta
// must not stop us from labelling a resource.
json::Value& EnsureMember(json::Value& object, std::string_view name, rapidjson::Type type,
                          json::Allocator& alloc) {
  json::Value* existing = const_cast<json::Value*>(json::Member(object, name));
  if (existing != nullptr && existing->GetType() == type) return *existing;
  json::Set(object, name, json::Value(type), alloc);
  return *const_cast<json::Value*>(json::Member(object, name));
}

std::vector<Coding> ReadCodings(const json::Value& resource, std::string_view list) {
  std::vector<Coding> codings;
  const json::Value* meta = json::Member(resource, "meta");
  const json::Value* array = meta ? json::Member(*meta, list) : nullptr;
  if (array == nullptr || !array->IsArray()) return codings;
  for (const auto& item : array->GetArray()) {
    if (!item.IsObject()) continue;
    codings.push_back(
        {StringOr(item, "system"), StringOr(item, "code"), StringOr(item, "display")});
  }
  return codings;
}

bool ContainsCoding(const std::vector<Coding>& codings, const Coding& coding) {
  for (const auto& c : codings) {
    if (c == coding) return true;
  }
  return false;
}

void AddMetaCoding(json::Value& resource, std::string_view list, const Coding& coding,
                   json::Allocator& alloc) {
  if (!resource.IsObject()) return;  // not a resource: nothing to modify
  if (ContainsCoding(ReadCodings(resource, list), coding)) return;
  json::Value& meta = EnsureMember(resource, "meta", rapidjson::kObjectType, alloc);
  json::Value& array = EnsureMember(meta, list, rapidjson::kArrayType, alloc);
  array.PushBack(CodingJson(coding, alloc), alloc);
}

}  // namespace

std::string Identifier::Token() const {
  // FHIR search escapes '\', '|', ',' and '$' inside token parts with a backslash.
  auto escape = [](const std::string& part) {
    std::string out;
    for (char c : part) {
      if (c == '\\' || c == '|' || c == ',' || c == '$') out += '\\';
      out += c;
    }
    return out;
  };
  return escape(system) + "|" + escape(value);
}

Coding AiAssistedLabel() {
  return {kObservationValueSystem, kAiAssistedCode, "Artificial Intelligence asserted"};
}

std::optional<std::string_view> ResourceType(const json::Value& resource) {
  return json::GetString(resource, "resourceType");
}

std::optional<std::string_view> ResourceId(const json::Value& resource) {
  return json::GetString(resource, "id");
}

std::optional<std::string_view> VersionId(const json::Value& resource) {
  const json::Value* meta = json::Member(resource, "meta");
  return meta ? json::GetString(*meta, "versionId") : std::nullopt;
}

void SetId(json::Value& resource, std::string_view id, json::Allocator& alloc) {
  if (!resource.IsObject()) return;  // not a resource: nothing to modify
  json::SetString(resource, "id", id, alloc);
}

void SetVersionId(json::Value& resource, std::string_view version_id, json::Allocator& alloc) {
  if (!resource.IsObject()) return;  // not a resource: nothing to modify
  json::Value& meta = EnsureMember(resource, "meta", rapidjson::kObjectType, alloc);
  json::SetString(meta, "versionId", version_id, alloc);
}

std::vector<Coding> SecurityLabels(const json::Value& resource) {
  return ReadCodings(resource, "security");
}

bool HasSecurityLabel(const json::Value& resource, const Coding& label) {
  return ContainsCoding(SecurityLabels(resource), label);
}

void AddSecurityLabel(json::Value& resource, const Coding& label, json::Allocator& alloc) {
  AddMetaCoding(resource, "security", label, alloc);
}

std::vector<Coding> Tags(const json::Value& resource) { return ReadCodings(resource, "tag"); }

void AddTag(json::Value& resource, const Coding& tag, json::Allocator& alloc) {
  AddMetaCoding(resource, "tag", tag, alloc);
}

std::vector<Identifier> Identifiers(const json::Value& resource) {
  std::vector<Identifier> identifiers;
  const json::Value* array = json::Member(resource, "identifier");
  if (array == nullptr || !array->IsArray()) return identifiers;
  for (const auto& item : array->GetArray()) {
    if (!item.IsObject()) continue;
    identifiers.push_back({StringOr(item, "system"), StringOr(item, "value")});
  }
  return identifiers;
}

std::optional<Identifier> FindIdentifier(const json::Value& resource, std::string_view system) {
  for (auto& identifier : Identifiers(resource)) {
    if (identifier.system == system) return identifier;
  }
  return std::nullopt;
}

void AddIdentifier(json::Value& resource, const Identifier& identifier, json::Allocator& alloc) {
  if (!resource.IsObject()) return;  // not a resource: nothing to modify
  for (const auto& existing : Identifiers(resource)) {
    if (existing.system == identifier.system && existing.value == identifier.value) return;
  }
  json::Value item(rapidjson::kObjectType);
  if (!identifier.system.empty()) json::SetString(item, "system", identifier.system, alloc);
  if (!identifier.value.empty()) json::SetString(item, "value", identifier.value, alloc);
  EnsureMember(resource, "identifier", rapidjson::kArrayType, alloc).PushBack(item, alloc);
}

json::Value CodingJson(const Coding& coding, json::Allocator& alloc) {
  // FHIR forbids empty strings, so absent parts are left out rather than written as "".
  json::Value value(rapidjson::kObjectType);
  if (!coding.system.empty()) json::SetString(value, "system", coding.system, alloc);
  if (!coding.code.empty()) json::SetString(value, "code", coding.code, alloc);
  if (!coding.display.empty()) json::SetString(value, "display", coding.display, alloc);
  return value;
}

json::Value CodeableConceptJson(const Coding& coding, json::Allocator& alloc,
                                std::string_view text) {
  json::Value concept_value(rapidjson::kObjectType);
  json::Value codings(rapidjson::kArrayType);
  codings.PushBack(CodingJson(coding, alloc), alloc);
  json::Set(concept_value, "coding", std::move(codings), alloc);
  if (!text.empty()) json::SetString(concept_value, "text", text, alloc);
  return concept_value;
}

}  // namespace countersign::fhir
