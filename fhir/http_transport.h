// The HTTP seam under the FHIR client. CurlTransport is the real one; tests decorate it
// (FaultInjectingTransport wraps a real transport) to produce faults a real server cannot.
//
// Threading: a transport instance is used by one thread at a time unless its own docs say more.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/status.h"

namespace countersign::fhir {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT", "PATCH", "DELETE"
  std::string url;     // absolute
  Headers headers;
  std::string body;
  // 0 = the transport's default.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names as sent by the server
  std::string body;
  // Case-insensitive header lookup; empty when absent.
  std::string Header(std::string_view name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request. An HTTP answer of any status is a Result holding the response; only
  // failures to get an answer are errors: kTimeout, or kNetwork (refused, reset, DNS, TLS).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace countersign::fhir
