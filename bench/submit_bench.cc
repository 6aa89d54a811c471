// Submission latency and throughput of the REST daemon on loopback, side by side with the loopback
// FHIR test server's create throughput (target: p99 <= 10 ms at 8 concurrent clients, and
// submissions/s >= 3x the FHIR server's creates/s).
//
// The daemon runs in this process over a fresh SQLite store (group commit on) with the sample
// configuration. Each client is a thread with its own libcurl handle (keep-alive) that POSTs
// note drafts (fixtures/drafts/note-create.json, each with its own key) to /drafts; they are
// validated and mapped by the real mapping engine with the shipped rules.
//
// Usage: submit_bench [--clients 8] [--count 4000] [--threads 8] [--no-nodelay] [--no-fhir]
//                     [--fhir-count 4000] [--reads 200]
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "plugin/daemon/heap_tuning.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/sqlite_store.h"
#include "plugin/daemon/daemon.h"
#include "tests/plugin/core_fixture.h"
#if COUNTERSIGN_BENCH_HAVE_FHIR_SERVER
#include "tests/support/test_fhir_server.h"
#endif

namespace {

using namespace countersign;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "bench-ai-token-5d1c9e";
constexpr const char* kReviewerToken = "bench-reviewer-token-7b3e1a";

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

struct RunResult {
  std::vector<double> latencies_ms;
  double seconds = 0;
  int errors = 0;
};

// clients threads, each sending its share of count requests made by make(client, i).
RunResult Run(int clients, int count, const std::string& url,
              const std::function<std::string(int, int)>& make,
              const std::vector<std::string>& headers, long expect_status) {
  RunResult result;
  std::vector<std::vector<double>> per_client(clients);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      CURL* curl = curl_easy_init();
      curl_slist* list = nullptr;
      for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
      list = curl_slist_append(list, "Content-Type: application/json");
      list = curl_slist_append(list, "Expect:");
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
      const int n = count / clients + (c < count % clients ? 1 : 0);
      per_client[c].reserve(n);
      for (int i = 0; i < n; ++i) {
        std::string body = make(c, i);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
        auto t0 = Clock::now();
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        per_client[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (rc != CURLE_OK || status != expect_status) errors.fetch_add(1);
      }
      curl_slist_free_all(list);
      curl_easy_cleanup(curl);
    });
  }
  for (auto& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& v : per_client) result.latencies_ms.insert(result.latencies_ms.end(), v.begin(), v.end());
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  result.errors = errors.load();
  return result;
}

void Print(const char* what, const RunResult& r) {
  const auto& l = r.latencies_ms;
  std::printf("%-26s n=%-6zu errors=%-3d  %8.0f req/s   p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms"
              "  max %7.2f ms\n",
              what, l.size(), r.errors, static_cast<double>(l.size()) / r.seconds, bench::Percentile(l, 50),
              bench::Percentile(l, 90), bench::Percentile(l, 99), l.empty() ? 0.0 : l.back());
}

}  // namespace

int main(int argc, char** argv) {
  countersign::TuneHeapForRequests();  // as the daemon does (plugin/daemon/heap_tuning.h)
  const int clients = bench::ArgInt(argc, argv, "--clients", 8);
  const int count = bench::ArgInt(argc, argv, "--count", 4000);
  const int threads = bench::ArgInt(argc, argv, "--threads", daemon::ListenerOptions{}.threads);
  const int fhir_count = bench::ArgInt(argc, argv, "--fhir-count", 4000);
  const bool nodelay = !bench::Flag(argc, argv, "--no-nodelay");
  curl_global_init(CURL_GLOBAL_ALL);

  std::string tmpl = (std::filesystem::temp_directory_path() / "countersign-bench-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return 1;
  const std::string dir = tmpl;

  auto principals = core::PrincipalDirectory::LoadFile(
      std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config/principals.json");
  auto policy = core::ApprovalPolicy::LoadFile(
      std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config/approval-policy.json");
  auto guardrails = core::Guardrails::LoadFile(
      std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config/guardrails.json");
  if (!principals.ok() || !policy.ok() || !guardrails.ok()) {
    std::fprintf(stderr, "cannot load fixtures/config\n");
    return 1;
  }
  core::SqliteStoreOptions store_options;
  store_options.group_commit = true;
  auto store = core::SqliteStore::Open(dir + "/bench.db", store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  auto mapper = bench::LoadShippedRules();
  core::CoordinatorDeps cdeps;
  cdeps.store = store->get();
  cdeps.mapper = mapper.get();
  cdeps.principals = &*principals;
  cdeps.policy = &*policy;
  cdeps.guardrails = &*guardrails;
  core::Coordinator coordinator(cdeps);

  const std::string token_hash = core::Sha256Hex(kToken);
  const core::PrincipalDirectory* dirp = &*principals;
  daemon::DaemonParts parts;
  parts.coordinator = &coordinator;
  parts.store = store->get();
  parts.policy = &*policy;
  const std::string reviewer_hash = core::Sha256Hex(kReviewerToken);
  parts.authenticate = [token_hash, reviewer_hash,
                        dirp](std::string_view token) -> Result<core::Principal> {
    const std::string h = core::Sha256Hex(token);
    if (h == token_hash) return *dirp->Find("Device/ai-scribe");
    if (h == reviewer_hash) return *dirp->Find("Practitioner/dr-ada");
    return Status::Unauthorized("unknown token");
  };
  std::atomic<int64_t> log_lines{0};
  parts.log = [&log_lines](const std::string&) { log_lines.fetch_add(1); };
  daemon::DaemonOptions options;
  options.listen.threads = threads;
  options.listen.tcp_nodelay = nodelay;
  auto d = daemon::Daemon::Start(std::move(parts), options);
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
    return 1;
  }
  std::printf("daemon %s, %d listener threads, TCP_NODELAY %s; %d clients, keep-alive\n",
              (*d)->url().c_str(), threads,
              nodelay ? ((*d)->nodelay_applied() ? "on" : "requested but not applied") : "off",
              clients);

  auto make_draft = [](const std::string& run) {
    return [run](int c, int i) {
      return bench::NoteDraft(run + "-" + std::to_string(c) + "-" + std::to_string(i),
                                      "Bench note " + std::to_string(i),
                                      "Patient/bench-" + std::to_string(c));
    };
  };
  const std::vector<std::string> auth = {std::string("Authorization: Bearer ") + kToken};
  // Warm-up: connections, page cache, SQLite statements.
  Run(clients, clients * 20, (*d)->url() + "/drafts", make_draft("warm"), auth, 201);
  RunResult submit = Run(clients, count, (*d)->url() + "/drafts", make_draft("run"), auth, 201);
  Print("countersign POST /drafts", submit);
  auto stats = (*store)->Stats();
  std::printf("  store: %lld commits for %lld changes (group commit, mean batch %.1f)\n",
              static_cast<long long>(stats.commits), static_cast<long long>(stats.changes),
              stats.commits ? static_cast<double>(stats.changes) / static_cast<double>(stats.commits)
                            : 0.0);
  // Reads of a larger answer (a page of the queue, ~60 KB): one client, sequential, where a
  // delayed-ACK stall would show on every request.
  const int reads = bench::ArgInt(argc, argv, "--reads", 200);
  if (reads > 0) {
    CURL* curl = curl_easy_init();
    curl_slist* list = curl_slist_append(nullptr, (std::string("Authorization: Bearer ") +
                                                   kReviewerToken).c_str());
    const std::string url = (*d)->url() + "/proposals?limit=200";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
    RunResult r;
    const auto start = Clock::now();
    for (int i = 0; i < reads; ++i) {
      auto t0 = Clock::now();
      long status = 0;
      if (curl_easy_perform(curl) != CURLE_OK) ++r.errors;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      if (status != 200) ++r.errors;
      r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    Print("GET /proposals?limit=200", r);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
  }
  (*d)->Stop();

  int rc = 0;
#if COUNTERSIGN_BENCH_HAVE_FHIR_SERVER
  if (!bench::Flag(argc, argv, "--no-fhir")) {
    auto server = countersign::testing::TestFhirServer::Start();
    if (!server.ok()) {
      std::printf("FHIR test server unavailable: %s\n", server.status().ToString().c_str());
    } else {
      const std::string url = (*server)->base_url() + "/Communication";
      auto make = [](int c, int i) {
        return std::string(R"({"resourceType":"Communication","status":"completed",)") +
               R"("subject":{"reference":"Patient/bench-)" + std::to_string(c) +
               R"("},"payload":[{"contentString":"Bench note )" + std::to_string(i) + R"("}]})";
      };
      const std::vector<std::string> fhir_headers = {"Accept: application/fhir+json"};
      Run(clients, clients * 20, url, make, fhir_headers, 201);
      RunResult creates = Run(clients, fhir_count, url, make, fhir_headers, 201);
      Print("FHIR test server creates", creates);
      const double ratio = (static_cast<double>(submit.latencies_ms.size()) / submit.seconds) /
                           (static_cast<double>(creates.latencies_ms.size()) / creates.seconds);
      std::printf("  submissions/s vs FHIR creates/s: %.2fx (target >= 3x)\n", ratio);
    }
  }
#else
  std::printf("FHIR test server harness (tests/support) not built: no side-by-side figure\n");
#endif
  const double p99 = bench::Percentile(submit.latencies_ms, 99);
  std::printf("p99 %.2f ms (target <= 10 ms): %s\n", p99, p99 <= 10.0 ? "met" : "NOT met");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  curl_global_cleanup();
  return rc;
}
