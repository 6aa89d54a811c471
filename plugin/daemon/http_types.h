// Countersign's own HTTP request/response values: the REST API (api.h) is written against these,
// never against the HTTP library, so it is unit-testable through Api::Handle() and the listener
// (http_listener.h) is the only code that knows the HTTP library.
//
// Threading: values; safe to copy between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/status.h"

namespace countersign::daemon {

// Header names compare case-insensitively (RFC 9110); values are kept as received.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};
using HeaderMap = std::map<std::string, std::string, CaseInsensitiveLess>;

struct HttpServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query: "/proposals/abc/approve"
  std::map<std::string, std::string> query;  // decoded; the last value wins for a repeated name
  HeaderMap headers;
  std::string body;
  std::string remote_address;  // for logs; may be empty

  // The header's value, or nullopt when absent.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The query parameter's value, or nullopt when absent.
  std::optional<std::string_view> Query(std::string_view name) const;
};

struct HttpServerResponse {
  int status = 200;
  HeaderMap headers;  // Content-Type is set here; Content-Length is the listener's job
  std::string body;
  // The error behind a 5xx answer, for the server's log (and readiness) only: never sent.
  Status cause;
};

// Percent-decodes s ('+' stays '+'; in a query component pass plus_is_space to map it to ' ').
// nullopt on a malformed escape or a decoded NUL byte.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);
// Percent-encodes every byte outside RFC 3986 "unreserved" (for cursors in links).
std::string PercentEncode(std::string_view s);
// Parses "a=1&b=x%20y" into decoded pairs; nullopt when any part is malformed.
std::optional<std::map<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace countersign::daemon
