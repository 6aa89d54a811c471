#include "plugin/core/guardrails.h"

#include <algorithm>

#include "fhir/bundle.h"
#include "fhir/resource.h"
#include "plugin/core/principals.h"

namespace countersign::core {

namespace {

Status ReadInt(const json::Value& obj, const char* name, const std::string& at, int64_t& out) {
  const json::Value* v = json::Member(obj, name);
  if (!v) return Status::Ok();
  if (!v->IsInt64() || v->GetInt64() <= 0) {
    return Status::Invalid(at + "." + name + " must be a positive integer");
  }
  out = v->GetInt64();
  return Status::Ok();
}

Status ReadTypeLists(const json::Value& obj, const char* name, const std::string& at,
                     std::map<std::string, std::vector<std::string>, std::less<>>& out) {
  const json::Value* v = json::Member(obj, name);
  if (!v) return Status::Ok();
  if (!v->IsObject()) return Status::Invalid(at + "." + name + " must be an object");
  for (const auto& m : v->GetObject()) {
    std::string type(m.name.GetString(), m.name.GetStringLength());
    if (!m.value.IsArray()) return Status::Invalid(at + "." + name + "." + type + " must be an array");
    std::vector<std::string> items;
    for (const auto& s : m.value.GetArray()) {
      if (!s.IsString()) return Status::Invalid(at + "." + name + "." + type + " must hold strings");
      items.emplace_back(s.GetString(), s.GetStringLength());
    }
    out[type] = std::move(items);
  }
  return Status::Ok();
}

bool PathAllowed(std::string_view path, const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    if (path == p) return true;
    if (path.size() > p.size() && path.substr(0, p.size()) == p && path[p.size()] == '/') return true;
  }
  return false;
}

// Largest string (member names included) anywhere in v; iterative.
size_t LongestString(const json::Value& root) {
  size_t longest = 0;
  std::vector<const json::Value*> stack{&root};
  while (!stack.empty()) {
    const json::Value* v = stack.back();
    stack.pop_back();
    if (v->IsString()) {
      longest = std::max<size_t>(longest, v->GetStringLength());
    } else if (v->IsArray()) {
      for (const auto& e : v->GetArray()) stack.push_back(&e);
    } else if (v->IsObject()) {
      for (const auto& m : v->GetObject()) {
        longest = std::max<size_t>(longest, m.name.GetStringLength());
        stack.push_back(&m.value);
      }
    }
  }
  return longest;
}

fhir::OutcomeIssue Issue(std::string code, std::string text, std::string expression) {
  fhir::OutcomeIssue i;
  i.code = std::move(code);
  i.diagnostics = std::move(text);
  if (!expression.empty()) i.expression.push_back(std::move(expression));
  return i;
}

}  // namespace

Result<Guardrails> Guardrails::Parse(std::string_view text) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return Status::Invalid("guardrails: " + doc.status().message());
  const std::string root = "guardrails: $";
  if (!doc->IsObject()) return Status::Invalid(root + " must be an object");
  KindGuardrails defaults;
  if (const json::Value* d = json::Member(*doc, "defaults")) {
    CS_RETURN_IF_ERROR(ReadInt(*d, "max_entries", root + ".defaults", defaults.max_entries));
    CS_RETURN_IF_ERROR(ReadInt(*d, "max_text_bytes", root + ".defaults", defaults.max_text_bytes));
    CS_RETURN_IF_ERROR(ReadInt(*d, "max_bundle_bytes", root + ".defaults", defaults.max_bundle_bytes));
  }
  const json::Value* kinds = json::Member(*doc, "kinds");
  if (!kinds || !kinds->IsObject()) return Status::Invalid(root + ".kinds must be an object");
  Guardrails g;
  for (const auto& m : kinds->GetObject()) {
    std::string kind(m.name.GetString(), m.name.GetStringLength());
    std::string at = root + ".kinds." + kind;
    if (!m.value.IsObject()) return Status::Invalid(at + " must be an object");
    KindGuardrails k = defaults;
    CS_RETURN_IF_ERROR(ReadTypeLists(m.value, "interactions", at, k.interactions));
    CS_RETURN_IF_ERROR(ReadTypeLists(m.value, "update_paths", at, k.update_paths));
    for (const auto& [type, list] : k.interactions) {
      for (const auto& i : list) {
        if (i != "create" && i != "update" && i != "patch" && i != "delete") {
          return Status::Invalid(at + ".interactions." + type + ": unknown interaction " + i);
        }
      }
    }
    for (const auto& [type, list] : k.update_paths) {
      for (const auto& p : list) {
        if (p.empty() || p[0] != '/') {
          return Status::Invalid(at + ".update_paths." + type + ": " + p + " is not a JSON pointer");
        }
      }
    }
    k.allow_delete = json::GetBool(m.value, "allow_delete").value_or(false);
    CS_RETURN_IF_ERROR(ReadInt(m.value, "max_entries", at, k.max_entries));
    CS_RETURN_IF_ERROR(ReadInt(m.value, "max_text_bytes", at, k.max_text_bytes));
    CS_RETURN_IF_ERROR(ReadInt(m.value, "max_bundle_bytes", at, k.max_bundle_bytes));
    g.kinds_.emplace(kind, std::move(k));
  }
  return g;
}

Result<Guardrails> Guardrails::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto g = Parse(*text);
  if (!g.ok()) return Status::Invalid(path + ": " + g.status().message());
  return g;
}

std::vector<fhir::OutcomeIssue> Guardrails::Violations(std::string_view kind,
                                                       const json::Value& bundle,
                                                       const json::Value& patches) const {
  std::vector<fhir::OutcomeIssue> out;
  auto kit = kinds_.find(kind);
  if (kit == kinds_.end()) {
    out.push_back(Issue("forbidden", "no guardrails configured for kind " + std::string(kind),
                        "kind"));
    return out;
  }
  const KindGuardrails& g = kit->second;
  auto entries = fhir::ReadEntries(bundle);
  if (!entries.ok()) {
    out.push_back(Issue("structure", entries.status().message(), "Bundle"));
    return out;
  }
  if (auto type = json::GetString(bundle, "type"); !type || *type != "transaction") {
    out.push_back(Issue("structure", "the pending Bundle must be a transaction", "Bundle.type"));
  }
  if (static_cast<int64_t>(entries->size()) > g.max_entries) {
    out.push_back(Issue("too-costly",
                        "the Bundle has " + std::to_string(entries->size()) +
                            " entries; at most " + std::to_string(g.max_entries) + " are allowed",
                        "Bundle.entry"));
  }
  size_t bundle_bytes = json::Stringify(bundle).size();
  if (static_cast<int64_t>(bundle_bytes) > g.max_bundle_bytes) {
    out.push_back(Issue("too-long",
                        "the Bundle is " + std::to_string(bundle_bytes) + " bytes; at most " +
                            std::to_string(g.max_bundle_bytes) + " are allowed",
                        "Bundle"));
  }
  const json::Value* patch_list = patches.IsArray() ? &patches : nullptr;
  for (size_t i = 0; i < entries->size(); ++i) {
    const fhir::BundleEntryView& e = (*entries)[i];
    std::string at = "Bundle.entry[" + std::to_string(i) + "]";
    const char* interaction = fhir::InteractionForMethod(e.request.method);
    std::string type;
    if (e.resource) type = std::string(fhir::ResourceType(*e.resource).value_or(""));
    if (type.empty()) type = e.request.url.substr(0, e.request.url.find_first_of("/?"));
    if (!interaction) {
      out.push_back(Issue("forbidden", "request method " + e.request.method + " is not allowed",
                          at + ".request.method"));
      continue;
    }
    std::string inter(interaction);
    auto allowed = g.interactions.find(type);
    bool listed = allowed != g.interactions.end() &&
                  std::find(allowed->second.begin(), allowed->second.end(), inter) !=
                      allowed->second.end();
    if (inter == "delete" && !(g.allow_delete && listed)) {
      out.push_back(Issue("forbidden",
                          "delete of " + e.request.url + " is not allowed for " +
                              std::string(kind) + " proposals",
                          at + ".request"));
      continue;
    }
    if (!listed) {
      out.push_back(Issue("forbidden",
                          inter + " of " + (type.empty() ? "?" : type) + " is not allowed for " +
                              std::string(kind) + " proposals",
                          at + ".request"));
      continue;
    }
    if (e.resource) {
      size_t longest = LongestString(*e.resource);
      if (static_cast<int64_t>(longest) > g.max_text_bytes) {
        out.push_back(Issue("too-long",
                            "a text of " + std::to_string(longest) + " bytes exceeds the limit of " +
                                std::to_string(g.max_text_bytes),
                            at + ".resource"));
      }
    }
    if (inter == "update" || inter == "patch") {
      const json::Value* patch = nullptr;
      if (patch_list) {
        for (const auto& p : patch_list->GetArray()) {
          auto full_url = json::GetString(p, "fullUrl");
          auto target = json::GetString(p, "target");
          if ((full_url && *full_url == e.full_url) || (target && *target == e.request.url)) {
            patch = json::Member(p, "patch");
            break;
          }
        }
      }
      if (!patch || !patch->IsArray()) {
        out.push_back(Issue("forbidden",
                            "update of " + e.request.url + " has no reviewable patch", at));
        continue;
      }
      auto paths = g.update_paths.find(type);
      for (rapidjson::SizeType k = 0; k < patch->Size(); ++k) {
        const json::Value& op = (*patch)[k];
        auto name = json::GetString(op, "op");
        if (name && *name == "test") continue;
        for (const char* field : {"path", "from"}) {
          auto path = json::GetString(op, field);
          if (!path) continue;
          if (paths == g.update_paths.end() || !PathAllowed(*path, paths->second)) {
            out.push_back(Issue("forbidden",
                                "an update of " + type + " may not touch " + std::string(*path),
                                at + " patch[" + std::to_string(k) + "]." + field));
          }
        }
      }
    }
  }
  return out;
}

Status Guardrails::Check(std::string_view kind, const json::Value& bundle,
                         const json::Value& patches) const {
  auto issues = Violations(kind, bundle, patches);
  if (issues.empty()) return Status::Ok();
  std::string msg = "guardrails refused the proposal: " + issues.front().diagnostics;
  if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more)";
  return Status::Error(ErrorKind::kForbidden, msg, 0, fhir::OperationOutcomeJson(issues));
}

}  // namespace countersign::core
