#include "fhir/client.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "fhir/bundle.h"
#include "fhir/operation_outcome.h"
#include "fhir/query.h"
#include "fhir/reference.h"
#include "fhir/resource.h"

namespace countersign::fhir {

ErrorKind KindForHttpStatus(int status) {
  if (status >= 200 && status < 400) return ErrorKind::kOk;
  switch (status) {
    case 401: return ErrorKind::kUnauthorized;
    case 403: return ErrorKind::kForbidden;
    case 404: return ErrorKind::kNotFound;
    case 410: return ErrorKind::kGone;
    case 409: case 412: case 423: case 428: return ErrorKind::kConflict;
    case 429: return ErrorKind::kUnavailable;
    default: break;
  }
  if (status >= 500) return ErrorKind::kUnavailable;
  return ErrorKind::kInvalid;
}

namespace {

// "3", "\"3\"" and "W/\"3\"" all become W/"3": FHIR versions are weak ETags, and some servers
// (Medplum) ignore an If-Match that is not quoted.
std::string WeakEtag(std::string_view version_or_etag) {
  return "W/\"" + VersionFromETag(version_or_etag) + "\"";
}

void ReplaceAll(std::string& s, const std::string& what, std::string_view with) {
  if (what.empty()) return;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

// "GET https://x/fhir/R4/Device?identifier=..." -> "GET /Device?identifier=..." for messages:
// the request line as sent, query included (without it a refused search cannot be told from
// another); the host is in the configuration. Credentials never travel in a URL we build, and
// Redact() removes configured ones from every message anyway.
std::string Describe(const HttpRequest& req, const std::string& base) {
  std::string path = req.url.rfind(base, 0) == 0 ? req.url.substr(base.size()) : req.url;
  if (path.empty() || path.front() == '?') path = "/" + path;
  return req.method + " " + path;
}

}  // namespace

struct FhirClient::Impl {
  ClientOptions options;
  std::function<std::unique_ptr<HttpTransport>()> factory;
  std::mutex pool_mu;
  std::vector<std::unique_ptr<HttpTransport>> pool;  // idle transports (reused connections)
  std::mutex caps_mu;
  std::optional<Capabilities> caps;
  // Credentials as they could appear in text: never in a Status message or outcome.
  std::vector<std::string> secrets;
  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};
  // SMART Backend Services (null otherwise); smart_error: why it could not be set up (a bad key),
  // answered by every request of a client made with CreateWithTransport.
  std::unique_ptr<SmartTokenSource> smart;
  Status smart_error;

  double Random01() {
    std::lock_guard<std::mutex> lock(rng_mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  std::unique_ptr<HttpTransport> Take() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        auto t = std::move(pool.back());
        pool.pop_back();
        return t;
      }
    }
    return factory();
  }
  void Give(std::unique_ptr<HttpTransport> t) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (pool.size() < 16) pool.push_back(std::move(t));
  }

  std::string Url(std::string_view path) const {
    std::string base = options.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (path.empty()) return base;
    return base + (path.front() == '/' ? "" : "/") + std::string(path);
  }

  HttpRequest Request(std::string method, std::string url, std::string body = {}) const {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.body = std::move(body);
    r.timeout = options.request_timeout;
    r.headers.emplace_back("Accept", "application/fhir+json");
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/fhir+json");
    // Writes ask for the written resource back (FHIR http.html#ins-prefer): some servers answer a
    // transaction entry with only its location otherwise, and the engine would have to read it.
    bool is_write = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    if (is_write && r.url.find("/_search") == std::string::npos) {
      r.headers.emplace_back("Prefer", "return=representation");
    }
    if (options.auth.smart_backend.enabled()) {
      // Added per attempt by SendWithRetries: the token may be renewed between attempts.
    } else if (!options.auth.bearer_token.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + options.auth.bearer_token);
    } else if (!options.auth.basic_user.empty()) {
      std::string plain = options.auth.basic_user + ":" + options.auth.basic_password;
      r.headers.emplace_back("Authorization", "Basic " + Base64Encode(plain));
    }
    return r;
  }

  // A request may be repeated only when repeating it cannot duplicate its effect.
  static bool Repeatable(const HttpRequest& r) {
    if (r.method != "POST") return true;  // GET, PUT, PATCH, DELETE are idempotent
    for (const auto& [name, value] : r.headers) {
      if (name == "If-None-Exist" && !value.empty()) return true;
    }
    return r.url.find("/_search") != std::string::npos;
  }

  void Sleep(std::chrono::milliseconds d) const {
    if (options.sleep) options.sleep(d); else std::this_thread::sleep_for(d);
  }

  void CollectSecrets() {
    const AuthOptions& a = options.auth;
    for (const std::string& s : {a.bearer_token, a.basic_password}) {
      if (s.empty()) continue;
      secrets.push_back(s);
      // As it would appear inside a URL (messages carry the request's query).
      if (std::string encoded = PercentEncode(s); encoded != s) secrets.push_back(encoded);
    }
    if (!a.basic_user.empty()) secrets.push_back(Base64Encode(a.basic_user + ":" + a.basic_password));
    // "https://user:password@host/...": the userinfo of the base URL.
    std::string_view url = options.base_url;
    size_t scheme = url.find("://");
    if (scheme != std::string_view::npos) {
      std::string_view rest = url.substr(scheme + 3);
      size_t at = rest.find('@');
      if (at != std::string_view::npos && at < rest.find('/')) {
        secrets.emplace_back(rest.substr(0, at));
        size_t colon = rest.find(':');
        if (colon < at && colon + 1 < at) {
          secrets.emplace_back(rest.substr(colon + 1, at - colon - 1));
        }
      }
    }
    // Longest first, so a secret containing another is replaced whole.
    std::sort(secrets.begin(), secrets.end(),
              [](const std::string& x, const std::string& y) { return x.size() > y.size(); });
  }

  // The same Status with every credential replaced by "[redacted]" in its message and outcome
  // (a server may echo a header back; a transport message may carry the URL).
  Status Redact(const Status& s) const {
    if (s.ok()) return s;
    std::vector<std::string> all = secrets;
    if (smart) {
      for (std::string& t : smart->Secrets()) all.push_back(std::move(t));
    }
    if (all.empty()) return s;
    std::string message = s.message();
    std::string outcome = s.operation_outcome();
    for (const std::string& secret : all) {
      ReplaceAll(message, secret, "[redacted]");
      ReplaceAll(outcome, secret, "[redacted]");
    }
    return Status::Error(s.kind(), std::move(message), s.http_status(), std::move(outcome));
  }

  // An error answer worth telling about after earlier attempts had no answer: this request (or an
  // earlier send of it) may have been applied, e.g. a retried If-Match update now conflicting
  // with its own first attempt.
  static Status NoteLostAttempts(const Status& s, int attempt, bool earlier_answer_lost) {
    if (!earlier_answer_lost || !s.IsConflict()) return s;
    return Status::Error(s.kind(),
                         s.message() + " (on attempt " + std::to_string(attempt) +
                             "; an earlier attempt got no usable answer and may have been applied)",
                         s.http_status(), s.operation_outcome());
  }

  Status ErrorFrom(const HttpRequest& req, const HttpResponse& resp) const {
    std::string outcome;
    std::string summary;
    auto doc = json::Parse(resp.body, 64);
    if (doc.ok() && doc->IsObject()) {
      auto type = json::GetString(*doc, "resourceType");
      if (type && *type == "OperationOutcome") {
        outcome = resp.body;
        summary = SummarizeOperationOutcome(*doc);
      }
    }
    std::string message = Describe(req, Url("")) + ": HTTP " + std::to_string(resp.status);
    if (!summary.empty()) message += ": " + summary;
    ErrorKind kind = KindForHttpStatus(resp.status);
    if (kind == ErrorKind::kOk) {  // 1xx/3xx: redirects are not followed (credentials stay put)
      kind = ErrorKind::kInvalid;
      message += " (unexpected; redirects are not followed: check the base URL)";
    }
    return Status::Error(kind, message, resp.status, outcome);
  }

  Result<FhirResponse> Send(HttpRequest req) {
    Result<FhirResponse> r = SendWithRetries(std::move(req));
    if (r.ok()) return r;
    return Redact(r.status());
  }

  // One send on a pooled transport; a broken transport is dropped, the others go back.
  Result<HttpResponse> SendOnce(const HttpRequest& req) {
    auto transport = Take();
    Result<HttpResponse> r = transport->Send(req);
    if (r.ok() || !r.status().IsNetwork()) Give(std::move(transport));
    return r;
  }

  Result<FhirResponse> SendWithRetries(HttpRequest req) {
    if (!smart_error.ok()) return smart_error;
    const RetryPolicy& policy = options.retry;
    bool repeatable = Repeatable(req);
    auto start = std::chrono::steady_clock::now();
    bool answer_lost = false;  // an earlier attempt may have been applied without our knowing
    bool renewed_after_401 = false;
    std::string token;           // the one this attempt carries (SMART)
    std::string rejected_token;  // the one the FHIR server answered 401 to
    // SMART: the Authorization header's value is set per attempt (the token may be renewed).
    if (smart) req.headers.emplace_back("Authorization", "");
    int attempt = 0;
    while (true) {
      ++attempt;
      std::optional<std::chrono::milliseconds> retry_after;
      Status failure;
      bool sent = true;
      if (smart) {
        auto t = smart->Token(rejected_token);
        if (t.ok()) {
          token = std::move(t).value();
          req.headers.back().second = "Bearer " + token;
        } else {
          failure = t.status();
          sent = false;
          if (!failure.IsTransient()) return failure;
        }
      }
      if (sent) {
        Result<HttpResponse> r = SendOnce(req);
        if (r.ok()) {
          if (r->status >= 200 && r->status < 300) return ToFhirResponse(std::move(r).value(), attempt);
          if (r->status == 401 && smart && !renewed_after_401) {
            // The token was refused before anything was done (revoked, or expired early): one
            // new token and this request once more, whatever its method.
            renewed_after_401 = true;
            rejected_token = token;
            --attempt;
            continue;
          }
          failure = NoteLostAttempts(ErrorFrom(req, *r), attempt, answer_lost);
          if (!IsRetryableHttpStatus(r->status)) return failure;
          // Retry-After is defined for 429 (RFC 6585) and 503 (RFC 9110); other 5xx back off.
          std::string ra = r->Header("Retry-After");
          if (!ra.empty() && (r->status == 429 || r->status == 503)) retry_after = ParseRetryAfter(ra);
        } else {
          failure = r.status();
          if (!failure.IsTransient()) return failure;
        }
        // A 5xx, timeout or reset may come after the server applied the request; a 429 does not.
        if (!(r.ok() && r->status == 429)) answer_lost = true;
      }
      // Nothing sent (no token yet): trying again cannot duplicate anything.
      if ((sent && !repeatable) || attempt >= policy.max_attempts) return failure;
      if (retry_after && *retry_after > policy.max_retry_after) return failure;
      auto delay = BackoffDelay(policy, attempt, retry_after, [this] { return Random01(); });
      auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (spent + delay > policy.max_total) return failure;
      Sleep(delay);
    }
  }

  // The entries' resources of a searchset or history Bundle at url and of its next pages, in
  // order, up to options.max_pages pages.
  Result<std::vector<json::Document>> Pages(std::string url, const char* what,
                                            const SearchOptions& options) {
    std::vector<json::Document> out;
    const std::string base = Url("");
    for (int page = 0; page < options.max_pages; ++page) {
      auto r = Send(Request("GET", url));
      if (!r.ok()) return r.status();
      if (const json::Value* entries = json::Member(r->body, "entry"); entries && entries->IsArray()) {
        for (const auto& e : entries->GetArray()) {
          const json::Value* res = json::Member(e, "resource");
          if (res == nullptr) continue;
          json::Document d;
          d.CopyFrom(*res, d.GetAllocator());
          out.push_back(std::move(d));
        }
      }
      auto next = NextLink(r->body);
      if (!next) return out;
      // Credentials go to the configured server only: a next link elsewhere is not followed.
      if (next->rfind(base, 0) != 0) {
        return Status::Invalid(std::string(what) +
                               " paging link leaves the configured server; not followed");
      }
      url = *next;
    }
    return Status::TooLarge(std::string(what) + " has more than " +
                            std::to_string(options.max_pages) + " pages");
  }

  static Result<FhirResponse> ToFhirResponse(HttpResponse resp, int attempts) {
    FhirResponse out;
    out.http_status = resp.status;
    out.attempts = attempts;
    out.location = resp.Header("Location");
    if (out.location.empty()) out.location = resp.Header("Content-Location");
    out.etag = resp.Header("ETag");
    out.last_modified = resp.Header("Last-Modified");
    if (!resp.body.empty()) {
      auto doc = json::Parse(resp.body, 128);
      if (!doc.ok()) return Status::Invalid("the server answered with malformed JSON: " + doc.status().message());
      out.body = std::move(doc).value();
    }
    if (out.body.IsObject()) {
      out.id = std::string(ResourceId(out.body).value_or(""));
      out.version_id = std::string(VersionId(out.body).value_or(""));
    }
    if ((out.id.empty() || out.version_id.empty()) && !out.location.empty()) {
      // ".../Type/id/_history/v": the last segments of the Location.
      std::string loc = out.location.substr(0, out.location.find('?'));
      size_t h = loc.find("/_history/");
      std::string head = h == std::string::npos ? loc : loc.substr(0, h);
      if (out.version_id.empty() && h != std::string::npos) out.version_id = loc.substr(h + 10);
      if (out.id.empty()) out.id = head.substr(head.rfind('/') + 1);
    }
    if (out.version_id.empty() && !out.etag.empty()) out.version_id = VersionFromETag(out.etag);
    return out;
  }
};

FhirClient::FhirClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FhirClient::~FhirClient() = default;

Result<std::unique_ptr<FhirClient>> FhirClient::Create(const ClientOptions& options) {
  if (options.base_url.rfind("http://", 0) != 0 && options.base_url.rfind("https://", 0) != 0) {
    return Status::Invalid("FHIR base URL must start with http:// or https://");
  }
  const TlsOptions& tls = options.tls;
  if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
    return Status::Invalid("a TLS client certificate needs its key file, and the key its certificate");
  }
  ClientOptions copy = options;
  auto client = CreateWithTransport(copy, [copy] { return MakeCurlTransport(copy); });
  if (!client->impl_->smart_error.ok()) return client->impl_->smart_error;  // a bad key or URL
  return client;
}

std::unique_ptr<FhirClient> FhirClient::CreateWithTransport(
    const ClientOptions& options, std::function<std::unique_ptr<HttpTransport>()> factory) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->factory = std::move(factory);
  impl->CollectSecrets();
  const SmartBackendOptions& smart = options.auth.smart_backend;
  if (smart.enabled()) {
    auto key = SigningKey::FromPem(smart.private_key_pem);
    Status url = smart.token_url.empty() ? Status::Ok() : CheckTokenEndpointUrl(smart.token_url);
    if (!key.ok()) {
      impl->smart_error = key.status();
    } else if (!url.ok()) {
      impl->smart_error = url;
    } else {
      Impl* raw = impl.get();
      impl->smart = std::make_unique<SmartTokenSource>(
          smart, std::move(key).value(), options.base_url, options.request_timeout,
          [raw](const HttpRequest& r) { return raw->SendOnce(r); });
    }
  }
  return std::unique_ptr<FhirClient>(new FhirClient(std::move(impl)));
}

const std::string& FhirClient::base_url() const { return impl_->options.base_url; }

Result<AuthMethod> FhirClient::Authenticate() {
  if (!impl_->smart_error.ok()) return impl_->smart_error;
  if (!impl_->smart) {
    const AuthOptions& a = impl_->options.auth;
    return a.bearer_token.empty() && a.basic_user.empty() ? AuthMethod::kNone : AuthMethod::kStatic;
  }
  auto token = impl_->smart->Token();
  if (!token.ok()) return impl_->Redact(token.status());
  return AuthMethod::kSmartBackend;
}

Result<Capabilities> FhirClient::GetCapabilities(bool refresh) {
  if (!refresh) {
    std::lock_guard<std::mutex> lock(impl_->caps_mu);
    if (impl_->caps) return *impl_->caps;
  }
  auto r = impl_->Send(impl_->Request("GET", impl_->Url("metadata")));
  if (!r.ok()) return r.status();
  auto caps = Capabilities::Parse(r->body);
  if (!caps.ok()) return Status::Invalid("GET /metadata: " + caps.status().message());
  std::lock_guard<std::mutex> lock(impl_->caps_mu);
  impl_->caps = *caps;
  return *caps;
}

Result<FhirResponse> FhirClient::Read(std::string_view type, std::string_view id) {
  if (!IsValidResourceType(type) || !IsValidId(id)) return Status::Invalid("bad type or id");
  return impl_->Send(impl_->Request("GET", impl_->Url(std::string(type) + "/" + std::string(id))));
}

Result<FhirResponse> FhirClient::VRead(std::string_view type, std::string_view id,
                                       std::string_view version) {
  if (!IsValidResourceType(type) || !IsValidId(id) || !IsValidId(version)) {
    return Status::Invalid("bad type, id or version");
  }
  return impl_->Send(impl_->Request(
      "GET", impl_->Url(std::string(type) + "/" + std::string(id) + "/_history/" +
                        std::string(version))));
}

Result<std::vector<json::Document>> FhirClient::Search(std::string_view type,
                                                       std::string_view query,
                                                       const SearchOptions& options) {
  if (!IsValidResourceType(type)) return Status::Invalid("bad resource type");
  std::string encoded = NormalizeQuery(query);
  return impl_->Pages(impl_->Url(std::string(type) + (encoded.empty() ? "" : "?") + encoded),
                      "search", options);
}

Result<std::vector<json::Document>> FhirClient::Search(std::string_view type,
                                                       const SearchParams& params,
                                                       const SearchOptions& options) {
  return Search(type, EncodeQuery(params), options);
}

Result<std::vector<json::Document>> FhirClient::History(std::string_view type, std::string_view id,
                                                        const SearchOptions& options) {
  if (!IsValidResourceType(type) || !IsValidId(id)) return Status::Invalid("bad type or id");
  return impl_->Pages(impl_->Url(std::string(type) + "/" + std::string(id) + "/_history"),
                      "history", options);
}

Result<FhirResponse> FhirClient::Create(const json::Value& resource, std::string_view if_none_exist) {
  auto type = ResourceType(resource);
  if (!type || !IsValidResourceType(*type)) return Status::Invalid("resource has no valid resourceType");
  HttpRequest req = impl_->Request("POST", impl_->Url(*type), json::Stringify(resource));
  // Servers decode the condition as a URL query: the same encoding as a search.
  if (!if_none_exist.empty()) req.headers.emplace_back("If-None-Exist", NormalizeQuery(if_none_exist));
  return impl_->Send(std::move(req));
}

Result<FhirResponse> FhirClient::Update(const json::Value& resource, std::string_view if_match) {
  auto type = ResourceType(resource);
  auto id = ResourceId(resource);
  if (!type || !id || !IsValidResourceType(*type) || !IsValidId(*id)) {
    return Status::Invalid("an update needs a resource with resourceType and id");
  }
  HttpRequest req = impl_->Request("PUT", impl_->Url(std::string(*type) + "/" + std::string(*id)),
                                   json::Stringify(resource));
  if (!if_match.empty()) req.headers.emplace_back("If-Match", WeakEtag(if_match));
  return impl_->Send(std::move(req));
}

Result<FhirResponse> FhirClient::Patch(std::string_view type, std::string_view id,
                                       const json::Value& patch, std::string_view if_match) {
  if (!IsValidResourceType(type) || !IsValidId(id)) return Status::Invalid("bad type or id");
  if (!patch.IsArray()) return Status::Invalid("a JSON Patch is an array");
  HttpRequest req = impl_->Request("PATCH", impl_->Url(std::string(type) + "/" + std::string(id)));
  req.body = json::Stringify(patch);
  req.headers.emplace_back("Content-Type", "application/json-patch+json");
  if (!if_match.empty()) req.headers.emplace_back("If-Match", WeakEtag(if_match));
  return impl_->Send(std::move(req));
}

Result<FhirResponse> FhirClient::Delete(std::string_view type, std::string_view id) {
  if (!IsValidResourceType(type) || !IsValidId(id)) return Status::Invalid("bad type or id");
  return impl_->Send(impl_->Request("DELETE", impl_->Url(std::string(type) + "/" + std::string(id))));
}

namespace {
Status CheckBundleType(const json::Value& bundle, std::string_view want) {
  auto type = ResourceType(bundle);
  auto btype = json::GetString(bundle, "type");
  if (!type || *type != "Bundle" || !btype || *btype != want) {
    return Status::Invalid("expected a Bundle of type " + std::string(want));
  }
  return Status::Ok();
}
}  // namespace

Result<FhirResponse> FhirClient::Transaction(const json::Value& bundle) {
  CS_RETURN_IF_ERROR(CheckBundleType(bundle, "transaction"));
  auto caps = GetCapabilities();
  if (!caps.ok()) return caps.status();
  if (!caps->transaction) {
    return Status::Unsupported("the FHIR server does not support transactions (its "
                               "CapabilityStatement declares no 'transaction' interaction); "
                               "nothing was sent");
  }
  return impl_->Send(impl_->Request("POST", impl_->Url(""), json::Stringify(bundle)));
}

Result<FhirResponse> FhirClient::Batch(const json::Value& bundle) {
  CS_RETURN_IF_ERROR(CheckBundleType(bundle, "batch"));
  auto caps = GetCapabilities();
  if (!caps.ok()) return caps.status();
  if (!caps->batch) {
    return Status::Unsupported("the FHIR server does not support batch (its CapabilityStatement "
                               "declares no 'batch' interaction); nothing was sent");
  }
  return impl_->Send(impl_->Request("POST", impl_->Url(""), json::Stringify(bundle)));
}

}  // namespace countersign::fhir
