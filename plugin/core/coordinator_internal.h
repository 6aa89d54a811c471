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
