#include "mappings/draft_validator.h"

#include <cctype>
#include <cstdio>

#include "fhir/reference.h"
#include "mappings/datetime.h"
#include "mappings/template.h"

namespace countersign::mappings {
namespace {

using Issues = std::vector<fhir::OutcomeIssue>;

// The draft format's fields (format version 1), one table for validation and for checking the
// placeholders of rule files.
const std::set<std::string> kTopFields = {"schemaVersion", "kind", "action", "patient", "encounter",
                                          "target", "content", "ai", "idempotency_key",
                                          "requested_owner"};
const std::set<std::string> kTargetFields = {"reference", "version", "resource"};
const std::set<std::string> kContentFields = {
    "title", "type", "text", "format", "date", "author", "start", "end", "minutesDuration",
    "serviceType", "participants", "reason", "description", "cancellationReason", "recipient",
    "sender", "language", "medium", "topic", "inResponseTo"};
const std::set<std::string> kCodingFields = {"system", "code", "display"};
const std::set<std::string> kParticipantFields = {"actor", "required"};
const std::set<std::string> kAiFields = {"model", "version", "vendor", "confidence", "prompt"};
const std::set<std::string> kPromptFields = {"text", "reference"};

void Add(Issues* out, const std::string& path, const std::string& why, const char* code = "invalid") {
  fhir::OutcomeIssue i;
  i.code = code;
  i.diagnostics = path + ": " + why;
  i.expression = {path};
  out->push_back(std::move(i));
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

// The text of a string value, whole (embedded NULs included); empty for other types.
std::string_view Text(const json::Value& v) { return json::StringOf(v).value_or(std::string_view()); }

// A member name as it may appear in a path: control characters as \\uXXXX.
std::string PathName(std::string_view name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// Every string in the draft, member names included, is refused when it holds a character FHIR
// strings forbid (U+0000-U+001F except TAB, CR, LF). A NUL above all: code that reads a string
// up to its first NUL sees "note" where "note\u0000" was sent, and two layers then disagree.
void CheckCharacters(const json::Value& v, const std::string& path, Issues* out) {
  if (v.IsString()) {
    if (auto c = json::ForbiddenControl(Text(v))) {
      Add(out, path, *c == '\0' ? "contains a NUL character (\\u0000)"
                                : "contains a control character (" + PathName(std::string(1, *c)) + ")");
    }
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      std::string at = path + "." + PathName(name);
      if (json::ForbiddenControl(name)) {
        Add(out, at, "member name contains a control character", "structure");
        continue;
      }
      CheckCharacters(m.value, at, out);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      CheckCharacters(v[i], path + "[" + std::to_string(i) + "]", out);
    }
  }
}

// A FHIR reference of the given type (any type when empty).
void CheckReference(const json::Value& v, const std::string& path, const std::string& type,
                    Issues* out) {
  if (!v.IsString()) return Add(out, path, "expected a reference string like \"" +
                                               (type.empty() ? std::string("Practitioner") : type) + "/123\"");
  auto ref = fhir::Reference::Parse(Text(v));
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
    if (!known.count(name)) Add(out, path + "." + PathName(name), "unknown field", "structure");
  }
}

void CheckContent(const json::Value& c, Issues* out) {
  const std::string at = "draft.content";
  if (!c.IsObject()) return Add(out, at, "expected an object", "structure");
  CheckKeys(c, at, kContentFields, out);
  for (const char* f : {"date", "start", "end"}) {
    if (const json::Value* v = json::Member(c, f)) {
      if (!v->IsString() || !IsDateTime(Text(*v))) {
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
    std::string_view f = Text(*v);
    if (f != "text/plain" && f != "text/markdown") Add(out, at + ".format", "must be text/plain or text/markdown");
  }
  if (const json::Value* v = json::Member(c, "minutesDuration")) {
    if (!v->IsInt() || v->GetInt() <= 0 || v->GetInt() > 24 * 60) {
      Add(out, at + ".minutesDuration", "expected minutes between 1 and 1440");
    }
  }
  if (const json::Value* v = json::Member(c, "language")) {
    if (!v->IsString() || !IsLanguageTag(Text(*v))) {
      Add(out, at + ".language", "expected a BCP-47 language tag such as \"es\" or \"en-US\"");
    }
  }
  if (const json::Value* v = json::Member(c, "type")) {
    if (!v->IsObject() || !json::GetString(*v, "code") || !json::GetString(*v, "system")) {
      Add(out, at + ".type", "expected a coding {system, code, display}");
    } else {
      CheckKeys(*v, at + ".type", kCodingFields, out);
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
        CheckKeys(e, pa, kParticipantFields, out);
        if (const json::Value* actor = json::Member(e, "actor")) CheckReference(*actor, pa + ".actor", "", out);
        else Add(out, pa + ".actor", "required", "required");
        if (const json::Value* r = json::Member(e, "required")) {
          std::string_view s = Text(*r);
          if (s != "required" && s != "optional" && s != "information-only") {
            Add(out, pa + ".required", "must be required, optional or information-only");
          }
        }
      }
    }
  }
  const json::Value* start = json::Member(c, "start");
  const json::Value* end = json::Member(c, "end");
  if (start && end && start->IsString() && end->IsString()) {
    auto from = EpochSeconds(Text(*start));
    auto to = EpochSeconds(Text(*end));
    if (from && to && *to <= *from) Add(out, at + ".end", "must be after content.start");
  }
}

}  // namespace

Issues ValidateDraft(const json::Value& d, const std::set<std::string>& kinds) {
  Issues out;
  if (!d.IsObject()) {
    Add(&out, "draft", "expected a JSON object", "structure");
    return out;
  }
  CheckCharacters(d, "draft", &out);
  CheckKeys(d, "draft", kTopFields, &out);
  const json::Value* version = json::Member(d, "schemaVersion");
  if (!version) Add(&out, "draft.schemaVersion", "required", "required");
  else if (!version->IsString() || Text(*version) != kDraftSchemaVersion) {
    Add(&out, "draft.schemaVersion", std::string("unsupported; this build reads \"") + kDraftSchemaVersion + "\"", "not-supported");
  }
  const json::Value* kind = json::Member(d, "kind");
  if (!kind) Add(&out, "draft.kind", "required", "required");
  else if (!kind->IsString() || !kinds.count(std::string(Text(*kind)))) {
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
      CheckKeys(*t, "draft.target", kTargetFields, &out);
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
    CheckKeys(*ai, "draft.ai", kAiFields, &out);
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
      else CheckKeys(*p, "draft.ai.prompt", kPromptFields, &out);
      if (ref) CheckReference(*json::Member(*p, "reference"), "draft.ai.prompt.reference", "", &out);
    }
  }
  CheckString(d, "idempotency_key", "draft.idempotency_key", false, 200, &out);
  CheckString(d, "requested_owner", "draft.requested_owner", false, 200, &out);
  return out;
}

Issues ValidateForAction(const json::Value& d, const RuleAction& action) {
  Issues out;
  auto present = [&](std::string_view path) {
    const json::Value* v = Lookup(d, path);
    return v != nullptr && !v->IsNull() && !(v->IsString() && v->GetStringLength() == 0);
  };
  for (const auto& alternatives : action.required) {
    bool any = false;
    for (const auto& path : alternatives) any = any || present(path);
    if (any) continue;
    std::string why = "required for this kind and action";
    if (alternatives.size() > 1) {
      why += " (or";
      for (size_t i = 1; i < alternatives.size(); ++i) {
        why += std::string(i > 1 ? "," : "") + " draft." + alternatives[i];
      }
      why += ")";
    }
    Add(&out, "draft." + alternatives.front(), why, "required");
  }
  if (action.needs_target) {
    const json::Value* target = json::Member(d, "target");
    if (!target) {
      Add(&out, "draft.target", "required for this action: {reference, version}", "required");
    } else if (!action.target_type.empty()) {
      auto text = json::GetString(*target, "reference");
      auto ref = text ? fhir::Reference::Parse(*text) : Result<fhir::Reference>(Status::Invalid(""));
      if (ref.ok() && ref->type != action.target_type) {
        Add(&out, "draft.target.reference", "this action changes a " + action.target_type +
                                                ", not a " + ref->type);
      }
    }
  }
  return out;
}

bool IsDraftPath(std::string_view path, std::string_view each) {
  auto next = [&path]() {
    size_t dot = path.find('.');
    std::string part(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    return part;
  };
  const std::string top = next();
  if (top == "item") {  // an element of the $each array
    if (each == "content.participants") return path.empty() || kParticipantFields.count(std::string(path));
    return !each.empty();
  }
  if (top == "now") return path.empty();
  if (!kTopFields.count(top)) return false;
  if (path.empty()) return true;
  const std::string second = next();
  if (top == "target") {
    if (second == "resource") return true;  // the base resource: any FHIR content
    return path.empty() && kTargetFields.count(second);
  }
  if (top == "content") {
    if (!kContentFields.count(second)) return false;
    if (path.empty()) return true;
    return second == "type" && kCodingFields.count(std::string(path));
  }
  if (top == "ai") {
    if (!kAiFields.count(second)) return false;
    if (path.empty()) return true;
    return second == "prompt" && kPromptFields.count(std::string(path));
  }
  return false;  // strings have no members
}

}  // namespace countersign::mappings
