// Dispatch, authentication, error mapping, request log and the unauthenticated endpoints
// (/healthz, /metrics). The proposal and audit routes live in api_proposals.cc and api_audit.cc.
#include "plugin/daemon/api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdio>
#include <atomic>
#include <exception>
#include <mutex>

#include "fhir/operation_outcome.h"
#include "plugin/core/clock.h"
#include "plugin/core/storage_full.h"
#include "plugin/daemon/api_internal.h"

namespace countersign::daemon {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kFhirJson = "application/fhir+json";
constexpr int64_t kStorageProbeMs = 5000;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

HttpServerResponse Outcome(int status, const char* code, const std::string& text) {
  HttpServerResponse r;
  r.status = status;
  r.headers["Content-Type"] = kFhirJson;
  r.body = fhir::OperationOutcomeJson({{"error", code, text, {}}});
  return r;
}

HttpServerResponse Unauthorized(const std::string& why, bool invalid_token) {
  HttpServerResponse r = Outcome(401, "login", why);
  r.headers["WWW-Authenticate"] =
      invalid_token ? "Bearer realm=\"countersign\", error=\"invalid_token\""
                    : "Bearer realm=\"countersign\"";
  return r;
}

HttpServerResponse MethodNotAllowed(const char* allow) {
  HttpServerResponse r = Outcome(405, "not-supported", std::string("allowed methods: ") + allow);
  r.headers["Allow"] = allow;
  return r;
}

constexpr const char* kReadOnly = "GET, HEAD";
constexpr const char* kPostOnly = "POST";
constexpr const char* kAnyMethod = "GET, HEAD, POST";  // every method the API defines somewhere

// The methods the path supports (the Allow header), or nullptr when no route matches it.
const char* AllowFor(const std::vector<std::string>& seg) {
  if (seg.size() == 1) {
    if (seg[0] == "healthz" || seg[0] == "metrics" || seg[0] == "proposals" ||
        seg[0] == "provenance-ledger") {
      return kReadOnly;
    }
    if (seg[0] == "drafts") return kPostOnly;
    return nullptr;
  }
  if (seg.size() == 2 && seg[0] == "proposals") return kReadOnly;
  if (seg.size() == 2 && seg[0] == "audit" && (seg[1] == "verify" || seg[1] == "export")) {
    return kReadOnly;
  }
  if (seg.size() == 3 && seg[0] == "proposals") {
    const std::string& action = seg[2];
    if (action == "audit") return kReadOnly;
    if (action == "approve" || action == "amend" || action == "reject" || action == "reassign" ||
        action == "rebase" || action == "retry") {
      return kPostOnly;
    }
  }
  return nullptr;
}

bool Allows(const char* allow, const std::string& method) {
  if (method == "HEAD") return allow == kReadOnly || allow == kAnyMethod;
  if (method == "GET") return allow == kReadOnly || allow == kAnyMethod;
  if (method == "POST") return allow == kPostOnly || allow == kAnyMethod;
  return false;
}

// The token from "Authorization: Bearer <token>"; empty when absent or another scheme.
std::string_view BearerToken(const HttpServerRequest& request) {
  auto h = request.Header("Authorization");
  if (!h) return {};
  std::string_view v = *h;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.size() < 7) return {};
  std::string scheme(v.substr(0, 6));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer" || v[6] != ' ') return {};
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

// Printable, bounded, so a hostile path cannot forge log lines.
std::string LogSafe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
  }
  if (s.size() > 200) out += "...";
  return out;
}

}  // namespace

struct Api::Impl {
  ApiDeps deps;
  std::mutex counts_mu;
  int64_t counts_at = -1;
  std::map<std::string, int64_t> counts;

  // Readiness: when the last local write failed for lack of space (ms; 0 = writes work), and
  // when /healthz last tried a write to see whether space came back.
  std::atomic<int64_t> storage_full_since{0};
  std::atomic<int64_t> last_probe{0};

  // Everything decided from the head alone (method, route, token): the refusal, or nullopt
  // with *who set (unset for the unauthenticated endpoints).
  std::optional<HttpServerResponse> Gate(const HttpServerRequest& request,
                                         const std::vector<std::string>& seg,
                                         std::string* principal_id,
                                         std::optional<core::Principal>* who);
  HttpServerResponse Route(const HttpServerRequest& request, std::string* principal_id);
  void Finish(const HttpServerRequest& request, const HttpServerResponse& response,
              Clock::time_point start, const std::string& principal_id);
  void NoteStorage(const Status& status, bool wrote);
  HttpServerResponse Health();
  HttpServerResponse MetricsText();
  std::map<std::string, int64_t> CountsForMetrics();
  void Log(const HttpServerRequest& request, const HttpServerResponse& response, double ms,
           const std::string& principal);
};

Api::Api(ApiDeps deps) : impl_(std::make_unique<Impl>()) { impl_->deps = std::move(deps); }
Api::~Api() = default;
const ApiLimits& Api::limits() const { return impl_->deps.limits; }

HttpServerResponse Api::Handle(const HttpServerRequest& request) {
  const auto start = Clock::now();
  std::string principal_id = "-";
  HttpServerResponse response;
  try {
    response = impl_->Route(request, &principal_id);
  } catch (const std::exception&) {
    // The message could carry request content: not echoed to the client.
    response = Outcome(500, "exception", "internal error");
  } catch (...) {
    response = Outcome(500, "exception", "internal error");
  }
  impl_->Finish(request, response, start, principal_id);
  return response;
}

std::optional<HttpServerResponse> Api::Screen(const HttpServerRequest& head) {
  const auto start = Clock::now();
  std::string principal_id = "-";
  std::optional<HttpServerResponse> response;
  try {
    std::optional<core::Principal> who;
    response = impl_->Gate(head, SplitPath(head.path), &principal_id, &who);
    if (!response) {
      auto declared = head.Header("Content-Length");
      if (declared && declared->size() < 20 && !declared->empty() &&
          declared->find_first_not_of("0123456789") == std::string_view::npos &&
          std::stoull(std::string(*declared)) > impl_->deps.limits.max_body_bytes) {
        response = ErrorResponse(Status::TooLarge(
            "the body is over " + std::to_string(impl_->deps.limits.max_body_bytes) + " bytes"));
      }
    }
  } catch (...) {
    response = Outcome(500, "exception", "internal error");
  }
  if (response) impl_->Finish(head, *response, start, principal_id);
  return response;
}

void Api::ObserveStorage(const Status& status, bool wrote) { impl_->NoteStorage(status, wrote); }
bool Api::storage_full() const { return impl_->storage_full_since.load() != 0; }

void Api::Impl::NoteStorage(const Status& status, bool wrote) {
  if (core::IsStorageFull(status)) {
    int64_t expected = 0;
    const int64_t now = core::SystemClock().NowMillis();
    if (storage_full_since.compare_exchange_strong(expected, now)) last_probe = now;
  } else if (wrote && status.ok()) {
    storage_full_since = 0;
  }
}

void Api::Impl::Finish(const HttpServerRequest& request, const HttpServerResponse& response,
                       Clock::time_point start, const std::string& principal_id) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (deps.metrics) deps.metrics->ObserveRequest(request.method, response.status, seconds);
  // A successful POST wrote to the store; a refused one may say the store is full.
  NoteStorage(response.cause, request.method == "POST" && response.status < 300);
  Log(request, response, seconds * 1000.0, principal_id);
}

void Api::Impl::Log(const HttpServerRequest& request, const HttpServerResponse& response,
                    double ms, const std::string& principal) {
  char timing[32];
  std::snprintf(timing, sizeof timing, "%.2f", ms);
  // Never the query (it may name patients), never headers, never bodies. The cause of a 5xx is
  // the store's or FHIR client's own message (kind and text), which names no data.
  std::string line = "http " + LogSafe(request.method) + " " + LogSafe(request.path) + " " +
                     std::to_string(response.status) + " " + timing +
                     "ms principal=" + LogSafe(principal);
  if (response.status >= 500 && !response.cause.ok()) {
    line += " cause=\"" + LogSafe(response.cause.ToString()) + "\"";
  }
  if (deps.log) {
    deps.log(line);
  } else {
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

std::optional<HttpServerResponse> Api::Impl::Gate(const HttpServerRequest& request,
                                                  const std::vector<std::string>& seg,
                                                  std::string* principal_id,
                                                  std::optional<core::Principal>* who) {
  const char* allow = AllowFor(seg);
  const std::string& m = request.method;
  // A method the API defines nowhere (TRACE, OPTIONS, PUT, made-up ones): 405 before anything
  // else, so such a request is never echoed, authenticated or routed.
  if (!Allows(kAnyMethod, m)) return MethodNotAllowed(allow ? allow : kAnyMethod);

  // Unauthenticated: liveness and metrics (no PHI in either).
  if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "metrics")) {
    if (!Allows(allow, m)) return MethodNotAllowed(allow);
    return std::nullopt;
  }

  // Everything else needs a token, before anything about the route is revealed.
  std::string_view token = BearerToken(request);
  if (token.empty()) return Unauthorized("a bearer token is required", false);
  if (!deps.authenticate) return Outcome(503, "transient", "no authenticator configured");
  Result<core::Principal> found = deps.authenticate(token);
  if (!found.ok()) {
    if (found.status().IsUnauthorized() || found.status().IsNotFound()) {
      return Unauthorized("unknown or revoked token", true);
    }
    return ErrorResponse(found.status());
  }
  *principal_id = found->id;
  if (!allow) return Outcome(404, "not-found", "no such endpoint");
  if (!Allows(allow, m)) return MethodNotAllowed(allow);
  *who = std::move(found).value();
  return std::nullopt;
}

HttpServerResponse Api::Impl::Route(const HttpServerRequest& request, std::string* principal_id) {
  std::vector<std::string> seg = SplitPath(request.path);
  std::optional<core::Principal> who;
  if (auto refused = Gate(request, seg, principal_id, &who)) return std::move(*refused);
  if (!who) return seg[0] == "healthz" ? Health() : MetricsText();

  // The Gate checked the route and the method (HEAD is GET without the body, which the
  // listener drops).
  internal::Call call{request, seg, std::move(*who)};
  if (seg[0] == "drafts") return internal::SubmitDraft(deps, call);
  if (seg[0] == "proposals") {
    if (seg.size() == 1) return internal::ListProposals(deps, call);
    const std::string& id = seg[1];
    if (seg.size() == 2) return internal::GetProposal(deps, call, id);
    if (seg[2] == "audit") return internal::ProposalAudit(deps, call, id);
    return internal::DecideProposal(deps, call, id, seg[2]);
  }
  if (seg[0] == "audit") {
    return seg[1] == "verify" ? internal::VerifyAuditChain(deps, call)
                              : internal::ExportAudit(deps, call);
  }
  return internal::ProvenanceLedger(deps, call);
}

HttpServerResponse Api::Impl::Health() {
  if (storage_full_since.load() != 0) {
    // Not ready while writes fail for lack of space. Every few seconds a small write (a named
    // cursor) checks whether space came back, so an instance taken out of rotation because of
    // this answer can come back without traffic.
    const int64_t now = core::SystemClock().NowMillis();
    int64_t last = last_probe.load();
    if (now - last >= kStorageProbeMs && last_probe.compare_exchange_strong(last, now)) {
      NoteStorage(deps.store->WriteCursor("countersign.storage-probe", now), true);
    }
    if (storage_full_since.load() != 0) {
      HttpServerResponse r =
          ErrorResponse(core::StorageFull("the last write found the local store full"));
      r.body = "{\"status\":\"storage-full\"}";
      r.headers["Content-Type"] = "application/json";
      return r;
    }
  }
  auto head = deps.store->ReadAuditHead();
  if (!head.ok()) return Outcome(503, "transient", "store unavailable");
  return internal::JsonResponse(200, "{\"status\":\"ok\",\"audit_records\":" +
                                         std::to_string(head->count) + "}");
}

std::map<std::string, int64_t> Api::Impl::CountsForMetrics() {
  std::lock_guard<std::mutex> lock(counts_mu);
  const int64_t now = core::SystemClock().NowMillis();
  if (counts_at >= 0 && now - counts_at < deps.counts_ttl_ms) return counts;
  std::map<std::string, int64_t> fresh;
  if (deps.count_by_status) {
    auto c = deps.count_by_status();
    if (!c.ok()) return {};
    fresh = std::move(c).value();
  } else {
    for (core::ProposalStatus s : core::AllStatuses()) {
      core::ProposalFilter f;
      f.status = s;
      core::PageRequest page;
      page.limit = 1000;
      int64_t n = 0;
      for (;;) {
        auto r = deps.store->ListProposals(f, page);
        if (!r.ok()) return {};
        n += static_cast<int64_t>(r->items.size());
        if (r->next_cursor.empty()) break;
        page.after = r->next_cursor;
      }
      fresh[core::StatusName(s)] = n;
    }
  }
  counts = std::move(fresh);
  counts_at = now;
  return counts;
}

HttpServerResponse Api::Impl::MetricsText() {
  Metrics empty;
  const Metrics& m = deps.metrics ? *deps.metrics : empty;
  HttpServerResponse r;
  r.status = 200;
  r.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8";
  r.body = m.Render(CountsForMetrics());
  return r;
}

int HttpStatusFor(const Status& status) {
  switch (status.kind()) {
    case ErrorKind::kOk: return 200;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kGone: return 410;
    case ErrorKind::kConflict: return 409;
    case ErrorKind::kIllegalState: return 409;
    case ErrorKind::kUnauthorized: return 401;
    // A guardrail refusal carries an OperationOutcome naming the rule: the request was
    // understood but its content is refused (422). A role refusal has none (403).
    case ErrorKind::kForbidden: return status.operation_outcome().empty() ? 403 : 422;
    case ErrorKind::kInvalid: return 400;
    case ErrorKind::kTooLarge: return 413;
    case ErrorKind::kUnsupported: return 422;
    case ErrorKind::kUnavailable:
    case ErrorKind::kTimeout:
    case ErrorKind::kNetwork: return 503;
    case ErrorKind::kCorruption:
    case ErrorKind::kIoError:
    case ErrorKind::kInternal: return 500;
  }
  return 500;
}

HttpServerResponse ErrorResponse(const Status& status) {
  HttpServerResponse r;
  r.status = HttpStatusFor(status);
  r.headers["Content-Type"] = kFhirJson;
  if (r.status >= 500) r.cause = status;  // logged by Api::Handle
  const bool full = core::IsStorageFull(status);
  if (full) {
    r.body = fhir::OperationOutcomeJson(
        {{"error", "transient", "the local store is full; try again later", {}}});
  } else if (r.status >= 500 && !status.IsTransient()) {
    // Local storage details stay in the server's logs, not in answers.
    r.body = fhir::OperationOutcomeJson({{"error", "exception", "internal error", {}}});
  } else {
    r.body = fhir::OperationOutcomeFor(status);
  }
  if (r.status == 401) r.headers["WWW-Authenticate"] = "Bearer realm=\"countersign\"";
  if (r.status == 503) r.headers["Retry-After"] = full ? "30" : "5";
  return r;
}

namespace internal {

HttpServerResponse JsonResponse(int status, std::string body, std::string content_type) {
  HttpServerResponse r;
  r.status = status;
  r.headers["Content-Type"] = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Result<json::Document> ReadJsonObject(const HttpServerRequest& request, const ApiLimits& limits,
                                      bool allow_empty) {
  if (request.body.size() > limits.max_body_bytes) {
    return Status::TooLarge("the body is over " + std::to_string(limits.max_body_bytes) +
                            " bytes");
  }
  if (request.body.empty() && allow_empty) {
    json::Document d;
    d.SetObject();
    return d;
  }
  std::string type(request.Header("Content-Type").value_or(""));
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type != "application/json" && type != "application/fhir+json") {
    return Status::Error(ErrorKind::kInvalid, "Content-Type must be application/json", 415);
  }
  auto doc = json::Parse(request.body, limits.max_json_depth);
  if (!doc.ok()) return Status::Invalid("malformed JSON body: " + doc.status().message());
  if (!doc->IsObject()) return Status::Invalid("the body must be a JSON object");
  return doc;
}

HttpServerResponse BodyError(const Status& status) {
  if (status.IsInvalid() && status.http_status() == 415) {
    return Outcome(415, "not-supported", status.message());
  }
  return ErrorResponse(status);
}

Status OnlyMembers(const json::Value& object, std::initializer_list<std::string_view> allowed) {
  for (const auto& member : object.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == name;
    if (!ok) {
      // Identity comes from the token only: a body naming an approver is refused, not ignored.
      return Status::Invalid("unknown member '" + std::string(name).substr(0, 64) +
                             "' (the acting principal is the token's, never the body's)");
    }
  }
  return Status::Ok();
}

Result<std::string> OptionalString(const json::Value& object, std::string_view name) {
  const json::Value* v = json::Member(object, name);
  if (!v || v->IsNull()) return std::string();
  if (!v->IsString()) return Status::Invalid("'" + std::string(name) + "' must be a string");
  return std::string(v->GetString(), v->GetStringLength());
}

Result<int64_t> QueryInt(const HttpServerRequest& request, std::string_view name, int64_t min,
                         int64_t max, int64_t fallback) {
  auto v = request.Query(name);
  if (!v) return fallback;
  const std::string text(*v);
  if (text.empty() || text.size() > 19) {
    return Status::Invalid("'" + std::string(name) + "' must be an integer");
  }
  int64_t n = 0;
  size_t i = 0;
  bool negative = text[0] == '-';
  if (negative) i = 1;
  if (i == text.size()) return Status::Invalid("'" + std::string(name) + "' must be an integer");
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return Status::Invalid("'" + std::string(name) + "' must be an integer");
    }
    n = n * 10 + (text[i] - '0');
  }
  if (negative) n = -n;
  if (n < min || n > max) {
    return Status::Invalid("'" + std::string(name) + "' must be in [" + std::to_string(min) +
                           ", " + std::to_string(max) + "]");
  }
  return n;
}

std::string Render(const ApiDeps& deps, const core::Proposal& proposal, bool with_content) {
  return deps.render ? deps.render(proposal, with_content) : ProposalJson(proposal, with_content);
}

}  // namespace internal

}  // namespace countersign::daemon
