// The HTTP listener: serves a handler (the REST Api) over HTTP/1.1, optionally over TLS, with
// Boost.Beast. This header knows nothing of Beast or Asio; http_listener.cc is the only file that
// includes them (they are slow to compile), so the HTTP library can be replaced behind this seam.
//
// What the listener guarantees before the handler sees anything, so that a client without a
// token cannot exhaust the daemon:
// - the request line and headers are read first, within header_timeout_s and max_header_bytes
//   (414 for a target over max_url_bytes, 431 for headers over the limits); a malformed header
//   (e.g. Content-Length: -5) is answered 400;
// - the screen callback sees the head (no body) and may answer at once (401, 405, ...): the
//   body is then never read and the connection is closed after the answer;
// - a body is read only up to max_body_bytes, chunked or not (413 and close beyond it);
// - a connection idle for idle_timeout_s (before a request or between keep-alive requests) is
//   closed; at most max_connections are open: a new one beyond it closes the connection that has
//   waited longest without a request in progress, so idle sockets cannot starve real clients;
// - every answer carries Cache-Control: no-store and the usual security headers (HSTS on TLS).
//
// Threading: Start/Stop from one thread; the handler and screen are called from the listener's
// threads, concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "fhir/status.h"
#include "plugin/daemon/http_types.h"

namespace countersign::daemon {

// A request's head (method, path, query, headers; body empty) -> an answer to send instead of
// reading the body, or nullopt to read the body and call the handler.
using HttpScreen = std::function<std::optional<HttpServerResponse>(const HttpServerRequest& head)>;
// Called for every answer the listener gives on its own (400, 408, 413, 414, 431), for metrics
// and logs. method may be empty when the request line was not readable.
using HttpRefusalObserver = std::function<void(std::string_view method, int status)>;

struct ListenerOptions {
  std::string address = "127.0.0.1";  // IPv4/IPv6 literal or host name
  int port = 0;                        // 0: a free port is picked (see HttpListener::port())
  // Threads that run the connections and the handler. A handler blocks its thread (a
  // submission waits for its group commit's fsync), so this bounds concurrent requests.
  int threads = 8;  // config server.threads
  size_t max_body_bytes = 1 << 20;    // larger bodies (declared or chunked): 413, not read on
  size_t max_header_bytes = 16 << 10; // request line + headers; more: 431 (414 for the URL)
  size_t max_url_bytes = 8 << 10;     // request target; longer: 414
  int max_headers = 100;              // header fields; more: 431
  int header_timeout_s = 10;          // from a request's first byte to the end of its headers
  int idle_timeout_s = 30;            // no request in progress (new or keep-alive connection)
  int request_timeout_s = 30;         // reading the body, writing the answer
  int max_connections = 512;          // also kept below the process's open-file limit
  // TLS: both set, or neither. PEM certificate chain and unencrypted private key.
  std::string tls_cert_file;
  std::string tls_key_file;
  // A non-loopback address is refused without TLS unless this says a TLS proxy is in front.
  bool behind_tls_proxy = false;
  // TCP_NODELAY on accepted connections: the header and body of an answer are separate writes
  // and would otherwise meet the client's delayed ACK (~40 ms stalls).
  bool tcp_nodelay = true;
  HttpScreen screen;               // optional
  HttpRefusalObserver on_refusal;  // optional
};

using HttpHandler = std::function<HttpServerResponse(const HttpServerRequest&)>;

class HttpListener {
 public:
  // Binds and starts serving. kNetwork when the address cannot be bound or resolved; kInvalid
  // for a non-loopback address without TLS (and without behind_tls_proxy), for half a TLS
  // configuration, or for a certificate/key that cannot be loaded.
  static Result<std::unique_ptr<HttpListener>> Start(const ListenerOptions& options,
                                                     HttpHandler handler);
  ~HttpListener();  // Stop()

  // Stops accepting, closes every connection and joins the threads (a running handler is
  // waited for). Idempotent.
  void Stop();
  int port() const;
  std::string url() const;  // "http://127.0.0.1:<port>" (https:// with TLS)
  bool tls() const;
  // Whether TCP_NODELAY is applied to accepted connections.
  bool nodelay_applied() const;
  // Open connections now (for tests and metrics).
  int open_connections() const;

 private:
  HttpListener();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The security headers every answer carries (added by the listener unless the handler set one):
// Cache-Control: no-store, X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
// Content-Security-Policy: default-src 'none'; frame-ancestors 'none', Referrer-Policy:
// no-referrer, and with tls Strict-Transport-Security.
void AddSecurityHeaders(HeaderMap& headers, bool tls);

// Whether host (a literal or "localhost") names the loopback interface.
bool IsLoopbackHost(const std::string& host);

// A free TCP port on address (bind to port 0, read it back, close): for tests.
Result<int> PickFreePort(const std::string& address = "127.0.0.1");

}  // namespace countersign::daemon
