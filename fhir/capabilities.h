// What a FHIR server says it can do, read from its CapabilityStatement (GET [base]/metadata).
//
// Only what Countersign acts on is kept: system interactions (transaction, batch), and per
// resource type its interactions, conditional create/update support, versioning and PATCH.
// Absent declarations mean "not supported" — we never assume more than the server promises.
//
// Threading: an immutable value after Parse; safe to share.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::fhir {

struct TypeCapabilities {
  std::set<std::string> interactions;  // "read", "vread", "update", "patch", "delete",
                                       // "history-instance", "create", "search-type", ...
  bool conditional_create = false;
  bool conditional_update = false;
  bool update_create = false;  // updateCreate: a PUT to a new, client-chosen id creates it
  // "no-version" | "versioned" | "versioned-update"; empty when not declared.
  std::string versioning;
  bool Has(std::string_view interaction) const { return interactions.count(std::string(interaction)) > 0; }
};

class Capabilities {
 public:
  // Parses a CapabilityStatement (rest[mode=server]). kInvalid when it is not one.
  static Result<Capabilities> Parse(const json::Value& capability_statement);
  static Result<Capabilities> ParseText(std::string_view capability_statement_json);

  std::string fhir_version;  // "4.0.1"
  std::string software;      // software.name + " " + software.version, for logs
  bool transaction = false;  // rest.interaction code=transaction
  bool batch = false;        // rest.interaction code=batch
  std::map<std::string, TypeCapabilities> types;

  // Helpers over `types`; an undeclared type supports nothing.
  bool Supports(std::string_view type, std::string_view interaction) const;
  bool CanCreate(std::string_view type) const { return Supports(type, "create"); }
  bool CanUpdate(std::string_view type) const { return Supports(type, "update"); }
  bool CanPatch(std::string_view type) const { return Supports(type, "patch"); }
  bool ConditionalCreate(std::string_view type) const;
  // PUT [base]/type/id creates the resource when id is new: "update" declared with updateCreate.
  bool UpdateCreate(std::string_view type) const;
  // If-Match is honoured for updates of type (versioning = versioned-update).
  bool VersionedUpdate(std::string_view type) const;
};

}  // namespace countersign::fhir
