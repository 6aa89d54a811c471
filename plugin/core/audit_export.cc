#include "plugin/core/audit_export.h"

#include <cctype>

#include "fhir/resource.h"
#include "plugin/core/clock.h"

namespace countersign::core {

namespace {

constexpr const char* kAuditEventTypeSystem = "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr const char* kRestfulInteractionSystem = "http://hl7.org/fhir/restful-interaction";
constexpr const char* kParticipationTypeSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
constexpr const char* kDicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
constexpr const char* kSourceTypeSystem = "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr const char* kObjectRoleSystem = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr const char* kResourceTypesSystem = "http://hl7.org/fhir/resource-types";

constexpr const char* kRoleClassSystem = "http://terminology.hl7.org/CodeSystem/v3-RoleClass";

// BALP's user agent types: IRCP for query/retrieve, AUT or AGNT for create/update, INF for
// export; a decision also carries v3-ParticipationType VRF (verifier).
struct ActionShape {
  const char* subtype;  // restful-interaction code
  const char* action;   // C R U D E
  const char* agent_system;
  const char* agent_code;
  const char* agent_display;
  bool verifier = false;
};

ActionShape ShapeFor(const std::string& action) {
  if (action == audit::kSubmit) return {"create", "C", kParticipationTypeSystem, "AUT", "author (originator)"};
  if (action == audit::kView) return {"read", "R", kParticipationTypeSystem, "IRCP", "information recipient"};
  if (action == audit::kAmend) return {"update", "U", kParticipationTypeSystem, "AUT", "author (originator)", true};
  if (action == audit::kApprove || action == audit::kReject || action == audit::kCommitRetry) {
    return {"update", "U", kRoleClassSystem, "AGNT", "agent", true};
  }
  if (action == audit::kCommitAttempt || action == audit::kCommitResult) {
    return {"transaction", "E", kRoleClassSystem, "AGNT", "agent"};
  }
  if (action == audit::kExport) return {"search-type", "E", kParticipationTypeSystem, "INF", "informant"};
  return {"update", "U", kRoleClassSystem, "AGNT", "agent"};
}

json::Value Coding(const char* system, std::string_view code, std::string_view display,
                   json::Allocator& a) {
  json::Value c(rapidjson::kObjectType);
  json::SetString(c, "system", system, a);
  json::SetString(c, "code", code, a);
  if (!display.empty()) json::SetString(c, "display", display, a);
  return c;
}

json::Value Concept(const char* system, std::string_view code, std::string_view display,
                    json::Allocator& a) {
  json::Value cc(rapidjson::kObjectType);
  json::Value codings(rapidjson::kArrayType);
  codings.PushBack(Coding(system, code, display, a), a);
  json::Set(cc, "coding", std::move(codings), a);
  return cc;
}

json::Value Detail(std::string_view type, std::string_view value, json::Allocator& a) {
  json::Value d(rapidjson::kObjectType);
  json::SetString(d, "type", type, a);
  json::SetString(d, "valueString", value, a);
  return d;
}

bool LooksLikeReference(const std::string& s) {
  size_t slash = s.find('/');
  return slash != std::string::npos && slash > 0 && slash + 1 < s.size() && std::isupper(s[0]);
}

}  // namespace

json::Document ToAuditEvent(const AuditRecord& r, const AuditExportOptions& options) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  ActionShape shape = ShapeFor(r.action);
  json::SetString(doc, "resourceType", "AuditEvent", a);
  if (options.include_id) json::SetString(doc, "id", "cs-audit-" + std::to_string(r.seq), a);
  json::Set(doc, "type", Coding(kAuditEventTypeSystem, "rest", "RESTful Operation", a), a);
  json::Value subtype(rapidjson::kArrayType);
  subtype.PushBack(Coding(kRestfulInteractionSystem, shape.subtype, shape.subtype, a), a);
  json::Set(doc, "subtype", std::move(subtype), a);
  json::SetString(doc, "action", shape.action, a);
  json::SetString(doc, "recorded", FormatInstant(r.at), a);
  json::SetString(doc, "outcome", std::to_string(r.outcome), a);
  if (r.outcome != kOutcomeSuccess) {
    json::SetString(doc, "outcomeDesc", "countersign " + r.action + " refused", a);
  }

  json::Value agents(rapidjson::kArrayType);
  {
    json::Value user(rapidjson::kObjectType);
    json::Value type = Concept(shape.agent_system, shape.agent_code, shape.agent_display, a);
    if (shape.verifier) {
      type["coding"].PushBack(Coding(kParticipationTypeSystem, "VRF", "verifier", a), a);
    }
    json::Set(user, "type", std::move(type), a);
    json::Value who(rapidjson::kObjectType);
    if (LooksLikeReference(r.actor)) {
      json::SetString(who, "reference", r.actor, a);
    } else {
      json::Value ident(rapidjson::kObjectType);
      json::SetString(ident, "system", "urn:countersign:actor", a);
      json::SetString(ident, "value", r.actor.empty() ? "unknown" : r.actor, a);
      json::Set(who, "identifier", std::move(ident), a);
    }
    json::Set(user, "who", std::move(who), a);
    if (!r.actor_role.empty()) {
      json::Value roles(rapidjson::kArrayType);
      json::Value role(rapidjson::kObjectType);
      json::SetString(role, "text", r.actor_role, a);
      roles.PushBack(role, a);
      json::Set(user, "role", std::move(roles), a);
    }
    json::Set(user, "requestor", json::Value(true), a);
    agents.PushBack(user, a);
  }
  {
    json::Value server(rapidjson::kObjectType);
    json::Set(server, "type", Concept(kDicomSystem, "110152", "Destination Role ID", a), a);
    json::Value who(rapidjson::kObjectType);
    json::Value ident(rapidjson::kObjectType);
    json::SetString(ident, "value", options.observer_id, a);
    json::Set(who, "identifier", std::move(ident), a);
    json::SetString(who, "display", options.observer_display, a);
    json::Set(server, "who", std::move(who), a);
    json::Set(server, "requestor", json::Value(false), a);
    agents.PushBack(server, a);
  }
  json::Set(doc, "agent", std::move(agents), a);

  json::Value source(rapidjson::kObjectType);
  json::Value observer(rapidjson::kObjectType);
  json::Value oid(rapidjson::kObjectType);
  json::SetString(oid, "value", options.observer_id, a);
  json::Set(observer, "identifier", std::move(oid), a);
  json::SetString(observer, "display", options.observer_display, a);
  json::Set(source, "observer", std::move(observer), a);
  json::Value stypes(rapidjson::kArrayType);
  stypes.PushBack(Coding(kSourceTypeSystem, "4", "Application Server", a), a);
  json::Set(source, "type", std::move(stypes), a);
  json::Set(doc, "source", std::move(source), a);

  json::Value entities(rapidjson::kArrayType);
  if (!r.patient.empty()) {
    json::Value e(rapidjson::kObjectType);
    json::Value what(rapidjson::kObjectType);
    json::SetString(what, "reference", r.patient, a);
    json::Set(e, "what", std::move(what), a);
    json::Set(e, "type", Coding(kResourceTypesSystem, "Patient", "Patient", a), a);
    json::Set(e, "role", Coding(kObjectRoleSystem, "1", "Patient", a), a);
    entities.PushBack(e, a);
  }
  {
    json::Value e(rapidjson::kObjectType);
    json::Value what(rapidjson::kObjectType);
    json::Value ident(rapidjson::kObjectType);
    json::SetString(ident, "system", kProposalIdentifierSystem, a);
    json::SetString(ident, "value", r.proposal_id.empty() ? "none" : r.proposal_id, a);
    json::Set(what, "identifier", std::move(ident), a);
    json::Set(e, "what", std::move(what), a);
    json::Set(e, "type", Coding(kResourceTypesSystem, "Bundle", "Bundle", a), a);
    json::Set(e, "role", Coding(kObjectRoleSystem, "4", "Domain Resource", a), a);
    json::SetString(e, "name", "countersign " + r.action, a);
    json::Value details(rapidjson::kArrayType);
    details.PushBack(Detail("countersign-action", r.action, a), a);
    details.PushBack(Detail("countersign-audit-seq", std::to_string(r.seq), a), a);
    details.PushBack(Detail("countersign-audit-hash", r.hash, a), a);
    if (!r.detail_json.empty() && r.detail_json != "{}") {
      details.PushBack(Detail("countersign-detail", r.detail_json, a), a);
    }
    json::Set(e, "detail", std::move(details), a);
    entities.PushBack(e, a);
  }
  json::Set(doc, "entity", std::move(entities), a);
  return doc;
}

Result<int64_t> ExportAuditNdjson(Store& store, std::ostream& out, int64_t after_seq,
                                  const AuditExportOptions& options) {
  int64_t written = 0;
  for (;;) {
    auto page = store.ReadAudit(after_seq, 1000);
    if (!page.ok()) return page.status();
    for (const AuditRecord& r : *page) {
      out << json::Stringify(ToAuditEvent(r, options)) << '\n';
      after_seq = r.seq;
      ++written;
    }
    if (page->size() < 1000) break;
  }
  if (!out) return Status::IoError("writing the audit export failed");
  return written;
}

}  // namespace countersign::core
