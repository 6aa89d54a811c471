// The rule-driven MappingEngine: validation (draft_validator), rules as data (rules.h),
// templates (template.h), and the parts every kind shares: AIAST labels, Countersign
// identifiers, conditional creates, If-Match updates, the AI Device and the Provenance.
#include "mappings/engine.h"

#include <chrono>
#include <ctime>
#include <set>

#include "fhir/bundle.h"
#include "fhir/json_patch.h"
#include "fhir/operation_outcome.h"
#include "fhir/query.h"
#include "fhir/resource.h"
#include "mappings/draft_validator.h"
#include "mappings/rules.h"
#include "mappings/template.h"

namespace countersign::mappings {
namespace {

constexpr const char* kParticipantTypeSystem =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

std::string NowInstant() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status InvalidDraft(const std::vector<fhir::OutcomeIssue>& issues) {
  std::string msg = "invalid draft: " + issues.front().diagnostics;
  if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more)";
  return Status::Error(ErrorKind::kInvalid, msg, 0, fhir::OperationOutcomeJson(issues));
}

Status OneIssue(const std::string& path, const std::string& why, const char* code = "invalid") {
  fhir::OutcomeIssue i;
  i.code = code;
  i.diagnostics = path + ": " + why;
  i.expression = {path};
  return InvalidDraft({i});
}

// AIAST and the Countersign business identifier on a mapped resource.
void Label(json::Value& r, const std::string& value, json::Allocator& a) {
  fhir::AddSecurityLabel(r, fhir::AiAssistedLabel(), a);
  fhir::Identifier id{kCountersignIdentifierSystem, value};
  auto type = fhir::ResourceType(r);
  if (type && *type == "Composition") {  // Composition.identifier is a single Identifier
    json::Value ident(rapidjson::kObjectType);
    json::SetString(ident, "system", id.system, a);
    json::SetString(ident, "value", id.value, a);
    json::Set(r, "identifier", std::move(ident), a);
    return;
  }
  fhir::AddIdentifier(r, id, a);
}

json::Value Reference(std::string_view ref, json::Allocator& a, std::string_view display = {}) {
  json::Value v(rapidjson::kObjectType);
  json::SetString(v, "reference", ref, a);
  if (!display.empty()) json::SetString(v, "display", display, a);
  return v;
}

class RuleEngine : public MappingEngine {
 public:
  RuleEngine(std::vector<Rule> rules, std::map<std::string, size_t> selected)
      : rules_(std::move(rules)), selected_(std::move(selected)) {
    for (const auto& [kind, _] : selected_) kinds_.insert(kind);
  }

  std::string ProfileFor(std::string_view kind) const override {
    auto it = selected_.find(std::string(kind));
    return it == selected_.end() ? std::string() : rules_[it->second].profile;
  }

  Result<MappedDraft> Map(std::string_view draft_json, const MapContext& ctx) const override {
    if (ctx.proposal_id.empty()) return Status::Internal("MapContext.proposal_id is required");
    auto parsed = json::Parse(draft_json, 64);
    if (!parsed.ok()) return OneIssue("draft", parsed.status().message(), "structure");
    const json::Value& draft = *parsed;
    std::vector<fhir::OutcomeIssue> issues = ValidateDraft(draft, kinds_);
    const Rule* rule = nullptr;
    const RuleAction* action = nullptr;
    if (auto kind = json::GetString(draft, "kind"); kind && kinds_.count(std::string(*kind))) {
      rule = &rules_[selected_.at(std::string(*kind))];
      auto name = json::GetString(draft, "action");
      if (name) {
        auto it = rule->actions.find(std::string(*name));
        if (it == rule->actions.end()) {
          std::string known;
          for (const auto& [n, _] : rule->actions) known += (known.empty() ? "" : ", ") + n;
          fhir::OutcomeIssue i;
          i.diagnostics = "draft.action: \"" + std::string(*name) + "\" is not an action of a " +
                          rule->kind + " (profile " + rule->profile + "): " + known;
          i.expression = {"draft.action"};
          issues.push_back(i);
        } else {
          action = &it->second;
          auto more = ValidateForAction(draft, *action);
          issues.insert(issues.end(), more.begin(), more.end());
        }
      }
    }
    if (!issues.empty()) return InvalidDraft(issues);
    // Validation found a rule and an action for every draft it passes; should the two ever
    // disagree, the draft is refused rather than mapped by guesswork.
    if (rule == nullptr || action == nullptr) {
      return OneIssue("draft.kind", "no mapping rule and action for this kind and action");
    }
    if (!json::Member(draft, "content") || !draft["content"].IsObject() ||
        !json::Member(draft, "ai") || !draft["ai"].IsObject()) {
      return OneIssue("draft", "content and ai must be objects", "structure");
    }

    // The context templates see: the draft, with documented defaults filled in.
    json::Document scope;
    scope.CopyFrom(draft, scope.GetAllocator());
    auto& sa = scope.GetAllocator();
    json::Value& content = scope["content"];
    if (!content.HasMember("format")) json::SetString(content, "format", "text/plain", sa);
    const std::string now = ctx.recorded_time.empty() ? NowInstant() : ctx.recorded_time;
    json::SetString(scope, "now", now, sa);

    json::Document base;
    if (action->needs_target) {
      auto loaded = LoadBase(draft, ctx, &base);
      if (!loaded.ok()) return loaded;
    }

    MappedDraft m;
    m.kind = rule->kind;
    m.action = std::string(json::GetString(draft, "action").value_or(""));
    m.patient = std::string(json::GetString(draft, "patient").value_or(""));
    m.encounter = std::string(json::GetString(draft, "encounter").value_or(""));
    m.idempotency_key = std::string(json::GetString(draft, "idempotency_key").value_or(""));
    m.requested_owner = std::string(json::GetString(draft, "requested_owner").value_or(""));
    m.profile = rule->profile;
    m.patches.SetArray();

    fhir::BundleBuilder b(fhir::BundleType::kTransaction);
    auto& a = b.allocator();
    std::vector<std::string> targets;
    size_t index = 0;
    for (const RuleWrite& w : action->writes) {
      std::string ident = ctx.proposal_id + "/" + std::to_string(index);
      if (w.op == "create") {
        json::Value r = Render(w.tmpl, scope, a);
        if (!r.IsObject()) return Status::Internal("rule " + rule->file + " rendered no resource");
        Label(r, ident, a);
        std::string type(fhir::ResourceType(r).value_or(""));
        targets.push_back(b.AddCreate(
            std::move(r), fhir::IdentifierCondition({kCountersignIdentifierSystem, ident})));
      } else {
        // Remove first, then set: a rule can clear a member and set it again only when the draft
        // gives a value (a reschedule without minutesDuration must not keep the old one).
        json::Value next(base, a);
        for (const auto& name : w.remove) json::Remove(next, name);
        json::Value set = Render(w.tmpl, scope, a);
        if (set.IsObject()) {
          for (auto& member : set.GetObject()) {
            json::Set(next, std::string_view(member.name.GetString(), member.name.GetStringLength()),
                      json::Value(member.value, a), a);
          }
        }
        Label(next, ident, a);
        std::string version(fhir::VersionId(base).value_or(""));
        std::string type(fhir::ResourceType(base).value_or(""));
        std::string id(fhir::ResourceId(base).value_or(""));
        json::Document patch = fhir::DiffJsonPatch(base, next);
        auto full_url = b.AddUpdate(std::move(next), version);
        if (!full_url.ok()) return full_url.status();
        targets.push_back(type + "/" + id + "/_history/" + version);
        auto& pa = m.patches.GetAllocator();
        json::Value item(rapidjson::kObjectType);
        json::SetString(item, "fullUrl", *full_url, pa);
        json::SetString(item, "target", type + "/" + id, pa);
        json::SetString(item, "baseVersion", version, pa);
        json::Set(item, "patch", json::Value(patch, pa), pa);
        m.patches.PushBack(item, pa);
      }
      ++index;
    }
    AddDeviceAndProvenance(draft, now, targets, b);
    m.bundle = b.Release();
    m.draft.CopyFrom(draft, m.draft.GetAllocator());
    return m;
  }

 private:
  // The update's base version: embedded in the draft, or read through resolve_base.
  static Status LoadBase(const json::Value& draft, const MapContext& ctx, json::Document* base) {
    const json::Value* target_member = json::Member(draft, "target");
    if (target_member == nullptr || !target_member->IsObject()) {
      return OneIssue("draft.target", "required for this action: {reference, version}", "required");
    }
    const json::Value& target = *target_member;
    std::string ref(json::GetString(target, "reference").value_or(""));
    std::string version(json::GetString(target, "version").value_or(""));
    if (const json::Value* res = json::Member(target, "resource")) {
      base->CopyFrom(*res, base->GetAllocator());
    } else if (ctx.resolve_base) {
      auto parsed = fhir::Reference::Parse(ref);
      if (!parsed.ok()) return OneIssue("draft.target.reference", parsed.status().message());
      parsed->version_id = version;
      auto read = ctx.resolve_base(*parsed);
      if (!read.ok()) {
        if (read.status().IsNotFound() || read.status().IsGone()) {
          return OneIssue("draft.target", "version " + version + " of " + ref +
                                              " does not exist on the FHIR server", "not-found");
        }
        return read.status();  // the server is unavailable: not the draft's fault
      }
      *base = std::move(read).value();
    } else {
      return OneIssue("draft.target.resource",
                      "missing, and no FHIR server is configured to read the base version",
                      "required");
    }
    auto named = fhir::Reference::Parse(ref);  // validated with the draft
    if (!named.ok() || std::string(fhir::ResourceType(*base).value_or("")) + "/" +
                               std::string(fhir::ResourceId(*base).value_or("")) != named->Relative()) {
      return OneIssue("draft.target.reference", "the base resource read for it is another resource");
    }
    std::string found(fhir::VersionId(*base).value_or(""));
    if (found != version) {
      return OneIssue("draft.target.version", "the base resource is at version " +
                                                  (found.empty() ? std::string("(none)") : found) +
                                                  ", the draft says " + version);
    }
    return Status::Ok();
  }

  static void AddDeviceAndProvenance(const json::Value& draft, const std::string& now,
                                     const std::vector<std::string>& targets,
                                     fhir::BundleBuilder& b) {
    auto& a = b.allocator();
    const json::Value& ai = draft["ai"];
    std::string model(json::GetString(ai, "model").value_or(""));
    std::string version(json::GetString(ai, "version").value_or(""));
    std::string vendor(json::GetString(ai, "vendor").value_or(""));
    std::string device_id = vendor + "/" + model + "/" + version;

    json::Value device(rapidjson::kObjectType);
    json::SetString(device, "resourceType", "Device", a);
    fhir::AddIdentifier(device, {kAiDeviceIdentifierSystem, device_id}, a);
    json::Value names(rapidjson::kArrayType);
    json::Value name(rapidjson::kObjectType);
    json::SetString(name, "name", model, a);
    json::SetString(name, "type", "model-name", a);
    names.PushBack(name, a);
    json::Set(device, "deviceName", std::move(names), a);
    json::Value versions(rapidjson::kArrayType);
    json::Value v(rapidjson::kObjectType);
    json::SetString(v, "value", version, a);
    versions.PushBack(v, a);
    json::Set(device, "version", std::move(versions), a);
    json::SetString(device, "manufacturer", vendor, a);
    // Escaped and encoded (query.h): vendor names hold spaces, commas, '&', '+' and non-ASCII.
    std::string device_url = b.AddCreate(
        std::move(device), fhir::IdentifierCondition({kAiDeviceIdentifierSystem, device_id}));

    json::Value prov(rapidjson::kObjectType);
    json::SetString(prov, "resourceType", "Provenance", a);
    fhir::AddSecurityLabel(prov, fhir::AiAssistedLabel(), a);
    json::Value tv(rapidjson::kArrayType);
    for (const auto& t : targets) tv.PushBack(Reference(t, a), a);
    json::Set(prov, "target", std::move(tv), a);
    json::SetString(prov, "recorded", now, a);
    json::Value reasons(rapidjson::kArrayType);
    reasons.PushBack(fhir::CodeableConceptJson(fhir::AiAssistedLabel(), a), a);
    json::Set(prov, "reason", std::move(reasons), a);
    json::Value agents(rapidjson::kArrayType);
    json::Value agent(rapidjson::kObjectType);
    json::Set(agent, "type", fhir::CodeableConceptJson({kParticipantTypeSystem, "author", "Author"}, a), a);
    json::Set(agent, "who", Reference(device_url, a, model + " " + version), a);
    agents.PushBack(agent, a);
    json::Set(prov, "agent", std::move(agents), a);
    if (const json::Value* prompt = json::Member(ai, "prompt")) {
      // The input the AI worked from: by reference, or its text as the entity's display.
      json::Value entities(rapidjson::kArrayType);
      json::Value entity(rapidjson::kObjectType);
      json::SetString(entity, "role", "derivation", a);
      json::Value what(rapidjson::kObjectType);
      if (auto ref = json::GetString(*prompt, "reference")) {
        json::SetString(what, "reference", *ref, a);
      } else {
        json::SetString(what, "display", json::GetString(*prompt, "text").value_or(""), a);
      }
      json::Set(entity, "what", std::move(what), a);
      entities.PushBack(entity, a);
      json::Set(prov, "entity", std::move(entities), a);
    }
    b.AddCreate(std::move(prov));
  }

  std::vector<Rule> rules_;
  std::map<std::string, size_t> selected_;  // kind -> index in rules_
  std::set<std::string> kinds_;
};

}  // namespace

Result<std::unique_ptr<MappingEngine>> MappingEngine::Load(const std::string& rules_dir,
                                                           const ProfileSelection& selection) {
  auto rules = LoadRules(rules_dir);
  if (!rules.ok()) return rules.status();
  return FromRules(std::move(rules).value(), selection);
}

Result<std::unique_ptr<MappingEngine>> MappingEngine::FromRules(std::vector<Rule> parsed,
                                                                const ProfileSelection& selection) {
  if (parsed.empty()) return Status::Invalid("mapping rules: none given");
  const std::vector<Rule>* rules = &parsed;
  std::map<std::string, std::vector<size_t>> by_kind;
  for (size_t i = 0; i < rules->size(); ++i) by_kind[(*rules)[i].kind].push_back(i);
  for (const auto& [kind, profile] : selection) {
    if (!by_kind.count(kind)) return Status::Invalid("profile selection names unknown kind " + kind);
  }
  std::map<std::string, size_t> selected;
  for (const auto& [kind, indexes] : by_kind) {
    auto chosen = selection.find(kind);
    std::optional<size_t> pick;
    for (size_t i : indexes) {
      const Rule& r = (*rules)[i];
      bool match = chosen != selection.end() ? r.profile == chosen->second
                                             : (r.is_default || indexes.size() == 1);
      if (!match) continue;
      if (pick) {
        return Status::Invalid(r.file + ": kind " + kind + " has more than one " +
                               (chosen != selection.end() ? "rule with profile " + chosen->second
                                                          : std::string("default rule")));
      }
      pick = i;
    }
    if (!pick) {
      return Status::Invalid(chosen != selection.end()
                                 ? "no rule file has kind " + kind + " and profile " + chosen->second
                                 : "kind " + kind + " has several rule files and none is \"default\": true");
    }
    selected[kind] = *pick;
  }
  return std::unique_ptr<MappingEngine>(new RuleEngine(std::move(parsed), std::move(selected)));
}

}  // namespace countersign::mappings
