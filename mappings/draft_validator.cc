#include "mappings/draft_validator.h"

#include <regex>

#include "fhir/reference.h"
#include "mappings/template.h"

namespace countersign::mappings {
namespace {

using Issues = std::vector<fhir::OutcomeIssue>;

void Add(Issues* out, const std::string& path, const std::string& why, const char* code = "invalid") {
  fhir::OutcomeIssue i;
  i.code = code;
  i.diagnostics = path + ": " + why;
  i.expression = {path};
  out->push_back(std::move(i));
}

const std::regex& DateTimePattern() {
  static const std::regex re(
      R"(^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$)");
  return re;
}

// A FHIR reference of the given type (any type when empty).
void CheckReference(const json::Value& v, const std::string& path, const std::string& type,
                    Issues* out) {
  if (!v.IsString()) return Add(out, path, "expected a reference string like \"" +
                                               (type.empty() ? std::string("Practitioner") : type) + "/123\"");
  auto ref = fhir::Reference::Parse(v.GetString());
  if (!ref.ok() || ref->is_uuid || !ref->base.empty()) {
    return Add(out, path, "not a relative FHIR reference (Type/id)");
  }
  if (!type.empty() && ref->type != type) Add(out, path, "must reference a " + type);
}

void CheckString(const json::Value& parent, const char* name, const std::string& path, bool required,
                 size_t max, Issues* out) {
  const json::Value* v = json::Member(parent, name);
  if (!v) {
    if (required) Add(out, path, "required", "required");
    return;
  }
  if (!v->IsString() || v->GetStringLength() == 0) return Add(out, path, "expected a non-empty string");
  if (v->GetStringLength() > max) Add(out, path, "longer than " + std::to_string(max) + " characters", "too-long");
}

void CheckKeys(const json::Value& obj, const std::string& path, const std::set<std::string>& known,
               Issues* out) {
  for (const auto& m : obj.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!known.count(name)) Add(out, path + "." + name, "unknown field", "structure");
  }
}

void CheckContent(const json::Value& c, Issues* out) {
  const std::string at = "draft.content";
  if (!c.IsObject()) return Add(out, at, "expected an object", "structure");
  CheckKeys(c, at, {"title", "type", "text", "format", "date", "author", "start", "end",
                    "minutesDuration", "serviceType", "participants", "reason", "description",
                    "cancellationReason", "recipient", "sender", "language", "medium", "topic",
                    "inResponseTo"}, out);
  for (const char* f : {"date", "start", "end"}) {
    if (const json::Value* v = json::Member(c, f)) {
      if (!v->IsString() || !std::regex_match(v->GetString(), DateTimePattern())) {
        Add(out, at + "." + f, "expected a FHIR dateTime like 2026-12-01T09:00:00Z");
      }
    }
  }
  for (const char* f : {"title", "text", "reason", "description", "cancellationReason", "medium",
                        "topic", "serviceType"}) {
    if (const json::Value* v = json::Member(c, f); v && (!v->IsString() || v->GetStringLength() == 0)) {
      Add(out, at + "." + f, "expected a non-empty string");
    }
  }
  if (const json::Value* v = json::Member(c, "format")) {
    std::string f = v->IsString() ? v->GetString() : "";
    if (f != "text/plain" && f != "text/markdown") Add(out, at + ".format", "must be text/plain or text/markdown");
  }
  if (const json::Value* v = json::Member(c, "minutesDuration")) {
    if (!v->IsInt() || v->GetInt() <= 0 || v->GetInt() > 24 * 60) {
      Add(out, at + ".minutesDuration", "expected minutes between 1 and 1440");
    }
  }
  if (const json::Value* v = json::Member(c, "language")) {
    static const std::regex bcp47(R"(^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$)");
    if (!v->IsString() || !std::regex_match(v->GetString(), bcp47)) {
      Add(out, at + ".language", "expected a BCP-47 language tag such as \"es\" or \"en-US\"");
    }
  }
  if (const json::Value* v = json::Member(c, "type")) {
    if (!v->IsObject() || !json::GetString(*v, "code") || !json::GetString(*v, "system")) {
      Add(out, at + ".type", "expected a coding {system, code, display}");
    }
  }
  if (const json::Value* v = json::Member(c, "author")) CheckReference(*v, at + ".author", "", out);
  if (const json::Value* v = json::Member(c, "sender")) CheckReference(*v, at + ".sender", "", out);
  if (const json::Value* v = json::Member(c, "recipient")) CheckReference(*v, at + ".recipient", "", out);
  if (const json::Value* v = json::Member(c, "inResponseTo")) {
    CheckReference(*v, at + ".inResponseTo", "Communication", out);
  }
  if (const json::Value* p = json::Member(c, "participants")) {
    if (!p->IsArray() || p->Empty()) {
      Add(out, at + ".participants", "expected a non-empty array");
    } else {
      for (rapidjson::SizeType i = 0; i < p->Size(); ++i) {
        std::string pa = at + ".participants[" + std::to_string(i) + "]";
        const json::Value& e = (*p)[i];
        if (!e.IsObject()) {
          Add(out, pa, "expected {actor, required}");
          continue;
        }
        if (const json::Value* actor = json::Member(e, "actor")) CheckReference(*actor, pa + ".actor", "", out);
        else Add(out, pa + ".actor", "required", "required");
        if (const json::Value* r = json::Member(e, "required")) {
          std::string s = r->IsString() ? r->GetString() : "";
          if (s != "required" && s != "optional" && s != "information-only") {
            Add(out, pa + ".required", "must be required, optional or information-only");
          }
        }
      }
    }
  }
  const json::Value* start = json::Member(c, "start");
  const json::Value* end = json::Member(c, "end");
  if (start && end && start->IsString() && end->IsString() &&
      std::string(end->GetString()) <= std::string(start->GetString()) &&
      std::regex_match(start->GetString(), DateTimePattern())) {
    Add(out, at + ".end", "must be after content.start");
  }
}

}  // namespace

Issues ValidateDraft(const json::Value& d, const std::set<std::string>& kinds) {
  Issues out;
  if (!d.IsObject()) {
    Add(&out, "draft", "expected a JSON object", "structure");
    return out;
  }
  CheckKeys(d, "draft", {"schemaVersion", "kind", "action", "patient", "encounter", "target",
                         "content", "ai", "idempotency_key", "requested_owner"}, &out);
  const json::Value* version = json::Member(d, "schemaVersion");
  if (!version) Add(&out, "draft.schemaVersion", "required", "required");
  else if (!version->IsString() || std::string(version->GetString()) != kDraftSchemaVersion) {
    Add(&out, "draft.schemaVersion", std::string("unsupported; this build reads \"") + kDraftSchemaVersion + "\"", "not-supported");
  }
  const json::Value* kind = json::Member(d, "kind");
  if (!kind) Add(&out, "draft.kind", "required", "required");
  else if (!kind->IsString() || !kinds.count(kind->GetString())) {
    std::string known;
    for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
    Add(&out, "draft.kind", "must be one of " + known);
  }
  CheckString(d, "action", "draft.action", true, 64, &out);
  if (const json::Value* p = json::Member(d, "patient")) CheckReference(*p, "draft.patient", "Patient", &out);
  else Add(&out, "draft.patient", "required", "required");
  if (const json::Value* e = json::Member(d, "encounter")) CheckReference(*e, "draft.encounter", "Encounter", &out);
  if (const json::Value* t = json::Member(d, "target")) {
    if (!t->IsObject()) {
      Add(&out, "draft.target", "expected {reference, version, resource?}", "structure");
    } else {
      CheckKeys(*t, "draft.target", {"reference", "version", "resource"}, &out);
      if (const json::Value* r = json::Member(*t, "reference")) CheckReference(*r, "draft.target.reference", "", &out);
      else Add(&out, "draft.target.reference", "required", "required");
      CheckString(*t, "version", "draft.target.version", true, 64, &out);
      if (const json::Value* res = json::Member(*t, "resource")) {
        auto ref = json::GetString(*t, "reference");
        auto type = res->IsObject() ? json::GetString(*res, "resourceType") : std::nullopt;
        auto id = res->IsObject() ? json::GetString(*res, "id") : std::nullopt;
        if (!type || !id || !ref || std::string(*type) + "/" + std::string(*id) != *ref) {
          Add(&out, "draft.target.resource", "must be the resource named by target.reference");
        }
      }
    }
  }
  if (const json::Value* c = json::Member(d, "content")) CheckContent(*c, &out);
  else Add(&out, "draft.content", "required", "required");
  const json::Value* ai = json::Member(d, "ai");
  if (!ai || !ai->IsObject()) {
    Add(&out, "draft.ai", "required: {model, version, vendor}", "required");
  } else {
    CheckKeys(*ai, "draft.ai", {"model", "version", "vendor", "confidence", "prompt"}, &out);
    CheckString(*ai, "model", "draft.ai.model", true, 200, &out);
    CheckString(*ai, "version", "draft.ai.version", true, 100, &out);
    CheckString(*ai, "vendor", "draft.ai.vendor", true, 200, &out);
    for (const char* f : {"model", "version", "vendor"}) {
      auto s = json::GetString(*ai, f);
      if (s && (s->find('|') != std::string_view::npos || s->find('/') != std::string_view::npos)) {
        Add(&out, std::string("draft.ai.") + f, "may not contain '|' or '/'");
      }
    }
    if (const json::Value* c = json::Member(*ai, "confidence")) {
      if (!c->IsNumber() || c->GetDouble() < 0 || c->GetDouble() > 1) {
        Add(&out, "draft.ai.confidence", "expected a number between 0 and 1");
      }
    }
    if (const json::Value* p = json::Member(*ai, "prompt")) {
      bool text = p->IsObject() && json::GetString(*p, "text").has_value();
      bool ref = p->IsObject() && json::GetString(*p, "reference").has_value();
      if (text == ref) Add(&out, "draft.ai.prompt", "expected {text} or {reference}");
      if (ref) CheckReference(*json::Member(*p, "reference"), "draft.ai.prompt.reference", "", &out);
    }
  }
  CheckString(d, "idempotency_key", "draft.idempotency_key", false, 200, &out);
  CheckString(d, "requested_owner", "draft.requested_owner", false, 200, &out);
  return out;
}

Issues ValidateForAction(const json::Value& d, const RuleAction& action) {
  Issues out;
  for (const auto& path : action.required) {
    const json::Value* v = Lookup(d, path);
    if (v == nullptr || v->IsNull() || (v->IsString() && v->GetStringLength() == 0)) {
      Add(&out, "draft." + path, "required for this kind and action", "required");
    }
  }
  if (action.needs_target && !json::Member(d, "target")) {
    Add(&out, "draft.target", "required for this action: {reference, version}", "required");
  }
  return out;
}

}  // namespace countersign::mappings
