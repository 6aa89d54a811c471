#include "fhir/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string>

namespace countersign::fhir {

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt,
                                       std::optional<std::chrono::milliseconds> retry_after,
                                       const std::function<double()>& random01) {
  if (retry_after) return std::min(*retry_after, policy.max_retry_after);
  int shift = std::clamp(attempt - 1, 0, 30);
  int64_t cap = policy.initial_backoff.count() * (int64_t{1} << std::min(shift, 20));
  cap = std::min<int64_t>(cap, policy.max_backoff.count());
  double r = random01 ? random01() : 0.5;
  r = std::clamp(r, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(r * static_cast<double>(cap)));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::milliseconds(int64_t{999999999} * 1000);
    return std::chrono::milliseconds(std::stoll(std::string(value)) * 1000);
  }
  // An HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"): libcurl's parser handles its three forms.
  time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0) return std::nullopt;
  int64_t delta = static_cast<int64_t>(when) - static_cast<int64_t>(std::time(nullptr));
  return std::chrono::milliseconds(std::max<int64_t>(0, delta) * 1000);
}

bool IsRetryableHttpStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace countersign::fhir
