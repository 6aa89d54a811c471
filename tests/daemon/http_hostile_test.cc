// Hostile HTTP against the real listener on a free 127.0.0.1 port, over raw sockets (and libcurl
// for TLS): requests no well-behaved client sends, from clients without a token. Each case is a
// way one client could exhaust, confuse or read from the daemon; each asserts the daemon answers
// with an OperationOutcome (or closes) within its limits and keeps serving real clients.
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "fhir/json.h"
#include "plugin/config/config.h"
#include "plugin/daemon/daemon.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/daemon/raw_http.h"

namespace countersign::daemon::testing {
namespace {

using Ms = std::chrono::milliseconds;

long long MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - start).count();
}

struct Harness {
  explicit Harness(const std::function<void(DaemonOptions&)>& tune = {}) {
    DaemonParts parts;
    parts.coordinator = api.core.coordinator.get();
    parts.store = api.core.store.get();
    parts.policy = &api.core.policy;
    parts.authenticate = MakeAuthenticator(api.core.principals);
    parts.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(api.log_mu);
      api.log.push_back(line);
    };
    DaemonOptions options;
    options.listen.port = 0;
    options.listen.threads = 4;
    options.limits.max_body_bytes = 64 * 1024;
    if (tune) tune(options);
    auto d = Daemon::Start(std::move(parts), options);
    BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());
    daemon = std::move(d).value();
    port = daemon->port();
  }
  // One request on a fresh connection.
  RawAnswer Ask(const std::string& request) {
    RawConn c(port);
    BOOST_REQUIRE(c.ok());
    c.Send(request);
    return c.Read();
  }
  ApiHarness api;
  std::unique_ptr<Daemon> daemon;
  int port = 0;
};

std::string Get(const std::string& target, const std::string& token = {}) {
  std::string r = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  return r + "\r\n";
}

bool IsOutcome(const RawAnswer& a) {
  auto doc = json::Parse(a.body);
  return doc.ok() && json::GetString(*doc, "resourceType").value_or("") == "OperationOutcome";
}

void CheckSecurityHeaders(const RawAnswer& a) {
  BOOST_TEST(a.Has("Cache-Control: no-store"), a.headers);
  BOOST_TEST(a.Has("X-Content-Type-Options: nosniff"), a.headers);
  BOOST_TEST(a.Has("X-Frame-Options: DENY"), a.headers);
  BOOST_TEST(a.Has("Content-Security-Policy: default-src 'none'; frame-ancestors 'none'"),
             a.headers);
  BOOST_TEST(a.Has("Referrer-Policy: no-referrer"), a.headers);
}

// Streams a chunked body of up to total bytes after head; returns the bytes the server took
// before it stopped reading (the send timed out or the connection was closed).
size_t StreamChunked(RawConn& c, const std::string& head, size_t total) {
  BOOST_REQUIRE(c.Send(head));
  const std::string chunk(64 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  size_t sent = 0;
  while (sent < total) {
    if (!c.Send(std::string(size_line) + chunk + "\r\n")) break;
    sent += chunk.size();
  }
  return sent;
}

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_http)

// A chunked body has no declared size: it used to be read whole (1 GB took the daemon to 2 GB)
// before the token or the size were checked.
BOOST_AUTO_TEST_CASE(chunked_body_without_token_is_refused_before_it_is_read) {
  Harness h;
  ResetPeakRss();
  const long before = PeakRssKib();
  const size_t total = 96u << 20;
  {
    RawConn anon(h.port, 3000);
    const auto start = std::chrono::steady_clock::now();
    size_t taken = StreamChunked(anon,
                                 "POST /drafts HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                 "application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 total);
    RawAnswer a = anon.Read();
    BOOST_TEST(a.status == 401, a.headers);
    BOOST_TEST(IsOutcome(a), a.body);
    BOOST_TEST(taken < total / 4, "the server read " << taken << " bytes of the body");
    BOOST_TEST(MsSince(start) < 10000);
  }
  {
    // With a token the body is read, but only up to max_body_bytes (64 KiB here).
    RawConn ai(h.port, 3000);
    size_t taken = StreamChunked(ai,
                                 std::string("POST /drafts HTTP/1.1\r\nHost: x\r\nAuthorization: "
                                             "Bearer ") +
                                     kAiToken +
                                     "\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                                     "chunked\r\n\r\n",
                                 total);
    RawAnswer a = ai.Read();
    BOOST_TEST(a.status == 413, a.headers);
    BOOST_TEST(IsOutcome(a), a.body);
    BOOST_TEST(taken < total / 4, "the server read " << taken << " bytes of the body");
  }
  const long grown_mib = (PeakRssKib() - before) / 1024;
  BOOST_TEST_MESSAGE("peak RSS grew by " << grown_mib << " MiB while 2 x 96 MiB were offered");
  BOOST_TEST(grown_mib < 32);
  // Still serving.
  BOOST_TEST(h.Ask(Get("/healthz")).status == 200);
}

// Idle sockets (no bytes, half a header, a finished keep-alive request) used to stay open
// forever; ~1,100 of them exhausted the open-file limit and /proposals timed out.
BOOST_AUTO_TEST_CASE(idle_connections_are_capped_and_timed_out) {
  Harness h([](DaemonOptions& o) {
    o.listen.max_connections = 40;
    o.listen.idle_timeout_s = 1;
    o.listen.header_timeout_s = 1;
  });
  std::vector<std::unique_ptr<RawConn>> idle;
  for (int i = 0; i < 300; ++i) {
    auto c = std::make_unique<RawConn>(h.port, 3000);
    BOOST_REQUIRE(c->ok());
    if (i % 3 == 1) c->Send("GET /proposals HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    if (i % 3 == 2) {
      c->Send(Get("/healthz"));
      BOOST_REQUIRE(c->Read().status == 200);
    }
    idle.push_back(std::move(c));
  }
  // A real client still gets its answers, quickly.
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    RawAnswer a = h.Ask(Get("/proposals", kAdaToken));
    BOOST_TEST(a.status == 200, a.headers);
    BOOST_TEST(MsSince(start) < 900);
  }
  BOOST_TEST(h.daemon->open_connections() <= 41 + 5);
  // Every idle one is closed by the server within its timeout.
  std::this_thread::sleep_for(Ms(1500));
  int closed = 0;
  for (auto& c : idle) closed += c->ClosedWithin(100) ? 1 : 0;
  BOOST_TEST(closed == 300);
  BOOST_TEST(h.daemon->open_connections() == 0);
}

// Without max_connections set low, the cap comes from the open-file limit: a daemon started
// under 256 descriptors keeps answering while 300 idle sockets are open.
BOOST_AUTO_TEST_CASE(connection_cap_follows_the_open_file_limit) {
  rlimit saved{};
  BOOST_REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  BOOST_REQUIRE(saved.rlim_max >= 1024);
  rlimit low = saved;
  low.rlim_cur = 256;
  BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::unique_ptr<Harness> h;
  try {
    h = std::make_unique<Harness>();
  } catch (...) {
  }
  setrlimit(RLIMIT_NOFILE, &saved);  // the clients below need more than 256 descriptors
  BOOST_REQUIRE(h);
  std::vector<std::unique_ptr<RawConn>> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<RawConn>(h->port, 3000));
  RawAnswer a = h->Ask(Get("/proposals", kAdaToken));
  BOOST_TEST(a.status == 200, a.headers);
  BOOST_TEST(h->daemon->open_connections() <= 256 - 64 + 2);
}

// TRACE used to echo the request, Authorization header included, with no token; OPTIONS
// answered 200 with an empty Allow.
BOOST_AUTO_TEST_CASE(undefined_methods_answer_405_and_never_echo) {
  Harness h;
  const std::string secret = "tok-not-a-real-one-%7C&#";
  struct Case {
    std::string method, target, allow;
  };
  for (const Case& c : {Case{"TRACE", "/proposals", "GET, HEAD"},
                        Case{"TRACE", "/", "GET, HEAD, POST"},
                        Case{"OPTIONS", "/drafts", "POST"},
                        Case{"OPTIONS", "*", ""},
                        Case{"PUT", "/proposals/x/approve", "POST"},
                        Case{"DELETE", "/healthz", "GET, HEAD"},
                        Case{"CONNECT", "127.0.0.1:1", ""},
                        Case{"BREW", "/metrics", "GET, HEAD"}}) {
    RawAnswer a = h.Ask(c.method + " " + c.target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        secret + "\r\nX-Echo: Clínica Pérez\r\n\r\n");
    BOOST_TEST_CONTEXT(c.method << " " << c.target) {
      if (c.allow.empty()) {
        // Not an origin-form target: refused before any route is looked at.
        BOOST_TEST((a.status == 400 || a.status == 405), a.headers);
      } else {
        BOOST_TEST(a.status == 405, a.headers);
        BOOST_TEST(a.Has("Allow: " + c.allow), a.headers);
      }
      BOOST_TEST(IsOutcome(a), a.body);
      BOOST_TEST(a.body.find(secret) == std::string::npos);
      BOOST_TEST(a.body.find("X-Echo") == std::string::npos);
      CheckSecurityHeaders(a);
    }
  }
  // A defined method on a route that does not take it: 405 too, after the token.
  RawAnswer get_drafts = h.Ask(Get("/drafts", kAiToken));
  BOOST_TEST(get_drafts.status == 405);
  BOOST_TEST(get_drafts.Has("Allow: POST"), get_drafts.headers);
  // HEAD is GET without the body.
  RawAnswer head = h.Ask("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
}

BOOST_AUTO_TEST_CASE(every_answer_carries_the_security_headers) {
  Harness h;
  std::vector<std::pair<int, std::string>> cases = {
      {200, Get("/healthz")},
      {200, Get("/metrics")},
      {200, Get("/proposals", kAdaToken)},
      {401, Get("/proposals")},
      {404, Get("/nowhere", kAdaToken)},
      {405, "PATCH /drafts HTTP/1.1\r\nHost: x\r\n\r\n"},
      {413, std::string("POST /drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kAiToken +
                "\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n"},
      {415, std::string("POST /drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kAiToken +
                "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"},
      {400, "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"},
      {431, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n"},
  };
  for (const auto& [status, request] : cases) {
    RawAnswer a = h.Ask(request);
    BOOST_TEST_CONTEXT(request.substr(0, 40)) {
      BOOST_TEST(a.status == status, a.headers);
      CheckSecurityHeaders(a);
      BOOST_TEST(!a.Has("Strict-Transport-Security: max-age=31536000"));  // plain HTTP
      if (status >= 400) BOOST_TEST(IsOutcome(a), a.body);
    }
  }
}

BOOST_AUTO_TEST_CASE(oversized_urls_and_headers_are_refused) {
  Harness h;
  // 1 MB URL, a 9 KB one (under the header limit, over the URL limit), a 1 MB header, 10,000
  // small headers. No token: none of them reaches authentication.
  RawAnswer url = h.Ask(Get("/proposals?patient=" + std::string(1 << 20, 'p')));
  BOOST_TEST(url.status == 414, url.headers);
  BOOST_TEST(IsOutcome(url), url.body);
  RawAnswer url9k = h.Ask(Get("/proposals?patient=" + std::string(9 * 1024, 'p')));
  BOOST_TEST(url9k.status == 414, url9k.headers);
  RawAnswer big = h.Ask("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'h') +
                        "\r\n\r\n");
  BOOST_TEST(big.status == 431, big.headers);
  BOOST_TEST(IsOutcome(big), big.body);
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10000; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  RawAnswer lots = h.Ask(many + "\r\n");
  BOOST_TEST(lots.status == 431, lots.headers);
  BOOST_TEST(IsOutcome(lots), lots.body);
  std::string just_over = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100; ++i) just_over += "X-" + std::to_string(i) + ": 1\r\n";
  BOOST_TEST(h.Ask(just_over + "\r\n").status == 431);
  BOOST_TEST(h.Ask(Get("/healthz")).status == 200);
}

BOOST_AUTO_TEST_CASE(negative_or_malformed_content_length_is_400) {
  Harness h;
  for (const char* length : {"-5", "abc", "1, 2", "99999999999999999999999"}) {
    const auto start = std::chrono::steady_clock::now();
    RawAnswer a = h.Ask(std::string("POST /drafts HTTP/1.1\r\nHost: x\r\nContent-Length: ") +
                        length + "\r\n\r\n{}");
    BOOST_TEST_CONTEXT(length) {
      BOOST_TEST(a.status == 400, a.headers);
      BOOST_TEST(IsOutcome(a), a.body);
      BOOST_TEST(MsSince(start) < 2000);
    }
  }
}

// Every made-up method used to add its own label series to /metrics (27.8 MB after 20,000).
BOOST_AUTO_TEST_CASE(metrics_stay_bounded_whatever_the_methods) {
  Harness h;
  const size_t baseline = h.Ask(Get("/metrics")).body.size();
  RawConn c(h.port);
  for (int i = 0; i < 1500; ++i) {
    BOOST_REQUIRE(c.Send("M" + std::to_string(i) + "X /proposals HTTP/1.1\r\nHost: x\r\n\r\n"));
    BOOST_REQUIRE(c.Read().status == 405);
  }
  RawAnswer m = h.Ask(Get("/metrics"));
  BOOST_TEST(m.status == 200);
  BOOST_TEST(m.body.find("M7X") == std::string::npos);
  BOOST_TEST(m.body.find("method=\"other\",status=\"405\"} 1500") != std::string::npos, m.body);
  BOOST_TEST(m.body.size() < baseline + 4096, m.body.size() << " bytes after, " << baseline
                                                            << " before");
}

// A full disk (made real with a page cap on the SQLite file) was a bare 500 with nothing logged
// while /healthz said ok.
BOOST_AUTO_TEST_CASE(storage_full_answers_503_and_healthz_is_not_ready_until_a_write_works) {
  Harness h;
  BOOST_REQUIRE(h.api.core.store->LimitPages(1).ok());  // clamped to the current size
  RawAnswer full;
  const std::string text = "Clínica Pérez & Acme Health AI, #1 | 100% " + std::string(6000, 'n');
  for (int i = 0; i < 50 && full.status != 503; ++i) {
    const std::string body = core::testing::NoteDraft("full-" + std::to_string(i), text);
    full = h.Ask(std::string("POST /drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
                 kAiToken + "\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body);
    BOOST_REQUIRE(full.status == 201 || full.status == 503);
  }
  BOOST_REQUIRE_MESSAGE(full.status == 503, full.headers);
  BOOST_TEST(full.Has("Retry-After: 30"), full.headers);
  BOOST_TEST(IsOutcome(full), full.body);
  BOOST_TEST(full.body.find("store is full") != std::string::npos, full.body);
  const std::string log = h.api.LogText();
  BOOST_TEST(log.find("POST /drafts 503") != std::string::npos, log);
  BOOST_TEST(log.find("storage full") != std::string::npos, log);
  BOOST_TEST(log.find("Clínica") == std::string::npos);
  RawAnswer health = h.Ask(Get("/healthz"));
  BOOST_TEST(health.status == 503, health.headers);
  BOOST_TEST(health.Has("Retry-After: 30"), health.headers);
  BOOST_TEST(h.daemon->api().storage_full());

  // Space comes back: the next write works and readiness returns with it.
  BOOST_REQUIRE(h.api.core.store->LimitPages(0).ok());
  const std::string body = core::testing::NoteDraft("after-full", text);
  RawAnswer again = h.Ask(std::string("POST /drafts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
                          kAiToken + "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body);
  BOOST_TEST(again.status == 201, again.headers);
  BOOST_TEST(h.Ask(Get("/healthz")).status == 200);
}

BOOST_AUTO_TEST_CASE(tls_is_served_and_plain_http_off_loopback_is_refused) {
  core::testing::TempDir dir;
  const std::string cert = dir.Path("cert.pem"), key = dir.Path("key.pem");
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" +
      cert + "' >/dev/null 2>&1";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  Harness h([&](DaemonOptions& o) {
    o.listen.tls_cert_file = cert;
    o.listen.tls_key_file = key;
  });
  BOOST_TEST(h.daemon->url().rfind("https://127.0.0.1:", 0) == 0, h.daemon->url());
  CURL* curl = curl_easy_init();
  std::string body, headers;
  const std::string url = h.daemon->url() + "/proposals?status=pending";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, cert.c_str());  // verification stays on
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
  const std::string auth = std::string("Authorization: Bearer ") + kAdaToken;
  curl_slist* list = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  for (int i = 0; i < 3; ++i) {  // the second and third reuse the TLS connection
    body.clear();
    headers.clear();
    CURLcode rc = curl_easy_perform(curl);
    BOOST_REQUIRE_MESSAGE(rc == CURLE_OK, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    BOOST_TEST(status == 200);
    BOOST_TEST(headers.find("Strict-Transport-Security: max-age=31536000") != std::string::npos,
               headers);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  // Plain HTTP on the TLS port gets no answer.
  BOOST_TEST(h.Ask(Get("/healthz")).status == 0);

  // Not loopback, no TLS, no proxy declared: refused before anything is bound.
  for (const char* address : {"0.0.0.0", "::", "192.0.2.1"}) {
    ListenerOptions o;
    o.address = address;
    auto refused = HttpListener::Start(o, [](const HttpServerRequest&) { return HttpServerResponse{}; });
    BOOST_TEST(!refused.ok(), address);
    BOOST_TEST(refused.status().IsInvalid());
    BOOST_TEST(refused.status().message().find("behind_tls_proxy") != std::string::npos);
  }
  ListenerOptions half;
  half.tls_cert_file = cert;
  BOOST_TEST(HttpListener::Start(half, [](const HttpServerRequest&) { return HttpServerResponse{}; })
                 .status()
                 .IsInvalid());

  // The configuration says the same before the daemon starts.
  const std::string fixtures = std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config";
  auto with_server = [&](const std::string& server) {
    return config::Config::Parse(
        R"({"fhir": {"base_url": "http://127.0.0.1:8103/fhir/R4"},
            "principals": "principals.json", "approval_policy": "approval-policy.json",
            "guardrails": "guardrails.json", "mappings": {"rules_dir": "../../mappings/rules"},
            "server": {"listen": "0.0.0.0:8400")" + server + "}}",
        fixtures);
  };
  auto plain = with_server("");
  BOOST_TEST(!plain.ok());
  BOOST_TEST(plain.status().message().find("server.listen") != std::string::npos,
             plain.status().message());
  auto proxied = with_server(R"(, "behind_tls_proxy": true)");
  BOOST_TEST(proxied.ok(), proxied.status().ToString());
  auto tls = with_server(R"(, "tls": {"cert_file": ")" + cert + R"(", "key_file": ")" + key +
                         "\"}");
  BOOST_REQUIRE_MESSAGE(tls.ok(), tls.status().ToString());
  BOOST_TEST(tls->tls_cert_file == cert);
  BOOST_TEST(!with_server(R"(, "tls": {"cert_file": ")" + cert + "\"}").ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace countersign::daemon::testing
