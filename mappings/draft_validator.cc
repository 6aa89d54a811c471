#include "mappings/draft_validator.h"

#include <cctype>

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

bool Digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return false;
  for (size_t i = at; i < at + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.fff]](Z|+hh:mm|-hh:mm).
// Hand-written: std::regex made validation the slowest step of mapping.
bool IsDateTime(std::string_view s) {
  if (!Digits(s, 0, 4)) return false;
  if (s.size() == 4) return true;
  if (s.size() < 7 || s[4] != '-' || !Digits(s, 5, 2)) return false;
  if (s.size() == 7) return true;
  if (s.size() < 10 || s[7] != '-' || !Digits(s, 8, 2)) return false;
  if (s.size() == 10) return true;
  if (s.size() < 16 || s[10] != 'T' || !Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2)) {
    return false;
  }
  size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!Digits(s, i + 1, 2)) return false;
    i += 3;
    if (i < s.size() && s[i] == '.') {
      size_t start = ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == start || i - start > 9) return false;
    }
  }
  if (i < s.size() && s[i] == 'Z') return i + 1 == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    return i + 6 == s.size() && Digits(s, i + 1, 2) && s[i + 3] == ':' && Digits(s, i + 4, 2);
  }
  return false;
}

// A BCP-47-like language tag: 2-3 lowercase letters, then "-" subtags of 2-8 letters/digits.
bool IsLanguageTag(std::string_view s) {
  size_t dash = s.find('-');
  std::string_view primary = s.substr(0, dash);
  if (primary.size() < 2 || primary.size() > 3) return false;
  for (char c : primary) {
    if (c < 'a' || c > 'z') return false;
  }
  while (dash != std::string_view::npos) {
    size_t next = s.find('-', dash + 1);
    std::string_view sub = s.substr(dash + 1, next == std::string_view::npos ? std::string_view::npos : next - dash - 1);
    if (sub.size() < 2 || sub.size() > 8) return false;
    for (char c : sub) {
      if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
    dash = next;
  }
  return true;
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
      if (!v->IsString() || !IsDateTime(v->GetString())) {
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
    if (!v->IsString() || !IsLanguageTag(v->GetString())) {
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
      IsDateTime(start->GetString())) {
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
