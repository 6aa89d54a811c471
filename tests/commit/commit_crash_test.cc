// Crash safety of the commit engine: a forked child (the commit worker, its own SQLite
// connection and FHIR client) commits approved proposals and is SIGKILLed at a random moment;
// this happens hundreds of times, alternating servers with and without transactions. Then a
// fresh worker finishes what is left, and the FHIR server itself is checked: every approved
// proposal is there exactly once (its note and its Provenance), nothing unapproved ever arrived.
// The approved notes are real drafts with hostile AI names (fixtures/drafts/hostile), which every
// reconciling search after a kill carries.
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
#include <map>
#include <random>
#include <thread>

#include "plugin/commit/commit_executor.h"
#include "plugin/core/audit_chain.h"
#include "fhir/resource.h"
#include "mappings/engine.h"
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
                         const core::Guardrails& guardrails, int run, int ready_fd) {
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
  // Tell the parent the worker is about to commit: its kill lands inside the commit work.
  char one = 1;
  if (write(ready_fd, &one, 1) != 1) _exit(5);
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
  // A commit here takes 1.5-4 ms (one transaction round trip and three store transactions;
  // bench/commit_bench): kills spread over 0-6 ms land in every stage of it, and after it.
  std::uniform_int_distribution<int> kill_after_us(0, 6000);
  std::vector<std::string> approved, unapproved;
  int killed = 0, finished = 0;

  for (int run = 0; run < runs; ++run) {
    countersign::testing::ServerConfig config;
    config.transactions = run % 2 == 0;
    BOOST_REQUIRE(h.server.Configure(config).ok());
    approved.push_back(h.ApprovedHostileNote("Clínica Pérez crash #" + std::to_string(run) + " & co",
                                             "Nota " + std::to_string(run) + ": «A&B» + 50% | ok"));
    if (run % 5 == 0) {
      unapproved.push_back(h.core.SubmitNote("pending-" + std::to_string(run)).id);
    }
    if (run % 7 == 0) {
      core::Proposal p = h.core.SubmitNote("rejected-" + std::to_string(run));
      BOOST_REQUIRE(h.core.coordinator->Reject(h.core.P("Practitioner/dr-ada"), p.id,
                                               {"not-needed", ""}).ok());
      unapproved.push_back(p.id);
    }
    int ready[2];
    BOOST_REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
      close(ready[0]);
      Worker(h.core.db_path, h.server.base_url(), h.core.guardrails, run, ready[1]);
    }
    close(ready[1]);
    char byte = 0;
    BOOST_REQUIRE(read(ready[0], &byte, 1) == 1);
    close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(kill_after_us(rng)));
    kill(child, SIGKILL);
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    if (WIFEXITED(wstatus)) {
      BOOST_REQUIRE_MESSAGE(WEXITSTATUS(wstatus) == 0, "worker failed: " << WEXITSTATUS(wstatus));
      ++finished;
    } else {
      ++killed;
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
      core::ProposalFilter committing, approved_filter;
      committing.status = S::kCommitting;
      approved_filter.status = S::kApproved;
      core::PageRequest one;
      one.limit = 1;
      auto page = h.core.store->ListProposals(committing, one);
      auto ready = h.core.store->ListProposals(approved_filter, one);
      if (page->items.empty() && ready->items.empty()) break;
      BOOST_REQUIRE(engine.RunOnce().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(45));
    }
  }

  // One read of everything on the server, then counted here.
  std::map<std::string, int> notes_by_proposal, provenance_by_proposal;
  for (const auto& note : h.ServerSearch("DocumentReference", "")) {
    for (const auto& ident : fhir::Identifiers(note)) {
      if (ident.system == mappings::kCountersignIdentifierSystem) {
        ++notes_by_proposal[ident.value.substr(0, ident.value.find('/'))];
      }
    }
  }
  // Every note's "Type/id/_history/v", to check what each Provenance names.
  std::map<std::string, std::string> note_versions;
  for (const auto& note : h.ServerSearch("DocumentReference", "")) {
    std::string ref = "DocumentReference/" + std::string(fhir::ResourceId(note).value_or(""));
    note_versions[ref] = ref + "/_history/" + std::string(fhir::VersionId(note).value_or(""));
  }
  size_t unversioned_targets = 0;
  for (const auto& prov : h.ServerSearch("Provenance", "")) {
    for (const auto& tag : fhir::Tags(prov)) {
      if (tag.system == kProvenanceTagSystem) ++provenance_by_proposal[tag.code];
    }
    if (const json::Value* targets = json::Member(prov, "target")) {
      for (const auto& t : targets->GetArray()) {
        std::string ref(json::GetString(t, "reference").value_or(""));
        std::string plain = ref.substr(0, ref.find("/_history/"));
        if (note_versions.count(plain) == 0 || note_versions[plain] != ref) ++unversioned_targets;
      }
    }
  }
  // How the kills landed, from the outbox: a commit claimed more than once was interrupted; if
  // its final attempt found the note already on the server, the kill came after the write.
  int interrupted = 0, interrupted_after_write = 0;
  for (const std::string& id : approved) {
    auto outbox = h.core.store->ListOutbox(id);
    BOOST_REQUIRE(outbox.ok() && outbox->size() == 1u);
    if (outbox->front().attempts > 1) {
      ++interrupted;
      // The note's own write record (the shared AI Device is "existing" in every commit).
      auto result = json::Parse(outbox->front().result_json);
      BOOST_REQUIRE(result.ok());
      if (const json::Value* writes = json::Member(*result, "writes")) {
        for (const auto& w : writes->GetArray()) {
          if (json::GetString(w, "reference").value_or("").rfind("DocumentReference/", 0) == 0 &&
              json::GetString(w, "outcome").value_or("") == "existing") {
            ++interrupted_after_write;
          }
        }
      }
    }
  }
  size_t duplicates = 0, missing = 0;
  for (const std::string& id : approved) {
    BOOST_TEST(h.StatusOf(id) == S::kCommitted, id);
    int notes = notes_by_proposal[id];
    int provs = provenance_by_proposal[id];
    if (notes > 1 || provs > 1) ++duplicates;
    if (notes == 0 || provs == 0) ++missing;
  }
  for (const std::string& id : unapproved) {
    BOOST_TEST(notes_by_proposal[id] == 0, id);
    BOOST_TEST(provenance_by_proposal[id] == 0, id);
  }
  BOOST_TEST(duplicates == 0u);
  BOOST_TEST(missing == 0u);
  BOOST_TEST(unversioned_targets == 0u);  // each names its note's committed version
  BOOST_TEST(h.ServerSearch("DocumentReference", "").size() == approved.size());
  BOOST_TEST(h.ServerSearch("Device", "").size() == 1u);
  BOOST_TEST(h.ServerSearch("Device", CommitHarness::TokenQuery(
                                          "identifier", mappings::kAiDeviceIdentifierSystem,
                                          CommitHarness::HostileDeviceIdentifier()))
                 .size() == 1u);
  BOOST_TEST(core::VerifyAudit(*h.core.store)->ok);
  std::cout << "commit crash test: " << runs << " runs; worker SIGKILLed " << killed
            << ", finished before the kill " << finished << "; commits interrupted "
            << interrupted << " (of which the kill came after the server had the note: "
            << interrupted_after_write << ")"
            << "; approved " << approved.size() << " committed exactly once, unapproved "
            << unapproved.size() << " never sent; duplicates " << duplicates << ", missing "
            << missing << ", Provenance targets not naming the committed version "
            << unversioned_targets << std::endl;
}

}  // namespace
}  // namespace countersign::commit::testing
