// The only translation unit that includes cpprestsdk's listener. Everything it does: bind, turn a
// cpprest request into an HttpServerRequest, call the handler, turn the answer back, and make sure
// no exception escapes and every request gets an answer.
#include <utility>  // before boost/asio (pulled in by cpprest): C++20 needs std::exchange declared

#include "plugin/daemon/http_listener.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <atomic>
#include <mutex>

#include "fhir/operation_outcome.h"

namespace countersign::daemon {

namespace {

namespace http = web::http;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

std::mutex g_pool_mu;
bool g_pool_initialized = false;

HttpServerResponse InternalError() {
  HttpServerResponse r;
  r.status = 500;
  r.headers["Content-Type"] = "application/fhir+json";
  r.body = fhir::OperationOutcomeJson({{"error", "exception", "internal error", {}}});
  return r;
}

HttpServerResponse Refusal(int status, const char* code, const std::string& text) {
  HttpServerResponse r;
  r.status = status;
  r.headers["Content-Type"] = "application/fhir+json";
  r.body = fhir::OperationOutcomeJson({{"error", code, text, {}}});
  return r;
}

http::http_response ToCpprest(HttpServerResponse&& in) {
  http::http_response out(static_cast<http::status_code>(in.status));
  std::string content_type = "application/json";
  for (auto& [name, value] : in.headers) {
    if (CaseInsensitiveLess{}(name, "Content-Type") == false &&
        CaseInsensitiveLess{}("Content-Type", name) == false) {
      content_type = value;
      continue;
    }
    out.headers().add(name, value);
  }
  // set_body with a string sets Content-Length, so the reply is not chunked and the client
  // knows where it ends without waiting.
  out.set_body(std::move(in.body), content_type);
  return out;
}

// Socket helpers for TCP_NODELAY: cpprest exposes no socket, so the listening socket is found
// among the process's descriptors by its local port and SO_ACCEPTCONN.
int LocalPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return -1;
}

bool SetNodelayOnListeningSocket(int port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return false;
  bool applied = false;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        !listening) {
      continue;
    }
    if (LocalPort(static_cast<int>(fd)) != port) continue;
    int one = 1;
    if (setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) {
      applied = true;
    }
  }
  closedir(dir);
  return applied;
}

}  // namespace

bool InitializeHttpThreads(int threads) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (g_pool_initialized) return false;
  g_pool_initialized = true;
  try {
    crossplat::threadpool::initialize_with_threads(static_cast<size_t>(threads < 1 ? 1 : threads));
    return true;
  } catch (const std::exception&) {
    return false;  // something used cpprest first: its pool keeps its size
  }
}

Result<int> PickFreePort(const std::string& address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::Network("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return Status::Invalid("not an IPv4 address: " + address);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return Status::Network("cannot bind " + address);
  }
  int port = LocalPort(fd);
  close(fd);
  if (port <= 0) return Status::Network("getsockname() failed");
  return port;
}

struct HttpListener::Impl {
  ListenerOptions options;
  HttpHandler handler;
  int port = 0;
  bool nodelay = false;
  std::unique_ptr<http_listener> listener;
  std::atomic<bool> stopped{false};

  void Serve(http::http_request request);
  void Answer(http::http_request& request, HttpServerResponse response);
};

void HttpListener::Impl::Answer(http::http_request& request, HttpServerResponse response) {
  try {
    request.reply(ToCpprest(std::move(response)))
        .then([](pplx::task<void> t) {
          try {
            t.get();
          } catch (...) {
            // The client went away; nothing to answer.
          }
        });
  } catch (...) {
    // reply() throws only when the request was already answered or the connection is gone.
  }
}

void HttpListener::Impl::Serve(http::http_request request) {
  try {
    const auto& headers = request.headers();
    if (headers.has("Content-Length")) {
      uint64_t declared = headers.content_length();
      if (declared > options.max_body_bytes) {
        Answer(request, Refusal(413, "too-long",
                                "the body is over " + std::to_string(options.max_body_bytes) +
                                    " bytes"));
        return;
      }
    }
    auto self = this;
    request.extract_vector().then([self, request](pplx::task<std::vector<unsigned char>> body) mutable {
      HttpServerResponse response;
      try {
        HttpServerRequest in;
        in.method = request.method();
        const web::uri& uri = request.relative_uri();
        auto path = PercentDecode(uri.path());
        auto query = ParseQuery(uri.query());
        if (!path || !query) {
          self->Answer(request, Refusal(400, "invalid", "malformed request target"));
          return;
        }
        in.path = std::move(*path);
        in.query = std::move(*query);
        for (const auto& [name, value] : request.headers()) in.headers[name] = value;
        std::vector<unsigned char> bytes = body.get();
        if (bytes.size() > self->options.max_body_bytes) {
          self->Answer(request, Refusal(413, "too-long", "the body is too large"));
          return;
        }
        in.body.assign(bytes.begin(), bytes.end());
        in.remote_address = request.remote_address();
        response = self->handler(in);
      } catch (...) {
        response = InternalError();
      }
      self->Answer(request, std::move(response));
    });
  } catch (...) {
    Answer(request, InternalError());
  }
}

HttpListener::HttpListener() : impl_(std::make_unique<Impl>()) {}

HttpListener::~HttpListener() { Stop(); }

Result<std::unique_ptr<HttpListener>> HttpListener::Start(const ListenerOptions& options,
                                                          HttpHandler handler) {
  InitializeHttpThreads(options.threads);
  std::unique_ptr<HttpListener> l(new HttpListener());
  Impl& impl = *l->impl_;
  impl.options = options;
  impl.handler = std::move(handler);
  impl.port = options.port;
  if (impl.port == 0) {
    auto p = PickFreePort(options.address);
    if (!p.ok()) return p.status();
    impl.port = *p;
  }
  try {
    http_listener_config config;
    config.set_timeout(std::chrono::seconds(options.request_timeout_s));
    impl.listener = std::make_unique<http_listener>(
        web::uri("http://" + options.address + ":" + std::to_string(impl.port) + "/"), config);
    Impl* raw = &impl;
    impl.listener->support([raw](http::http_request request) { raw->Serve(std::move(request)); });
    impl.listener->open().wait();
  } catch (const std::exception& e) {
    return Status::Network("cannot listen on " + options.address + ":" +
                           std::to_string(impl.port) + ": " + e.what());
  }
  if (options.tcp_nodelay) impl.nodelay = SetNodelayOnListeningSocket(impl.port);
  return l;
}

void HttpListener::Stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  if (impl_->listener) {
    try {
      impl_->listener->close().wait();
    } catch (...) {
    }
  }
}

int HttpListener::port() const { return impl_->port; }
std::string HttpListener::url() const {
  return "http://" + impl_->options.address + ":" + std::to_string(impl_->port);
}
bool HttpListener::nodelay_applied() const { return impl_->nodelay; }

}  // namespace countersign::daemon
