#include "fhir/json_patch.h"

#include <rapidjson/pointer.h>

#include <optional>
#include <string_view>

namespace countersign::fhir {
namespace {

using rapidjson::SizeType;
using Pointer = rapidjson::Pointer;
using Token = Pointer::Token;

// ---------------------------------------------------------------------------------------------
// Paths. RapidJSON's Pointer does the RFC 6901 parsing (~0/~1 unescaping); resolution is done
// here because Pointer::Create auto-vivifies parents and pads arrays, which RFC 6902 forbids.

std::string_view TokenName(const Token& token) { return {token.name, token.length}; }

// Checks a path RapidJSON has already parsed into pointer.
Status CheckPath(std::string_view text, const Pointer& pointer) {
  // RapidJSON also accepts the URI-fragment form ("#/a"); a patch path is the plain string form.
  if (!text.empty() && text.front() != '/') {
    return Status::Invalid("\"" + std::string(text) +
                           "\" is not a JSON Pointer (must start with '/')");
  }
  if (!pointer.IsValid()) {
    return Status::Invalid("\"" + std::string(text) + "\" is not a valid JSON Pointer (byte " +
                           std::to_string(pointer.GetParseErrorOffset()) + ")");
  }
  return Status::Ok();
}

// RFC 6901 array index: "0" or a digit string without leading zeros.
std::optional<SizeType> ArrayIndex(const Token& token) {
  std::string_view name = TokenName(token);
  if (name.empty() || name.size() > 9) return std::nullopt;  // 9 digits cannot overflow SizeType
  if (name.size() > 1 && name.front() == '0') return std::nullopt;
  SizeType index = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<SizeType>(c - '0');
  }
  return index;
}

json::Value::MemberIterator FindMember(json::Value& object, const Token& token) {
  return object.FindMember(json::Value(rapidjson::StringRef(token.name, token.length)));
}

json::Value* Child(json::Value& value, const Token& token) {
  if (value.IsObject()) {
    auto it = FindMember(value, token);
    return it == value.MemberEnd() ? nullptr : &it->value;
  }
  if (value.IsArray()) {
    auto index = ArrayIndex(token);
    return index && *index < value.Size() ? &value[*index] : nullptr;
  }
  return nullptr;
}

// The value at tokens [0, count) below root; nullptr when any step is missing.
json::Value* Resolve(json::Value& root, const Pointer& pointer, size_t count) {
  json::Value* current = &root;
  for (size_t i = 0; i < count && current != nullptr; ++i) {
    current = Child(*current, pointer.GetTokens()[i]);
  }
  return current;
}

json::Value* ResolveAll(json::Value& root, const Pointer& pointer) {
  return Resolve(root, pointer, pointer.GetTokenCount());
}

json::Value* ResolveParent(json::Value& root, const Pointer& pointer) {
  return Resolve(root, pointer, pointer.GetTokenCount() - 1);
}

const Token& LastToken(const Pointer& pointer) {
  return pointer.GetTokens()[pointer.GetTokenCount() - 1];
}

// ---------------------------------------------------------------------------------------------
// The primitive edits every operation is made of.

void InsertIntoArray(json::Value& array, SizeType index, json::Value&& value,
                     json::Allocator& alloc) {
  // RapidJSON has no Insert: append, then bubble the new slot down to index.
  array.PushBack(json::Value(), alloc);
  for (SizeType i = array.Size() - 1; i > index; --i) array[i].Swap(array[i - 1]);
  array[index] = std::move(value);
}

Status Add(json::Value& root, const Pointer& pointer, json::Value&& value, json::Allocator& alloc) {
  if (pointer.GetTokenCount() == 0) {
    root = std::move(value);
    return Status::Ok();
  }
  json::Value* parent = ResolveParent(root, pointer);
  if (parent == nullptr) return Status::Invalid("parent of the target does not exist");
  const Token& last = LastToken(pointer);
  if (parent->IsObject()) {
    auto it = FindMember(*parent, last);
    if (it != parent->MemberEnd()) {
      it->value = std::move(value);
    } else {
      parent->AddMember(json::String(TokenName(last), alloc), std::move(value), alloc);
    }
    return Status::Ok();
  }
  if (!parent->IsArray()) return Status::Invalid("parent of the target is not a container");
  if (TokenName(last) == "-") {
    parent->PushBack(std::move(value), alloc);
    return Status::Ok();
  }
  auto index = ArrayIndex(last);
  if (!index)
    return Status::Invalid("\"" + std::string(TokenName(last)) + "\" is not an array index");
  if (*index > parent->Size()) {
    return Status::Invalid("index " + std::to_string(*index) +
                           " is past the end of the array (size " + std::to_string(parent->Size()) +
                           ")");
  }
  InsertIntoArray(*parent, *index, std::move(value), alloc);
  return Status::Ok();
}

// Removes the target; when removed is given, the old value is moved into it.
Status Remove(json::Value& root, const Pointer& pointer, json::Value* removed) {
  if (pointer.GetTokenCount() == 0) return Status::Invalid("cannot remove the whole document");
  json::Value* parent = ResolveParent(root, pointer);
  json::Value* target = parent ? Child(*parent, LastToken(pointer)) : nullptr;
  if (target == nullptr) return Status::Invalid("path does not exist");
  if (removed != nullptr) *removed = std::move(*target);
  if (parent->IsObject()) {
    // EraseMember (not RemoveMember) keeps the remaining members in document order.
    parent->EraseMember(FindMember(*parent, LastToken(pointer)));
  } else {
    parent->Erase(parent->Begin() + *ArrayIndex(LastToken(pointer)));
  }
  return Status::Ok();
}

bool IsProperPrefix(const Pointer& prefix, const Pointer& path) {
  if (prefix.GetTokenCount() >= path.GetTokenCount()) return false;
  for (size_t i = 0; i < prefix.GetTokenCount(); ++i) {
    if (TokenName(prefix.GetTokens()[i]) != TokenName(path.GetTokens()[i])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Operations.

struct Operation {
  // Non-null empty defaults: RapidJSON's Pointer asserts on a null source.
  std::string_view op = "";
  std::string_view path = "";
  std::string_view from = "";
  const json::Value* value = nullptr;
};

bool NeedsValue(std::string_view op) { return op == "add" || op == "replace" || op == "test"; }
bool NeedsFrom(std::string_view op) { return op == "move" || op == "copy"; }
bool IsKnownOp(std::string_view op) { return NeedsValue(op) || NeedsFrom(op) || op == "remove"; }

// A member given twice makes the patch ambiguous (RFC 6902 A.13); RapidJSON keeps both.
Status CheckNoDuplicates(const json::Value& item) {
  for (const char* name : {"op", "path", "from", "value"}) {
    int count = 0;
    for (const auto& m : item.GetObject()) {
      if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == name) ++count;
    }
    if (count > 1) return Status::Invalid(std::string("\"") + name + "\" appears more than once");
  }
  return Status::Ok();
}

Status ReadStringMember(const json::Value& item, const char* name, std::string_view& out) {
  const json::Value* v = json::Member(item, name);
  if (v == nullptr) return Status::Invalid(std::string("missing \"") + name + "\"");
  if (!v->IsString()) return Status::Invalid(std::string("\"") + name + "\" is not a string");
  out = std::string_view(v->GetString(), v->GetStringLength());
  return Status::Ok();
}

Status ReadOperation(const json::Value& item, Operation& op) {
  if (!item.IsObject()) return Status::Invalid("operation is not an object");
  CS_RETURN_IF_ERROR(CheckNoDuplicates(item));
  CS_RETURN_IF_ERROR(ReadStringMember(item, "op", op.op));
  if (!IsKnownOp(op.op)) return Status::Invalid("unknown op \"" + std::string(op.op) + "\"");
  CS_RETURN_IF_ERROR(ReadStringMember(item, "path", op.path));
  if (NeedsFrom(op.op)) CS_RETURN_IF_ERROR(ReadStringMember(item, "from", op.from));
  if (NeedsValue(op.op)) {
    op.value = json::Member(item, "value");
    if (op.value == nullptr) return Status::Invalid("missing \"value\"");
  }
  return Status::Ok();
}

Status Replace(json::Value& root, const Pointer& path, const json::Value& value,
               json::Allocator& alloc) {
  json::Value* target = ResolveAll(root, path);
  if (target == nullptr) return Status::Invalid("path does not exist");
  *target = json::Value(value, alloc);
  return Status::Ok();
}

Status Move(json::Value& root, const Pointer& from, const Pointer& path, json::Allocator& alloc) {
  if (IsProperPrefix(from, path)) return Status::Invalid("cannot move a value into its own child");
  json::Value moved;
  CS_RETURN_IF_ERROR(Remove(root, from, &moved));
  return Add(root, path, std::move(moved), alloc);
}

Status Copy(json::Value& root, const Pointer& from, const Pointer& path, json::Allocator& alloc) {
  json::Value* source = ResolveAll(root, from);
  if (source == nullptr) return Status::Invalid("\"from\" does not exist");
  // Copied before Add: inserting into an array may reallocate the storage source points into.
  return Add(root, path, json::Value(*source, alloc), alloc);
}

Status Test(json::Value& root, const Pointer& path, const json::Value& expected) {
  json::Value* actual = ResolveAll(root, path);
  if (actual == nullptr) return Status::Invalid("path does not exist");
  if (!JsonEquals(*actual, expected)) return Status::Invalid("value differs");
  return Status::Ok();
}

Status Execute(json::Value& root, const Operation& op, json::Allocator& alloc) {
  Pointer path(op.path.data(), op.path.size());
  CS_RETURN_IF_ERROR(CheckPath(op.path, path));
  Pointer from(op.from.data(), op.from.size());
  if (NeedsFrom(op.op)) CS_RETURN_IF_ERROR(CheckPath(op.from, from));
  if (op.op == "add") return Add(root, path, json::Value(*op.value, alloc), alloc);
  if (op.op == "remove") return Remove(root, path, nullptr);
  if (op.op == "replace") return Replace(root, path, *op.value, alloc);
  if (op.op == "move") return Move(root, from, path, alloc);
  if (op.op == "copy") return Copy(root, from, path, alloc);
  return Test(root, path, *op.value);
}

Status ApplyOne(json::Value& root, const json::Value& item, size_t index, json::Allocator& alloc) {
  Operation op;
  Status read = ReadOperation(item, op);
  if (!read.ok()) {
    return Status::Invalid("op " + std::to_string(index) + ": " + read.message());
  }
  Status done = Execute(root, op, alloc);
  if (done.ok()) return done;
  std::string where = std::string(op.op) + " " + std::string(op.path);
  if (NeedsFrom(op.op)) where += " from " + std::string(op.from);
  return Status::Invalid("op " + std::to_string(index) + " (" + where + "): " + done.message());
}

// ---------------------------------------------------------------------------------------------
// Diff.

bool NumbersEqual(const json::Value& a, const json::Value& b) {
  if (a.IsInt64() && b.IsInt64()) return a.GetInt64() == b.GetInt64();
  if (a.IsUint64() && b.IsUint64()) return a.GetUint64() == b.GetUint64();
  // Integers that fit neither common type (a negative and one above INT64_MAX) differ.
  if (!a.IsDouble() && !b.IsDouble()) return false;
  return a.GetDouble() == b.GetDouble();
}

bool ObjectsEqual(const json::Value& a, const json::Value& b) {
  if (a.MemberCount() != b.MemberCount()) return false;
  for (const auto& m : a.GetObject()) {
    auto it = b.FindMember(m.name);
    if (it == b.MemberEnd() || !JsonEquals(m.value, it->value)) return false;
  }
  return true;
}

bool ArraysEqual(const json::Value& a, const json::Value& b) {
  if (a.Size() != b.Size()) return false;
  for (SizeType i = 0; i < a.Size(); ++i) {
    if (!JsonEquals(a[i], b[i])) return false;
  }
  return true;
}

std::string EscapeToken(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

class Differ {
 public:
  Differ(json::Document& patch, const DiffOptions& options)
      : patch_(patch), alloc_(patch.GetAllocator()), options_(options) {}

  void Diff(const json::Value& from, const json::Value& to, const std::string& path) {
    if (JsonEquals(from, to)) return;
    if (from.IsObject() && to.IsObject()) return DiffObjects(from, to, path);
    if (from.IsArray() && to.IsArray() && from.Size() == to.Size()) {
      for (SizeType i = 0; i < from.Size(); ++i)
        Diff(from[i], to[i], path + "/" + std::to_string(i));
      return;
    }
    Guard(path, from);
    Emit("replace", path, &to);
  }

 private:
  void DiffObjects(const json::Value& from, const json::Value& to, const std::string& path) {
    for (const auto& m : from.GetObject()) {
      std::string child = path + "/" + EscapeToken({m.name.GetString(), m.name.GetStringLength()});
      auto it = to.FindMember(m.name);
      if (it != to.MemberEnd()) {
        Diff(m.value, it->value, child);
      } else {
        Guard(child, m.value);
        Emit("remove", child, nullptr);
      }
    }
    for (const auto& m : to.GetObject()) {
      if (from.FindMember(m.name) != from.MemberEnd()) continue;
      Emit("add", path + "/" + EscapeToken({m.name.GetString(), m.name.GetStringLength()}),
           &m.value);
    }
  }

  void Guard(const std::string& path, const json::Value& old_value) {
    if (options_.emit_tests) Emit("test", path, &old_value);
  }

  void Emit(std::string_view op, const std::string& path, const json::Value* value) {
    json::Value item(rapidjson::kObjectType);
    json::SetString(item, "op", op, alloc_);
    json::SetString(item, "path", path, alloc_);
    if (value != nullptr) json::Set(item, "value", json::Value(*value, alloc_), alloc_);
    patch_.PushBack(item, alloc_);
  }

  json::Document& patch_;
  json::Allocator& alloc_;
  const DiffOptions& options_;
};

}  // namespace

bool JsonEquals(const json::Value& a, const json::Value& b) {
  if (a.IsNumber() && b.IsNumber()) return NumbersEqual(a, b);
  if (a.GetType() != b.GetType()) return false;
  switch (a.GetType()) {
    case rapidjson::kObjectType: return ObjectsEqual(a, b);
    case rapidjson::kArrayType: return ArraysEqual(a, b);
    case rapidjson::kStringType:
      return std::string_view(a.GetString(), a.GetStringLength()) ==
             std::string_view(b.GetString(), b.GetStringLength());
    default: return true;  // null, and true/false (each has its own type)
  }
}

Status ApplyJsonPatch(json::Value& target, const json::Value& patch, json::Allocator& alloc) {
  if (!patch.IsArray()) return Status::Invalid("a JSON Patch must be an array of operations");
  // Work on a copy so a failure half-way leaves target untouched.
  json::Value work(target, alloc);
  for (SizeType i = 0; i < patch.Size(); ++i) {
    CS_RETURN_IF_ERROR(ApplyOne(work, patch[i], i, alloc));
  }
  target.Swap(work);
  return Status::Ok();
}

json::Document DiffJsonPatch(const json::Value& from, const json::Value& to,
                             const DiffOptions& options) {
  json::Document patch;
  patch.SetArray();
  Differ(patch, options).Diff(from, to, "");
  return patch;
}

std::vector<std::string> PatchPaths(const json::Value& patch) {
  std::vector<std::string> paths;
  if (!patch.IsArray()) return paths;
  for (const auto& item : patch.GetArray()) {
    for (const char* name : {"path", "from"}) {
      auto text = json::GetString(item, name);
      if (text) paths.emplace_back(*text);
    }
  }
  return paths;
}

}  // namespace countersign::fhir
