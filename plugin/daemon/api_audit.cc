// The audit routes: one proposal's trail, verification of the whole chain, the AuditEvent export,
// and the local Provenance ledger. Reading audit data needs a role that may view proposals;
// exporting the whole trail needs admin (and is itself audited).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sstream>

#include "plugin/core/audit_export.h"
#include "plugin/core/clock.h"
#include "plugin/daemon/api.h"
#include "plugin/daemon/api_internal.h"

namespace countersign::daemon::internal {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
constexpr int kAuditPage = 1000;

void Str(Writer& w, const char* name, const std::string& value) {
  w.Key(name);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

Status MayView(const ApiDeps& deps, const core::Principal& who, std::string* role) {
  return deps.policy->CheckView(who, role);
}

void WriteRecord(Writer& w, const core::AuditRecord& r) {
  w.StartObject();
  w.Key("seq");
  w.Int64(r.seq);
  w.Key("at");
  w.Int64(r.at);
  Str(w, "actor", r.actor);
  Str(w, "actor_role", r.actor_role);
  Str(w, "action", r.action);
  Str(w, "proposal_id", r.proposal_id);
  Str(w, "patient", r.patient);
  w.Key("outcome");
  w.Int(r.outcome);
  if (!r.detail_json.empty()) {
    w.Key("detail");
    w.RawValue(r.detail_json.data(), r.detail_json.size(), rapidjson::kObjectType);
  }
  Str(w, "prev_hash", r.prev_hash);
  Str(w, "hash", r.hash);
  w.EndObject();
}

}  // namespace

HttpServerResponse ProposalAudit(const ApiDeps& deps, const Call& call, const std::string& id) {
  std::string role;
  Status s = MayView(deps, call.principal, &role);
  if (!s.ok()) return ErrorResponse(s);
  auto p = deps.store->GetProposal(id);
  if (!p.ok()) return ErrorResponse(p.status());
  // The store has no per-proposal audit index: the chain is read in pages and filtered.
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  Str(w, "proposal_id", id);
  w.Key("records");
  w.StartArray();
  int64_t after = 0;
  for (;;) {
    auto page = deps.store->ReadAudit(after, kAuditPage);
    if (!page.ok()) return ErrorResponse(page.status());
    for (const auto& r : *page) {
      if (r.proposal_id == id) WriteRecord(w, r);
      after = r.seq;
    }
    if (static_cast<int>(page->size()) < kAuditPage) break;
  }
  w.EndArray();
  w.EndObject();
  return JsonResponse(200, buf.GetString());
}

HttpServerResponse VerifyAuditChain(const ApiDeps& deps, const Call& call) {
  std::string role;
  Status s = MayView(deps, call.principal, &role);
  if (!s.ok()) return ErrorResponse(s);
  auto v = core::VerifyAudit(*deps.store);
  if (!v.ok()) return ErrorResponse(v.status());
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("ok");
  w.Bool(v->ok);
  w.Key("records");
  w.Int64(v->records);
  if (!v->ok) {
    w.Key("first_broken");
    w.Int64(v->first_broken);
    Str(w, "reason", v->reason);
  }
  w.EndObject();
  return JsonResponse(200, buf.GetString());
}

HttpServerResponse ExportAudit(const ApiDeps& deps, const Call& call) {
  if (!call.principal.HasRole(core::role::kAdmin)) {
    return ErrorResponse(Status::Forbidden(call.principal.id + " may not export the audit trail"));
  }
  for (const auto& [name, value] : call.request.query) {
    if (name != "after") {
      return ErrorResponse(Status::Invalid("unknown query parameter '" + name.substr(0, 64) + "'"));
    }
  }
  auto after = QueryInt(call.request, "after", 0, INT64_MAX / 2, 0);
  if (!after.ok()) return ErrorResponse(after.status());
  // The export is recorded first: no record, no export.
  core::AuditRecord record;
  record.at = core::SystemClock().NowMillis();
  record.actor = call.principal.id;
  record.actor_role = core::role::kAdmin;
  record.action = core::audit::kExport;
  record.detail_json = "{\"after\":" + std::to_string(*after) + ",\"format\":\"ndjson\"}";
  auto sealed = deps.store->AppendAudit(record);
  if (!sealed.ok()) return ErrorResponse(sealed.status());
  std::ostringstream out;
  auto n = core::ExportAuditNdjson(*deps.store, out, *after);
  if (!n.ok()) return ErrorResponse(n.status());
  HttpServerResponse r = JsonResponse(200, out.str(), "application/fhir+ndjson");
  r.headers["X-Record-Count"] = std::to_string(*n);
  return r;
}

HttpServerResponse ProvenanceLedger(const ApiDeps& deps, const Call& call) {
  std::string role;
  Status s = MayView(deps, call.principal, &role);
  if (!s.ok()) return ErrorResponse(s);
  for (const auto& [name, value] : call.request.query) {
    if (name != "proposal" && name != "after" && name != "limit") {
      return ErrorResponse(Status::Invalid("unknown query parameter '" + name.substr(0, 64) + "'"));
    }
  }
  auto after = QueryInt(call.request, "after", 0, INT64_MAX / 2, 0);
  if (!after.ok()) return ErrorResponse(after.status());
  auto limit = QueryInt(call.request, "limit", 1, deps.limits.max_page, deps.limits.default_page);
  if (!limit.ok()) return ErrorResponse(limit.status());
  std::string proposal(call.request.Query("proposal").value_or(""));
  auto entries = deps.store->ReadProvenanceLedger(proposal, *after, static_cast<int>(*limit));
  if (!entries.ok()) return ErrorResponse(entries.status());
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("entries");
  w.StartArray();
  for (const auto& e : *entries) {
    w.StartObject();
    w.Key("seq");
    w.Int64(e.seq);
    Str(w, "proposal_id", e.proposal_id);
    w.Key("revision");
    w.Int64(e.revision);
    w.Key("recorded_at");
    w.Int64(e.recorded_at);
    w.Key("provenance");
    w.RawValue(e.provenance_json.data(), e.provenance_json.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();
  if (static_cast<int64_t>(entries->size()) == *limit && !entries->empty()) {
    w.Key("next_after");
    w.Int64(entries->back().seq);
  }
  w.EndObject();
  return JsonResponse(200, buf.GetString());
}

}  // namespace countersign::daemon::internal
