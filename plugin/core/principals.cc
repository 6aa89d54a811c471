#include "plugin/core/principals.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fhir/reference.h"

namespace countersign::core {

bool Principal::HasRole(std::string_view r) const {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

bool Principal::Owns(std::string_view owner) const {
  if (owner == id) return true;
  constexpr std::string_view kQueue = "queue:";
  if (owner.substr(0, kQueue.size()) != kQueue) return false;
  return std::find(queues.begin(), queues.end(), owner.substr(kQueue.size())) != queues.end();
}

std::string Principal::FirstRoleIn(const std::vector<std::string>& wanted) const {
  for (const std::string& r : wanted) {
    if (HasRole(r)) return r;
  }
  return {};
}

Result<std::string> ReadTextFile(const std::string& path) {
  // A configuration file, key or policy: a regular file of sensible size (a path to /dev/zero or
  // a FIFO would otherwise never finish reading).
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status)) {
    if (!std::filesystem::is_regular_file(status)) {
      return Status::IoError("cannot read " + path + ": not a regular file");
    }
    if (std::filesystem::file_size(path, ec) > (16u << 20)) {
      return Status::IoError("cannot read " + path + ": larger than 16 MiB");
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<PrincipalDirectory> PrincipalDirectory::Parse(std::string_view text) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return Status::Invalid("principals: " + doc.status().message());
  const json::Value* list = json::Member(*doc, "principals");
  if (!list || !list->IsArray()) return Status::Invalid("principals: $.principals must be an array");
  PrincipalDirectory dir;
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const json::Value& v = (*list)[i];
    std::string at = "principals: $.principals[" + std::to_string(i) + "]";
    if (!v.IsObject()) return Status::Invalid(at + " must be an object");
    Principal p;
    auto id = json::GetString(v, "id");
    if (!id) return Status::Invalid(at + ".id is required");
    auto ref = fhir::Reference::Parse(*id);
    if (!ref.ok() || ref->is_uuid || !ref->base.empty() || !ref->version_id.empty()) {
      return Status::Invalid(at + ".id must be a relative reference like Practitioner/123");
    }
    p.id = std::string(*id);
    if (auto d = json::GetString(v, "display")) p.display = std::string(*d);
    const json::Value* roles = json::Member(v, "roles");
    if (!roles || !roles->IsArray() || roles->Empty()) {
      return Status::Invalid(at + ".roles must be a non-empty array");
    }
    for (const auto& r : roles->GetArray()) {
      if (!r.IsString() || r.GetStringLength() == 0) {
        return Status::Invalid(at + ".roles must hold role names");
      }
      p.roles.emplace_back(r.GetString(), r.GetStringLength());
    }
    if (const json::Value* queues = json::Member(v, "queues")) {
      if (!queues->IsArray()) return Status::Invalid(at + ".queues must be an array of queue names");
      for (const auto& q : queues->GetArray()) {
        auto name = json::StringOf(q);
        if (!name || name->empty() || name->find(':') != std::string_view::npos ||
            json::ForbiddenControl(*name)) {
          return Status::Invalid(at + ".queues must hold queue names (\"front-desk\", not "
                                      "\"queue:front-desk\")");
        }
        p.queues.emplace_back(*name);
      }
    }
    if (p.IsAiAgent() && p.roles.size() > 1) {
      return Status::Invalid(at + ": an ai-agent principal cannot hold other roles");
    }
    if (dir.by_id_.count(p.id)) return Status::Invalid(at + ".id " + p.id + " is a duplicate");
    dir.by_id_.emplace(p.id, std::move(p));
  }
  return dir;
}

Result<PrincipalDirectory> PrincipalDirectory::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto dir = Parse(*text);
  if (!dir.ok()) return Status::Invalid(path + ": " + dir.status().message());
  return dir;
}

const Principal* PrincipalDirectory::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

}  // namespace countersign::core
