// The reviewer's side of the coordinator: building an amendment's revision, and the diff of a
// proposal against the FHIR server's current versions.
#include <charconv>
#include <set>

#include "fhir/bundle.h"
#include "fhir/json_patch.h"
#include "fhir/resource.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/coordinator_internal.h"
#include "plugin/core/provenance.h"

namespace countersign::core {

using coordinator_internal::DetailJson;
using coordinator_internal::ParseStored;

namespace {

// True when a string anywhere in v (member names too) holds a character FHIR strings forbid.
bool HasForbiddenControl(const json::Value& v) {
  if (v.IsString()) return json::ForbiddenControl(*json::StringOf(v)).has_value();
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      if (HasForbiddenControl(item)) return true;
    }
  }
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (HasForbiddenControl(m.name) || HasForbiddenControl(m.value)) return true;
    }
  }
  return false;
}

// A reviewer's bundle patch may edit mapped resources only: paths under
// /entry/<n>/resource/<element> of a non-Provenance entry, never the resource's type, id or meta,
// the entry's request or fullUrl, or the set of entries.
Status CheckBundlePatch(const json::Value& patch, const json::Value& bundle) {
  if (!patch.IsArray() || patch.Empty()) return Status::Invalid("the amendment patch is empty");
  const json::Value* entries = json::Member(bundle, "entry");
  for (rapidjson::SizeType i = 0; i < patch.Size(); ++i) {
    if (HasForbiddenControl(patch[i])) {
      return Status::Invalid("amendment op " + std::to_string(i) +
                             ": a string holds a NUL or another control character");
    }
    for (const char* field : {"path", "from"}) {
      auto path = json::GetString(patch[i], field);
      if (!path) continue;
      std::string at = "amendment op " + std::to_string(i) + " (" + std::string(*path) + ")";
      constexpr std::string_view kPrefix = "/entry/";
      if (path->substr(0, kPrefix.size()) != kPrefix) {
        return Status::Invalid(at + ": only mapped resources may be edited");
      }
      std::string_view rest = path->substr(kPrefix.size());
      size_t index = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
      if (ec != std::errc()) return Status::Invalid(at + ": not an entry index");
      rest = rest.substr(static_cast<size_t>(ptr - rest.data()));
      constexpr std::string_view kResource = "/resource/";
      if (rest.substr(0, kResource.size()) != kResource || rest.size() == kResource.size()) {
        return Status::Invalid(at + ": only elements inside an entry's resource may be edited");
      }
      std::string_view element = rest.substr(kResource.size());
      element = element.substr(0, element.find('/'));
      if (element == "resourceType" || element == "id" || element == "meta") {
        return Status::Invalid(at + ": resourceType, id and meta cannot be edited");
      }
      if (!entries || !entries->IsArray() || index >= entries->Size()) {
        return Status::Invalid(at + ": no such entry");
      }
      const json::Value* res = json::Member((*entries)[static_cast<rapidjson::SizeType>(index)], "resource");
      auto type = res ? fhir::ResourceType(*res) : std::nullopt;
      if (type && *type == "Provenance") {
        return Status::Invalid(at + ": the Provenance is maintained by Countersign");
      }
    }
  }
  return Status::Ok();
}

const json::Value* EntryResource(const json::Value& bundle, std::string_view full_url) {
  const json::Value* entries = json::Member(bundle, "entry");
  if (!entries || !entries->IsArray()) return nullptr;
  for (const auto& e : entries->GetArray()) {
    auto url = json::GetString(e, "fullUrl");
    if (url && *url == full_url) return json::Member(e, "resource");
  }
  return nullptr;
}

// Copy of a resource without the server-managed meta.versionId / meta.lastUpdated.
json::Value WithoutVersionMeta(const json::Value& r, json::Allocator& a) {
  json::Value copy(r, a);
  if (copy.IsObject() && copy.HasMember("meta") && copy["meta"].IsObject()) {
    json::Remove(copy["meta"], "versionId");
    json::Remove(copy["meta"], "lastUpdated");
    if (copy["meta"].ObjectEmpty()) json::Remove(copy, "meta");
  }
  return copy;
}

// Reference types that tie a resource to a person or a visit: a change of any of them would
// move the record to someone else.
bool IsBindingType(std::string_view type) {
  return type == "Patient" || type == "Encounter" || type == "RelatedPerson" || type == "Group" ||
         type == "EpisodeOfCare";
}

// Collects what ties v to a patient: every Reference.reference naming a binding type (unparsable
// references count too: a change to one is refused rather than guessed at), and the whole value
// of the members that name the subject whatever form they take (a reference, an identifier).
void CollectBinding(const json::Value& v, const std::string& at, bool top,
                    std::multiset<std::string>* out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      if (top && (name == "subject" || name == "patient" || name == "encounter")) {
        // A display is a label for people: editable. Everything else names whom it is about.
        json::Document copy;
        copy.CopyFrom(m.value, copy.GetAllocator());
        json::Remove(copy, "display");
        out->insert(at + "." + std::string(name) + "=" + json::Stringify(copy));
      }
      if (name == "reference" && m.value.IsString()) {
        std::string_view text = *json::StringOf(m.value);
        auto ref = fhir::Reference::Parse(text);
        if (!ref.ok() || IsBindingType(ref->type)) out->insert(std::string(text));
        continue;
      }
      CollectBinding(m.value, at, false, out);
    }
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) CollectBinding(item, at, false, out);
  }
}

// What ties the mapped resources of a pending Bundle to a patient (Device and Provenance aside:
// Countersign writes those), as one multiset.
std::multiset<std::string> Binding(const json::Value& bundle) {
  std::multiset<std::string> out;
  const json::Value* entries = json::Member(bundle, "entry");
  if (!entries || !entries->IsArray()) return out;
  for (const auto& e : entries->GetArray()) {
    const json::Value* r = json::Member(e, "resource");
    if (!r || !r->IsObject()) continue;
    std::string type(fhir::ResourceType(*r).value_or(""));
    if (type == "Provenance" || type == "Device") continue;
    CollectBinding(*r, type, true, &out);
  }
  return out;
}

}  // namespace

Status CheckSameBinding(const json::Value& before, const json::Value& after) {
  std::multiset<std::string> was = Binding(before);
  std::multiset<std::string> now = Binding(after);
  if (was == now) return Status::Ok();
  std::string changed;
  for (const auto& r : now) {
    if (!was.count(r)) changed = r;
  }
  for (const auto& r : was) {
    if (!now.count(r) && changed.empty()) changed = r;
  }
  return Status::Invalid(
      "an amendment cannot change the patient, encounter or other subject a proposal is "
      "about (" + changed.substr(0, 200) + "); reject it and submit a new draft");
}

Result<Revision> Coordinator::BuildRevision(const Actor& actor, const Proposal& p,
                                            const Amendment& amendment) {
  if (amendment.draft_json.has_value() == amendment.bundle_patch.has_value()) {
    return Status::Invalid("an amendment edits either the draft or the mapped resources");
  }
  Revision rev;
  rev.revision = p.revision + 1;
  rev.at = Now();
  rev.author = actor.principal->id;
  rev.author_role = actor.role;
  rev.note = amendment.note;
  json::Document bundle;
  json::Document patches;
  if (amendment.draft_json) {
    mappings::MapContext ctx;
    ctx.proposal_id = p.id;
    ctx.recorded_time = FormatInstant(p.created_at);
    ctx.resolve_base = deps_.resolve_base;
    auto mapped = deps_.mapper->Map(*amendment.draft_json, ctx);
    if (!mapped.ok()) return mapped.status();
    if (mapped->kind != p.kind || mapped->patient != p.patient || mapped->encounter != p.encounter) {
      return Status::Invalid("an amendment cannot change the proposal's kind, patient or encounter");
    }
    rev.draft_json = json::Stringify(mapped->draft);
    bundle = std::move(mapped->bundle);
    patches = std::move(mapped->patches);
    if (!patches.IsArray()) patches.SetArray();
  } else {
    auto current = ParseStored(p.bundle_json, "bundle");
    auto old_patches = ParseStored(p.patches_json, "patches");
    auto edit = json::Parse(*amendment.bundle_patch);
    if (!current.ok()) return current.status();
    if (!old_patches.ok()) return old_patches.status();
    if (!edit.ok()) return Status::Invalid("amendment patch: " + edit.status().message());
    CS_RETURN_IF_ERROR(CheckBundlePatch(*edit, *current));
    bundle.CopyFrom(*current, bundle.GetAllocator());
    CS_RETURN_IF_ERROR(fhir::ApplyJsonPatch(bundle, *edit, bundle.GetAllocator()));
    auto entries = fhir::ReadEntries(bundle);
    if (!entries.ok()) return Status::Invalid("the amended Bundle is malformed: " + entries.status().message());
    // An update's patch stays base -> amended: the original patch, then old -> amended.
    patches.CopyFrom(*old_patches, patches.GetAllocator());
    if (!patches.IsArray()) patches.SetArray();
    for (auto& item : patches.GetArray()) {
      auto full_url = json::GetString(item, "fullUrl");
      if (!full_url || !item.HasMember("patch") || !item["patch"].IsArray()) continue;
      const json::Value* before = EntryResource(*current, *full_url);
      const json::Value* after = EntryResource(bundle, *full_url);
      if (!before || !after) continue;
      json::Document extra = fhir::DiffJsonPatch(*before, *after, {.emit_tests = false});
      for (auto& op : extra.GetArray()) {
        item["patch"].PushBack(json::Value(op, patches.GetAllocator()), patches.GetAllocator());
      }
    }
  }
  // Whatever the path (an edited draft, a Bundle patch), the proposal stays about the same
  // patient and encounter: its own record (patient, audit) says so and cannot follow a move.
  auto stored = ParseStored(p.bundle_json, "bundle");
  if (!stored.ok()) return stored.status();
  CS_RETURN_IF_ERROR(CheckSameBinding(*stored, bundle));
  CS_RETURN_IF_ERROR(AddRevisionAuthor(bundle, *actor.principal, actor.role, p.id, p.revision));
  CS_RETURN_IF_ERROR(deps_.guardrails->Check(p.kind, bundle, patches));
  rev.bundle_json = json::Stringify(bundle);
  rev.patches_json = json::Stringify(patches);
  return rev;
}

Result<json::Document> Coordinator::ReviewDiff(const Principal& who, const std::string& id,
                                               const CurrentReader& read_current) {
  auto actor = Authorize(who, audit::kView, id, "", [&](const Principal& p, std::string* role) {
    return deps_.policy->CheckView(p, role);
  });
  if (!actor.ok()) return actor.status();
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto bundle = ParseStored(p->bundle_json, "bundle");
  auto patches = ParseStored(p->patches_json, "patches");
  if (!bundle.ok()) return bundle.status();
  if (!patches.ok()) return patches.status();

  json::Document out(rapidjson::kArrayType);
  auto& a = out.GetAllocator();
  if (patches->IsArray()) {
    for (const auto& item : patches->GetArray()) {
      auto target = json::GetString(item, "target");
      auto full_url = json::GetString(item, "fullUrl");
      if (!target) continue;
      json::Value row(rapidjson::kObjectType);
      json::SetString(row, "target", *target, a);
      std::string base;
      if (const json::Value* bv = json::Member(item, "baseVersion")) {
        base = bv->IsString() ? std::string(bv->GetString(), bv->GetStringLength())
               : bv->IsInt64() ? std::to_string(bv->GetInt64()) : std::string();
      }
      json::SetString(row, "baseVersion", base, a);
      auto current = read_current(std::string(*target));
      const json::Value* pending = full_url ? EntryResource(*bundle, *full_url) : nullptr;
      if (!current.ok()) {
        json::SetString(row, "error", current.status().ToString(), a);
      } else {
        std::string server_version(fhir::VersionId(*current).value_or(""));
        json::SetString(row, "serverVersion", server_version, a);
        json::Set(row, "moved", json::Value(!base.empty() && server_version != base), a);
        if (pending) {
          json::Document scratch;
          json::Value from = WithoutVersionMeta(*current, scratch.GetAllocator());
          json::Value to = WithoutVersionMeta(*pending, scratch.GetAllocator());
          json::Document diff = fhir::DiffJsonPatch(from, to);
          json::Set(row, "patch", json::Value(diff, a), a);
        }
      }
      out.PushBack(row, a);
    }
  }
  auto rec = deps_.store->AppendAudit(MakeAudit(*actor, audit::kView, *p,
                                                DetailJson({{"diff", "server"}})));
  if (!rec.ok()) return rec.status();
  return out;
}

}  // namespace countersign::core
