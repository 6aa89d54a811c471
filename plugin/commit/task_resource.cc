#include "plugin/commit/task_resource.h"

#include "fhir/reference.h"
#include "fhir/resource.h"
#include "plugin/core/approval_policy.h"
#include "plugin/core/clock.h"

namespace countersign::commit {
namespace {

using core::ProposalStatus;

json::Value ReferenceTo(std::string_view reference, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  json::SetString(v, "reference", reference, a);
  return v;
}

json::Value DisplayOnly(std::string_view display, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  json::SetString(v, "display", display, a);
  return v;
}

// Only Practitioner owners become references: a queue ("queue:front-desk") has no FHIR resource,
// so the EHR still sees its name, as a display.
json::Value OwnerOf(const std::string& owner, json::Allocator& a) {
  if (owner.rfind("Practitioner/", 0) == 0) {
    auto ref = fhir::Reference::Parse(owner);
    if (ref.ok() && ref->base.empty() && ref->version_id.empty()) return ReferenceTo(owner, a);
  }
  return DisplayOnly(owner, a);
}

// The coded reason of the rejection (the latest, should history hold more than one).
const core::ProposalEvent* RejectionOf(const core::Proposal& p) {
  for (auto it = p.history.rbegin(); it != p.history.rend(); ++it) {
    if (it->to_status == core::StatusName(ProposalStatus::kRejected)) return &*it;
  }
  return nullptr;
}

json::Value StatusReason(const core::ProposalEvent& e, json::Allocator& a) {
  std::string display;
  if (auto detail = json::Parse(e.detail_json.empty() ? "{}" : e.detail_json); detail.ok()) {
    display = std::string(json::GetString(*detail, "display").value_or(""));
  }
  fhir::Coding coding{core::kRejectReasonSystem, e.reason_code, display};
  return fhir::CodeableConceptJson(coding, a, e.reason_text);
}

json::Value Output(const std::string& reference, json::Allocator& a) {
  json::Value out(rapidjson::kObjectType);
  json::Set(out, "type",
            fhir::CodeableConceptJson({kTaskOutputSystem, "committed", "Committed resource"}, a),
            a);
  json::Set(out, "valueReference", ReferenceTo(reference, a), a);
  return out;
}

}  // namespace

Result<std::string> TaskIdFor(const std::string& proposal_id) {
  std::string id = "cs-" + proposal_id;
  if (proposal_id.empty() || !fhir::IsValidId(id)) {
    return Status::Invalid("proposal id " + proposal_id + " does not make a FHIR Task id");
  }
  return id;
}

const char* TaskStatusFor(ProposalStatus status) {
  switch (status) {
    case ProposalStatus::kPending: return "requested";
    case ProposalStatus::kApproved: return "accepted";
    case ProposalStatus::kCommitting: return "in-progress";
    case ProposalStatus::kCommitted: return "completed";
    case ProposalStatus::kRejected: return "rejected";
    case ProposalStatus::kExpired: return "cancelled";
    case ProposalStatus::kConflict: return "on-hold";
    case ProposalStatus::kFailed: return "failed";
  }
  return "requested";
}

std::vector<std::string> CommittedReferences(const std::vector<core::OutboxEntry>& outbox) {
  // The last done entry that committed: a proposal commits at most once (an earlier entry may
  // have ended in conflict before a rebase).
  for (auto it = outbox.rbegin(); it != outbox.rend(); ++it) {
    if (it->state != "done") continue;
    auto result = json::Parse(it->result_json);
    if (!result.ok() || json::GetString(*result, "result").value_or("") != "committed") continue;
    std::vector<std::string> refs;
    if (const json::Value* writes = json::Member(*result, "writes"); writes && writes->IsArray()) {
      for (const auto& w : writes->GetArray()) {
        if (json::GetString(w, "outcome").value_or("") == "contained") continue;
        auto ref = json::GetString(w, "reference");
        if (ref && fhir::Reference::Parse(*ref).ok()) refs.emplace_back(*ref);
      }
    }
    return refs;
  }
  return {};
}

Result<json::Document> BuildTask(const core::Proposal& p, const std::vector<std::string>& outputs) {
  auto id = TaskIdFor(p.id);
  if (!id.ok()) return id.status();
  json::Document t(rapidjson::kObjectType);
  auto& a = t.GetAllocator();
  json::SetString(t, "resourceType", "Task", a);
  json::SetString(t, "id", *id, a);
  // Like every resource Countersign writes: labelled AI-assisted.
  fhir::AddSecurityLabel(t, fhir::AiAssistedLabel(), a);
  fhir::AddIdentifier(t, {kTaskIdentifierSystem, p.id}, a);
  json::SetString(t, "status", TaskStatusFor(p.status), a);
  if (p.status == ProposalStatus::kRejected) {
    if (const core::ProposalEvent* e = RejectionOf(p); e && !e->reason_code.empty()) {
      json::Set(t, "statusReason", StatusReason(*e, a), a);
    }
  }
  json::Value business(rapidjson::kObjectType);
  json::SetString(business, "text", core::StatusName(p.status), a);
  json::Set(t, "businessStatus", std::move(business), a);
  json::SetString(t, "intent", "proposal", a);
  json::Set(t, "code",
            fhir::CodeableConceptJson({kTaskCodeSystem, "approve",
                                       "Activate/approve the focal resource"}, a),
            a);
  json::SetString(t, "description",
                  "Review the AI-drafted " + p.kind + " (" + p.action + ") before it is written",
                  a);
  json::Set(t, "for", ReferenceTo(p.patient, a), a);
  if (!p.encounter.empty()) json::Set(t, "encounter", ReferenceTo(p.encounter, a), a);
  json::SetString(t, "authoredOn", core::FormatInstant(p.created_at), a);
  json::SetString(t, "lastModified", core::FormatInstant(p.updated_at), a);
  json::Set(t, "requester", ReferenceTo(p.ai_principal, a), a);
  json::Set(t, "owner", OwnerOf(p.owner, a), a);
  if (p.status == ProposalStatus::kCommitted && !outputs.empty()) {
    json::Value list(rapidjson::kArrayType);
    for (const std::string& ref : outputs) list.PushBack(Output(ref, a), a);
    json::Set(t, "output", std::move(list), a);
  }
  return t;
}

}  // namespace countersign::commit
