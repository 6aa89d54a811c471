// JSON Patch (RFC 6902) over RapidJSON, using RapidJSON's RFC 6901 JSON Pointer for paths.
//
// Apply: all-or-nothing — on any failure (bad op, missing path, failed "test") the target is
// left exactly as it was. Diff: produces a patch that turns `from` into `to`, preceded by "test"
// operations for every value it replaces or removes, so applying it to anything other than
// `from` fails instead of silently overwriting a change someone else made.
#pragma once

#include <string>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::fhir {

// Applies patch (a JSON array of operations) to target. kInvalid with the failing operation's
// index and reason ("op 2 (test /status): value differs") on error; target is then unchanged.
Status ApplyJsonPatch(json::Value& target, const json::Value& patch, json::Allocator& alloc);

struct DiffOptions {
  bool emit_tests = true;  // "test" ops guarding replaced/removed values
};
// The patch turning from into to. Objects are diffed member by member; arrays element by
// element when their lengths are equal, otherwise replaced whole (a FHIR array's meaning is
// positional, and a minimal LCS diff would make guardrail review harder to read).
json::Document DiffJsonPatch(const json::Value& from, const json::Value& to,
                             const DiffOptions& options = {});

// JSON equality as RFC 6902's "test" defines it: same type, numbers by value (1 == 1.0), strings
// by code points, arrays element by element, objects by member set regardless of order.
bool JsonEquals(const json::Value& a, const json::Value& b);

// Every JSON Pointer path a patch touches (its "path", and "from" for move/copy), for
// guardrails that check an allow-list of element paths.
std::vector<std::string> PatchPaths(const json::Value& patch);

}  // namespace countersign::fhir
