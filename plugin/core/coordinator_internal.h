// Small helpers shared by coordinator.cc and coordinator_review.cc.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::core::coordinator_internal {

// {"k": "v", ...} with proper escaping; values are strings.
std::string DetailJson(std::initializer_list<std::pair<const char*, std::string>> fields);

// Parses stored JSON text; kCorruption when the store holds something unparsable.
Result<json::Document> ParseStored(const std::string& text, const char* what);

}  // namespace countersign::core::coordinator_internal

namespace countersign::core {
// kInvalid unless the mapped resources of two pending Bundles are tied to the same patient,
// encounter and related persons (every reference to one, and each resource's subject, patient
// and encounter members): no revision may move a proposal to another record.
Status CheckSameBinding(const json::Value& before, const json::Value& after);
}  // namespace countersign::core

namespace countersign::core::coordinator_internal {

}  // namespace countersign::core::coordinator_internal
