// Validation of an AI draft (format: mappings/README.md, schema: mappings/draft.schema.json).
// Every problem is collected with its JSON path ("draft.content.start"), so one answer tells
// the AI service everything that is wrong.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/operation_outcome.h"
#include "mappings/rules.h"

namespace countersign::mappings {

inline constexpr const char* kDraftSchemaVersion = "1";

// The structure every draft shares: schemaVersion, kind (one of `kinds`), action, patient,
// encounter, target, content's typed fields, ai, idempotency_key, requested_owner.
std::vector<fhir::OutcomeIssue> ValidateDraft(const json::Value& draft,
                                              const std::set<std::string>& kinds);
// What the kind's rule action requires: its "required" paths (each one of its alternatives), a
// target, and the target's resource type.
std::vector<fhir::OutcomeIssue> ValidateForAction(const json::Value& draft,
                                                  const RuleAction& action);

// True when dotted_path names a field of the draft format (anything under target.resource, the
// free-form base resource), or "now", or — inside a $template iterating the array at `each` —
// "item" and its fields. Rule files are checked with it at load, so a typo in a placeholder
// fails at start-up instead of silently dropping content.
bool IsDraftPath(std::string_view dotted_path, std::string_view each = {});

}  // namespace countersign::mappings
