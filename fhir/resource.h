// Helpers over a FHIR resource held as a RapidJSON object: type, id, meta (versionId,
// lastUpdated, security labels, tags), identifiers. Functions taking an Allocator modify the
// resource in place; everything else only reads it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"

namespace countersign::fhir {

struct Coding {
  std::string system;
  std::string code;
  std::string display;  // optional
  bool operator==(const Coding& o) const { return system == o.system && code == o.code; }
};

struct Identifier {
  std::string system;
  std::string value;
  // "system|value" — the token form used in search and If-None-Exist.
  std::string Token() const;
};

// The AI-assisted security label from HL7's AI Transparency on FHIR guide.
inline constexpr const char* kObservationValueSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
inline constexpr const char* kAiAssistedCode = "AIAST";
Coding AiAssistedLabel();  // {kObservationValueSystem, "AIAST", "Artificial Intelligence asserted"}

std::optional<std::string_view> ResourceType(const json::Value& resource);
std::optional<std::string_view> ResourceId(const json::Value& resource);
std::optional<std::string_view> VersionId(const json::Value& resource);  // meta.versionId

void SetId(json::Value& resource, std::string_view id, json::Allocator& alloc);
void SetVersionId(json::Value& resource, std::string_view version_id, json::Allocator& alloc);

// meta.security / meta.tag: read all, test for one, add one if not present (no duplicates).
std::vector<Coding> SecurityLabels(const json::Value& resource);
bool HasSecurityLabel(const json::Value& resource, const Coding& label);
void AddSecurityLabel(json::Value& resource, const Coding& label, json::Allocator& alloc);
std::vector<Coding> Tags(const json::Value& resource);
void AddTag(json::Value& resource, const Coding& tag, json::Allocator& alloc);

// identifier[] (for resources where identifier is an array).
std::vector<Identifier> Identifiers(const json::Value& resource);
std::optional<Identifier> FindIdentifier(const json::Value& resource, std::string_view system);
void AddIdentifier(json::Value& resource, const Identifier& identifier, json::Allocator& alloc);

// A Coding / CodeableConcept as JSON.
json::Value CodingJson(const Coding& coding, json::Allocator& alloc);
json::Value CodeableConceptJson(const Coding& coding, json::Allocator& alloc,
                                std::string_view text = {});

}  // namespace countersign::fhir
