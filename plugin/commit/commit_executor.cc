#include "plugin/commit/commit_executor.h"

#include <map>

#include "fhir/bundle.h"
#include "fhir/client.h"
#include "fhir/json_patch.h"
#include "fhir/operation_outcome.h"
#include "fhir/query.h"
#include "fhir/reference.h"
#include "fhir/resource.h"
#include "mappings/engine.h"
#include "plugin/commit/own_write.h"
#include "plugin/commit/provenance_targets.h"

namespace countersign::commit {
namespace {

using json::Document;
using json::Value;

std::string SplitType(const std::string& url) { return url.substr(0, url.find('/')); }
std::string SplitId(const std::string& url) {
  size_t slash = url.find('/');
  if (slash == std::string::npos) return {};
  size_t end = url.find('/', slash + 1);
  return url.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
}

// A resource without id and meta: what "the same content" means when comparing with a server.
Document Content(const Value& resource) {
  Document d;
  d.CopyFrom(resource, d.GetAllocator());
  json::Remove(d, "id");
  json::Remove(d, "meta");
  return d;
}

class Executor {
 public:
  Executor(fhir::FhirClient& client, const Value& bundle, const WritePlan& plan,
           const CommitTarget& target)
      : client_(client), plan_(plan), target_(target) {
    work_.CopyFrom(bundle, work_.GetAllocator());
  }

  Execution Run() {
    out_.mode = plan_.mode == PlanMode::kTransaction ? "transaction" : "per-resource";
    if (!LocateEntries()) return Finish();
    PrepareProvenance();
    if (target_.reconcile && !Reconcile()) return Finish();
    if (!Pending().empty()) {
      bool ok = plan_.mode == PlanMode::kTransaction ? RunTransaction() : RunPerResource();
      if (!ok) return Finish();
    }
    if (!WriteProvenance()) return Finish();
    out_.kind = ExecutionKind::kCommitted;
    return Finish();
  }

 private:
  Value& ResourceOf(const PlannedWrite& w) { return *resources_.at(w.entry_index); }

  bool LocateEntries() {
    Value* entries = const_cast<Value*>(json::Member(work_, "entry"));
    if (entries == nullptr || !entries->IsArray()) return Fail(Status::Invalid("no entries"));
    for (const PlannedWrite& w : plan_.writes) {
      if (w.entry_index >= entries->Size()) return Fail(Status::Invalid("plan/bundle mismatch"));
      Value& entry = (*entries)[static_cast<rapidjson::SizeType>(w.entry_index)];
      Value* resource = const_cast<Value*>(json::Member(entry, "resource"));
      if (resource == nullptr) return Fail(Status::Invalid("entry without resource"));
      resources_[w.entry_index] = resource;
      if (!w.if_none_exist.empty()) conditions_[w.entry_index] = CreateCondition(w.if_none_exist, *resource);
      if (w.is_provenance) provenance_ = &w;
    }
    return true;
  }

  std::string ProvenanceCondition() const {
    return fhir::EncodeQuery({{"_tag", fhir::TokenParam(kProvenanceTagSystem, target_.proposal_id)}});
  }
  // w's If-None-Exist condition, escaped and encoded (empty: not a conditional create).
  const std::string& ConditionOf(const PlannedWrite& w) const {
    static const std::string kNone;
    auto it = conditions_.find(w.entry_index);
    return it == conditions_.end() ? kNone : it->second;
  }

  // What the Provenance carries wherever it goes: the tag that finds it again, and the AI Device
  // contained when the server cannot hold the Device.
  void PrepareProvenance() {
    if (provenance_ == nullptr) return;
    Value& prov = ResourceOf(*provenance_);
    auto& a = work_.GetAllocator();
    for (const PlannedWrite& w : plan_.writes) {
      if (w.resource_type != "Device" || w.destination != Destination::kLocal) continue;
      Value device = json::Copy(ResourceOf(w), a);
      json::SetString(device, "id", "ai-device", a);
      Value contained(rapidjson::kArrayType);
      contained.PushBack(device, a);
      json::Set(prov, "contained", std::move(contained), a);
      fhir::RewriteReferences(prov, w.full_url, "#ai-device", a);
      WriteRecord r;
      r.entry_index = w.entry_index;
      r.full_url = w.full_url;
      r.resource_type = "Device";
      r.id = "#ai-device";
      r.outcome = "contained";
      out_.writes.push_back(r);
    }
    fhir::AddTag(prov, {kProvenanceTagSystem, target_.proposal_id, ""}, a);
  }

  // The transaction carries the Provenance too (one round trip, written atomically with the
  // resources) unless it stays local, is on the server already, or was refused in it.
  bool ProvenanceInTransaction() const {
    return provenance_ != nullptr && provenance_->destination == Destination::kServer &&
           !provenance_settled_ && !provenance_refused_in_transaction_;
  }

  // Server-bound writes of mapped resources and the Device not yet resolved, in plan order.
  std::vector<const PlannedWrite*> Pending() const {
    std::vector<const PlannedWrite*> out;
    for (const PlannedWrite& w : plan_.writes) {
      if (w.is_provenance || w.destination != Destination::kServer) continue;
      if (resolved_.count(w.entry_index) == 0) out.push_back(&w);
    }
    return out;
  }

  void Record(const PlannedWrite& w, std::string id, std::string version, const char* outcome) {
    WriteRecord r;
    r.entry_index = w.entry_index;
    r.full_url = w.full_url;
    r.resource_type = w.resource_type;
    r.id = std::move(id);
    r.version_id = std::move(version);
    r.outcome = outcome;
    resolved_[w.entry_index] = out_.writes.size();
    out_.writes.push_back(r);
    if (w.method == "POST" && !w.full_url.empty()) {
      // Later entries (and the Provenance) reference this one by its placeholder.
      for (auto& [index, resource] : resources_) {
        if (index == w.entry_index) continue;
        fhir::RewriteReferences(*resource, w.full_url, r.Reference(), work_.GetAllocator());
      }
    }
  }

  // Looks up, for every write, whether an earlier attempt already made it.
  bool Reconcile() {
    for (const PlannedWrite* w : Pending()) {
      if (w->method == "POST") {
        if (ConditionOf(*w).empty()) continue;  // cannot be found again: will be sent
        auto found = FindCreated(*w);
        if (!found.ok()) return FailFrom(found.status());
      } else if (w->method == "PUT") {
        auto state = CheckUpdate(*w);
        if (state == UpdateState::kError) return false;
      }
    }
    if (out_.conflicts.Size() > 0) return Conflict(Status::Conflict("the server moved past the base version"));
    // The Provenance is written with or after every other write: it can be there only when
    // they all are.
    if (Pending().empty() && provenance_ != nullptr &&
        provenance_->destination == Destination::kServer) {
      auto found = client_.Search("Provenance", ProvenanceCondition());
      if (!found.ok()) return FailFrom(found.status());
      if (!found->empty()) return SettleProvenance((*found)[0]);
      provenance_known_absent_ = true;
    }
    return true;
  }

  // Looks up w's create by its If-None-Exist condition: true when it is there, recorded (with
  // the version this commit wrote; the shared Device's lowest-id copy when it has several).
  // kConflict when anything else matches several resources.
  Result<bool> FindCreated(const PlannedWrite& w) {
    auto found = client_.Search(w.resource_type, ConditionOf(w));
    if (!found.ok()) return found.status();
    if (found->size() > 1 && IsSharedDevice(w)) {
      AdoptOne(w, *found);
      return true;
    }
    if (found->size() > 1) {
      return Status::Conflict(w.resource_type + "?" + ConditionOf(w) + " matches " +
                              std::to_string(found->size()) + " resources");
    }
    if (found->empty()) return false;
    const Value& r = (*found)[0];
    std::string id(fhir::ResourceId(r).value_or(""));
    auto version = CommittedVersionOf(w, id, std::string(fhir::VersionId(r).value_or("")));
    if (!version.ok()) return version.status();
    Record(w, id, *version, "existing");
    return true;
  }

  // The version an earlier attempt's create wrote. Someone may have changed the resource since
  // (a clinician editing the note between a lost answer and this retry); the Provenance must
  // still name the version this commit wrote: for a resource only this proposal creates (it
  // carries this proposal's marker, own_write.h), the oldest version carrying it. Shared
  // resources (the AI Device) keep the version found.
  Result<std::string> CommittedVersionOf(const PlannedWrite& w, const std::string& id,
                                         const std::string& current) {
    auto marker = OwnMarker(ResourceOf(w), target_.proposal_id);
    if (!marker || id.empty()) return current;
    auto version = OwnVersionInHistory(w, id, current);
    if (!version.ok()) return version.status();
    return version->empty() ? current : *version;
  }

  // The version of w's resource (Type/id) that this proposal wrote, from the resource's history:
  // empty when no version is its own. A server without instance history: `fallback`, said in the
  // notes, when it is non-empty.
  Result<std::string> OwnVersionInHistory(const PlannedWrite& w, const std::string& id,
                                          const std::string& fallback) {
    auto history = client_.History(w.resource_type, id);
    if (!history.ok()) {
      if (history.status().IsTransient()) return history.status();
      if (fallback.empty()) return std::string();
      out_.notes.push_back(w.resource_type + "/" + id + ": no instance history (" +
                           history.status().message() + "); its version as found, " + fallback +
                           ", is taken as the committed one");
      return fallback;
    }
    const Value& pending = ResourceOf(w);
    const Value* own = OldestOwnVersion(*history, pending, OwnMarker(pending, target_.proposal_id));
    if (own == nullptr) return std::string();
    return std::string(fhir::VersionId(*own).value_or(""));
  }

  // The AI Device is the one resource every proposal writes (a conditional create on its model
  // identifier). Where the server's conditional create is not atomic, two commits at once (two
  // instances, or the daemon and `countersign commit`) can leave two Devices with that
  // identifier, and from then on every conditional create of it answers 412. They describe the
  // same model, so one is adopted instead: the lowest id, so that every instance picks the same.
  static bool IsSharedDevice(const PlannedWrite& w) {
    return w.resource_type == "Device" && w.method == "POST" && !w.if_none_exist.empty() &&
           w.destination == Destination::kServer;
  }
  void AdoptOne(const PlannedWrite& w, const std::vector<Document>& found) {
    const Document* pick = nullptr;
    for (const Document& d : found) {
      std::string_view id = fhir::ResourceId(d).value_or("");
      if (id.empty()) continue;
      if (pick == nullptr || id < fhir::ResourceId(*pick).value_or("")) pick = &d;
    }
    if (pick == nullptr) return;
    std::string id(fhir::ResourceId(*pick).value_or(""));
    out_.notes.push_back(std::to_string(found.size()) + " Devices match " + ConditionOf(w) +
                         " (conditional creates raced on the server); using Device/" + id);
    Record(w, id, std::string(fhir::VersionId(*pick).value_or("")), "existing");
  }
  // After a conflict answer: a pending shared Device that now has several copies is adopted.
  // -1: the lookup failed (handled); else how many were adopted.
  int AdoptDuplicatedDevices() {
    int adopted = 0;
    for (const PlannedWrite* w : Pending()) {
      if (!IsSharedDevice(*w)) continue;
      auto found = client_.Search(w->resource_type, ConditionOf(*w));
      if (!found.ok()) {
        FailFrom(found.status());
        return -1;
      }
      if (found->size() > 1) {
        AdoptOne(*w, *found);
        ++adopted;
      }
    }
    return adopted;
  }

  enum class UpdateState { kWritable, kApplied, kMoved, kError };
  // Reads the target's current version: this proposal's update already applied (recorded, with
  // the version it wrote), moved past the base by someone else (a conflict entry is added), or
  // still at the base (writable). Only this proposal's own marker counts as "applied"
  // (own_write.h): an earlier proposal's update of the same resource left its own marker there,
  // which the pending resource carries too.
  UpdateState CheckUpdate(const PlannedWrite& w) {
    auto current = client_.Read(SplitType(w.url), SplitId(w.url));
    if (!current.ok()) {
      FailFrom(current.status());
      return UpdateState::kError;
    }
    const Value& pending = ResourceOf(w);
    auto marker = OwnMarker(pending, target_.proposal_id);
    std::string base = fhir::VersionFromETag(w.if_match);
    const bool moved = !base.empty() && current->version_id != base;
    const bool ours = IsOwnWrite(current->body, pending, marker);
    if (ours || moved) {
      // Ours, perhaps changed by someone since (the Provenance must name the version we wrote,
      // not theirs); or moved, perhaps by us first: the resource's history tells.
      auto own = OwnVersionInHistory(w, current->id, "");
      if (!own.ok()) {
        FailFrom(own.status());
        return UpdateState::kError;
      }
      if (!own->empty()) {
        Record(w, current->id, *own, "already-applied");
        return UpdateState::kApplied;
      }
      if (ours) {
        out_.notes.push_back(w.url + " carries this proposal's marker but no version of its "
                             "history does; its current version " + current->version_id +
                             " is taken as the committed one");
        Record(w, current->id, current->version_id, "already-applied");
        return UpdateState::kApplied;
      }
    }
    if (moved) {
      AddConflict(w, base, current->version_id, current->body);
      return UpdateState::kMoved;
    }
    return UpdateState::kWritable;
  }

  void AddConflict(const PlannedWrite& w, const std::string& base, const std::string& server_version,
                   const Value& current) {
    auto& a = out_.conflicts.GetAllocator();
    Value c(rapidjson::kObjectType);
    json::SetString(c, "target", w.url, a);
    json::SetString(c, "baseVersion", base, a);
    json::SetString(c, "serverVersion", server_version, a);
    Document patch = fhir::DiffJsonPatch(Content(current), Content(ResourceOf(w)));
    json::Set(c, "patch", json::Copy(patch, a), a);
    out_.conflicts.PushBack(c, a);
  }

  // After a conflict answer: which updates moved (fresh patches), which were ours already.
  bool ExplainConflict(const Status& why) {
    int adopted = AdoptDuplicatedDevices();
    if (adopted < 0) return false;
    if (adopted > 0) return RunTransaction();  // without the Device entry, now resolved
    bool any_update = false;
    for (const PlannedWrite* w : Pending()) {
      if (w->method != "PUT") continue;
      any_update = true;
      if (CheckUpdate(*w) == UpdateState::kError) return false;
    }
    if (out_.conflicts.Size() > 0) return Conflict(why);
    bool updates_applied = any_update;
    for (const PlannedWrite* w : Pending()) updates_applied &= w->method != "PUT";
    if (updates_applied) {
      // Every update already holds our content: this very transaction was applied before its
      // answer was lost (and re-sent, see RunTransaction), so the version check refused the
      // second copy. Nothing is wrong: find the rest of what it wrote.
      target_.reconcile = true;
      if (!Reconcile()) return false;
      if (Pending().empty()) return true;
    }
    // Not a moved base version (e.g. a uniqueness rule on the server): a person must look.
    return Fail(why);
  }

  bool RunTransaction() {
    fhir::BundleBuilder tx(fhir::BundleType::kTransaction);
    std::vector<const PlannedWrite*> sent;
    const Value* entries = json::Member(work_, "entry");
    for (size_t i = 0; i < entries->Size(); ++i) {  // bundle order, as approved
      for (const PlannedWrite* w : Pending()) {
        if (w->entry_index != i) continue;
        fhir::EntryRequest req{w->method, w->url, w->if_match, ConditionOf(*w)};
        tx.AddEntry(json::Copy(ResourceOf(*w), tx.allocator()), w->full_url, req);
        sent.push_back(w);
      }
    }
    const bool with_provenance = ProvenanceInTransaction();
    if (with_provenance) {
      Value prov = json::Copy(ResourceOf(*provenance_), tx.allocator());
      PinTargets(prov, out_.writes, tx.allocator());  // writes reconciled earlier
      RequestVersionedTargets(prov, sent, tx.allocator());
      // Conditional like every other create: a transaction can be applied twice without anyone
      // choosing to send it twice (libcurl sends a request once more when a reused connection
      // closes before any answer byte, POST included; fhir_client_test shows it), and then
      // every entry must match what the first one wrote.
      fhir::EntryRequest req{"POST", "Provenance", "", ProvenanceCondition()};
      tx.AddEntry(std::move(prov), provenance_->full_url, req);
    }
    Document bundle = tx.Release();
    auto answer = client_.Transaction(bundle);
    if (!answer.ok()) {
      const Status& s = answer.status();
      if (s.IsConflict()) return ExplainConflict(s);
      if (with_provenance && !s.IsTransient()) {
        // Refused as a whole: perhaps for the Provenance alone (declared, refused in practice).
        // Once more without it; the Provenance then goes on its own, or to the local ledger.
        provenance_refused_in_transaction_ = true;
        return RunTransaction();
      }
      return FailFrom(s);
    }
    auto results = fhir::ReadEntries(answer->body);
    if (!results.ok() || results->size() != sent.size() + (with_provenance ? 1 : 0)) {
      // The server applied it (2xx) but its answer cannot be read: find the writes instead.
      target_.reconcile = true;
      return Reconcile() && (Pending().empty() ||
                             Fail(Status::Internal("transaction answered but writes not found")));
    }
    for (size_t i = 0; i < sent.size(); ++i) {
      const fhir::BundleEntryView& r = (*results)[i];
      std::string id, version;
      if (r.resource != nullptr) {
        id = std::string(fhir::ResourceId(*r.resource).value_or(""));
        version = std::string(fhir::VersionId(*r.resource).value_or(""));
      }
      if ((id.empty() || version.empty()) && !r.response_location.empty()) {
        auto ref = fhir::Reference::Parse(r.response_location);
        if (ref.ok()) {
          if (id.empty()) id = ref->id;
          if (version.empty()) version = ref->version_id;
        }
      }
      if (version.empty() && !r.response_etag.empty()) version = fhir::VersionFromETag(r.response_etag);
      if (id.empty()) id = SplitId(sent[i]->url);
      const char* outcome = sent[i]->method == "PUT" ? "updated"
                            : r.response_status.rfind("200", 0) == 0 ? "existing" : "created";
      Record(*sent[i], id, version, outcome);
    }
    if (with_provenance) return SettleTransactionProvenance(results->back());
    return true;
  }

  // The Provenance's entry in the transaction answer: settled if the server versioned its
  // targets, else pinned by the engine.
  bool SettleTransactionProvenance(const fhir::BundleEntryView& r) {
    if (r.resource != nullptr && fhir::ResourceId(*r.resource) && fhir::VersionId(*r.resource)) {
      return SettleProvenance(*r.resource);
    }
    // Answered without the resource (return=minimal): read it back to see its targets.
    auto ref = fhir::Reference::Parse(r.response_location);
    if (!ref.ok()) return Fail(Status::Internal("transaction answer names no Provenance location"));
    auto current = client_.Read("Provenance", ref->id);
    if (!current.ok()) return FailFrom(current.status());
    return SettleProvenance(current->body);
  }

  // found: this proposal's Provenance on the server. Its targets are pinned to the committed
  // versions, by the server (or an earlier attempt: kept, even if the resource has moved on
  // since) or now by an update; if the server refuses that update, the committed state stands
  // and the pinned Provenance is kept in the local ledger as well.
  bool SettleProvenance(const Value& found) {
    std::string id(fhir::ResourceId(found).value_or(""));
    std::string version(fhir::VersionId(found).value_or(""));
    provenance_settled_ = true;
    if (TargetsVersioned(found, out_.writes)) {
      out_.provenance_reference = "Provenance/" + id + "/_history/" + version;
      return true;
    }
    Document pinned;
    pinned.CopyFrom(found, pinned.GetAllocator());
    PinUnversionedTargets(pinned, out_.writes, pinned.GetAllocator());
    auto put = client_.Update(pinned, version);
    if (put.ok()) {
      out_.provenance_reference = "Provenance/" + id + "/_history/" + put->version_id;
      return true;
    }
    if (put.status().IsTransient()) {
      provenance_settled_ = false;
      return FailFrom(put.status());  // found and pinned on the next attempt
    }
    out_.provenance_reference = "Provenance/" + id + "/_history/" + version;
    out_.ledger_provenance_json = json::Stringify(pinned);
    out_.notes.push_back("the server kept the Provenance's targets unversioned and refused to pin "
                         "them (" + put.status().ToString() +
                         "): the pinned Provenance is in the local ledger");
    return true;
  }

  bool RunPerResource() {
    for (const PlannedWrite* w : Pending()) {
      Value& resource = ResourceOf(*w);
      if (w->method == "POST") {
        if (w->probe_before_create && !ConditionOf(*w).empty()) {
          auto found = FindCreated(*w);
          if (!found.ok()) return StepFailed(found.status());
          if (*found) continue;
        }
        std::string_view condition = w->probe_before_create ? std::string_view() : ConditionOf(*w);
        auto made = client_.Create(resource, condition);
        if (!made.ok() && made.status().IsConflict() && IsSharedDevice(*w)) {
          int adopted = AdoptDuplicatedDevices();  // several matches: 412
          if (adopted < 0) return false;
          if (adopted > 0) continue;
        }
        if (!made.ok()) return StepFailed(made.status());
        Record(*w, made->id, made->version_id, made->http_status == 200 ? "existing" : "created");
      } else if (w->method == "PUT") {
        if (w->check_version_before_update) {
          UpdateState state = CheckUpdate(*w);
          if (state == UpdateState::kError) return false;
          if (state == UpdateState::kApplied) continue;
          if (state == UpdateState::kMoved) return Conflict(Status::Conflict("base version moved"));
        }
        auto put = client_.Update(resource, w->if_match);
        if (!put.ok()) {
          if (put.status().IsConflict()) {
            // A lost answer retried by the client lands here too: ours already, or moved?
            UpdateState state = CheckUpdate(*w);
            if (state == UpdateState::kError) return false;
            if (state == UpdateState::kApplied) continue;
            if (state == UpdateState::kWritable) return Fail(put.status());  // not a moved base
            return Conflict(put.status());
          }
          return StepFailed(put.status());
        }
        Record(*w, put->id.empty() ? SplitId(w->url) : put->id, put->version_id, "updated");
      } else {
        return StepFailed(Status::Unsupported(w->method + " is not committed by this version"));
      }
    }
    return true;
  }

  // A per-resource step failed: transient -> retry later (what is written stays, found again
  // by reconciliation); permanent -> compensate what this commit created, then fail.
  bool StepFailed(const Status& why) {
    if (why.IsTransient()) return FailFrom(why);
    if (why.IsConflict()) return Conflict(why);
    return FailFrom(why);
  }

  // The Provenance on its own, last (per-resource plans, or when the transaction could not carry
  // it): its targets name the committed versions.
  bool WriteProvenance() {
    if (provenance_ == nullptr || provenance_settled_) return true;
    const PlannedWrite* pw = provenance_;
    Value& prov = ResourceOf(*pw);
    PinTargets(prov, out_.writes, work_.GetAllocator());
    if (pw->destination == Destination::kLocal) {
      out_.ledger_provenance_json = json::Stringify(prov);
      out_.notes.push_back("the server does not accept Provenance: kept in the local ledger");
      return true;
    }
    std::string condition = ProvenanceCondition();
    if ((target_.reconcile || pw->probe_before_create) && !provenance_known_absent_) {
      auto found = client_.Search("Provenance", condition);
      if (!found.ok()) return FailFrom(found.status());
      if (!found->empty()) return SettleProvenance((*found)[0]);
    }
    auto made = client_.Create(prov, pw->probe_before_create ? std::string_view() : condition);
    if (!made.ok()) {
      const Status& s = made.status();
      if (!s.IsTransient() && !s.IsConflict()) {
        // Declared but refused in practice (405, 403, a validation rule): the mapped resources
        // are committed and stay so; the Provenance is kept locally rather than lost.
        out_.ledger_provenance_json = json::Stringify(prov);
        out_.notes.push_back("the server refused the Provenance (" + s.ToString() +
                             "): kept in the local ledger");
        return true;
      }
      return FailFrom(s);
    }
    out_.provenance_reference = "Provenance/" + made->id + "/_history/" + made->version_id;
    return true;
  }

  bool Conflict(const Status& why) {
    Compensate();
    out_.kind = ExecutionKind::kConflict;
    out_.error = why;
    return false;
  }
  // A failure: transient ones are retried later (nothing undone); others compensate and fail.
  bool FailFrom(const Status& why) {
    if (why.IsTransient()) {
      out_.kind = ExecutionKind::kRetryLater;
      out_.error = why;
      return false;
    }
    return Fail(why);
  }
  bool Fail(const Status& why) {
    Compensate();
    out_.kind = ExecutionKind::kFailed;
    out_.error = why;
    return false;
  }

  // Nothing is deleted: resources this commit created are marked entered-in-error so nobody
  // acts on half of a proposal. The shared AI Device is left alone; updates are not undone
  // (that would overwrite), they are listed for the person handling the failure.
  void Compensate() {
    for (const WriteRecord& r : out_.writes) {
      if (r.resource_type == "Device" || r.outcome == "updated" || r.outcome == "already-applied" ||
          r.outcome == "contained") {
        continue;
      }
      auto current = client_.Read(r.resource_type, r.id);
      if (!current.ok()) {
        out_.notes.push_back("could not compensate " + r.Reference() + ": " +
                             current.status().ToString());
        continue;
      }
      Document d = std::move(current->body);
      json::SetString(d, "status", "entered-in-error", d.GetAllocator());
      auto put = client_.Update(d, current->version_id);
      if (put.ok()) {
        out_.compensated.push_back(r.Reference());
      } else {
        out_.notes.push_back("could not compensate " + r.Reference() + ": " +
                             put.status().ToString());
      }
    }
  }

  Execution Finish() { return std::move(out_); }

  fhir::FhirClient& client_;
  const WritePlan& plan_;
  CommitTarget target_;
  Document work_;
  std::map<size_t, Value*> resources_;  // entry index -> resource inside work_
  std::map<size_t, size_t> resolved_;   // entry index -> index in out_.writes
  std::map<size_t, std::string> conditions_;  // entry index -> encoded If-None-Exist (creates)
  const PlannedWrite* provenance_ = nullptr;  // the plan's Provenance write, if any
  bool provenance_settled_ = false;           // on the server with pinned targets
  bool provenance_refused_in_transaction_ = false;
  bool provenance_known_absent_ = false;      // searched for during reconciliation, not there
  Execution out_;
};

}  // namespace

std::string Execution::ResultJson() const {
  Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  static const char* kNames[] = {"committed", "conflict", "failed", "retry-later"};
  json::SetString(d, "result", kNames[static_cast<int>(kind)], a);
  json::SetString(d, "mode", mode, a);
  Value writes(rapidjson::kArrayType);
  for (const WriteRecord& r : this->writes) {
    Value w(rapidjson::kObjectType);
    json::Set(w, "entry", Value(static_cast<uint64_t>(r.entry_index)), a);
    if (!r.full_url.empty()) json::SetString(w, "fullUrl", r.full_url, a);
    json::SetString(w, "reference", r.outcome == "contained" ? r.id : r.Versioned(), a);
    json::SetString(w, "outcome", r.outcome, a);
    writes.PushBack(w, a);
  }
  json::Set(d, "writes", std::move(writes), a);
  if (!provenance_reference.empty()) json::SetString(d, "provenance", provenance_reference, a);
  if (!ledger_provenance_json.empty()) json::Set(d, "provenanceLedger", Value(true), a);
  if (conflicts.Size() > 0) json::Set(d, "conflicts", json::Copy(conflicts, a), a);
  if (!compensated.empty()) {
    Value c(rapidjson::kArrayType);
    for (const auto& s : compensated) c.PushBack(json::String(s, a), a);
    json::Set(d, "compensated", std::move(c), a);
  }
  if (!notes.empty()) {
    Value n(rapidjson::kArrayType);
    for (const auto& s : notes) n.PushBack(json::String(s, a), a);
    json::Set(d, "notes", std::move(n), a);
  }
  if (!error.ok()) {
    json::SetString(d, "error", error.ToString(), a);
    if (error.http_status() != 0) json::Set(d, "httpStatus", Value(error.http_status()), a);
  }
  return json::Stringify(d);
}

Execution ExecuteCommit(fhir::FhirClient& client, const json::Value& bundle, const WritePlan& plan,
                        const CommitTarget& target) {
  return Executor(client, bundle, plan, target).Run();
}

}  // namespace countersign::commit
