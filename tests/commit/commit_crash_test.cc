// Crash safety of the commit engine: a forked child (the commit worker, its own SQLite
// connection and FHIR client) commits approved proposals and is SIGKILLed at a random moment;
// this happens hundreds of times, alternating servers with and without transactions. Then a
// fresh worker finishes what is left, and the FHIR server itself is checked: every approved
// proposal is there exactly once (its note and its Provenance), nothing unapproved ever arrived.
//
// Runs: COUNTERSIGN_CRASH_RUNS (default 300).
#define BOOST_TEST_MODULE commit_crash
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "plugin/commit/commit_executor.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/sqlite_store.h"
#include "tests/commit/commit_fixture.h"

namespace countersign::commit::testing {
namespace {

using S = core::ProposalStatus;

int Runs() {
  const char* env = std::getenv("COUNTERSIGN_CRASH_RUNS");
  return env ? std::max(1, std::atoi(env)) : 300;
}

// The child: a commit worker on its own connections, committing until nothing is left.
[[noreturn]] void Worker(const std::string& db_path, const std::string& base_url,
                         const core::Guardrails& guardrails, int run) {
  auto store = core::SqliteStore::Open(db_path);
  if (!store.ok()) _exit(2);
  fhir::ClientOptions options;
  options.base_url = base_url;
  options.retry = CommitHarness::FastRetry();
  auto client = fhir::FhirClient::Create(options);
  if (!client.ok()) _exit(3);
  CommitEngineDeps deps;
  deps.store = store->get();
  deps.client = client->get();
  deps.guardrails = &guardrails;
  CommitEngineOptions opts;
  opts.worker_id = "crash-child-" + std::to_string(run);
  opts.lease_ms = 40;  // a killed worker's claim is taken over quickly
  opts.retry_delay_ms = 10;
  opts.max_attempts = 1000;
  CommitEngine engine(deps, opts);
  for (int i = 0; i < 200; ++i) {
    auto report = engine.RunOnce();
    if (!report.ok()) _exit(4);
    if (report->claimed == 0) break;
  }
  _exit(0);
}

BOOST_AUTO_TEST_CASE(sigkill_during_commit_never_duplicates_or_leaks) {
  CommitHarness h;
  const int runs = Runs();
  std::mt19937 rng(20261125);
  std::uniform_int_distribution<int> kill_after_us(0, 30000);
  std::vector<std::string> approved, unapproved;
  int killed_mid_commit = 0, killed_before_claim = 0, finished = 0;

  for (int run = 0; run < runs; ++run) {
    countersign::testing::ServerConfig config;
    config.transactions = run % 2 == 0;
    BOOST_REQUIRE(h.server.Configure(config).ok());
    approved.push_back(h.ApprovedNote("crash-" + std::to_string(run), "Note " + std::to_string(run)));
    if (run % 5 == 0) {
      unapproved.push_back(h.core.SubmitNote("pending-" + std::to_string(run)).id);
    }
    if (run % 7 == 0) {
      core::Proposal p = h.core.SubmitNote("rejected-" + std::to_string(run));
      BOOST_REQUIRE(h.core.coordinator->Reject(h.core.P("Practitioner/dr-ada"), p.id,
                                               {"not-needed", ""}).ok());
      unapproved.push_back(p.id);
    }
    pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) Worker(h.core.db_path, h.server.base_url(), h.core.guardrails, run);
    std::this_thread::sleep_for(std::chrono::microseconds(kill_after_us(rng)));
    kill(child, SIGKILL);
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    if (WIFEXITED(wstatus)) {
      BOOST_REQUIRE_MESSAGE(WEXITSTATUS(wstatus) == 0, "worker failed: " << WEXITSTATUS(wstatus));
      ++finished;
    } else {
      auto p = h.core.store->GetProposal(approved.back());
      if (p->status == S::kCommitting) ++killed_mid_commit; else ++killed_before_claim;
    }
  }

  // A fresh worker (this process, real clock) finishes everything left behind.
  {
    CommitEngineDeps deps;
    deps.store = h.core.store.get();
    deps.client = h.client.get();
    deps.guardrails = &h.core.guardrails;
    CommitEngineOptions opts;
    opts.worker_id = "crash-survivor";
    opts.lease_ms = 40;
    opts.retry_delay_ms = 10;
    opts.max_attempts = 1000;
    CommitEngine engine(deps, opts);
    for (int round = 0; round < 400; ++round) {
      auto page = h.core.store->ListProposals({.status = S::kCommitting}, {.limit = 1});
      auto ready = h.core.store->ListProposals({.status = S::kApproved}, {.limit = 1});
      if (page->items.empty() && ready->items.empty()) break;
      BOOST_REQUIRE(engine.RunOnce().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(45));
    }
  }

  size_t duplicates = 0, missing = 0;
  for (const std::string& id : approved) {
    BOOST_TEST(h.StatusOf(id) == S::kCommitted, id);
    size_t notes = h.CountByIdentifier("DocumentReference", id);
    size_t provs =
        h.ServerSearch("Provenance", std::string("_tag=") + kProvenanceTagSystem + "|" + id).size();
    if (notes > 1 || provs > 1) ++duplicates;
    if (notes == 0 || provs == 0) ++missing;
  }
  for (const std::string& id : unapproved) {
    BOOST_TEST(h.CountByIdentifier("DocumentReference", id) == 0u, id);
  }
  BOOST_TEST(duplicates == 0u);
  BOOST_TEST(missing == 0u);
  BOOST_TEST(h.ServerSearch("DocumentReference", "").size() == approved.size());
  BOOST_TEST(h.ServerSearch("Device", "").size() == 1u);
  BOOST_TEST(core::VerifyAudit(*h.core.store)->ok);
  std::cout << "commit crash test: " << runs << " runs; killed mid-commit " << killed_mid_commit
            << ", killed before claiming " << killed_before_claim << ", finished " << finished
            << "; approved " << approved.size() << " committed exactly once, unapproved "
            << unapproved.size() << " never sent; duplicates " << duplicates << ", missing "
            << missing << std::endl;
}

}  // namespace
}  // namespace countersign::commit::testing
