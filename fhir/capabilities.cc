#include "fhir/capabilities.h"

namespace countersign::fhir {

Result<Capabilities> Capabilities::Parse(const json::Value& cs) {
  auto type = json::GetString(cs, "resourceType");
  if (!cs.IsObject() || !type || *type != "CapabilityStatement") {
    return Status::Invalid("not a CapabilityStatement");
  }
  Capabilities caps;
  caps.fhir_version = std::string(json::GetString(cs, "fhirVersion").value_or(""));
  if (const json::Value* sw = json::Member(cs, "software")) {
    caps.software = std::string(json::GetString(*sw, "name").value_or(""));
    if (auto v = json::GetString(*sw, "version")) caps.software += " " + std::string(*v);
  }
  const json::Value* rest = json::Member(cs, "rest");
  if (rest == nullptr || !rest->IsArray()) return Status::Invalid("CapabilityStatement has no rest");
  for (const auto& r : rest->GetArray()) {
    auto mode = json::GetString(r, "mode");
    if (!mode || *mode != "server") continue;
    if (const json::Value* inter = json::Member(r, "interaction"); inter && inter->IsArray()) {
      for (const auto& i : inter->GetArray()) {
        auto code = json::GetString(i, "code");
        if (code && *code == "transaction") caps.transaction = true;
        if (code && *code == "batch") caps.batch = true;
      }
    }
    const json::Value* resources = json::Member(r, "resource");
    if (resources == nullptr || !resources->IsArray()) continue;
    for (const auto& res : resources->GetArray()) {
      auto t = json::GetString(res, "type");
      if (!t) continue;
      TypeCapabilities& tc = caps.types[std::string(*t)];
      if (const json::Value* inter = json::Member(res, "interaction"); inter && inter->IsArray()) {
        for (const auto& i : inter->GetArray()) {
          if (auto code = json::GetString(i, "code")) tc.interactions.insert(std::string(*code));
        }
      }
      tc.conditional_create = json::GetBool(res, "conditionalCreate").value_or(false);
      tc.conditional_update = json::GetBool(res, "conditionalUpdate").value_or(false);
      tc.update_create = json::GetBool(res, "updateCreate").value_or(false);
      tc.versioning = std::string(json::GetString(res, "versioning").value_or(""));
    }
    break;  // the first server entry is the one that counts
  }
  return caps;
}

Result<Capabilities> Capabilities::ParseText(std::string_view text) {
  auto doc = json::Parse(text, 128);
  if (!doc.ok()) return doc.status();
  return Parse(*doc);
}

bool Capabilities::Supports(std::string_view type, std::string_view interaction) const {
  auto it = types.find(std::string(type));
  return it != types.end() && it->second.Has(interaction);
}

bool Capabilities::ConditionalCreate(std::string_view type) const {
  auto it = types.find(std::string(type));
  return it != types.end() && it->second.conditional_create;
}

bool Capabilities::UpdateCreate(std::string_view type) const {
  auto it = types.find(std::string(type));
  return it != types.end() && it->second.Has("update") && it->second.update_create;
}

bool Capabilities::VersionedUpdate(std::string_view type) const {
  auto it = types.find(std::string(type));
  return it != types.end() && it->second.versioning == "versioned-update";
}

}  // namespace countersign::fhir
