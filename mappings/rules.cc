#include "mappings/rules.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fhir/reference.h"
#include "fhir/resource.h"
#include "mappings/draft_validator.h"
#include "mappings/template.h"

namespace countersign::mappings {
namespace {

Status Bad(const std::string& file, const std::string& path, const std::string& why) {
  return Status::Invalid(file + ": " + path + ": " + why);
}

Status ParseWrite(const std::string& file, const std::string& at, const json::Value& w,
                  RuleWrite* out) {
  if (!w.IsObject()) return Bad(file, at, "expected an object");
  for (const auto& m : w.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name != "op" && name != "template" && name != "set" && name != "remove" && name != "$comment") {
      return Bad(file, at + "." + name, "unknown key");
    }
  }
  auto op = json::GetString(w, "op");
  if (!op || (*op != "create" && *op != "update-target")) {
    return Bad(file, at + ".op", "must be \"create\" or \"update-target\"");
  }
  out->op = std::string(*op);
  const char* body = out->op == "create" ? "template" : "set";
  const json::Value* t = json::Member(w, body);
  if (!t || !t->IsObject()) return Bad(file, at + "." + body, "expected an object");
  if (out->op == "create") {
    auto type = json::GetString(*t, "resourceType");
    if (!type || !fhir::IsValidResourceType(*type)) {
      return Bad(file, at + ".template.resourceType", "expected a FHIR resource type");
    }
    if (t->HasMember("id") || t->HasMember("meta")) {
      return Bad(file, at + ".template", "id and meta are set by Countersign, not by rules");
    }
  } else if (t->HasMember("resourceType") || t->HasMember("id") || t->HasMember("meta")) {
    return Bad(file, at + ".set", "resourceType, id and meta of the target cannot be set");
  }
  std::vector<PlaceholderUse> uses;
  std::vector<std::string> errors;
  CollectPlaceholders(*t, at + "." + body, &uses, &errors);
  if (!errors.empty()) return Status::Invalid(file + ": " + errors.front());
  for (const auto& use : uses) {
    if (!IsDraftPath(use.path, use.each)) {
      return Bad(file, use.at, "\"" + use.path + "\" is not a field of the draft format" +
                                   (use.each.empty() ? std::string() : " (nor of an element of " + use.each + ")"));
    }
  }
  out->tmpl.CopyFrom(*t, out->tmpl.GetAllocator());
  if (const json::Value* r = json::Member(w, "remove")) {
    if (out->op != "update-target" || !r->IsArray()) {
      return Bad(file, at + ".remove", "an array of member names, for update-target only");
    }
    for (rapidjson::SizeType i = 0; i < r->Size(); ++i) {
      const json::Value& name = (*r)[i];
      std::string name_at = at + ".remove[" + std::to_string(i) + "]";
      if (!name.IsString() || name.GetStringLength() == 0) return Bad(file, name_at, "expected a member name");
      std::string n(name.GetString(), name.GetStringLength());
      if (n == "resourceType" || n == "id" || n == "meta") {
        return Bad(file, name_at, "resourceType, id and meta of the target cannot be removed");
      }
      out->remove.push_back(std::move(n));
    }
  }
  return Status::Ok();
}

Status ParseAction(const std::string& file, const std::string& at, const json::Value& a,
                   RuleAction* out) {
  if (!a.IsObject()) return Bad(file, at, "expected an object");
  for (const auto& m : a.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name != "required" && name != "target" && name != "writes" && name != "$comment") {
      return Bad(file, at + "." + name, "unknown key");
    }
  }
  if (const json::Value* r = json::Member(a, "required")) {
    if (!r->IsArray()) return Bad(file, at + ".required", "expected an array of draft paths");
    for (rapidjson::SizeType i = 0; i < r->Size(); ++i) {
      std::string item_at = at + ".required[" + std::to_string(i) + "]";
      if (!(*r)[i].IsString()) return Bad(file, item_at, "expected a draft path (\"a|b\": one of)");
      std::vector<std::string> alternatives;
      std::string_view text((*r)[i].GetString(), (*r)[i].GetStringLength());
      while (true) {
        size_t bar = text.find('|');
        std::string path(text.substr(0, bar));
        if (!IsDraftPath(path) || path == "now") {
          return Bad(file, item_at, "\"" + path + "\" is not a field of the draft format");
        }
        alternatives.push_back(std::move(path));
        if (bar == std::string_view::npos) break;
        text = text.substr(bar + 1);
      }
      out->required.push_back(std::move(alternatives));
    }
  }
  if (const json::Value* t = json::Member(a, "target")) {
    if (t->IsBool()) {
      out->needs_target = t->GetBool();
    } else if (t->IsString() && fhir::IsValidResourceType(*json::StringOf(*t))) {
      out->needs_target = true;
      out->target_type = std::string(*json::StringOf(*t));
    } else {
      return Bad(file, at + ".target", "expected true, false or the target's resource type");
    }
  }
  const json::Value* writes = json::Member(a, "writes");
  if (!writes || !writes->IsArray() || writes->Empty()) {
    return Bad(file, at + ".writes", "expected a non-empty array");
  }
  for (rapidjson::SizeType i = 0; i < writes->Size(); ++i) {
    RuleWrite w;
    CS_RETURN_IF_ERROR(ParseWrite(file, at + ".writes[" + std::to_string(i) + "]", (*writes)[i], &w));
    if (w.op == "update-target") out->needs_target = true;
    out->writes.push_back(std::move(w));
  }
  return Status::Ok();
}

}  // namespace

Result<Rule> ParseRule(const std::string& file, std::string_view text) {
  auto doc = json::Parse(text, 64);
  if (!doc.ok()) return Status::Invalid(file + ": not JSON: " + doc.status().message());
  if (!doc->IsObject()) return Bad(file, "$", "expected an object");
  Rule rule;
  rule.file = file;
  for (const auto& m : doc->GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name != "kind" && name != "profile" && name != "default" && name != "actions" &&
        name != "$comment") {
      return Bad(file, "$." + name, "unknown key");
    }
  }
  auto kind = json::GetString(*doc, "kind");
  if (!kind || kind->empty()) return Bad(file, "$.kind", "required string");
  auto profile = json::GetString(*doc, "profile");
  if (!profile || profile->empty()) return Bad(file, "$.profile", "required string");
  rule.kind = std::string(*kind);
  rule.profile = std::string(*profile);
  if (const json::Value* d = json::Member(*doc, "default")) {
    if (!d->IsBool()) return Bad(file, "$.default", "expected a boolean");
    rule.is_default = d->GetBool();
  }
  const json::Value* actions = json::Member(*doc, "actions");
  if (!actions || !actions->IsObject() || actions->ObjectEmpty()) {
    return Bad(file, "$.actions", "expected a non-empty object");
  }
  for (const auto& m : actions->GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    RuleAction action;
    CS_RETURN_IF_ERROR(ParseAction(file, "$.actions." + name, m.value, &action));
    rule.actions.emplace(name, std::move(action));
  }
  return rule;
}

Result<std::vector<Rule>> LoadRules(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") files.push_back(it->path().string());
  }
  if (ec) return Status::IoError("mapping rules " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Rule> rules;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    if (!in && !in.eof()) return Status::IoError("cannot read " + f);
    auto rule = ParseRule(fs::path(f).filename().string(), s.str());
    if (!rule.ok()) return rule.status();
    rules.push_back(std::move(rule).value());
  }
  if (rules.empty()) return Status::Invalid("mapping rules " + dir + ": no rule files (*.json)");
  return rules;
}

}  // namespace countersign::mappings
