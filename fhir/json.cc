#include "fhir/json.h"

#include <optional>
#include <unordered_set>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace countersign::json {
namespace {

// Counts nesting while forwarding every event to the document being built; aborts the parse
// once max_depth is exceeded so a hostile input cannot make us build a huge tree.
struct DepthLimitedHandler {
  Document& doc;
  int max_depth;
  int depth = 0;
  bool too_deep = false;

  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned u) { return doc.Uint(u); }
  bool Int64(int64_t i) { return doc.Int64(i); }
  bool Uint64(uint64_t u) { return doc.Uint64(u); }
  bool Double(double d) { return doc.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc.Key(s, n, copy); }
  bool StartObject() { return Enter() && doc.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { --depth; return doc.EndObject(n); }
  bool StartArray() { return Enter() && doc.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { --depth; return doc.EndArray(n); }
  bool Enter() {
    if (++depth > max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  }
};

// The first member name that occurs twice in one object anywhere in value; nullopt when none.
// FHIR JSON forbids repeated properties, and with them "the same document" stops being well
// defined (lookups see the first, writers keep both): found by fuzzing JSON Patch.
std::optional<std::string> DuplicateKey(const Value& root) {
  // Iterative: documents may be nested as deep as the caller's max_depth allows.
  std::vector<const Value*> pending{&root};
  std::unordered_set<std::string_view> seen;
  while (!pending.empty()) {
    const Value* value = pending.back();
    pending.pop_back();
    if (value->IsArray()) {
      for (const auto& item : value->GetArray()) {
        if (item.IsObject() || item.IsArray()) pending.push_back(&item);
      }
      continue;
    }
    if (!value->IsObject()) continue;
    auto begin = value->MemberBegin();
    auto end = value->MemberEnd();
    if (value->MemberCount() <= 32) {
      for (auto a = begin; a != end; ++a) {
        for (auto b = begin; b != a; ++b) {
          if (a->name == b->name) return std::string(a->name.GetString(), a->name.GetStringLength());
        }
      }
    } else {
      seen.clear();
      for (auto m = begin; m != end; ++m) {
        std::string_view name(m->name.GetString(), m->name.GetStringLength());
        if (!seen.insert(name).second) return std::string(name);
      }
    }
    for (auto m = begin; m != end; ++m) {
      if (m->value.IsObject() || m->value.IsArray()) pending.push_back(&m->value);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<Document> Parse(std::string_view text, int max_depth) {
  Document doc;
  bool too_deep = false;
  rapidjson::ParseResult pr;
  size_t end = 0;
  auto generator = [&](Document& target) {
    DepthLimitedHandler handler{target, max_depth};
    rapidjson::Reader reader;
    rapidjson::MemoryStream ms(text.data(), text.size());
    pr = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
                      rapidjson::kParseStopWhenDoneFlag>(ms, handler);
    too_deep = handler.too_deep;
    // ParseResult carries an offset only on error; on success the stream position is where the
    // root value ended.
    end = ms.Tell();
    return !pr.IsError();
  };
  doc.Populate(generator);
  if (too_deep) {
    return Status::Invalid("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  if (!pr) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return Status::Invalid("empty JSON body");
    }
    return Status::Invalid(std::string("invalid JSON at byte ") + std::to_string(pr.Offset()) +
                           ": " + rapidjson::GetParseError_En(pr.Code()));
  }
  if (auto dup = DuplicateKey(doc)) {
    return Status::Invalid("invalid JSON: member \"" + *dup + "\" appears twice in one object");
  }
  // kParseStopWhenDoneFlag lets us report trailing garbage ourselves.
  size_t garbage = text.find_first_not_of(" \t\r\n", end);
  if (garbage != std::string_view::npos) {
    return Status::Invalid("invalid JSON at byte " + std::to_string(garbage) +
                           ": unexpected content after the root value");
  }
  return doc;
}

std::string Stringify(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string Pretty(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

const Value* Member(const Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(
      Value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string_view> GetString(const Value& object, std::string_view name) {
  const Value* v = Member(object, name);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<std::string_view> StringOf(const Value& value) {
  if (!value.IsString()) return std::nullopt;
  return std::string_view(value.GetString(), value.GetStringLength());
}

std::optional<char> ForbiddenControl(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\r' && c != '\n') return c;
  }
  return std::nullopt;
}

std::optional<int64_t> GetInt(const Value& object, std::string_view name) {
  const Value* v = Member(object, name);
  if (v == nullptr || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

std::optional<bool> GetBool(const Value& object, std::string_view name) {
  const Value* v = Member(object, name);
  if (v == nullptr || !v->IsBool()) return std::nullopt;
  return v->GetBool();
}

void Set(Value& object, std::string_view name, Value&& value, Allocator& alloc) {
  auto it = object.FindMember(
      Value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  if (it != object.MemberEnd()) {
    it->value = std::move(value);
    return;
  }
  object.AddMember(String(name, alloc), std::move(value), alloc);
}

void SetString(Value& object, std::string_view name, std::string_view text, Allocator& alloc) {
  Set(object, name, String(text, alloc), alloc);
}

void Remove(Value& object, std::string_view name) {
  if (!object.IsObject()) return;
  object.RemoveMember(
      Value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
}

}  // namespace countersign::json
