// Guardrails: what a kind of proposal may write, checked at submission, again on every
// amendment and approval, and again by the commit engine before any commit.
//
// Policy JSON (one per deployment):
// {
//   "defaults": {"max_entries": 10, "max_text_bytes": 65536, "max_bundle_bytes": 1048576},
//   "kinds": {
//     "note": {
//       "interactions": {"DocumentReference": ["create"], "Device": ["create"],
//                        "Provenance": ["create"]},
//       "update_paths": {"DocumentReference": ["/status", "/content"]},
//       "allow_delete": false, "max_entries": 4, "max_text_bytes": 200000
//     }
//   }
// }
// interactions: create (POST), update (PUT), patch (PATCH), delete (DELETE). A delete needs both
// "delete" in the type's list and "allow_delete": true. update_paths: JSON Pointer prefixes an
// update's patch may touch ("/content" allows "/content/0/attachment/data"); "test" ops are
// free. max_text_bytes bounds every string in the Bundle; max_bundle_bytes its serialized size.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"
#include "fhir/operation_outcome.h"
#include "fhir/status.h"

namespace countersign::core {

struct KindGuardrails {
  std::map<std::string, std::vector<std::string>, std::less<>> interactions;  // type -> allowed
  std::map<std::string, std::vector<std::string>, std::less<>> update_paths;  // type -> prefixes
  bool allow_delete = false;
  int64_t max_entries = 10;
  int64_t max_text_bytes = 65536;
  int64_t max_bundle_bytes = 1 << 20;
};

class Guardrails {
 public:
  static Result<Guardrails> Parse(std::string_view json_text);
  static Result<Guardrails> LoadFile(const std::string& path);

  // Every violation found in bundle (a pending transaction Bundle) and patches (array of
  // {"fullUrl", "target", "baseVersion", "patch"}), as OperationOutcome issues; empty = allowed.
  std::vector<fhir::OutcomeIssue> Violations(std::string_view kind, const json::Value& bundle,
                                             const json::Value& patches) const;
  // OK, or kForbidden "guardrails refused ..." whose operation_outcome() lists every violation.
  Status Check(std::string_view kind, const json::Value& bundle, const json::Value& patches) const;

 private:
  std::map<std::string, KindGuardrails, std::less<>> kinds_;
};

}  // namespace countersign::core
