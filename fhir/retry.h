// Retry policy for the FHIR client: exponential backoff with full jitter, honouring Retry-After,
// within a bounded budget of attempts and total time.
//
// What is retried: 429 and 503 (and 500/502/504), timeouts and network errors — but a write is
// retried only when repeating it cannot duplicate its effect: GET/PUT/PATCH/DELETE are retried;
// a POST only when it is conditional (If-None-Exist) or a search. A plain POST (transaction or
// create without If-None-Exist) is never blindly retried: its failure is returned to the caller,
// who must check the server before trying again.
//
// Threading: RetryPolicy is a value; Sleeper implementations must be thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace countersign::fhir {

struct RetryPolicy {
  int max_attempts = 4;                                   // including the first
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds max_total{30000};             // the whole budget, sleeps included
  std::chrono::milliseconds max_retry_after{30000};       // a longer Retry-After ends the budget
  static RetryPolicy None() { RetryPolicy p; p.max_attempts = 1; return p; }
};

// The delay before attempt number `attempt` (1 = the first retry): full jitter over
// min(max_backoff, initial_backoff * 2^(attempt-1)), or exactly retry_after when the server gave
// one (capped by max_retry_after). `random01` returns a uniform value in [0, 1).
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt,
                                       std::optional<std::chrono::milliseconds> retry_after,
                                       const std::function<double()>& random01);

// Parses a Retry-After header value: delta-seconds or an HTTP-date (relative to now).
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view header_value);

// True when an HTTP status is worth retrying (429, 500, 502, 503, 504).
bool IsRetryableHttpStatus(int status);

}  // namespace countersign::fhir
