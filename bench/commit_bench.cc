// Approve -> committed latency, side by side with a direct POST of the same Bundle to the same
// server (target <= 1.10x at p50), and commits per second next to direct transactions
// per second. Everything on loopback: the FHIR test server (Medplum router) and a fresh SQLite
// store; drafts (fixtures/drafts/note-create.json, each with its own key) are mapped by the real
// engine with the shipped rules: the Bundle holds the DocumentReference, the AI Device and the
// Provenance.
//
// Per round, alternating so both see the same conditions:
//   baseline:    POST the mapped transaction Bundle (mapped resources + Device + Provenance)
//   countersign: approve (one fsync'd store transaction with the outbox entry), claim, checks
//                (revision, hash, guardrails), plan, one transaction of the mapped resources,
//                Device and Provenance (targets versioned by the server), the completion.
//
// --server-delay-ms N delays every answer of the FHIR server by N ms (its delayMs switch), for
// the ratio against a server that is not in memory on the same machine: a real EHR answers a
// transaction in tens of milliseconds, and Countersign's own cost (the approval's fsync, two
// bookkeeping transactions, the checks) is fixed, so the ratio there is a different number. The
// headline figure is the default, 0 ms.
//
// Usage: commit_bench [--rounds 300] [--batch 300] [--server-delay-ms 0]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "plugin/daemon/heap_tuning.h"
#include "fhir/client.h"
#include "plugin/commit/commit_engine.h"
#include "plugin/core/coordinator.h"
#include "plugin/core/sqlite_store.h"
#include "tests/plugin/core_fixture.h"
#include "tests/support/test_fhir_server.h"

namespace {

using namespace countersign;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "commit_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::string Draft(int i) {
  return bench::NoteDraft("bench-" + std::to_string(i), "Bench note " + std::to_string(i),
                          "Patient/pat-1");
}

}  // namespace

int main(int argc, char** argv) {
  countersign::TuneHeapForRequests();  // as the daemon does (plugin/daemon/heap_tuning.h)
  const int rounds = bench::ArgInt(argc, argv, "--rounds", 300);
  const int batch = bench::ArgInt(argc, argv, "--batch", 300);
  const int server_delay_ms = bench::ArgInt(argc, argv, "--server-delay-ms", 0);

  auto server = testing::TestFhirServer::Start();
  if (!server.ok()) Die("starting the FHIR test server", server.status());
  if (Status s = (*server)->Reset(); !s.ok()) Die("reset", s);
  if (server_delay_ms > 0) {
    testing::ServerConfig config;
    config.delay_ms = server_delay_ms;
    if (Status s = (*server)->Configure(config); !s.ok()) Die("server delay", s);
  }

  std::string dir = (std::filesystem::temp_directory_path() / "countersign-commit-bench-XXXXXX").string();
  if (!mkdtemp(dir.data())) return 1;
  core::SqliteStoreOptions store_options;
  store_options.group_commit = true;
  auto store = core::SqliteStore::Open(dir + "/bench.db", store_options);
  if (!store.ok()) Die("store", store.status());
  std::string fixtures = std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/config/";
  auto principals = core::PrincipalDirectory::LoadFile(fixtures + "principals.json");
  auto policy = core::ApprovalPolicy::LoadFile(fixtures + "approval-policy.json");
  auto guardrails = core::Guardrails::LoadFile(fixtures + "guardrails.json");
  if (!principals.ok() || !policy.ok() || !guardrails.ok()) {
    std::fprintf(stderr, "commit_bench: fixture config did not load\n");
    return 1;
  }
  auto mapper = bench::LoadShippedRules();
  core::CoordinatorDeps deps;
  deps.store = store->get();
  deps.mapper = mapper.get();
  deps.principals = &*principals;
  deps.policy = &*policy;
  deps.guardrails = &*guardrails;
  core::Coordinator coordinator(deps);
  const core::Principal ai = *principals->Find("Device/ai-scribe");
  const core::Principal ada = *principals->Find("Practitioner/dr-ada");

  fhir::ClientOptions options;
  options.base_url = (*server)->base_url();
  auto client = fhir::FhirClient::Create(options);
  if (!client.ok()) Die("client", client.status());
  commit::CommitEngineDeps cdeps;
  cdeps.store = store->get();
  cdeps.client = client->get();
  cdeps.guardrails = &*guardrails;
  commit::CommitEngine engine(cdeps, commit::CommitEngineOptions{"bench-worker"});
  if (auto caps = (*client)->GetCapabilities(); !caps.ok()) Die("capabilities", caps.status());

  auto submit = [&](int i) {
    auto r = coordinator.Submit(ai, Draft(i));
    if (!r.ok()) Die("submit", r.status());
    return r->proposal;
  };

  // Warm-up: connections, caches, JIT of the server.
  for (int i = 0; i < 20; ++i) {
    auto p = submit(1'000'000 + i);
    if (auto a = coordinator.Approve(ada, p.id); !a.ok()) Die("approve", a.status());
    if (auto r = engine.RunOnce(); !r.ok()) Die("commit", r.status());
    auto b = json::Parse(p.bundle_json);
    if (auto d = (*client)->Transaction(*b); !d.ok()) Die("direct POST", d.status());
  }

  std::vector<double> direct_ms, ours_ms;
  std::vector<double> approve_ms, engine_ms;  // the two parts of ours_ms
  for (int i = 0; i < rounds; ++i) {
    core::Proposal p = submit(i);
    core::Proposal twin = submit(500'000 + i);  // same shape, its own identifiers
    auto twin_bundle = json::Parse(twin.bundle_json);

    auto t0 = Clock::now();
    auto direct = (*client)->Transaction(*twin_bundle);
    auto t1 = Clock::now();
    if (!direct.ok()) Die("direct POST", direct.status());
    direct_ms.push_back(Ms(t1 - t0));

    auto t2 = Clock::now();
    auto approved = coordinator.Approve(ada, p.id);
    if (!approved.ok()) Die("approve", approved.status());
    auto t_approved = Clock::now();
    auto report = engine.RunOnce();
    auto t3 = Clock::now();
    if (!report.ok() || report->outcomes.size() != 1 || report->outcomes[0].status != "committed") {
      std::fprintf(stderr, "commit_bench: round %d did not commit: %s\n", i,
                   report.ok() && !report->outcomes.empty() ? report->outcomes[0].detail.c_str()
                                                            : "no outcome");
      return 1;
    }
    ours_ms.push_back(Ms(t3 - t2));
    approve_ms.push_back(Ms(t_approved - t2));
    engine_ms.push_back(Ms(t3 - t_approved));
  }

  // Throughput: `batch` approved proposals drained by one worker vs `batch` direct transactions.
  std::vector<std::string> bundles;
  for (int i = 0; i < batch; ++i) {
    core::Proposal p = submit(200'000 + i);
    if (auto a = coordinator.Approve(ada, p.id); !a.ok()) Die("approve", a.status());
    bundles.push_back(submit(300'000 + i).bundle_json);
  }
  auto d0 = Clock::now();
  for (const auto& text : bundles) {
    auto b = json::Parse(text);
    if (auto d = (*client)->Transaction(*b); !d.ok()) Die("direct POST", d.status());
  }
  double direct_s = Ms(Clock::now() - d0) / 1000;
  auto c0 = Clock::now();
  int committed = 0;
  while (committed < batch) {
    auto r = engine.RunOnce();
    if (!r.ok()) Die("commit", r.status());
    if (r->claimed == 0) break;
    for (const auto& o : r->outcomes) committed += o.status == "committed";
  }
  double ours_s = Ms(Clock::now() - c0) / 1000;

  std::printf("approve -> committed vs direct POST of the same Bundle (%d rounds, loopback, "
              "server answers delayed %d ms)\n", rounds, server_delay_ms);
  std::printf("  direct POST   p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms\n", bench::Percentile(direct_ms, 50),
              bench::Percentile(direct_ms, 90), bench::Percentile(direct_ms, 99));
  std::printf("  countersign   p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms\n", bench::Percentile(ours_ms, 50),
              bench::Percentile(ours_ms, 90), bench::Percentile(ours_ms, 99));
  std::printf("  ratio p50 %.2fx (target <= 1.10x)\n",
              bench::Percentile(ours_ms, 50) / bench::Percentile(direct_ms, 50));
  std::printf("    of which approve (fsync'd store transaction) p50 %6.2f ms, commit engine p50 "
              "%6.2f ms (claim, checks, transaction with the Provenance, completion)\n",
              bench::Percentile(approve_ms, 50), bench::Percentile(engine_ms, 50));
  std::printf("throughput (%d each, one worker)\n", batch);
  std::printf("  direct transactions  %7.1f /s\n", batch / direct_s);
  std::printf("  commits              %7.1f /s  (%d committed)\n", committed / ours_s, committed);
  std::filesystem::remove_all(dir);
  return committed == batch ? 0 : 1;
}
