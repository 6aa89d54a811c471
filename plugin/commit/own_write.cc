#include "plugin/commit/own_write.h"

#include "fhir/json_patch.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "mappings/engine.h"

namespace countersign::commit {
namespace {

json::Document Content(const json::Value& resource) {
  json::Document d;
  d.CopyFrom(resource, d.GetAllocator());
  json::Remove(d, "id");
  json::Remove(d, "meta");
  return d;
}

bool CarriesMarker(const json::Value& resource, std::string_view marker) {
  for (const fhir::Identifier& i : fhir::Identifiers(resource)) {
    if (i.system == mappings::kCountersignIdentifierSystem && i.value == marker) return true;
  }
  // Composition.identifier is a single Identifier.
  if (const json::Value* one = json::Member(resource, "identifier"); one && one->IsObject()) {
    return json::GetString(*one, "system").value_or("") == mappings::kCountersignIdentifierSystem &&
           json::GetString(*one, "value").value_or("") == marker;
  }
  return false;
}

}  // namespace

std::optional<std::string> OwnMarker(const json::Value& pending, std::string_view proposal_id) {
  if (proposal_id.empty()) return std::nullopt;
  const std::string prefix = std::string(proposal_id) + "/";
  std::vector<fhir::Identifier> idents = fhir::Identifiers(pending);
  if (const json::Value* one = json::Member(pending, "identifier"); one && one->IsObject()) {
    idents.push_back({std::string(json::GetString(*one, "system").value_or("")),
                      std::string(json::GetString(*one, "value").value_or(""))});
  }
  for (const fhir::Identifier& i : idents) {
    if (i.system == mappings::kCountersignIdentifierSystem && i.value.rfind(prefix, 0) == 0) {
      return i.value;
    }
  }
  return std::nullopt;
}

bool SameContent(const json::Value& resource, const json::Value& pending) {
  return fhir::JsonEquals(Content(resource), Content(pending));
}

bool IsOwnWrite(const json::Value& resource, const json::Value& pending,
                const std::optional<std::string>& marker) {
  if (marker) return CarriesMarker(resource, *marker);
  return SameContent(resource, pending);
}

const json::Value* OldestOwnVersion(const std::vector<json::Document>& history,
                                    const json::Value& pending,
                                    const std::optional<std::string>& marker) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (IsOwnWrite(*it, pending, marker)) return &*it;
  }
  return nullptr;
}

std::string CreateCondition(std::string_view stored, const json::Value& resource) {
  if (stored.rfind("identifier=", 0) == 0) {
    std::string_view raw = stored.substr(11);
    for (const fhir::Identifier& i : fhir::Identifiers(resource)) {
      if (raw == i.system + "|" + i.value) return fhir::IdentifierCondition(i);
    }
  }
  return fhir::NormalizeQuery(stored);
}

}  // namespace countersign::commit
