// Rule templates: JSON with placeholders, rendered against a draft.
//
// A string that is exactly "{{path}}" becomes the value at that dotted path of the context (any
// JSON type); "{{base64:path}}" the base64 of a string there. Other strings may embed
// placeholders ("Note by {{content.author}}") and stay strings; "{{xhtml:path}}" escapes &, <, >
// for narrative. An array element {"$each": "content.participants", "$template": {...}} expands to
// one element per entry of that array, rendered with the entry as "item". A member or array
// element whose
// placeholder has no value is dropped, and an object or array left empty by that is dropped too,
// so optional draft fields simply vanish from the resource.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::mappings {

// The value at a dotted path ("content.start", "ai.prompt.text"); nullptr when absent.
const json::Value* Lookup(const json::Value& context, std::string_view dotted_path);

// Renders tmpl; the result is allocated in alloc. Absent (dropped) renders as a Null value.
json::Value Render(const json::Value& tmpl, const json::Value& context, json::Allocator& alloc);

// Every placeholder path in tmpl (for rule validation); malformed placeholders are reported in
// `errors` as "<json path>: <why>".
void CollectPlaceholders(const json::Value& tmpl, const std::string& at,
                         std::vector<std::string>* paths, std::vector<std::string>* errors);

}  // namespace countersign::mappings
