#include "plugin/commit/task_mirror.h"

#include <map>
#include <mutex>

#include "fhir/client.h"
#include "plugin/commit/task_resource.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/store.h"

namespace countersign::commit {
namespace {

// Records that may follow a change of the proposal. Views and exports change nothing, and they
// are frequent (every reviewer's look is audited): mirroring them would only add Task versions.
bool MayChangeProposal(const core::AuditRecord& r) {
  return !r.proposal_id.empty() && r.action != core::audit::kView &&
         r.action != core::audit::kExport;
}

// Failures worth retrying on the next run rather than skipping the Task: the server was busy or
// unreachable, or it refused our credentials — every other Task would fail the same way.
bool StopsTheRun(const Status& s) { return s.IsTransient() || s.IsUnauthorized(); }

}  // namespace

struct TaskMirror::Impl {
  TaskMirrorDeps deps;
  TaskMirrorOptions options;
  std::mutex run_mu;  // one run at a time: runs read and move the same cursor

  // Writes the proposal's current Task. A store failure goes to *store_error (the run ends).
  MirrorOutcome MirrorOne(const std::string& id, Status* store_error) {
    auto p = deps.store->GetProposal(id);
    if (!p.ok()) {
      // An audit record naming no stored proposal (e.g. a refused request about a wrong id).
      if (p.status().IsNotFound()) return {id, "skipped", "", "no such proposal"};
      *store_error = p.status();
      return {id, "retry-later", "", p.status().ToString()};
    }
    std::vector<std::string> outputs;
    if (p->status == core::ProposalStatus::kCommitted) {
      auto outbox = deps.store->ListOutbox(id);
      if (!outbox.ok()) {
        *store_error = outbox.status();
        return {id, "retry-later", "", outbox.status().ToString()};
      }
      outputs = CommittedReferences(*outbox);
    }
    auto task = BuildTask(*p, outputs);
    if (!task.ok()) return {id, "refused", "", task.status().ToString()};
    auto written = deps.client->Update(*task);
    if (written.ok()) {
      const char* status = TaskStatusFor(p->status);
      return {id, "mirrored", status, "Task/" + written->id + " " + status};
    }
    if (StopsTheRun(written.status())) return {id, "retry-later", "", written.status().ToString()};
    return {id, "refused", "", written.status().ToString()};
  }
};

TaskMirror::TaskMirror(TaskMirrorDeps deps, TaskMirrorOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->deps = deps;
  impl_->options = std::move(options);
}

TaskMirror::~TaskMirror() = default;

Result<MirrorReport> TaskMirror::RunOnce() {
  Impl& m = *impl_;
  if (m.deps.store == nullptr || m.deps.client == nullptr) {
    return Status::Internal("Task mirror without store or FHIR client");
  }
  if (m.options.batch < 1 || m.options.batch > 10000 || m.options.cursor_name.empty()) {
    return Status::Invalid("Task mirror: batch must be 1..10000 and the cursor named");
  }
  std::lock_guard<std::mutex> lock(m.run_mu);
  // Task ids are ours (cs-<proposal id>): without update-create the first PUT of each Task would
  // be refused, so refuse the whole mirror up front and send nothing.
  auto caps = m.deps.client->GetCapabilities();
  if (!caps.ok()) return caps.status();
  if (!caps->UpdateCreate("Task")) {
    return Status::Unsupported(
        "Task mirror: the FHIR server does not declare update-create for Task (CapabilityStatement "
        "rest.resource Task: interaction update with updateCreate true), so it cannot hold "
        "Task/cs-<proposal id>; turn task_mirror off for this server");
  }
  auto cursor = m.deps.store->ReadCursor(m.options.cursor_name);
  if (!cursor.ok()) return cursor.status();
  auto records = m.deps.store->ReadAudit(*cursor, m.options.batch);
  if (!records.ok()) return records.status();

  MirrorReport report;
  report.cursor_before = *cursor;
  report.records = static_cast<int>(records->size());
  // Each proposal once, in the order of its first record in this batch: its Task carries its
  // current state, which covers every later record of it too.
  std::vector<std::string> order;
  std::map<std::string, int64_t> first_seq;
  for (const core::AuditRecord& r : *records) {
    if (MayChangeProposal(r) && first_seq.emplace(r.proposal_id, r.seq).second) {
      order.push_back(r.proposal_id);
    }
  }
  int64_t mirrored_through = records->empty() ? *cursor : records->back().seq;
  for (const std::string& id : order) {
    Status store_error;
    MirrorOutcome outcome = m.MirrorOne(id, &store_error);
    if (!store_error.ok()) return store_error;  // cursor untouched; the next run redoes it
    if (outcome.status == "mirrored") ++report.mirrored;
    if (outcome.status == "refused") ++report.refused;
    const bool stop = outcome.status == "retry-later";
    report.outcomes.push_back(std::move(outcome));
    if (stop) {
      // Everything before this proposal's first record is mirrored (proposals are taken in
      // first-record order); from there on the next run starts again.
      report.stalled = true;
      mirrored_through = first_seq[id] - 1;
      break;
    }
  }
  if (mirrored_through != *cursor) {
    CS_RETURN_IF_ERROR(m.deps.store->WriteCursor(m.options.cursor_name, mirrored_through));
  }
  report.cursor_after = mirrored_through;
  report.caught_up = !report.stalled && static_cast<int>(records->size()) < m.options.batch;
  return report;
}

}  // namespace countersign::commit
