#include "mappings/template.h"

#include <cctype>

#include "fhir/bundle.h"
#include "mappings/datetime.h"

namespace countersign::mappings {
namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
constexpr std::string_view kOr = "??";

struct Alternative {
  std::string transform;           // "", "base64", "xhtml", "plusMinutes"
  std::vector<std::string> paths;  // one, or two for plusMinutes
};
using Placeholder = std::vector<Alternative>;

bool IsPath(std::string_view p) {
  if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : p) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_')) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

size_t Arity(std::string_view transform) {
  if (transform.empty() || transform == "base64" || transform == "xhtml") return 1;
  if (transform == "plusMinutes") return 2;
  return 0;  // unknown
}

// Parses the text between "{{" and "}}"; on failure *why says what is wrong.
bool ParsePlaceholder(std::string_view inner, Placeholder* out, std::string* why) {
  out->clear();
  while (true) {
    size_t bar = inner.find(kOr);
    std::string_view part = Trim(inner.substr(0, bar));
    Alternative alt;
    size_t colon = part.find(':');
    if (colon != std::string_view::npos) {
      alt.transform = std::string(part.substr(0, colon));
      part = part.substr(colon + 1);
    }
    size_t arity = Arity(alt.transform);
    if (arity == 0) {
      *why = "unknown transform \"" + alt.transform + "\" (base64, xhtml, plusMinutes)";
      return false;
    }
    while (true) {
      size_t comma = part.find(',');
      std::string_view p = part.substr(0, comma);
      if (!IsPath(p)) {
        *why = "\"" + std::string(p) + "\" is not a dotted path";
        return false;
      }
      alt.paths.emplace_back(p);
      if (comma == std::string_view::npos) break;
      part = part.substr(comma + 1);
    }
    if (alt.paths.size() != arity) {
      *why = (alt.transform.empty() ? std::string("a plain placeholder") : alt.transform) +
             " takes " + std::to_string(arity) + " path" + (arity == 1 ? "" : "s");
      return false;
    }
    out->push_back(std::move(alt));
    if (bar == std::string_view::npos) return true;
    inner = inner.substr(bar + kOr.size());
  }
}

// A string that is exactly one placeholder.
bool WholePlaceholder(std::string_view s, Placeholder* p) {
  if (s.size() < 5 || s.substr(0, 2) != kOpen || s.substr(s.size() - 2) != kClose) return false;
  std::string_view inner = s.substr(2, s.size() - 4);
  if (inner.find(kOpen) != std::string_view::npos) return false;
  std::string why;
  return ParsePlaceholder(inner, p, &why);
}

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

// The text an alternative with a transform produces; false when it has no value.
bool Transformed(const Alternative& alt, const json::Value& context, std::string* out) {
  const json::Value* v = Lookup(context, alt.paths[0]);
  if (v == nullptr || v->IsNull()) return false;
  if (alt.transform == "plusMinutes") {
    const json::Value* minutes = Lookup(context, alt.paths[1]);
    if (!v->IsString() || minutes == nullptr || !minutes->IsInt64()) return false;
    auto sum = PlusMinutes(std::string_view(v->GetString(), v->GetStringLength()), minutes->GetInt64());
    if (!sum) return false;
    *out = std::move(*sum);
    return true;
  }
  std::string s = v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : json::Stringify(*v);
  if (alt.transform == "base64") *out = fhir::Base64Encode(s);
  else if (alt.transform == "xhtml") *out = Escape(s);
  else *out = std::move(s);
  return true;
}

// The first alternative with a value, as JSON (raw value for a plain path). Null when none.
json::Value Evaluate(const Placeholder& p, const json::Value& context, json::Allocator& alloc) {
  for (const Alternative& alt : p) {
    if (alt.transform.empty()) {
      const json::Value* v = Lookup(context, alt.paths[0]);
      if (v != nullptr && !v->IsNull()) return json::Value(*v, alloc);
      continue;
    }
    std::string text;
    if (Transformed(alt, context, &text)) return json::String(text, alloc);
  }
  return json::Value();
}

// The first alternative with a value, as text inside a larger string. False when none.
bool EvaluateText(const Placeholder& p, const json::Value& context, std::string* out) {
  for (const Alternative& alt : p) {
    if (Transformed(alt, context, out)) return true;
  }
  return false;
}

void CollectString(std::string_view s, const std::string& at, const std::string& each,
                   std::vector<PlaceholderUse>* uses, std::vector<std::string>* errors) {
  size_t pos = 0;
  while ((pos = s.find(kOpen, pos)) != std::string_view::npos) {
    size_t close = s.find(kClose, pos + 2);
    Placeholder p;
    std::string why = "no closing }}";
    if (close == std::string_view::npos || !ParsePlaceholder(s.substr(pos + 2, close - pos - 2), &p, &why)) {
      errors->push_back(at + ": malformed placeholder in \"" + std::string(s) + "\": " + why);
      return;
    }
    for (const auto& alt : p) {
      for (const auto& path : alt.paths) uses->push_back({at, path, each});
    }
    pos = close + 2;
  }
}

void Collect(const json::Value& tmpl, const std::string& at, const std::string& each,
             std::vector<PlaceholderUse>* uses, std::vector<std::string>* errors) {
  if (tmpl.IsString()) {
    CollectString(std::string_view(tmpl.GetString(), tmpl.GetStringLength()), at, each, uses, errors);
  } else if (tmpl.IsObject()) {
    if (tmpl.HasMember("$each") || tmpl.HasMember("$template")) {
      errors->push_back(at + ": $each/$template only as an element of an array");
      return;
    }
    for (const auto& m : tmpl.GetObject()) {
      Collect(m.value, at + "." + std::string(m.name.GetString(), m.name.GetStringLength()), each,
              uses, errors);
    }
  } else if (tmpl.IsArray()) {
    for (rapidjson::SizeType i = 0; i < tmpl.Size(); ++i) {
      const json::Value& item = tmpl[i];
      std::string item_at = at + "[" + std::to_string(i) + "]";
      if (item.IsObject() && (item.HasMember("$each") || item.HasMember("$template"))) {
        auto source = json::GetString(item, "$each");
        const json::Value* body = json::Member(item, "$template");
        if (!source || !IsPath(*source)) {
          errors->push_back(item_at + ".$each: expected the dotted path of an array in the draft");
          continue;
        }
        if (body == nullptr || item.MemberCount() != 2) {
          errors->push_back(item_at + ": expected exactly {\"$each\": path, \"$template\": ...}");
          continue;
        }
        uses->push_back({item_at + ".$each", std::string(*source), each});
        Collect(*body, item_at + ".$template", std::string(*source), uses, errors);
        continue;
      }
      Collect(item, item_at, each, uses, errors);
    }
  }
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
    if (s.find(kOpen) == std::string_view::npos) return json::Value(tmpl, alloc);
    Placeholder p;
    if (WholePlaceholder(s, &p)) return Evaluate(p, context, alloc);
    std::string out;
    size_t pos = 0;
    while (true) {
      size_t open = s.find(kOpen, pos);
      if (open == std::string_view::npos) break;
      size_t close = s.find(kClose, open + 2);
      if (close == std::string_view::npos) break;
      Placeholder inner;
      std::string why;
      if (!ParsePlaceholder(s.substr(open + 2, close - open - 2), &inner, &why)) break;
      std::string text;
      if (!EvaluateText(inner, context, &text)) return json::Value();  // a part is missing: drop all
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
                         std::vector<PlaceholderUse>* uses, std::vector<std::string>* errors) {
  Collect(tmpl, at, "", uses, errors);
}

}  // namespace countersign::mappings
