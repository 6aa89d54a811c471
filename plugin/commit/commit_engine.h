// The commit engine: takes approved proposals from the store's outbox and writes them to the
// FHIR server through the write plan the server's CapabilityStatement allows (write_plan.h).
//
// Every approved proposal ends committed exactly once, or in a state a person can act on:
// - conflict: the server moved past the base version (409/412/423/428, or a version check); the
//   proposal gets a fresh JSON Patch against the server's current version; nothing overwritten.
// - failed: a permanent error, or the retry budget ran out; the server's OperationOutcome kept.
// Exactly once across retries, lost answers and crashes: every create is conditional on the
// Countersign identifier (or probed first where the server has no conditional create), so a
// retried or re-claimed commit finds what an earlier attempt wrote.
// Right before writing, the entries are checked again against the guardrails and against the
// approved content's hash: what is written is exactly what was approved.
//
// Threading: RunOnce may be called from several threads/processes; the outbox lease makes each
// proposal's commit single-writer. Dependencies must outlive the engine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fhir/status.h"

namespace countersign::fhir {
class FhirClient;
}
namespace countersign::core {
class Store;
class Guardrails;
class Clock;
}

namespace countersign::commit {

struct CommitEngineOptions {
  std::string worker_id;     // unique per process/thread; empty: "<hostname>:<pid>"
  int64_t lease_ms = 60000;  // an outbox claim older than this can be taken over
  int batch = 16;            // proposals per RunOnce
  int max_attempts = 5;      // claims of one outbox entry before the proposal is failed
  int64_t retry_delay_ms = 2000;  // a transient failure is retried this much later (at least)
};

struct CommitEngineDeps {
  core::Store* store = nullptr;
  fhir::FhirClient* client = nullptr;
  const core::Guardrails* guardrails = nullptr;
  core::Clock* clock = nullptr;  // SystemClock() when null
  // Provenance the server refuses (read-only type) goes to the store's local Provenance ledger
  // (Store::ReadProvenanceLedger), in the same transaction that marks the proposal committed.
};

struct CommitOutcome {
  std::string proposal_id;
  std::string status;  // committed | conflict | failed | retry-later
  std::string detail;  // one line for people
};

struct CommitRunReport {
  int claimed = 0;
  std::vector<CommitOutcome> outcomes;
};

class CommitEngine {
 public:
  CommitEngine(CommitEngineDeps deps, CommitEngineOptions options = {});
  ~CommitEngine();

  // Claims up to options.batch ready outbox entries and commits each. A store failure is
  // returned; per-proposal failures are in the report (and in the store).
  Result<CommitRunReport> RunOnce();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace countersign::commit
