// The real listener on a free 127.0.0.1 port, called with libcurl: the translation to and from
// our types, Content-Length limits, TCP_NODELAY on accepted connections, and a log capture that
// never holds a token.
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "fhir/json.h"
#include "plugin/daemon/daemon.h"
#include "tests/daemon/daemon_fixture.h"

namespace countersign::daemon::testing {
namespace {

struct Reply {
  long status = 0;
  std::string body;
  std::string headers;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

class Client {
 public:
  Client() : curl_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(curl_); }
  Reply Call(const std::string& method, const std::string& url, const std::string& token = {},
             const std::string& body = {}, std::vector<std::string> extra = {}) {
    Reply r;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, Append);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
    curl_slist* headers = nullptr;
    if (!token.empty()) extra.push_back("Authorization: Bearer " + token);
    if (!body.empty()) {
      extra.push_back("Content-Type: application/json");
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    extra.push_back("Expect:");
    for (const auto& h : extra) headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    BOOST_REQUIRE_MESSAGE(rc == CURLE_OK, curl_easy_strerror(rc));
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  CURL* curl_;
};

// Connected (not listening) TCP sockets of this process whose local port is port, and how many
// of them have TCP_NODELAY set.
std::pair<int, int> AcceptedSockets(int port) {
  int total = 0, nodelay = 0;
  DIR* dir = opendir("/proc/self/fd");
  BOOST_REQUIRE(dir != nullptr);
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    struct stat st {};
    if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
    sockaddr_in addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0 ||
        addr.sin_family != AF_INET || ntohs(addr.sin_port) != port) {
      continue;
    }
    int flag = 0;
    len = sizeof flag;
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flag, &len);
    ++total;
    if (flag) ++nodelay;
  }
  closedir(dir);
  return {total, nodelay};
}

struct DaemonHarness {
  DaemonHarness() {
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
    auto d = Daemon::Start(std::move(parts), options);
    BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());
    daemon = std::move(d).value();
    base = daemon->url();
  }
  ApiHarness api;
  std::unique_ptr<Daemon> daemon;
  std::string base;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_CASE(calls_over_loopback) {
  DaemonHarness h;
  Client c;
  auto health = c.Call("GET", h.base + "/healthz");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body.find("\"ok\"") != std::string::npos);

  auto anon = c.Call("GET", h.base + "/proposals");
  BOOST_TEST(anon.status == 401);
  BOOST_TEST(anon.headers.find("WWW-Authenticate: Bearer") != std::string::npos, anon.headers);
  BOOST_TEST(anon.headers.find("application/fhir+json") != std::string::npos);

  auto created = c.Call("POST", h.base + "/drafts", kAiToken, core::testing::NoteDraft("h1"),
                        {"Idempotency-Key: h1"});
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  BOOST_TEST(created.headers.find("Location: /proposals/") != std::string::npos, created.headers);
  auto doc = json::Parse(created.body);
  BOOST_REQUIRE(doc.ok());
  std::string id(json::GetString(*doc, "id").value_or(""));

  auto list = c.Call("GET", h.base + "/proposals?status=pending&limit=10", kAdaToken);
  BOOST_TEST(list.status == 200);
  BOOST_TEST(list.body.find(id) != std::string::npos);

  auto one = c.Call("GET", h.base + "/proposals/" + id, kAdaToken);
  BOOST_TEST(one.status == 200);
  auto approve = c.Call("POST", h.base + "/proposals/" + id + "/approve", kAdaToken,
                        R"({"note":"fine","revision":0})");
  BOOST_TEST(approve.status == 200, approve.body);
  auto forbidden = c.Call("POST", h.base + "/proposals/" + id + "/reject", kAiToken,
                          R"({"code":"other","text":"x"})");
  BOOST_TEST(forbidden.status == 403);

  auto big = c.Call("POST", h.base + "/drafts", kAiToken,
                    core::testing::NoteDraft("big", std::string(100 * 1024, 'x')));
  BOOST_TEST(big.status == 413);
  auto wrong_type = c.Call("POST", h.base + "/drafts", kAiToken, core::testing::NoteDraft("t"),
                           {"Content-Type: text/plain"});
  BOOST_TEST(wrong_type.status == 415);
  auto encoded = c.Call("GET", h.base + "/proposals?patient=%27%20OR%201%3D1--", kAdaToken);
  BOOST_TEST(encoded.status == 200);
  BOOST_TEST(encoded.body == "{\"items\":[]}");
  auto metrics = c.Call("GET", h.base + "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.body.find("countersign_http_requests_total") != std::string::npos);

  // Accepted connections inherit TCP_NODELAY from the listening socket.
  BOOST_TEST(h.daemon->nodelay_applied());
  auto [total, nodelay] = AcceptedSockets(h.daemon->port());
  BOOST_TEST(total >= 1);
  BOOST_TEST(nodelay == total);

  h.daemon->Stop();
  const std::string log = h.api.LogText();
  for (const char* secret : {kAiToken, kAdaToken, "Bearer", "Authorization"}) {
    BOOST_TEST(log.find(secret) == std::string::npos, "log contains " << secret);
  }
  BOOST_TEST(log.find("POST /drafts 201") != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(keep_alive_requests_do_not_stall) {
  DaemonHarness h;
  Client c;
  const std::string id = h.api.Submit("warm");
  std::vector<double> ms;
  for (int i = 0; i < 60; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = c.Call("POST", h.base + "/drafts", kAiToken,
                    core::testing::NoteDraft("ka-" + std::to_string(i)));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    BOOST_REQUIRE(r.status == 201);
  }
  std::sort(ms.begin(), ms.end());
  BOOST_TEST_MESSAGE("sequential keep-alive submit: p50 " << ms[ms.size() / 2] << " ms, max "
                                                          << ms.back() << " ms");
  // A delayed-ACK stall is ~40 ms on every request; the median must stay well below it.
  BOOST_TEST(ms[ms.size() / 2] < 30.0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace countersign::daemon::testing
