// Re-basing a proposal in conflict: the FHIR server moved past the version the AI saw. The
// reviewer's way forward is to carry the proposal's own change (its patch from the base version)
// over to the server's current version, as a new revision that needs a fresh approval.
#include "fhir/bundle.h"
#include "fhir/json_patch.h"
#include "fhir/reference.h"
#include "fhir/resource.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/coordinator_internal.h"

namespace countersign::core {

using coordinator_internal::DetailJson;
using coordinator_internal::ParseStored;

namespace {

// The patch without its "test" operations: those guard the old base, which has moved on.
json::Document WithoutTests(const json::Value& patch) {
  json::Document out(rapidjson::kArrayType);
  for (const auto& op : patch.GetArray()) {
    auto name = json::GetString(op, "op");
    if (name && *name == "test") continue;
    out.PushBack(json::Value(op, out.GetAllocator()), out.GetAllocator());
  }
  return out;
}

json::Value* EntryWithFullUrl(json::Document& bundle, std::string_view full_url) {
  json::Value* entries = const_cast<json::Value*>(json::Member(bundle, "entry"));
  if (!entries || !entries->IsArray()) return nullptr;
  for (auto& e : entries->GetArray()) {
    auto url = json::GetString(e, "fullUrl");
    if (url && fhir::SameReferenceText(*url, full_url)) return &e;
  }
  return nullptr;
}

}  // namespace

Result<Proposal> Coordinator::Rebase(const Principal& who, const std::string& id,
                                     const CurrentReader& read_current) {
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto actor = CheckDecision(who, *p, audit::kAmend, ProposalStatus::kPending);
  if (!actor.ok()) return actor.status();
  if (p->status != ProposalStatus::kConflict) {
    return Status::IllegalState("only a proposal in conflict can be re-based");
  }
  auto stored = ParseStored(p->bundle_json, "bundle");
  auto old_patches = ParseStored(p->patches_json, "patches");
  if (!stored.ok()) return stored.status();
  if (!old_patches.ok()) return old_patches.status();
  json::Document bundle = std::move(stored).value();
  auto& a = bundle.GetAllocator();
  json::Document patches(rapidjson::kArrayType);
  std::string moved;
  for (const auto& item : old_patches->GetArray()) {
    auto target = json::GetString(item, "target");
    auto full_url = json::GetString(item, "fullUrl");
    const json::Value* patch = json::Member(item, "patch");
    if (!target || !full_url || !patch || !patch->IsArray()) {
      return Status::Corruption("stored patches are malformed");
    }
    auto ref = fhir::Reference::Parse(*target);
    if (!ref.ok()) return ref.status();
    auto current = read_current(ref->Relative());
    if (!current.ok()) return current.status();
    std::string server_version(fhir::VersionId(*current).value_or(""));
    // The proposal's change, carried over to the current version.
    json::Document rebased;
    rebased.CopyFrom(*current, rebased.GetAllocator());
    json::Document change = WithoutTests(*patch);
    Status applied = fhir::ApplyJsonPatch(rebased, change, rebased.GetAllocator());
    if (!applied.ok()) {
      Status why = Status::Conflict("cannot re-base " + ref->Relative() + " onto version " +
                                    server_version + ": " + applied.message() +
                                    "; reject it or ask for a new draft");
      AuditRefusal(who, audit::kAmend, p->id, p->patient, why);
      return why;
    }
    json::Value* entry = EntryWithFullUrl(bundle, *full_url);
    if (!entry || !entry->HasMember("resource") || !entry->HasMember("request")) {
      return Status::Corruption("patch names an entry the Bundle lacks: " + std::string(*full_url));
    }
    // The change carries the AIAST label and identifier (it added them to the base version).
    json::Value resource(rebased, a);
    (*entry)["resource"] = resource;
    json::SetString((*entry)["request"], "ifMatch", "W/\"" + server_version + "\"", a);
    // The Provenance named the old base version as target.
    std::string old_versioned = ref->Versioned();
    fhir::Reference now = *ref;
    now.version_id = server_version;
    fhir::RewriteReferences(bundle, old_versioned, now.Versioned(), a);

    json::Value fresh(rapidjson::kObjectType);
    auto& pa = patches.GetAllocator();
    json::SetString(fresh, "fullUrl", *full_url, pa);
    json::SetString(fresh, "target", now.Versioned(), pa);
    json::SetString(fresh, "baseVersion", server_version, pa);
    json::Document fresh_patch = fhir::DiffJsonPatch(*current, (*entry)["resource"]);
    json::Set(fresh, "patch", json::Copy(fresh_patch, pa), pa);
    patches.PushBack(fresh, pa);
    moved += (moved.empty() ? "" : ", ") + ref->Relative() + " " + ref->version_id + "->" +
             server_version;
  }
  // The server's current version may have been moved to another patient or encounter since
  // the AI read it; carried over, the proposal would then write into someone else's record.
  auto original = ParseStored(p->bundle_json, "bundle");
  if (!original.ok()) return original.status();
  if (Status same = CheckSameBinding(*original, bundle); !same.ok()) {
    Status why = Status::Conflict("cannot re-base: " + same.message());
    AuditRefusal(who, audit::kAmend, p->id, p->patient, why);
    return why;
  }
  Status allowed = deps_.guardrails->Check(p->kind, bundle, patches);
  if (!allowed.ok()) {
    AuditRefusal(who, audit::kAmend, p->id, p->patient, allowed);
    return allowed;
  }
  Revision rev;
  rev.revision = p->revision + 1;
  rev.at = Now();
  rev.author = actor->principal->id;
  rev.author_role = actor->role;
  rev.bundle_json = json::Stringify(bundle);
  rev.patches_json = json::Stringify(patches);
  rev.note = "re-based onto the server's current version (" + moved + ")";
  ProposalUpdate u = UpdateOf(*p, *actor, "rebase");
  u.new_status = ProposalStatus::kPending;
  u.event.reason_text = rev.note;
  std::string detail = DetailJson({{"rebased", moved}});
  u.event.detail_json = detail;
  u.revision = std::move(rev);
  u.audit = MakeAudit(*actor, audit::kAmend, *p, detail);
  return deps_.store->UpdateProposal(u);
}

}  // namespace countersign::core
