// The REST daemon (`countersign serve`): the HTTP listener over the Api, a commit worker thread
// that drains the outbox (CommitEngine::RunOnce every poll interval when there was nothing to do)
// and then, when one is given, runs a FHIR Task mirror pass, and periodic expiry of overdue
// proposals. Stops cleanly on SIGINT/SIGTERM or a stop flag.
//
// Two ways in: Daemon for callers that build the parts themselves (tests, benchmarks, the C ABI),
// and RunDaemon, which blocks until stopped.
//
// Threading: Start/Stop from one thread. The parts must be thread-safe and outlive the Daemon.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "fhir/status.h"
#include "plugin/daemon/api.h"
#include "plugin/daemon/http_listener.h"
#include "plugin/daemon/metrics.h"

namespace countersign::commit {
class CommitEngine;
class TaskMirror;
}

namespace countersign::daemon {

struct DaemonParts {
  core::Coordinator* coordinator = nullptr;     // required
  core::Store* store = nullptr;                 // required
  const core::ApprovalPolicy* policy = nullptr; // required
  Authenticator authenticate;                   // required
  core::CurrentReader read_current;             // optional (review diff, rebase)
  commit::CommitEngine* commit_engine = nullptr;  // optional: no commit worker when null
  commit::TaskMirror* task_mirror = nullptr;      // optional: run after each commit pass
                                                // (also with worker_enabled false)
  ProposalRenderer render;                      // optional
  std::function<void(const std::string& line)> log;  // request and worker log; stderr when unset
};

struct DaemonOptions {
  ListenerOptions listen;
  ApiLimits limits;
  bool worker_enabled = true;   // run the commit worker (needs parts.commit_engine)
  int64_t worker_poll_ms = 500; // wait between outbox polls when the last one found nothing
  int64_t expire_every_ms = 60000;  // how often overdue proposals are expired (0: never)
};

class Daemon {
 public:
  // Starts the listener and the worker. kNetwork when the address cannot be bound; kInvalid
  // when a required part is missing.
  static Result<std::unique_ptr<Daemon>> Start(DaemonParts parts, const DaemonOptions& options);
  ~Daemon();  // Stop()

  // Stops accepting requests, then stops the worker after its current pass. Idempotent.
  void Stop();
  int port() const;
  std::string url() const;
  Metrics& metrics();
  Api& api();
  bool nodelay_applied() const;
  int open_connections() const;  // the listener's open connections now

 private:
  Daemon();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Starts a Daemon and blocks until *stop becomes true or SIGINT/SIGTERM arrives (handlers are
// installed for the duration and the previous ones restored), then stops it. stop may be null.
Status RunDaemon(DaemonParts parts, const DaemonOptions& options, std::atomic<bool>* stop);

}  // namespace countersign::daemon
