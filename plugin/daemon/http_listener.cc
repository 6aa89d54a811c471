// The only translation unit that includes Boost.Beast/Asio. Everything it does: bind, accept
// (within the connection cap), read a request head within its limits and time, let the screen
// refuse it before the body is read, read the body within its limit, call the handler, write the
// answer with the security headers, and make sure no exception escapes and every request read
// gets an answer.
#include <utility>  // before boost/asio: C++20 needs std::exchange declared

#include "plugin/daemon/http_listener.h"

#include <sys/resource.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fhir/operation_outcome.h"

namespace countersign::daemon {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

// After an answer that leaves a body unread, the socket is half-closed and what the client still
// sends is read and dropped for a while: closing with unread input would make the kernel reset the
// connection and the client could lose the answer. Bounded in time and bytes.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 4 << 20;
// Descriptors kept free for the store, the FHIR client and logs when the cap is derived from
// the open-file limit.
constexpr int kReservedDescriptors = 64;

HttpServerResponse Refusal(int status, const char* code, const std::string& text) {
  HttpServerResponse r;
  r.status = status;
  r.headers["Content-Type"] = "application/fhir+json";
  r.body = fhir::OperationOutcomeJson({{"error", code, text, {}}});
  return r;
}

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection from any thread (posted to the session's strand).
  virtual void Evict() = 0;
};

// What the acceptor and every session share. Sessions hold it by shared_ptr, so it outlives them
// however the io_context unwinds.
struct Shared {
  ListenerOptions options;
  HttpHandler handler;
  std::unique_ptr<ssl::context> tls;  // null: plain HTTP
  int cap = 0;
  std::atomic<int> open{0};

  // Sessions with no request in progress (waiting for one, or reading its head), oldest first:
  // the first to close when a new connection would exceed the cap.
  std::mutex mu;
  std::map<uint64_t, std::weak_ptr<SessionBase>> waiting;
  uint64_t next_ticket = 1;

  uint64_t EnterWaiting(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t t = next_ticket++;
    waiting.emplace(t, s);
    return t;
  }
  void LeaveWaiting(uint64_t ticket) {
    if (ticket == 0) return;
    std::lock_guard<std::mutex> lock(mu);
    waiting.erase(ticket);
  }
  // Closes the longest-waiting session; false when none waits.
  bool EvictOldest() {
    std::shared_ptr<SessionBase> victim;
    {
      std::lock_guard<std::mutex> lock(mu);
      while (!waiting.empty() && !victim) {
        victim = waiting.begin()->second.lock();
        waiting.erase(waiting.begin());
      }
    }
    if (!victim) return false;
    victim->Evict();
    return true;
  }
  void Refused(std::string_view method, int status) {
    if (options.on_refusal) options.on_refusal(method, status);
  }
};

bool SameName(std::string_view a, std::string_view b) {
  return !CaseInsensitiveLess{}(a, b) && !CaseInsensitiveLess{}(b, a);
}

template <class Stream>
class Session : public SessionBase {
 public:
  Session(Stream stream, std::shared_ptr<Shared> shared)
      : stream_(std::move(stream)), shared_(std::move(shared)) {
    ++shared_->open;
  }
  ~Session() override {
    shared_->LeaveWaiting(ticket_);
    --shared_->open;
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  void Evict() override {
    net::post(stream_.get_executor(), [self = Self()] { self->Close(); });
  }

 private:
  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(shared_from_this());
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  const ListenerOptions& Opt() const { return shared_->options; }
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void Begin() {
    error_code ec;
    auto remote = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string();
    if constexpr (kTls) {
      ticket_ = shared_->EnterWaiting(shared_from_this());
      Lowest().expires_after(std::chrono::seconds(Opt().header_timeout_s));
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](error_code e) {
        if (e) return self->Close();
        self->WaitRequest();
      });
    } else {
      WaitRequest();
    }
  }

  // Idle: no request in progress. Waits for the first byte of the next one.
  void WaitRequest() {
    if (ticket_ == 0) ticket_ = shared_->EnterWaiting(shared_from_this());
    if (buffer_.size() > 0) return ReadHead();  // pipelined
    Lowest().expires_after(std::chrono::seconds(Opt().idle_timeout_s));
    stream_.async_read_some(buffer_.prepare(4096), [self = Self()](error_code e, size_t n) {
      if (e) return self->Close();
      self->buffer_.commit(n);
      self->ReadHead();
    });
  }

  void ReadHead() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(Opt().max_header_bytes));
    // No body limit yet: the parser would refuse a large Content-Length while reading the
    // head, before the screen could answer 401. OnHead checks the declared size itself.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    Lowest().expires_after(std::chrono::seconds(Opt().header_timeout_s));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](error_code e, size_t) { self->OnHead(e); });
  }

  // The request line's length in what was buffered (all of it when no line end arrived).
  size_t BufferedRequestLine() const {
    std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    size_t eol = data.find("\r\n");
    return eol == std::string_view::npos ? data.size() : eol;
  }

  void OnHead(error_code e) {
    shared_->LeaveWaiting(std::exchange(ticket_, 0));
    if (e == http::error::header_limit) {
      // The parser consumes the request line once it is whole: a target still unparsed and
      // longer than the URL limit is what overflowed.
      if (parser_->get().target().empty() && BufferedRequestLine() > Opt().max_url_bytes) {
        return Refuse("", 414, "too-long", "the request target is over " +
                                              std::to_string(Opt().max_url_bytes) + " bytes");
      }
      return Refuse("", 431, "too-long", "the request headers are over " +
                                            std::to_string(Opt().max_header_bytes) + " bytes");
    }
    if (e == http::error::end_of_stream || e == net::error::operation_aborted ||
        e == beast::error::timeout || e == net::error::eof ||
        e == net::error::connection_reset) {
      return Close();
    }
    if (e) return Refuse("", 400, "invalid", "malformed request: " + e.message());

    const auto& req = parser_->get();
    head_ = HttpServerRequest{};
    head_.method = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    if (target.size() > Opt().max_url_bytes) {
      return Refuse(head_.method, 414, "too-long",
                    "the request target is over " + std::to_string(Opt().max_url_bytes) +
                        " bytes");
    }
    int fields = 0;
    for (const auto& f : req) {
      if (++fields > Opt().max_headers) {
        return Refuse(head_.method, 431, "too-long",
                      "more than " + std::to_string(Opt().max_headers) + " header fields");
      }
      std::string name(f.name_string());
      auto [it, inserted] = head_.headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());  // RFC 9110 5.3
    }
    const size_t q = target.find('?');
    auto path = PercentDecode(target.substr(0, q));
    auto query = ParseQuery(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
    if (!path || !query || path->empty() || (*path)[0] != '/') {
      return Refuse(head_.method, 400, "invalid", "malformed request target");
    }
    head_.path = std::move(*path);
    head_.query = std::move(*query);
    head_.remote_address = remote_;
    keep_alive_ = req.keep_alive();
    const bool has_body = !parser_->is_done();

    // Before a byte of the body: the token, the method, the declared size.
    if (Opt().screen) {
      std::optional<HttpServerResponse> early;
      try {
        early = Opt().screen(head_);
      } catch (...) {
        early = Refusal(500, "exception", "internal error");
      }
      if (early) return Send(std::move(*early), keep_alive_ && !has_body);
    }
    if (auto declared = parser_->content_length(); declared && *declared > Opt().max_body_bytes) {
      return Refuse(head_.method, 413, "too-long",
                    "the body is over " + std::to_string(Opt().max_body_bytes) + " bytes");
    }
    if (!has_body) return Dispatch();
    if (auto expect = head_.Header("Expect"); expect && SameName(*expect, "100-continue")) {
      continue_ = std::make_unique<http::response<http::empty_body>>(http::status::continue_, 11);
      Lowest().expires_after(std::chrono::seconds(Opt().request_timeout_s));
      return http::async_write(stream_, *continue_, [self = Self()](error_code we, size_t) {
        if (we) return self->Close();
        self->ReadBody();
      });
    }
    ReadBody();
  }

  void ReadBody() {
    parser_->body_limit(Opt().max_body_bytes);  // counts chunked bytes as they arrive
    Lowest().expires_after(std::chrono::seconds(Opt().request_timeout_s));
    http::async_read(stream_, buffer_, *parser_, [self = Self()](error_code e, size_t) {
      if (e == http::error::body_limit) {
        return self->Refuse(self->head_.method, 413, "too-long",
                            "the body is over " + std::to_string(self->Opt().max_body_bytes) +
                                " bytes");
      }
      if (e == beast::error::timeout) {
        return self->Refuse(self->head_.method, 408, "timeout", "the body did not arrive in time");
      }
      if (e == http::error::partial_message || e == net::error::eof ||
          e == net::error::operation_aborted || e == net::error::connection_reset) {
        return self->Close();
      }
      if (e) return self->Refuse(self->head_.method, 400, "invalid", "malformed body: " + e.message());
      self->Dispatch();
    });
  }

  void Dispatch() {
    head_.body = std::move(parser_->get().body());
    HttpServerResponse response;
    try {
      response = shared_->handler(head_);
    } catch (...) {
      response = Refusal(500, "exception", "internal error");
    }
    Send(std::move(response), keep_alive_);
  }

  // An answer of the listener's own; the rest of the request is not read.
  void Refuse(std::string_view method, int status, const char* code, const std::string& text) {
    shared_->Refused(method, status);
    Send(Refusal(status, code, text), false);
  }

  void Send(HttpServerResponse in, bool keep_alive) {
    keep_alive_ = keep_alive;
    const bool head_method = head_.method == "HEAD";
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(in.status));
    AddSecurityHeaders(in.headers, kTls);
    for (auto& [name, value] : in.headers) {
      if (SameName(name, "Content-Length") || SameName(name, "Transfer-Encoding") ||
          SameName(name, "Connection")) {
        continue;
      }
      res_.set(name, value);
    }
    const size_t length = in.body.size();
    if (!head_method) res_.body() = std::move(in.body);
    res_.keep_alive(keep_alive);
    res_.content_length(length);  // HEAD: the length GET would have sent, no body
    Lowest().expires_after(std::chrono::seconds(Opt().request_timeout_s));
    http::async_write(stream_, res_, [self = Self()](error_code e, size_t) {
      if (e) return self->Close();
      if (!self->keep_alive_) return self->Linger();
      self->parser_.reset();
      self->head_ = HttpServerRequest{};
      self->WaitRequest();
    });
  }

  // Half-close, then read and drop what the client still sends (see kLingerTime).
  void Linger() {
    error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    Lowest().expires_after(kLingerTime);
    DrainSome();
  }
  void DrainSome() {
    drain_.resize(16 << 10);
    Lowest().async_read_some(net::buffer(drain_), [self = Self()](error_code e, size_t n) {
      self->drained_ += n;
      if (e || self->drained_ > kLingerBytes) return self->Close();
      self->DrainSome();
    });
  }

  void Close() {
    shared_->LeaveWaiting(std::exchange(ticket_, 0));
    error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  HttpServerRequest head_;
  std::string remote_;
  std::vector<char> drain_;
  size_t drained_ = 0;
  uint64_t ticket_ = 0;
  bool keep_alive_ = false;
};

int DescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 20));
}

}  // namespace

void AddSecurityHeaders(HeaderMap& headers, bool tls) {
  headers.emplace("Cache-Control", "no-store");
  headers.emplace("X-Content-Type-Options", "nosniff");
  headers.emplace("X-Frame-Options", "DENY");
  headers.emplace("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  headers.emplace("Referrer-Policy", "no-referrer");
  if (tls) headers.emplace("Strict-Transport-Security", "max-age=31536000");
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  std::string literal = host;
  if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']') {
    literal = literal.substr(1, literal.size() - 2);
  }
  error_code ec;
  auto addr = net::ip::make_address(literal, ec);
  return !ec && addr.is_loopback();
}

Result<int> PickFreePort(const std::string& address) {
  try {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address(address), 0));
    return static_cast<int>(a.local_endpoint().port());
  } catch (const std::exception& e) {
    return Status::Network("cannot bind " + address + ": " + e.what());
  }
}

struct HttpListener::Impl {
  std::shared_ptr<Shared> shared;
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> retry;  // after EMFILE: wait, then accept again
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  int port = 0;

  void Accept();
  void OnAccept(error_code ec, tcp::socket socket);
};

void HttpListener::Impl::Accept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpListener::Impl::OnAccept(error_code ec, tcp::socket socket) {
  if (stopped || !acceptor->is_open()) return;
  if (ec) {
    // Out of descriptors (or another transient failure): free the oldest idle connection and
    // try again shortly instead of spinning.
    shared->EvictOldest();
    retry->expires_after(std::chrono::milliseconds(50));
    retry->async_wait([this](error_code) {
      if (!stopped) Accept();
    });
    return;
  }
  if (shared->open.load() >= shared->cap && !shared->EvictOldest()) {
    error_code ignored;
    socket.close(ignored);  // every connection is busy with a request: refuse this one
  } else {
    if (shared->options.tcp_nodelay) socket.set_option(tcp::no_delay(true), ec);
    if (shared->tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *shared->tls),
          shared)
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared)
          ->Run();
    }
  }
  Accept();
}

HttpListener::HttpListener() : impl_(std::make_unique<Impl>()) {}

HttpListener::~HttpListener() { Stop(); }

Result<std::unique_ptr<HttpListener>> HttpListener::Start(const ListenerOptions& options,
                                                          HttpHandler handler) {
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    return Status::Invalid("TLS needs both a certificate file and a key file");
  }
  if (!tls && !options.behind_tls_proxy && !IsLoopbackHost(options.address)) {
    return Status::Invalid("refusing to listen on " + options.address +
                           " without TLS: give a certificate and key (server.tls), or declare "
                           "that a TLS proxy is in front (server.behind_tls_proxy)");
  }
  std::unique_ptr<HttpListener> l(new HttpListener());
  Impl& impl = *l->impl_;
  impl.shared = std::make_shared<Shared>();
  Shared& shared = *impl.shared;
  shared.options = options;
  shared.handler = std::move(handler);
  shared.cap = std::max(1, std::min(options.max_connections,
                                    DescriptorLimit() - kReservedDescriptors));
  if (tls) {
    try {
      shared.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      shared.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                              ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                              ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      shared.tls->use_certificate_chain_file(options.tls_cert_file);
      shared.tls->use_private_key_file(options.tls_key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      return Status::Invalid("cannot load the TLS certificate or key: " + std::string(e.what()));
    }
  }
  impl.ioc = std::make_unique<net::io_context>(std::max(1, options.threads));
  try {
    std::string host = options.address;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    tcp::endpoint endpoint;
    error_code ec;
    auto literal = net::ip::make_address(host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(literal, static_cast<unsigned short>(options.port));
    } else {
      tcp::resolver resolver(*impl.ioc);
      auto found = resolver.resolve(host, std::to_string(options.port));
      if (found.empty()) return Status::Network("cannot resolve " + options.address);
      endpoint = found.begin()->endpoint();
    }
    impl.acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*impl.ioc));
    impl.acceptor->open(endpoint.protocol());
    impl.acceptor->set_option(net::socket_base::reuse_address(true));
    impl.acceptor->bind(endpoint);
    impl.acceptor->listen(net::socket_base::max_listen_connections);
    impl.port = impl.acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return Status::Network("cannot listen on " + options.address + ":" +
                           std::to_string(options.port) + ": " + e.what());
  }
  impl.retry = std::make_unique<net::steady_timer>(impl.acceptor->get_executor());
  impl.Accept();
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl.threads.emplace_back([ioc = impl.ioc.get()] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (...) {
          // A handler threw past its own catch: keep serving the other connections.
        }
      }
    });
  }
  return l;
}

void HttpListener::Stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  if (impl_->ioc) impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Destroying the pending operations destroys their sessions, which closes their sockets.
  impl_->retry.reset();
  impl_->acceptor.reset();
  impl_->ioc.reset();
}

int HttpListener::port() const { return impl_->port; }
std::string HttpListener::url() const {
  const std::string& a = impl_->shared->options.address;
  const bool v6 = a.find(':') != std::string::npos && a.front() != '[';
  return std::string(tls() ? "https://" : "http://") + (v6 ? "[" + a + "]" : a) + ":" +
         std::to_string(impl_->port);
}
bool HttpListener::tls() const { return impl_->shared->tls != nullptr; }
bool HttpListener::nodelay_applied() const { return impl_->shared->options.tcp_nodelay; }
int HttpListener::open_connections() const { return impl_->shared->open.load(); }

}  // namespace countersign::daemon
