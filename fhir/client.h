// FhirClient: the FHIR R4 REST interactions Countersign needs, over an HttpTransport (libcurl by
// default: connection reuse per server, timeouts, TLS verification on).
//
// Every call returns a Result. A non-2xx answer becomes an error Status carrying the HTTP code,
// the server's OperationOutcome (when it sent one) and one normalised ErrorKind (status.h):
// 404 not-found, 410 gone, 409/412/423/428 conflict, 401 unauthorized, 403 forbidden, other 4xx
// invalid, 429/5xx unavailable; no answer: timeout or network.
// Retries follow RetryPolicy (retry.h): never a blind retry of a non-conditional POST. Below
// this client, libcurl itself sends a request once more, on a fresh connection, when a reused
// connection closes before any byte of the answer, POST included (fhir_client_test shows it). A
// fresh connection per non-idempotent POST would prevent that, at a TCP and TLS handshake per
// commit; Countersign makes every write idempotent instead (conditional creates, If-Match), so a
// request that arrives twice changes nothing the second time.
// Secrets (bearer token, basic password, SMART key, assertions and access tokens) are never logged
// nor put in error messages. Error messages name the request line, query included ("GET
// /Device?identifier=..."): Countersign's own queries hold only its identifiers (proposal
// entries, the AI model, the Provenance tag), never patient data.
// SMART Backend Services: each attempt asks the token source for a token (fetched on first use,
// renewed before it expires); a 401 from the FHIR server makes it fetch a new one and send the
// request once more, also a plain POST (a 401 applied nothing). A token endpoint that cannot be
// reached counts as a transient failure of the attempt: nothing went to the FHIR server, so the
// request is retried within the RetryPolicy even when it is not repeatable.
//
// Threading: one FhirClient may be used from several threads; each call takes a transport
// handle from a small pool (CurlTransport reuses connections per handle).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/capabilities.h"
#include "fhir/http_transport.h"
#include "fhir/json.h"
#include "fhir/query.h"
#include "fhir/retry.h"
#include "fhir/smart_backend_auth.h"
#include "fhir/status.h"

namespace countersign::fhir {

struct TlsOptions {
  bool verify = true;       // peer and host verification; off only when explicitly configured
  std::string ca_file;      // extra CA bundle (PEM) to trust, e.g. a self-signed test server's CA
  // Mutual TLS (a gateway that demands a client certificate): both PEM files, or neither.
  std::string client_cert_file;
  std::string client_key_file;
};

// One of: a static bearer token, HTTP Basic, or SMART Backend Services (smart_backend_auth.h:
// short-lived tokens fetched with a signed JWT, renewed before they expire and after a 401).
struct AuthOptions {
  std::string bearer_token;    // Authorization: Bearer ...
  std::string basic_user;      // Authorization: Basic ... (when bearer_token is empty)
  std::string basic_password;
  SmartBackendOptions smart_backend;  // used when smart_backend.enabled()
};

enum class AuthMethod { kNone, kStatic, kSmartBackend };

struct ClientOptions {
  std::string base_url;  // "http://127.0.0.1:8103/fhir/R4" (no trailing slash needed)
  AuthOptions auth;
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  RetryPolicy retry;
  std::string user_agent = "countersign/0.1";
  // How the client waits between retries; tests may replace it. Must be thread-safe.
  std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
};

// A successful answer: status, the resource (or Bundle / OperationOutcome) as JSON, and the
// response headers that matter for writes.
struct FhirResponse {
  int http_status = 0;
  json::Document body;      // Null when the server sent no body
  std::string location;     // Location / Content-Location header
  std::string etag;         // ETag header, e.g. W/"3"
  std::string last_modified;
  // id and versionId from body.meta, else from Location (".../Type/id/_history/v") / ETag.
  std::string id;
  std::string version_id;
  int attempts = 1;         // how many sends it took
};

struct SearchOptions {
  int max_pages = 100;  // bound on following `next` links
};

class FhirClient {
 public:
  // Uses a libcurl transport built from options.
  static Result<std::unique_ptr<FhirClient>> Create(const ClientOptions& options);
  // Uses the given transport factory (tests: a FaultInjectingTransport over a CurlTransport).
  static std::unique_ptr<FhirClient> CreateWithTransport(
      const ClientOptions& options, std::function<std::unique_ptr<HttpTransport>()> factory);
  ~FhirClient();

  const std::string& base_url() const;

  // With SMART Backend Services: gets an access token now (discovery and token request), so a
  // configuration can be checked before the first write. With static credentials or none:
  // nothing is sent. Answers which of the three is configured.
  Result<AuthMethod> Authenticate();

  // GET [base]/metadata, parsed. Cached after the first success; Refresh forces a new read.
  Result<Capabilities> GetCapabilities(bool refresh = false);

  Result<FhirResponse> Read(std::string_view type, std::string_view id);
  Result<FhirResponse> VRead(std::string_view type, std::string_view id, std::string_view version);
  // GET [base]/type?query, following Bundle.link[next] up to max_pages; the entries' resources
  // are returned in order. query is a URL query ("identifier=urn%3Ax%7C1"); it is sent in
  // canonical percent-encoded form (NormalizeQuery, query.h), so one written without encoding
  // still arrives intact unless a value holds a raw '&'. Build queries with the SearchParams
  // overload (or EncodeQuery) and token values with TokenParam.
  Result<std::vector<json::Document>> Search(std::string_view type, std::string_view query,
                                             const SearchOptions& options = {});
  // The same with each parameter value percent-encoded here.
  Result<std::vector<json::Document>> Search(std::string_view type, const SearchParams& params,
                                             const SearchOptions& options = {});
  // GET [base]/type/id/_history: every version of one resource, newest first (as the server
  // orders a history Bundle), following next links up to max_pages.
  Result<std::vector<json::Document>> History(std::string_view type, std::string_view id,
                                              const SearchOptions& options = {});
  // POST [base]/type. if_none_exist (a query: IdentifierCondition in query.h) makes it
  // conditional (and retryable); it is sent percent-encoded like a search.
  Result<FhirResponse> Create(const json::Value& resource, std::string_view if_none_exist = {});
  // PUT [base]/type/id. if_match is a version id ("3") or an ETag (W/"3"); sent as W/"3".
  Result<FhirResponse> Update(const json::Value& resource, std::string_view if_match = {});
  // PATCH [base]/type/id with application/json-patch+json.
  Result<FhirResponse> Patch(std::string_view type, std::string_view id, const json::Value& patch,
                             std::string_view if_match = {});
  Result<FhirResponse> Delete(std::string_view type, std::string_view id);
  // POST [base] with a transaction / batch Bundle. kUnsupported without sending anything when
  // the server's CapabilityStatement does not declare the interaction.
  Result<FhirResponse> Transaction(const json::Value& bundle);
  Result<FhirResponse> Batch(const json::Value& bundle);

 private:
  struct Impl;
  explicit FhirClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Maps an HTTP status to its normalised kind (kOk for 2xx/3xx).
ErrorKind KindForHttpStatus(int status);

// The libcurl transport. One instance = one curl easy handle (connection reuse); not thread-safe.
std::unique_ptr<HttpTransport> MakeCurlTransport(const ClientOptions& options);

}  // namespace countersign::fhir
