// Thin helpers over RapidJSON shared by every layer: parse with clear errors, serialize, and
// null-safe member access. Documents own their allocator; a Value taken from a Document lives as
// long as that Document.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>

#include "fhir/status.h"

namespace countersign::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// Parses text into a Document. Iterative parsing: deep nesting cannot overflow the stack. Nesting
// deeper than max_depth is refused (kInvalid). Errors name the byte offset and RapidJSON's reason.
Result<Document> Parse(std::string_view text, int max_depth = 64);

// Compact serialization (no whitespace), members in document order.
std::string Stringify(const Value& value);
std::string Pretty(const Value& value);

// Member access that never asserts: nullptr / nullopt when absent or of another type.
// Strings are read with their full length: a JSON string may hold "\u0000", and reading it as a
// C string would see only the part before it (two layers then disagree on what was sent).
const Value* Member(const Value& object, std::string_view name);
std::optional<std::string_view> GetString(const Value& object, std::string_view name);
// The whole text of a string value; nullopt when value is not a string.
std::optional<std::string_view> StringOf(const Value& value);
// The first character FHIR strings forbid (U+0000-U+001F except TAB, CR, LF), or nullopt.
std::optional<char> ForbiddenControl(std::string_view text);
std::optional<int64_t> GetInt(const Value& object, std::string_view name);
std::optional<bool> GetBool(const Value& object, std::string_view name);

// Sets object[name] = value (replacing an existing member). value is moved from.
void Set(Value& object, std::string_view name, Value&& value, Allocator& alloc);
void SetString(Value& object, std::string_view name, std::string_view text, Allocator& alloc);
// Removes object[name] if present.
void Remove(Value& object, std::string_view name);

// A deep copy of value into alloc.
inline Value Copy(const Value& value, Allocator& alloc) { return Value(value, alloc); }
inline Value String(std::string_view text, Allocator& alloc) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

}  // namespace countersign::json
