#include "tests/mappings/r4_checks.h"

#include <set>

#include "fhir/reference.h"

namespace countersign::mappings::testing {
namespace {

using Problems = std::vector<std::string>;

class Checker {
 public:
  Checker(const json::Value& r, std::string type) : r_(r), type_(std::move(type)) {}

  const json::Value* Required(const json::Value& obj, const char* name, const std::string& at) {
    const json::Value* v = json::Member(obj, name);
    bool empty = v == nullptr || v->IsNull() || (v->IsArray() && v->Empty()) ||
                 (v->IsString() && v->GetStringLength() == 0) || (v->IsObject() && v->ObjectEmpty());
    if (empty) {
      Fail(at + "." + name, "required");
      return nullptr;
    }
    return v;
  }
  void Code(const json::Value& obj, const char* name, const std::string& at,
            const std::set<std::string>& allowed, bool required) {
    const json::Value* v = required ? Required(obj, name, at) : json::Member(obj, name);
    if (v == nullptr) return;
    if (!v->IsString() || !allowed.count(v->GetString())) Fail(at + "." + name, "not in the required value set");
  }
  void Ref(const json::Value* ref, const std::string& at) {
    if (ref == nullptr) return;
    auto text = json::GetString(*ref, "reference");
    if (!text) {
      if (!json::GetString(*ref, "display")) Fail(at, "a Reference needs reference or display");
      return;
    }
    if (text->rfind("#", 0) == 0) return;
    if (!fhir::Reference::Parse(*text).ok()) Fail(at + ".reference", "malformed: " + std::string(*text));
  }
  void Refs(const json::Value* list, const std::string& at) {
    if (list == nullptr) return;
    if (!list->IsArray()) return Fail(at, "expected an array");
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) Ref(&(*list)[i], at + "[" + std::to_string(i) + "]");
  }
  void Fail(const std::string& at, const std::string& why) { problems_.push_back(at + ": " + why); }

  const json::Value& r_;
  std::string type_;
  Problems problems_;
};

void Common(Checker& c) {
  const json::Value& r = c.r_;
  if (const json::Value* meta = json::Member(r, "meta")) {
    if (const json::Value* sec = json::Member(*meta, "security")) {
      for (const auto& s : sec->GetArray()) {
        if (!json::GetString(s, "system") || !json::GetString(s, "code")) c.Fail(c.type_ + ".meta.security", "system and code");
      }
    }
  }
  if (const json::Value* ids = json::Member(r, "identifier")) {
    auto check = [&](const json::Value& id) {
      if (!json::GetString(id, "system") || !json::GetString(id, "value")) c.Fail(c.type_ + ".identifier", "system and value");
    };
    if (ids->IsArray()) for (const auto& id : ids->GetArray()) check(id);
    else check(*ids);
  }
}

void DocumentReference(Checker& c) {
  const std::string t = "DocumentReference";
  c.Code(c.r_, "status", t, {"current", "superseded", "entered-in-error"}, true);
  c.Code(c.r_, "docStatus", t, {"preliminary", "final", "amended", "entered-in-error"}, false);
  // US Core DocumentReference: type, category, subject are 1..; content.attachment has
  // contentType and data or url.
  c.Required(c.r_, "type", t);
  c.Required(c.r_, "category", t);
  c.Ref(c.Required(c.r_, "subject", t), t + ".subject");
  c.Refs(json::Member(c.r_, "author"), t + ".author");
  if (const json::Value* content = c.Required(c.r_, "content", t)) {
    for (const auto& e : content->GetArray()) {
      const json::Value* att = c.Required(e, "attachment", t + ".content");
      if (att == nullptr) continue;
      c.Required(*att, "contentType", t + ".content.attachment");
      if (!json::Member(*att, "data") && !json::Member(*att, "url")) c.Fail(t + ".content.attachment", "data or url");
    }
  }
  if (const json::Value* rel = json::Member(c.r_, "relatesTo")) {
    for (const auto& e : rel->GetArray()) {
      c.Code(e, "code", t + ".relatesTo", {"replaces", "transforms", "signs", "appends"}, true);
      c.Ref(c.Required(e, "target", t + ".relatesTo"), t + ".relatesTo.target");
    }
  }
  if (const json::Value* ctx = json::Member(c.r_, "context")) c.Refs(json::Member(*ctx, "encounter"), t + ".context.encounter");
}

void Composition(Checker& c) {
  const std::string t = "Composition";
  c.Code(c.r_, "status", t, {"preliminary", "final", "amended", "entered-in-error"}, true);
  c.Required(c.r_, "type", t);
  c.Required(c.r_, "date", t);
  c.Required(c.r_, "title", t);
  c.Refs(c.Required(c.r_, "author", t), t + ".author");
  c.Ref(json::Member(c.r_, "subject"), t + ".subject");
  if (const json::Value* sections = json::Member(c.r_, "section")) {
    for (const auto& s : sections->GetArray()) {
      if (const json::Value* text = json::Member(s, "text")) {
        c.Code(*text, "status", t + ".section.text", {"generated", "extensions", "additional", "empty"}, true);
        auto div = json::GetString(*text, "div");
        if (!div || div->rfind("<div xmlns=\"http://www.w3.org/1999/xhtml\"", 0) != 0) c.Fail(t + ".section.text.div", "xhtml div");
      }
    }
  }
}

void Appointment(Checker& c) {
  const std::string t = "Appointment";
  c.Code(c.r_, "status", t, {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
                             "noshow", "entered-in-error", "checked-in", "waitlist"}, true);
  if (const json::Value* parts = c.Required(c.r_, "participant", t)) {
    for (const auto& p : parts->GetArray()) {
      c.Code(p, "status", t + ".participant", {"accepted", "declined", "tentative", "needs-action"}, true);
      c.Code(p, "required", t + ".participant", {"required", "optional", "information-only"}, false);
      if (!json::Member(p, "actor") && !json::Member(p, "type")) c.Fail(t + ".participant", "app-1: type or actor");
      c.Ref(json::Member(p, "actor"), t + ".participant.actor");
    }
  }
  bool start = json::Member(c.r_, "start") != nullptr, end = json::Member(c.r_, "end") != nullptr;
  std::string status(json::GetString(c.r_, "status").value_or(""));
  if (start != end) c.Fail(t, "app-2: either start and end are specified, or neither");
  if (!(start && end) && status != "proposed" && status != "cancelled" && status != "waitlist") {
    c.Fail(t, "app-3: only proposed or cancelled appointments can be missing start/end dates");
  }
  if (json::Member(c.r_, "cancelationReason") && status != "cancelled" && status != "noshow") {
    c.Fail(t, "app-4: cancelation reason is only used for appointments that have been cancelled");
  }
  if (auto m = json::Member(c.r_, "minutesDuration"); m && (!m->IsInt() || m->GetInt() <= 0)) c.Fail(t + ".minutesDuration", "positiveInt");
}

void Payload(Checker& c, const std::string& t) {
  if (const json::Value* payload = json::Member(c.r_, "payload")) {
    for (const auto& p : payload->GetArray()) {
      if (!json::Member(p, "contentString") && !json::Member(p, "contentAttachment") &&
          !json::Member(p, "contentReference")) {
        c.Fail(t + ".payload", "content[x] required");
      }
    }
  }
  c.Ref(json::Member(c.r_, "subject"), t + ".subject");
  c.Ref(json::Member(c.r_, "sender"), t + ".sender");
  c.Refs(json::Member(c.r_, "recipient"), t + ".recipient");
}

void Communication(Checker& c) {
  c.Code(c.r_, "status", "Communication", {"preparation", "in-progress", "not-done", "on-hold", "stopped",
                                           "completed", "entered-in-error", "unknown"}, true);
  Payload(c, "Communication");
  c.Refs(json::Member(c.r_, "inResponseTo"), "Communication.inResponseTo");
}

void CommunicationRequest(Checker& c) {
  c.Code(c.r_, "status", "CommunicationRequest", {"draft", "active", "on-hold", "revoked", "completed",
                                                  "entered-in-error", "unknown"}, true);
  Payload(c, "CommunicationRequest");
  c.Refs(json::Member(c.r_, "about"), "CommunicationRequest.about");
}

void Device(Checker& c) {
  if (const json::Value* names = json::Member(c.r_, "deviceName")) {
    for (const auto& n : names->GetArray()) {
      c.Required(n, "name", "Device.deviceName");
      c.Code(n, "type", "Device.deviceName", {"udi-label-name", "user-friendly-name", "patient-reported-name",
                                              "manufacturer-name", "model-name", "other"}, true);
    }
  }
  if (const json::Value* versions = json::Member(c.r_, "version")) {
    for (const auto& v : versions->GetArray()) c.Required(v, "value", "Device.version");
  }
}

void Provenance(Checker& c) {
  const std::string t = "Provenance";
  c.Refs(c.Required(c.r_, "target", t), t + ".target");
  c.Required(c.r_, "recorded", t);
  if (const json::Value* agents = c.Required(c.r_, "agent", t)) {
    for (const auto& a : agents->GetArray()) c.Ref(c.Required(a, "who", t + ".agent"), t + ".agent.who");
  }
  if (const json::Value* entities = json::Member(c.r_, "entity")) {
    for (const auto& e : entities->GetArray()) {
      c.Code(e, "role", t + ".entity", {"derivation", "revision", "quotation", "source", "removal"}, true);
      c.Ref(c.Required(e, "what", t + ".entity"), t + ".entity.what");
    }
  }
}

}  // namespace

std::vector<std::string> CheckR4(const json::Value& resource) {
  std::string type(json::GetString(resource, "resourceType").value_or(""));
  Checker c(resource, type);
  Common(c);
  if (type == "DocumentReference") DocumentReference(c);
  else if (type == "Composition") Composition(c);
  else if (type == "Appointment") Appointment(c);
  else if (type == "Communication") Communication(c);
  else if (type == "CommunicationRequest") CommunicationRequest(c);
  else if (type == "Device") Device(c);
  else if (type == "Provenance") Provenance(c);
  else c.Fail(type.empty() ? "(no resourceType)" : type, "not a type the mapping engine emits");
  return c.problems_;
}

}  // namespace countersign::mappings::testing
