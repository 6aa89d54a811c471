// The Countersign REST API (described in plugin/daemon/openapi.yaml),
// written against our own request/response values so it runs and is tested without any HTTP
// library: the listener (http_listener.h) only translates.
//
// Rules every endpoint keeps:
// - The acting principal is the one the bearer token authenticates, never anything in a body;
//   decision bodies are read strictly (an unknown member such as "approver" is refused with 400).
// - Errors are FHIR OperationOutcome bodies (application/fhir+json): 400 invalid, 401 no or unknown
//   token (with WWW-Authenticate: Bearer), 403 role, 404, 409 illegal transition or conflict, 413
//   body over the limit, 415 wrong Content-Type, 422 guardrail refused or Idempotency-Key reused
//   with another body, 503 FHIR server unavailable or local storage full (with Retry-After; the
//   cause is logged and /healthz answers 503 until a write succeeds again), 500 a bug or local
//   storage failure. A method the path does not define is 405 with Allow, before the token.
// - Input is validated (size, JSON depth, types) before any store call: malformed input never
//   changes the store.
// - One log line per request (method, path, status, ms, principal id); tokens, Authorization
//   headers, bodies and query values are never logged.
//
// Threading: Handle() may be called from many threads at once; dependencies must be thread-safe
// (Coordinator and SqliteStore are) and outlive the Api.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/status.h"
#include "plugin/core/approval_policy.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/principals.h"
#include "plugin/core/store.h"
#include "plugin/daemon/http_types.h"
#include "plugin/daemon/metrics.h"

namespace countersign::daemon {

struct ApiLimits {
  size_t max_body_bytes = 1 << 20;  // larger bodies: 413
  int max_json_depth = 32;          // deeper nesting: 400
  int max_page = 1000;              // GET /proposals?limit= at most
  int default_page = 50;
};

// Bearer token -> the principal it authenticates (the directory's copy, with its roles).
// kUnauthorized when the token is unknown. Must be thread-safe and constant-time in the token.
using Authenticator = std::function<Result<core::Principal>(std::string_view token)>;

// Proposal -> JSON (object text). Defaults to the daemon's own rendering (ProposalJson below);
// the config layer may supply the shared one so CLI, C ABI and REST print the same thing.
using ProposalRenderer = std::function<std::string(const core::Proposal&, bool with_content)>;

struct ApiDeps {
  core::Coordinator* coordinator = nullptr;     // required
  core::Store* store = nullptr;                 // required (audit, ledger, health)
  const core::ApprovalPolicy* policy = nullptr; // required (who may read audit data)
  Authenticator authenticate;                   // required
  // The FHIR server's current version of "Type/id", for ?diff=true and rebase. Unset: those
  // answer 503.
  core::CurrentReader read_current;
  Metrics* metrics = nullptr;                   // optional
  ProposalRenderer render;                      // optional
  // Counts proposals by status for the /metrics gauge. Unset: counted by paging the store,
  // at most once per counts_ttl_ms.
  std::function<Result<std::map<std::string, int64_t>>()> count_by_status;
  int64_t counts_ttl_ms = 10000;
  // Called after a decision left a proposal approved (an outbox entry is ready): the daemon
  // wakes its commit worker. Optional.
  std::function<void()> outbox_ready;
  // Request log sink: one line per request. Unset: stderr.
  std::function<void(const std::string& line)> log;
  ApiLimits limits;
  std::string base_path;  // prefix for Location headers and next links, e.g. "" or "/api"
};

class Api {
 public:
  explicit Api(ApiDeps deps);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Answers one request; never throws (a thrown exception becomes a 500 OperationOutcome).
  HttpServerResponse Handle(const HttpServerRequest& request);

  // Looks at a request's head before its body is read (the listener's screen): the answer when
  // the request is refused whatever its body (405 for a method the path does not define, 401
  // without a valid token, 404, 413 for a declared Content-Length over the limit), else nullopt.
  // Such an answer is logged and counted like any other. Never throws.
  std::optional<HttpServerResponse> Screen(const HttpServerRequest& head);

  // A local store result seen outside a request (the commit worker): storage full makes
  // /healthz report not-ready; a successful write clears it.
  void ObserveStorage(const Status& status, bool wrote);
  // Whether the last local write failed for lack of space (and none succeeded since).
  bool storage_full() const;

  const ApiLimits& limits() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The default JSON rendering of a proposal: summary fields, and with_content the draft, the
// pending Bundle, the Provenance (from the Bundle), the patches, revisions, approvals, history.
std::string ProposalJson(const core::Proposal& proposal, bool with_content);
std::string SummaryJson(const core::ProposalSummary& summary);

// The HTTP status for an error Status (the table above).
int HttpStatusFor(const Status& status);

// An OperationOutcome response for status (code from its kind, or its own outcome).
HttpServerResponse ErrorResponse(const Status& status);

}  // namespace countersign::daemon
