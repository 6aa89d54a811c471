// Rule templates: JSON with placeholders, rendered against a draft (the "scope").
//
// Placeholder grammar, inside "{{" and "}}":
//   placeholder := alternative ("??" alternative)*      first alternative with a value wins
//   alternative := [transform ":"] path ("," path)*     path: dotted, [A-Za-z0-9_.]; spaces
//                                                       around an alternative are ignored
//   transform   := base64 (1 path)  | xhtml (1 path: escapes & < > for narrative)
//                | plusMinutes (2 paths: a dateTime with time of day, a number of minutes)
// A string that is exactly one placeholder becomes the value there (any JSON type; a string
// when a transform applies). Other strings may embed placeholders ("Note by {{content.author}}")
// and stay strings. An array element {"$each": "content.participants", "$template": {...}}
// expands to one element per entry of that array, rendered with the entry as "item".
// A member or array element whose placeholder has no value is dropped, and an object or array
// left empty by that is dropped too, so optional draft fields simply vanish from the resource.
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

// One placeholder path found in a template, for rule validation.
struct PlaceholderUse {
  std::string at;    // JSON path of the string inside the rule file ("$.actions.create...")
  std::string path;  // the dotted draft path ("content.title", "item.actor")
  std::string each;  // inside a $template: the $each array path it iterates; else empty
};
// Every placeholder path in tmpl; malformed placeholders and $each elements are reported in
// `errors` as "<json path>: <why>".
void CollectPlaceholders(const json::Value& tmpl, const std::string& at,
                         std::vector<PlaceholderUse>* uses, std::vector<std::string>* errors);

}  // namespace countersign::mappings
