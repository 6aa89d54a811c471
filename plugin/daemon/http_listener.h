// The HTTP listener: serves a handler (the REST Api) over HTTP/1.1 with cpprestsdk's
// http_listener. This header knows nothing of cpprestsdk; http_listener.cc is the only file that
// includes it (it costs 6-9 s to compile) so the HTTP library can be replaced behind this seam.
//
// Threading: Start/Stop from one thread; the handler is called from the listener's worker
// threads, concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "fhir/status.h"
#include "plugin/daemon/http_types.h"

namespace countersign::daemon {

struct ListenerOptions {
  std::string address = "127.0.0.1";  // IPv4 literal or host name
  int port = 0;                        // 0: a free port is picked (see HttpListener::port())
  // Worker threads for cpprestsdk's shared pool (set once per process, before the first use;
  // later values are ignored).
  int threads = 8;  // config server.threads
  // Bodies declared larger than this (Content-Length) are answered 413 without being read.
  size_t max_body_bytes = 1 << 20;
  // Set TCP_NODELAY on the listening socket so accepted connections inherit it (Linux): without
  // it, cpprest's separate header and body writes meet the client's delayed ACK (~40 ms stalls).
  bool tcp_nodelay = true;
  int request_timeout_s = 30;
};

using HttpHandler = std::function<HttpServerResponse(const HttpServerRequest&)>;

class HttpListener {
 public:
  // Binds and starts serving. kNetwork when the address cannot be bound.
  static Result<std::unique_ptr<HttpListener>> Start(const ListenerOptions& options,
                                                     HttpHandler handler);
  ~HttpListener();  // Stop()

  // Stops accepting and waits for the listener to close. Idempotent.
  void Stop();
  int port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"
  // Whether TCP_NODELAY was applied to the listening socket.
  bool nodelay_applied() const;

 private:
  HttpListener();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sets cpprestsdk's worker pool size if nothing used the pool yet; returns false when it was
// already initialized (then the pool keeps its size). Thread-safe; later calls return false.
bool InitializeHttpThreads(int threads);

// A free TCP port on address (bind to port 0, read it back, close): for tests and port 0.
Result<int> PickFreePort(const std::string& address = "127.0.0.1");

}  // namespace countersign::daemon
