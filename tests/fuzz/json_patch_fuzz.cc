// JSON Patch apply and diff on arbitrary input. Input: "<document>\n<patch>". Invariants:
// a failed apply leaves the target exactly as it was; diff(a, b) applied to a gives b.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fhir/json.h"
#include "fhir/json_patch.h"

using namespace countersign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.find('\n');
  if (nl == std::string::npos) return 0;
  auto doc = json::Parse(input.substr(0, nl), 32);
  auto patch = json::Parse(input.substr(nl + 1), 32);
  if (!doc.ok() || !patch.ok()) return 0;
  json::Document before;
  before.CopyFrom(*doc, before.GetAllocator());
  Status s = fhir::ApplyJsonPatch(*doc, *patch, doc->GetAllocator());
  if (!s.ok() && !fhir::JsonEquals(*doc, before)) std::abort();  // all-or-nothing broken
  // Diff back from the (possibly patched) document to the original, then apply it.
  json::Document diff = fhir::DiffJsonPatch(*doc, before);
  json::Document copy;
  copy.CopyFrom(*doc, copy.GetAllocator());
  if (!fhir::ApplyJsonPatch(copy, diff, copy.GetAllocator()).ok()) std::abort();
  if (!fhir::JsonEquals(copy, before)) std::abort();
  return 0;
}
