#include "plugin/core/coordinator.h"

#include <algorithm>

#include "fhir/reference.h"
#include "plugin/core/coordinator_internal.h"
#include "plugin/core/provenance.h"
#include "plugin/core/state_machine.h"

namespace countersign::core {

namespace coordinator_internal {

std::string DetailJson(std::initializer_list<std::pair<const char*, std::string>> fields) {
  json::Document d(rapidjson::kObjectType);
  for (const auto& [k, v] : fields) json::SetString(d, k, v, d.GetAllocator());
  return json::Stringify(d);
}

Result<json::Document> ParseStored(const std::string& text, const char* what) {
  auto doc = json::Parse(text.empty() ? std::string_view("[]") : std::string_view(text));
  if (!doc.ok()) return Status::Corruption(std::string("stored ") + what + " is not JSON");
  return doc;
}

}  // namespace coordinator_internal

using coordinator_internal::DetailJson;
using coordinator_internal::ParseStored;

Coordinator::Coordinator(CoordinatorDeps deps) : deps_(std::move(deps)) {
  if (!deps_.clock) deps_.clock = &SystemClock();
}

Result<const Principal*> Coordinator::Resolve(const Principal& who) const {
  const Principal* p = deps_.principals->Find(who.id);
  if (!p) return Status::Unauthorized("unknown principal " + who.id);
  if (p->roles != who.roles) {
    return Status::Unauthorized("principal " + who.id + " does not hold the roles presented");
  }
  return p;
}

void Coordinator::AuditRefusal(const Principal& who, const char* action,
                               const std::string& proposal_id, const std::string& patient,
                               const Status& why) {
  AuditRecord a;
  a.at = Now();
  a.actor = who.id;
  a.actor_role = who.roles.empty() ? std::string() : who.roles.front();
  a.action = action;
  a.proposal_id = proposal_id;
  a.patient = patient;
  a.outcome = kOutcomeMinorFailure;
  a.detail_json = DetailJson({{"error", ErrorKindName(why.kind())}, {"message", why.message()}});
  // Best effort: the refusal stands whether or not its record could be written.
  (void)deps_.store->AppendAudit(a);
}

AuditRecord Coordinator::MakeAudit(const Actor& actor, const char* action, const Proposal& p,
                                   std::string detail_json) const {
  AuditRecord a;
  a.at = Now();
  a.actor = actor.principal->id;
  a.actor_role = actor.role;
  a.action = action;
  a.proposal_id = p.id;
  a.patient = p.patient;
  a.detail_json = std::move(detail_json);
  return a;
}

Result<SubmitResult> Coordinator::Submit(const Principal& who, std::string_view draft_json) {
  auto authorized = Authorize(who, audit::kSubmit, "", "",
                              [&](const Principal& p, std::string* role) {
                                return deps_.policy->CheckSubmit(p, role);
                              });
  if (!authorized.ok()) return authorized.status();
  const Actor actor = *authorized;
  auto refuse = [&](const Status& why, const std::string& patient) {
    AuditRefusal(who, audit::kSubmit, "", patient, why);
    return why;
  };
  const int64_t now = Now();
  mappings::MapContext ctx;
  ctx.proposal_id = fhir::NewTimeOrderedUuid(now);  // ordered like created_at (reference.h)
  ctx.recorded_time = FormatInstant(now);
  ctx.resolve_base = deps_.resolve_base;
  auto mapped = deps_.mapper->Map(draft_json, ctx);
  if (!mapped.ok()) return refuse(mapped.status(), "");
  const KindPolicy* kp = deps_.policy->For(mapped->kind);
  if (!kp) return refuse(Status::Invalid("no approval policy for kind " + mapped->kind), mapped->patient);
  if (mapped->idempotency_key.empty()) {
    return refuse(Status::Invalid("the draft has no idempotency key"), mapped->patient);
  }
  Status s = deps_.guardrails->Check(mapped->kind, mapped->bundle, mapped->patches);
  if (!s.ok()) return refuse(s, mapped->patient);
  auto owner = deps_.policy->ChooseOwner(mapped->kind, mapped->requested_owner, mapped->draft,
                                         *deps_.principals);
  if (!owner.ok()) return owner.status();

  NewProposal np;
  np.id = ctx.proposal_id;
  np.kind = mapped->kind;
  np.action = mapped->action;
  np.patient = mapped->patient;
  np.encounter = mapped->encounter;
  np.ai_principal = actor.principal->id;
  np.idempotency_key = mapped->idempotency_key;
  np.owner = *owner;
  np.draft_json = json::Stringify(mapped->draft);
  np.bundle_json = json::Stringify(mapped->bundle);
  np.patches_json = mapped->patches.IsArray() ? json::Stringify(mapped->patches) : "[]";
  np.created_at = now;
  np.expires_at = kp->expiry_ms > 0 ? now + kp->expiry_ms : 0;

  AuditRecord a;
  a.at = now;
  a.actor = actor.principal->id;
  a.actor_role = actor.role;
  a.action = audit::kSubmit;
  a.proposal_id = np.id;
  a.patient = np.patient;
  a.detail_json = DetailJson({{"kind", np.kind}, {"action", np.action}, {"owner", np.owner},
                              {"idempotency_key", np.idempotency_key}});
  auto created = deps_.store->CreateProposal(np, a);
  if (!created.ok()) return created.status();
  return SubmitResult{std::move(created->proposal), created->created};
}

Result<Proposal> Coordinator::View(const Principal& who, const std::string& id) {
  auto actor = Authorize(who, audit::kView, id, "", [&](const Principal& p, std::string* role) {
    return deps_.policy->CheckView(p, role);
  });
  if (!actor.ok()) return actor.status();
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  // The view is recorded before the content is shown; no record, no content.
  auto a = deps_.store->AppendAudit(MakeAudit(*actor, audit::kView, *p, "{}"));
  if (!a.ok()) return a.status();
  return p;
}

Result<ProposalPage> Coordinator::List(const Principal& who, const ProposalFilter& filter,
                                       const PageRequest& page) {
  auto resolved = Resolve(who);
  if (!resolved.ok()) return resolved.status();
  std::string role;
  CS_RETURN_IF_ERROR(deps_.policy->CheckView(**resolved, &role));
  return deps_.store->ListProposals(filter, page);
}

Result<Coordinator::Actor> Coordinator::Authorize(const Principal& who, const char* action,
                                                  const std::string& proposal_id,
                                                  const std::string& patient,
                                                  const RoleCheck& check) {
  auto resolved = Resolve(who);
  Actor actor;
  Status s = resolved.status();
  if (s.ok()) {
    actor.principal = *resolved;
    s = check(*actor.principal, &actor.role);
  }
  if (!s.ok()) {
    AuditRefusal(who, action, proposal_id, patient, s);
    return s;
  }
  return actor;
}

Result<Coordinator::Actor> Coordinator::CheckDecision(const Principal& who, const Proposal& p,
                                                      const char* action,
                                                      ProposalStatus target) {
  return Authorize(who, action, p.id, p.patient, [&](const Principal& principal, std::string* role) {
    Status s = deps_.policy->CheckDecide(principal, p.kind, p.owner, role);
    return s.ok() ? CheckTransition(p.status, target) : s;
  });
}

ProposalUpdate Coordinator::UpdateOf(const Proposal& p, const Actor& actor,
                                     const char* event) const {
  ProposalUpdate u;
  u.proposal_id = p.id;
  u.expected_status = p.status;
  u.expected_row_version = p.row_version;
  u.event.at = Now();
  u.event.actor = actor.principal->id;
  u.event.actor_role = actor.role;
  u.event.event = event;
  return u;
}

namespace {

// An approved patient message is sent by being written: each Communication the proposal creates
// as "completed" gets `sent`, the instant of the final approval that released it. Stamped here,
// once and durably with the approval, so every commit attempt (retries, reconciliation after a
// lost answer) writes the same content.
void StampRelease(json::Document& bundle, const std::string& instant) {
  json::Value* entries = const_cast<json::Value*>(json::Member(bundle, "entry"));
  if (entries == nullptr || !entries->IsArray()) return;
  for (auto& e : entries->GetArray()) {
    const json::Value* request = json::Member(e, "request");
    json::Value* r = const_cast<json::Value*>(json::Member(e, "resource"));
    if (request == nullptr || r == nullptr || !r->IsObject()) continue;
    if (json::GetString(*request, "method").value_or("") != "POST") continue;
    if (json::GetString(*r, "resourceType").value_or("") != "Communication") continue;
    if (json::GetString(*r, "status").value_or("") != "completed") continue;
    if (json::Member(*r, "sent") != nullptr) continue;
    json::SetString(*r, "sent", instant, bundle.GetAllocator());
  }
}

// kConflict when the caller decided on another revision than the proposal's current one.
Status CheckRevision(const Proposal& p, std::optional<int64_t> seen) {
  if (!seen || *seen == p.revision) return Status::Ok();
  std::string by;
  if (!p.revisions.empty()) by = " (by " + p.revisions.back().author + ")";
  return Status::Conflict("revision " + std::to_string(*seen) + " is not the current one: the " +
                          "proposal is at revision " + std::to_string(p.revision) + by +
                          "; review it again");
}

}  // namespace

Result<Proposal> Coordinator::Approve(const Principal& who, const std::string& id,
                                      std::string note, std::optional<int64_t> revision) {
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto actor = CheckDecision(who, *p, audit::kApprove, ProposalStatus::kApproved);
  if (!actor.ok()) return actor.status();
  // Checked after the role: only a reviewer learns the revision. The store's compare-and-set on
  // the row version catches an amendment landing between this read and the update.
  if (Status s = CheckRevision(*p, revision); !s.ok()) {
    AuditRefusal(who, audit::kApprove, p->id, p->patient, s);
    return s;
  }
  auto bundle = ParseStored(p->bundle_json, "bundle");
  auto patches = ParseStored(p->patches_json, "patches");
  if (!bundle.ok()) return bundle.status();
  if (!patches.ok()) return patches.status();
  // Checked again: the policy file may have changed since submission.
  Status s = deps_.guardrails->Check(p->kind, *bundle, *patches);
  if (!s.ok()) {
    AuditRefusal(who, audit::kApprove, p->id, p->patient, s);
    return s;
  }
  ProposalUpdate u = UpdateOf(*p, *actor, "approve");
  u.approval = ApprovalRecord{p->revision, actor->principal->id, actor->role, u.event.at};
  u.event.reason_text = std::move(note);
  return FinishApproval(*actor, *p, std::move(u), std::move(bundle).value(), p->revision,
                        audit::kApprove);
}

Result<Proposal> Coordinator::FinishApproval(const Actor& actor, const Proposal& p,
                                             ProposalUpdate u, json::Document bundle,
                                             int64_t revision, const char* action) {
  const KindPolicy* kp = deps_.policy->For(p.kind);
  std::vector<ApprovalRecord> approvers;
  for (const ApprovalRecord& a : p.approvals) {
    if (a.revision != revision) continue;
    if (a.approver == actor.principal->id) {
      return Status::Conflict(actor.principal->id + " already approved revision " +
                              std::to_string(revision) + "; a second, distinct approver is needed");
    }
    approvers.push_back(a);
  }
  approvers.push_back(*u.approval);
  const size_t needed = kp && kp->two_approvers ? 2 : 1;
  const bool final = approvers.size() >= needed;
  if (final) {
    StampRelease(bundle, FormatInstant(u.event.at));
    for (const ApprovalRecord& a : approvers) {
      const Principal* who = deps_.principals->Find(a.approver);
      Principal fallback{a.approver, {}, {a.role}, {}};
      CS_RETURN_IF_ERROR(AddVerifier(bundle, who ? *who : fallback, a.role, u.event.at));
    }
    u.new_status = ProposalStatus::kApproved;
    u.new_bundle_json = json::Stringify(bundle);
    u.enqueue_outbox = true;
  }
  std::string detail = DetailJson({{"revision", std::to_string(revision)},
                                   {"approvals", std::to_string(approvers.size())},
                                   {"required", std::to_string(needed)},
                                   {"final", final ? "true" : "false"}});
  u.event.detail_json = detail;
  u.audit = MakeAudit(actor, action, p, detail);
  return deps_.store->UpdateProposal(u);
}

Result<Proposal> Coordinator::AmendAndApprove(const Principal& who, const std::string& id,
                                              const Amendment& amendment) {
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto actor = CheckDecision(who, *p, audit::kAmend, ProposalStatus::kApproved);
  if (!actor.ok()) return actor.status();
  if (Status s = CheckRevision(*p, amendment.revision); !s.ok()) {
    AuditRefusal(who, audit::kAmend, p->id, p->patient, s);
    return s;
  }
  auto rev = BuildRevision(*actor, *p, amendment);
  if (!rev.ok()) {
    AuditRefusal(who, audit::kAmend, p->id, p->patient, rev.status());
    return rev.status();
  }
  auto bundle = ParseStored(rev->bundle_json, "bundle");
  if (!bundle.ok()) return bundle.status();
  ProposalUpdate u = UpdateOf(*p, *actor, "amend");
  u.event.at = rev->at;
  u.approval = ApprovalRecord{rev->revision, actor->principal->id, actor->role, rev->at};
  u.event.reason_text = amendment.note;
  int64_t revision = rev->revision;
  u.revision = std::move(rev).value();
  return FinishApproval(*actor, *p, std::move(u), std::move(bundle).value(), revision,
                        audit::kAmend);
}

Result<Proposal> Coordinator::Reject(const Principal& who, const std::string& id,
                                     const RejectReason& reason) {
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto actor = CheckDecision(who, *p, audit::kReject, ProposalStatus::kRejected);
  if (!actor.ok()) return actor.status();
  if (reason.code.empty()) return Status::Invalid("a rejection needs a coded reason");
  const RejectReasonCode* code = deps_.policy->FindRejectReason(reason.code);
  if (!code) {
    std::string known;
    for (const auto& r : deps_.policy->reject_reasons()) known += (known.empty() ? "" : ", ") + r.code;
    return Status::Invalid("unknown reject reason " + reason.code + " (known: " + known + ")");
  }
  if (reason.code == "other" && reason.text.empty()) {
    return Status::Invalid("reject reason \"other\" needs an explanation");
  }
  ProposalUpdate u = UpdateOf(*p, *actor, "transition");
  u.new_status = ProposalStatus::kRejected;
  u.event.reason_code = code->code;
  u.event.reason_text = reason.text;
  std::string detail = DetailJson({{"system", kRejectReasonSystem}, {"code", code->code},
                                   {"display", code->display}, {"text", reason.text}});
  u.event.detail_json = detail;
  u.audit = MakeAudit(*actor, audit::kReject, *p, detail);
  return deps_.store->UpdateProposal(u);
}

Result<Proposal> Coordinator::RetryCommit(const Principal& who, const std::string& id,
                                          const std::string& reason) {
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto actor = CheckDecision(who, *p, audit::kCommitRetry, ProposalStatus::kApproved);
  if (!actor.ok()) return actor.status();
  if (p->status != ProposalStatus::kFailed) {
    return Status::IllegalState(std::string("only a failed commit can be retried; this proposal is ") +
                                StatusName(p->status));
  }
  if (reason.empty()) return Status::Invalid("a retry needs a reason (what was fixed)");
  auto outbox = deps_.store->ListOutbox(id);
  if (!outbox.ok()) return outbox.status();
  if (!outbox->empty()) {
    auto last = json::Parse(outbox->back().result_json.empty() ? "{}" : outbox->back().result_json);
    const json::Value* compensated = last.ok() ? json::Member(*last, "compensated") : nullptr;
    if (compensated != nullptr && compensated->IsArray() && !compensated->Empty()) {
      return Status::IllegalState(
          "the failed attempt marked what it had created entered-in-error (" +
          json::Stringify(*compensated) +
          "); a retry would take those as written. Submit the draft anew instead");
    }
  }
  ProposalUpdate u = UpdateOf(*p, *actor, kRetryEvent);
  u.new_status = ProposalStatus::kApproved;
  u.enqueue_outbox = true;
  u.event.reason_text = reason;
  std::string detail = DetailJson({{"revision", std::to_string(p->revision)}, {"reason", reason}});
  u.event.detail_json = detail;
  u.audit = MakeAudit(*actor, audit::kCommitRetry, *p, detail);
  return deps_.store->UpdateProposal(u);
}

Result<Proposal> Coordinator::Reassign(const Principal& who, const std::string& id,
                                       const std::string& new_owner, const std::string& reason) {
  auto p = deps_.store->GetProposal(id);
  if (!p.ok()) return p.status();
  auto actor = Authorize(who, audit::kReassign, p->id, p->patient,
                         [&](const Principal& principal, std::string* role) {
    Status s = deps_.policy->CheckReassign(principal, p->owner, role);
    if (s.ok() && IsFinal(p->status)) {
      s = Status::IllegalState(std::string("a ") + StatusName(p->status) +
                               " proposal cannot be reassigned");
    }
    if (s.ok() && !ApprovalPolicy::IsValidOwner(new_owner, *deps_.principals)) {
      s = Status::Invalid("owner " + new_owner + " is neither a known person nor a queue:<name>");
    }
    return s;
  });
  if (!actor.ok()) return actor.status();
  ProposalUpdate u = UpdateOf(*p, *actor, "reassign");
  u.new_owner = new_owner;
  u.event.reason_text = reason;
  std::string detail = DetailJson({{"from", p->owner}, {"to", new_owner}, {"reason", reason}});
  u.event.detail_json = detail;
  u.audit = MakeAudit(*actor, audit::kReassign, *p, detail);
  return deps_.store->UpdateProposal(u);
}

Result<int> Coordinator::ExpireDue() {
  const int64_t now = Now();
  int expired = 0;
  for (;;) {
    auto ids = deps_.store->ListExpired(now, 200);
    if (!ids.ok()) return ids.status();
    int progressed = 0;
    for (const std::string& id : *ids) {
      auto p = deps_.store->GetProposal(id);
      if (!p.ok() || p->status != ProposalStatus::kPending) continue;
      ProposalUpdate u;
      u.proposal_id = id;
      u.expected_status = ProposalStatus::kPending;
      u.expected_row_version = p->row_version;
      u.new_status = ProposalStatus::kExpired;
      u.event.at = now;
      u.event.actor = "system";
      u.event.actor_role = "system";
      u.event.event = "transition";
      u.event.reason_code = "expired";
      u.event.reason_text = "not decided before " + FormatInstant(p->expires_at);
      AuditRecord a;
      a.at = now;
      a.actor = "system";
      a.actor_role = "system";
      a.action = audit::kExpire;
      a.proposal_id = id;
      a.patient = p->patient;
      a.detail_json = DetailJson({{"expires_at", FormatInstant(p->expires_at)}});
      u.audit = a;
      auto r = deps_.store->UpdateProposal(u);
      if (r.ok()) {
        ++expired;
        ++progressed;
      } else if (!r.status().IsConflict()) {
        return r.status();
      }
    }
    if (ids->size() < 200 || progressed == 0) break;
  }
  return expired;
}

}  // namespace countersign::core
