#include "fhir/bundle.h"

#include "fhir/reference.h"
#include "fhir/resource.h"

namespace countersign::fhir {
namespace {

const char* BundleTypeCode(BundleType type) {
  return type == BundleType::kBatch ? "batch" : "transaction";
}

void InitBundle(json::Document& doc, std::string_view type) {
  doc.SetObject();
  auto& alloc = doc.GetAllocator();
  json::SetString(doc, "resourceType", "Bundle", alloc);
  json::SetString(doc, "type", type, alloc);
  // "entry" is added with the first entry: FHIR JSON forbids empty arrays.
}

std::string WeakEtag(std::string_view version) { return "W/\"" + std::string(version) + "\""; }

json::Value RequestJson(const EntryRequest& request, json::Allocator& alloc) {
  json::Value value(rapidjson::kObjectType);
  json::SetString(value, "method", request.method, alloc);
  json::SetString(value, "url", request.url, alloc);
  if (!request.if_match.empty()) json::SetString(value, "ifMatch", request.if_match, alloc);
  if (!request.if_none_exist.empty()) {
    json::SetString(value, "ifNoneExist", request.if_none_exist, alloc);
  }
  return value;
}

std::string StringOr(const json::Value& object, std::string_view name) {
  auto s = json::GetString(object, name);
  return s ? std::string(*s) : std::string();
}

Status EntryError(size_t index, std::string_view why) {
  return Status::Invalid("Bundle.entry[" + std::to_string(index) + "]: " + std::string(why));
}

Status ReadRequest(const json::Value& entry, size_t index, BundleEntryView& view) {
  const json::Value* request = json::Member(entry, "request");
  if (request == nullptr) return Status::Ok();
  if (!request->IsObject()) return EntryError(index, "request is not an object");
  auto method = json::GetString(*request, "method");
  auto url = json::GetString(*request, "url");
  if (!method || !url) return EntryError(index, "request needs string method and url");
  view.request.method = *method;
  view.request.url = *url;
  view.request.if_match = StringOr(*request, "ifMatch");
  view.request.if_none_exist = StringOr(*request, "ifNoneExist");
  return Status::Ok();
}

Status ReadResponse(const json::Value& entry, size_t index, BundleEntryView& view) {
  const json::Value* response = json::Member(entry, "response");
  if (response == nullptr) return Status::Ok();
  if (!response->IsObject()) return EntryError(index, "response is not an object");
  auto status = json::GetString(*response, "status");
  if (!status) return EntryError(index, "response needs a string status");
  view.response_status = *status;
  view.response_location = StringOr(*response, "location");
  view.response_etag = StringOr(*response, "etag");
  const json::Value* outcome = json::Member(*response, "outcome");
  if (outcome != nullptr && !outcome->IsObject()) {
    return EntryError(index, "response.outcome is not an object");
  }
  view.response_outcome = outcome;
  return Status::Ok();
}

Result<BundleEntryView> ReadEntry(const json::Value& entry, size_t index) {
  if (!entry.IsObject()) return EntryError(index, "not an object");
  BundleEntryView view;
  const json::Value* full_url = json::Member(entry, "fullUrl");
  if (full_url != nullptr && !full_url->IsString())
    return EntryError(index, "fullUrl is not a string");
  view.full_url = StringOr(entry, "fullUrl");
  const json::Value* resource = json::Member(entry, "resource");
  if (resource != nullptr && !resource->IsObject()) {
    return EntryError(index, "resource is not an object");
  }
  view.resource = resource;
  CS_RETURN_IF_ERROR(ReadRequest(entry, index, view));
  CS_RETURN_IF_ERROR(ReadResponse(entry, index, view));
  return view;
}

}  // namespace

BundleBuilder::BundleBuilder(BundleType type) { InitBundle(doc_, BundleTypeCode(type)); }

std::string BundleBuilder::AddCreate(json::Value&& resource, std::string_view if_none_exist,
                                     std::string_view full_url) {
  std::string url = full_url.empty() ? NewUuidUrn() : std::string(full_url);
  EntryRequest request;
  request.method = "POST";
  request.url = std::string(ResourceType(resource).value_or(""));
  request.if_none_exist = if_none_exist;
  AddEntry(std::move(resource), url, request);
  return url;
}

Result<std::string> BundleBuilder::AddUpdate(json::Value&& resource,
                                             std::string_view if_match_version) {
  auto type = ResourceType(resource);
  auto id = ResourceId(resource);
  if (!type || !IsValidResourceType(*type)) {
    return Status::Invalid("update needs a resource with a valid resourceType");
  }
  if (!id || !IsValidId(*id)) return Status::Invalid("update needs a resource with a valid id");
  EntryRequest request;
  request.method = "PUT";
  request.url = std::string(*type) + "/" + std::string(*id);
  if (!if_match_version.empty()) request.if_match = WeakEtag(if_match_version);
  std::string full_url = request.url;
  AddEntry(std::move(resource), full_url, request);
  return full_url;
}

void BundleBuilder::AddDelete(std::string_view type, std::string_view id,
                              std::string_view if_match_version) {
  EntryRequest request;
  request.method = "DELETE";
  request.url = std::string(type) + "/" + std::string(id);
  if (!if_match_version.empty()) request.if_match = WeakEtag(if_match_version);
  json::Value none;
  AddEntry(std::move(none), {}, request);
}

void BundleBuilder::AddEntry(json::Value&& resource, std::string_view full_url,
                             const EntryRequest& request) {
  auto& alloc = doc_.GetAllocator();
  json::Value entry(rapidjson::kObjectType);
  if (!full_url.empty()) json::SetString(entry, "fullUrl", full_url, alloc);
  // A null resource means "no resource" (DELETE, GET), not a JSON null in the Bundle.
  if (!resource.IsNull()) json::Set(entry, "resource", std::move(resource), alloc);
  json::Set(entry, "request", RequestJson(request, alloc), alloc);
  if (json::Member(doc_, "entry") == nullptr) {
    json::Set(doc_, "entry", json::Value(rapidjson::kArrayType), alloc);
  }
  doc_["entry"].PushBack(entry, alloc);
}

size_t BundleBuilder::size() const {
  const json::Value* entries = json::Member(doc_, "entry");
  return entries != nullptr && entries->IsArray() ? entries->Size() : 0;
}

json::Document BundleBuilder::Release() {
  std::string type(json::GetString(doc_, "type").value_or("transaction"));
  json::Document out(std::move(doc_));
  doc_ = json::Document();
  InitBundle(doc_, type);
  return out;
}

Result<std::vector<BundleEntryView>> ReadEntries(const json::Value& bundle) {
  if (json::GetString(bundle, "resourceType") != "Bundle") {
    return Status::Invalid("not a Bundle (resourceType is not \"Bundle\")");
  }
  std::vector<BundleEntryView> views;
  const json::Value* entries = json::Member(bundle, "entry");
  if (entries == nullptr) return views;
  if (!entries->IsArray()) return Status::Invalid("Bundle.entry is not an array");
  for (rapidjson::SizeType i = 0; i < entries->Size(); ++i) {
    Result<BundleEntryView> view = ReadEntry((*entries)[i], i);
    if (!view.ok()) return view.status();
    views.push_back(std::move(view).value());
  }
  return views;
}

std::optional<std::string> NextLink(const json::Value& bundle) {
  const json::Value* links = json::Member(bundle, "link");
  if (links == nullptr || !links->IsArray()) return std::nullopt;
  for (const auto& link : links->GetArray()) {
    if (json::GetString(link, "relation") != "next") continue;
    auto url = json::GetString(link, "url");
    if (url && !url->empty()) return std::string(*url);
  }
  return std::nullopt;
}

void RewriteReferences(json::Value& value, std::string_view from, std::string_view to,
                       json::Allocator& alloc) {
  // An explicit stack: resources built in code are not depth-limited like parsed ones.
  std::vector<json::Value*> pending{&value};
  while (!pending.empty()) {
    json::Value* current = pending.back();
    pending.pop_back();
    if (current->IsArray()) {
      for (auto& item : current->GetArray()) pending.push_back(&item);
      continue;
    }
    if (!current->IsObject()) continue;
    for (auto& member : current->GetObject()) {
      std::string_view name(member.name.GetString(), member.name.GetStringLength());
      if (name == "reference" && member.value.IsString() &&
          SameReferenceText(
              std::string_view(member.value.GetString(), member.value.GetStringLength()), from)) {
        member.value = json::String(to, alloc);
      } else {
        pending.push_back(&member.value);
      }
    }
  }
}

const char* InteractionForMethod(std::string_view method) {
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return nullptr;
}

std::string VersionFromETag(std::string_view etag) {
  if (etag.rfind("W/", 0) == 0) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string Base64Encode(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                 uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace countersign::fhir
