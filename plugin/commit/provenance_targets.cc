#include "plugin/commit/provenance_targets.h"

#include <optional>
#include <string>

#include "fhir/reference.h"

namespace countersign::commit {
namespace {

using json::Value;

// Calls fn(target) for every object in provenance.target that has a reference string.
template <typename Target, typename Fn>
void ForEachTarget(Target& provenance, Fn&& fn) {
  auto* targets = json::Member(provenance, "target");
  if (targets == nullptr || !targets->IsArray()) return;
  for (auto& t : const_cast<Value*>(targets)->GetArray()) {
    if (t.IsObject() && json::GetString(t, "reference")) fn(t);
  }
}

// The write a target names (Type/id, any version), if any; *versioned tells whether the target
// names a version.
const WriteRecord* WriteNamedBy(const Value& target, const std::vector<WriteRecord>& writes,
                                bool* versioned = nullptr) {
  auto ref = fhir::Reference::Parse(*json::GetString(target, "reference"));
  if (!ref.ok() || ref->is_uuid) return nullptr;
  if (versioned != nullptr) *versioned = !ref->version_id.empty();
  for (const WriteRecord& w : writes) {
    if (w.resource_type == ref->type && w.id == ref->id && w.outcome != "contained") return &w;
  }
  return nullptr;
}

bool IsVersionRequest(const Value& extension) {
  return extension.IsObject() &&
         json::GetString(extension, "url").value_or("") == kResolveAsVersionSpecific;
}

void DropVersionRequest(Value& target) {
  Value* extensions = const_cast<Value*>(json::Member(target, "extension"));
  if (extensions == nullptr || !extensions->IsArray()) return;
  for (auto it = extensions->Begin(); it != extensions->End();) {
    it = IsVersionRequest(*it) ? extensions->Erase(it) : it + 1;
  }
  if (extensions->Empty()) json::Remove(target, "extension");  // FHIR JSON has no empty arrays
}

void AddVersionRequest(Value& target, json::Allocator& alloc) {
  DropVersionRequest(target);  // at most one
  Value ext(rapidjson::kObjectType);
  json::SetString(ext, "url", kResolveAsVersionSpecific, alloc);
  json::Set(ext, "valueBoolean", Value(true), alloc);
  Value* extensions = const_cast<Value*>(json::Member(target, "extension"));
  if (extensions == nullptr || !extensions->IsArray()) {
    json::Set(target, "extension", Value(rapidjson::kArrayType), alloc);
    extensions = const_cast<Value*>(json::Member(target, "extension"));
  }
  extensions->PushBack(ext, alloc);
}

// The placeholder or Type/id that an entry of the transaction writes, as a target names it: by
// its fullUrl (a create's or a conditional update's urn:uuid), or an update by its Type/id.
std::optional<std::string> WrittenAs(const Value& target, const PlannedWrite& w) {
  std::string_view text = *json::GetString(target, "reference");
  if (!w.full_url.empty() && fhir::SameReferenceText(text, w.full_url)) return w.full_url;
  if (w.method != "PUT") return std::nullopt;
  auto ref = fhir::Reference::Parse(text);
  auto url = fhir::Reference::Parse(w.url);
  if (!ref.ok() || !url.ok() || ref->is_uuid) return std::nullopt;
  if (ref->type == url->type && ref->id == url->id) return url->Relative();
  return std::nullopt;
}

void Pin(Value& provenance, const std::vector<WriteRecord>& writes, bool keep_versioned,
         json::Allocator& alloc) {
  ForEachTarget(provenance, [&](Value& t) {
    bool versioned = false;
    const WriteRecord* w = WriteNamedBy(t, writes, &versioned);
    if (w == nullptr) return;
    if (!(versioned && keep_versioned)) json::SetString(t, "reference", w->Versioned(), alloc);
    DropVersionRequest(t);
  });
}

}  // namespace

void PinTargets(Value& provenance, const std::vector<WriteRecord>& writes, json::Allocator& alloc) {
  Pin(provenance, writes, /*keep_versioned=*/false, alloc);
}

void PinUnversionedTargets(Value& provenance, const std::vector<WriteRecord>& writes,
                           json::Allocator& alloc) {
  Pin(provenance, writes, /*keep_versioned=*/true, alloc);
}

void RequestVersionedTargets(Value& provenance, const std::vector<const PlannedWrite*>& sent,
                             json::Allocator& alloc) {
  ForEachTarget(provenance, [&](Value& t) {
    for (const PlannedWrite* w : sent) {
      auto as = WrittenAs(t, *w);
      if (!as) continue;
      json::SetString(t, "reference", *as, alloc);
      AddVersionRequest(t, alloc);
      return;
    }
  });
}

bool TargetsVersioned(const Value& provenance, const std::vector<WriteRecord>& writes) {
  bool all = true;
  ForEachTarget(provenance, [&](const Value& t) {
    bool versioned = false;
    if (WriteNamedBy(t, writes, &versioned) != nullptr && !versioned) all = false;
  });
  return all;
}

}  // namespace countersign::commit
