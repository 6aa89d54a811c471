#include "mappings/template.h"

#include "fhir/bundle.h"

namespace countersign::mappings {
namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";

struct Placeholder {
  std::string transform;  // "" or "base64"
  std::string path;
};

bool ParsePlaceholder(std::string_view inner, Placeholder* out) {
  size_t colon = inner.find(':');
  if (colon != std::string_view::npos) {
    out->transform = std::string(inner.substr(0, colon));
    inner = inner.substr(colon + 1);
  }
  if (inner.empty()) return false;
  for (char c : inner) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_')) return false;
  }
  out->path = std::string(inner);
  return out->transform.empty() || out->transform == "base64" || out->transform == "xhtml";
}

// A string that is exactly one placeholder.
bool WholePlaceholder(std::string_view s, Placeholder* p) {
  if (s.size() < 5 || s.substr(0, 2) != kOpen || s.substr(s.size() - 2) != kClose) return false;
  std::string_view inner = s.substr(2, s.size() - 4);
  if (inner.find(kOpen) != std::string_view::npos) return false;
  return ParsePlaceholder(inner, p);
}

// The rendered text of one placeholder inside a larger string; false when absent.
bool Text(const Placeholder& p, const json::Value& context, std::string* out) {
  const json::Value* v = Lookup(context, p.path);
  if (v == nullptr || v->IsNull()) return false;
  std::string s;
  if (v->IsString()) s.assign(v->GetString(), v->GetStringLength());
  else s = json::Stringify(*v);
  if (p.transform == "base64") {
    *out = fhir::Base64Encode(s);
  } else if (p.transform == "xhtml") {
    out->clear();
    for (char c : s) {
      if (c == '&') *out += "&amp;";
      else if (c == '<') *out += "&lt;";
      else if (c == '>') *out += "&gt;";
      else *out += c;
    }
  } else {
    *out = s;
  }
  return true;
}

}  // namespace

const json::Value* Lookup(const json::Value& context, std::string_view path) {
  const json::Value* cur = &context;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    if (!cur->IsObject()) return nullptr;
    cur = json::Member(*cur, name);
    if (cur == nullptr) return nullptr;
    if (dot == std::string_view::npos) break;
    path = path.substr(dot + 1);
  }
  return cur;
}

json::Value Render(const json::Value& tmpl, const json::Value& context, json::Allocator& alloc) {
  if (tmpl.IsString()) {
    std::string_view s(tmpl.GetString(), tmpl.GetStringLength());
    Placeholder p;
    if (WholePlaceholder(s, &p)) {
      const json::Value* v = Lookup(context, p.path);
      if (v == nullptr || v->IsNull()) return json::Value();
      if (!p.transform.empty()) {
        std::string text;
        Text(p, context, &text);
        return json::String(text, alloc);
      }
      return json::Value(*v, alloc);
    }
    std::string out;
    size_t pos = 0;
    while (true) {
      size_t open = s.find(kOpen, pos);
      if (open == std::string_view::npos) break;
      size_t close = s.find(kClose, open + 2);
      if (close == std::string_view::npos) break;
      Placeholder inner;
      if (!ParsePlaceholder(s.substr(open + 2, close - open - 2), &inner)) break;
      std::string text;
      if (!Text(inner, context, &text)) return json::Value();  // a part is missing: drop all
      out.append(s.substr(pos, open - pos));
      out += text;
      pos = close + 2;
    }
    out.append(s.substr(pos));
    return json::String(out, alloc);
  }
  if (tmpl.IsObject()) {
    json::Value obj(rapidjson::kObjectType);
    for (const auto& m : tmpl.GetObject()) {
      json::Value v = Render(m.value, context, alloc);
      if (v.IsNull()) continue;
      obj.AddMember(json::Value(m.name, alloc), v, alloc);
    }
    if (obj.ObjectEmpty()) return json::Value();
    return obj;
  }
  if (tmpl.IsArray()) {
    json::Value arr(rapidjson::kArrayType);
    for (const auto& item : tmpl.GetArray()) {
      auto each = item.IsObject() ? json::GetString(item, "$each") : std::nullopt;
      const json::Value* body = item.IsObject() ? json::Member(item, "$template") : nullptr;
      if (each && body) {
        // One element per entry of the array at `each`, rendered with that entry as "item".
        const json::Value* list = Lookup(context, *each);
        if (list == nullptr || !list->IsArray()) continue;
        for (const auto& element : list->GetArray()) {
          json::Document scope;
          scope.CopyFrom(context, scope.GetAllocator());
          json::Set(scope, "item", json::Value(element, scope.GetAllocator()), scope.GetAllocator());
          json::Value v = Render(*body, scope, alloc);
          if (!v.IsNull()) arr.PushBack(v, alloc);
        }
        continue;
      }
      json::Value v = Render(item, context, alloc);
      if (!v.IsNull()) arr.PushBack(v, alloc);
    }
    if (arr.Empty()) return json::Value();
    return arr;
  }
  return json::Value(tmpl, alloc);
}

void CollectPlaceholders(const json::Value& tmpl, const std::string& at,
                         std::vector<std::string>* paths, std::vector<std::string>* errors) {
  if (tmpl.IsString()) {
    std::string_view s(tmpl.GetString(), tmpl.GetStringLength());
    size_t pos = 0;
    while ((pos = s.find(kOpen, pos)) != std::string_view::npos) {
      size_t close = s.find(kClose, pos + 2);
      Placeholder p;
      if (close == std::string_view::npos ||
          !ParsePlaceholder(s.substr(pos + 2, close - pos - 2), &p)) {
        errors->push_back(at + ": malformed placeholder in \"" + std::string(s) + "\"");
        return;
      }
      paths->push_back(p.path);
      pos = close + 2;
    }
  } else if (tmpl.IsObject()) {
    for (const auto& m : tmpl.GetObject()) {
      CollectPlaceholders(m.value, at + "." + std::string(m.name.GetString(), m.name.GetStringLength()),
                          paths, errors);
    }
  } else if (tmpl.IsArray()) {
    for (rapidjson::SizeType i = 0; i < tmpl.Size(); ++i) {
      CollectPlaceholders(tmpl[i], at + "[" + std::to_string(i) + "]", paths, errors);
    }
  }
}

}  // namespace countersign::mappings
