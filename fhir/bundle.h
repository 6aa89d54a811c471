// Building and reading transaction/batch Bundles.
//
// BundleBuilder owns a Document. Each entry gets a fullUrl (a fresh "urn:uuid:" for creates so
// other entries can reference it before the server assigns ids) and a request (method, url,
// ifMatch, ifNoneExist). Threading: one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json.h"
#include "fhir/status.h"

namespace countersign::fhir {

enum class BundleType { kTransaction, kBatch };

struct EntryRequest {
  std::string method;         // "POST", "PUT", "PATCH", "DELETE", "GET"
  std::string url;            // "Patient" for POST, "Patient/123" for PUT/PATCH/DELETE
  std::string if_match;       // W/"3" form; empty = none
  std::string if_none_exist;  // "identifier=system|value"; empty = none
};

class BundleBuilder {
 public:
  explicit BundleBuilder(BundleType type);

  // POST of resource (moved into the bundle). Returns the entry's fullUrl ("urn:uuid:...")
  // unless full_url is given (then that is used and returned).
  std::string AddCreate(json::Value&& resource, std::string_view if_none_exist = {},
                        std::string_view full_url = {});
  // PUT of resource to "Type/id" taken from the resource. if_match is a version id ("3"); it is
  // written as W/"3". Returns the fullUrl ("Type/id" relative form). kInvalid when the resource
  // has no type or id.
  Result<std::string> AddUpdate(json::Value&& resource, std::string_view if_match_version = {});
  // DELETE of "Type/id" (no fullUrl, no resource).
  void AddDelete(std::string_view type, std::string_view id, std::string_view if_match_version = {});
  // Any entry, as given.
  void AddEntry(json::Value&& resource, std::string_view full_url, const EntryRequest& request);

  json::Allocator& allocator() { return doc_.GetAllocator(); }
  json::Document& document() { return doc_; }
  size_t size() const;
  // The finished Bundle (the builder is left holding a fresh, empty Bundle of the same type).
  // A Bundle without entries has no "entry" member: FHIR JSON does not allow empty arrays.
  json::Document Release();

 private:
  json::Document doc_;
};

// One entry of a Bundle, read back.
struct BundleEntryView {
  std::string full_url;
  const json::Value* resource = nullptr;  // may be null (DELETE)
  EntryRequest request;
  // From a transaction-response / batch-response entry.response:
  std::string response_status;  // "201 Created"
  std::string response_location;
  std::string response_etag;
  const json::Value* response_outcome = nullptr;
};

// Reads Bundle.entry; kInvalid when bundle is not a Bundle or an entry is malformed.
Result<std::vector<BundleEntryView>> ReadEntries(const json::Value& bundle);

// The "next" link of a searchset Bundle; nullopt when there is none.
std::optional<std::string> NextLink(const json::Value& bundle);

// Rewrites every Reference.reference string inside value equal to from into to (used to turn
// urn:uuid placeholders into the server's Type/id after a non-transaction commit). Equality is
// SameReferenceText's: urn:uuid placeholders match case-insensitively. Only members named
// "reference" change; fullUrl and free text are left alone. Iterative: any depth is safe.
void RewriteReferences(json::Value& value, std::string_view from, std::string_view to,
                       json::Allocator& alloc);

// The FHIR interaction a Bundle/REST request method asks for: POST create, PUT update, PATCH
// patch, DELETE delete; nullptr for anything else.
const char* InteractionForMethod(std::string_view method);

// The version an ETag or If-Match value names: W/"3", "3" and 3 all give "3".
std::string VersionFromETag(std::string_view etag);

// Standard base64 (RFC 4648, with padding), for attachment data and Basic credentials.
std::string Base64Encode(std::string_view bytes);

}  // namespace countersign::fhir
