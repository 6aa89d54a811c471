// The FHIR Task mirror (optional, config `task_mirror`): every proposal appears on the FHIR
// server as one Task (task_resource.h), so an EHR can show the review queue. Countersign's store
// stays the source of truth; the mirror is one-way and eventually consistent.
//
// Change feed: the audit trail. Every state change of a proposal appends an audit record (with
// its proposal id and a gapless seq), so RunOnce reads the records after its cursor (a named
// Store cursor), writes the current Task of each proposal they name (PUT Task/cs-<id>, no
// If-Match: Countersign owns these Tasks, and writing the same state again is harmless), and
// moves the cursor past the records it has fully mirrored.
// - A transient failure (server busy or unreachable, timeout) or a refused credential (401)
//   stops the run; the cursor stays before the first record of that proposal, so the next run
//   retries from there.
// - A permanent refusal of one Task (400/422, 403, ...) is reported and counted, then skipped:
//   the queue does not stall on it; the proposal's next change writes its Task again.
// - The server must declare update-create for Task (ids are chosen by Countersign); otherwise
//   RunOnce is kUnsupported and sends nothing.
// Audit records that change nothing (view, export) and records without a proposal are passed
// over without a write.
//
// Threading: RunOnce may be called from several threads; runs of one TaskMirror are serialized.
// Two TaskMirrors over the same store (two processes) stay correct only eventually: each write
// is the proposal's state when it was read. Dependencies must outlive the mirror.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fhir/status.h"

namespace countersign::fhir {
class FhirClient;
}
namespace countersign::core {
class Store;
}

namespace countersign::commit {

inline constexpr const char* kTaskMirrorCursor = "task-mirror";

struct TaskMirrorOptions {
  int batch = 100;  // audit records read per RunOnce (1..10000)
  std::string cursor_name = kTaskMirrorCursor;
};

struct TaskMirrorDeps {
  core::Store* store = nullptr;
  fhir::FhirClient* client = nullptr;
};

struct MirrorOutcome {
  std::string proposal_id;
  std::string status;       // mirrored | refused | retry-later | skipped (no such proposal)
  std::string task_status;  // the Task's status as written (mirrored only)
  std::string detail;       // one line for people
};

struct MirrorReport {
  int64_t cursor_before = 0;
  int64_t cursor_after = 0;
  int records = 0;    // audit records read
  int mirrored = 0;   // Tasks written
  int refused = 0;    // Tasks the server refused for good (skipped)
  bool stalled = false;    // a transient failure stopped the run before the batch's end
  bool caught_up = false;  // nothing left to read after this run
  std::vector<MirrorOutcome> outcomes;
};

class TaskMirror {
 public:
  TaskMirror(TaskMirrorDeps deps, TaskMirrorOptions options = {});
  ~TaskMirror();
  TaskMirror(const TaskMirror&) = delete;
  TaskMirror& operator=(const TaskMirror&) = delete;

  // One pass over up to options.batch audit records after the cursor. Errors: kUnsupported when
  // the server does not declare update-create for Task (nothing sent); the store's or the
  // CapabilityStatement read's failure. Per-Task outcomes, stalls included, are in the report.
  Result<MirrorReport> RunOnce();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace countersign::commit
