#include "plugin/commit/commit_engine.h"

#include <unistd.h>

#include <algorithm>

#include "fhir/client.h"
#include "fhir/operation_outcome.h"
#include "plugin/commit/commit_executor.h"
#include "plugin/commit/write_plan.h"
#include "plugin/core/audit_chain.h"
#include "plugin/core/clock.h"
#include "plugin/core/guardrails.h"
#include "plugin/core/store.h"

namespace countersign::commit {
namespace {

using core::ProposalStatus;

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

struct CommitEngine::Impl {
  CommitEngineDeps deps;
  CommitEngineOptions options;

  int64_t Now() const { return deps.clock->NowMillis(); }

  // The proposal's move out of committing, with its history event and audit record.
  core::ProposalUpdate Finish(const core::Proposal& p, ProposalStatus to, int outcome,
                              const std::string& detail_json) const {
    core::ProposalUpdate u;
    u.proposal_id = p.id;
    u.expected_status = ProposalStatus::kCommitting;
    u.new_status = to;
    u.event.at = Now();
    u.event.actor = options.worker_id;
    u.event.actor_role = "commit-engine";
    u.event.event = "transition";
    u.event.detail_json = detail_json;
    core::AuditRecord a;
    a.at = u.event.at;
    a.actor = options.worker_id;
    a.actor_role = "commit-engine";
    a.action = core::audit::kCommitResult;
    a.proposal_id = p.id;
    a.patient = p.patient;
    a.outcome = outcome;
    a.detail_json = detail_json;
    u.audit = a;
    return u;
  }

  // Ends the proposal failed without having written anything (or after compensation).
  CommitOutcome CompleteFailed(const core::OutboxEntry& e, const core::Proposal& p,
                               const Status& why, const std::string& result_json) {
    core::ProposalUpdate u = Finish(p, ProposalStatus::kFailed, core::kOutcomeSeriousFailure,
                                    result_json);
    u.outcome_json = fhir::OperationOutcomeFor(why);
    auto done = deps.store->CompleteOutbox(e.id, options.worker_id, result_json, u);
    if (!done.ok()) return {p.id, "retry-later", "store: " + done.ToString()};
    return {p.id, "failed", why.ToString()};
  }

  static std::string ErrorResult(const Status& why) {
    json::Document d(rapidjson::kObjectType);
    json::SetString(d, "result", "failed", d.GetAllocator());
    json::SetString(d, "error", why.ToString(), d.GetAllocator());
    return json::Stringify(d);
  }

  CommitOutcome CommitEntry(const core::OutboxEntry& e) {
    auto p = deps.store->GetProposal(e.proposal_id);
    if (!p.ok()) return {e.proposal_id, "retry-later", p.status().ToString()};
    // What is written is exactly what was approved: same revision, same bytes, still allowed.
    if (p->revision != e.revision) {
      Status why = Status::Corruption("the proposal's revision changed after approval");
      return CompleteFailed(e, *p, why, ErrorResult(why));
    }
    if (!e.bundle_sha256.empty() && core::Sha256Hex(p->bundle_json) != e.bundle_sha256) {
      Status why = Status::Corruption("the pending Bundle differs from the approved one (hash)");
      return CompleteFailed(e, *p, why, ErrorResult(why));
    }
    auto bundle = json::Parse(p->bundle_json);
    auto patches = json::Parse(p->patches_json.empty() ? "[]" : p->patches_json);
    if (!bundle.ok() || !patches.ok()) {
      Status why = Status::Corruption("stored Bundle is not JSON");
      return CompleteFailed(e, *p, why, ErrorResult(why));
    }
    if (deps.guardrails != nullptr) {
      Status allowed = deps.guardrails->Check(p->kind, *bundle, *patches);
      if (!allowed.ok()) return CompleteFailed(e, *p, allowed, ErrorResult(allowed));
    }
    auto caps = deps.client->GetCapabilities();
    if (!caps.ok()) return RetryOrFail(e, *p, caps.status(), ErrorResult(caps.status()));
    auto plan = PlanWrites(*bundle, *caps);
    if (!plan.ok()) return CompleteFailed(e, *p, plan.status(), ErrorResult(plan.status()));

    // A later attempt, or a person's retry of a failed commit: look on the server first.
    bool retried = std::any_of(p->history.begin(), p->history.end(),
                               [](const core::ProposalEvent& ev) { return ev.event == core::kRetryEvent; });
    CommitTarget target{p->id, p->revision, e.attempts > 1 || retried};
    Execution run = ExecuteCommit(*deps.client, *bundle, *plan, target);
    std::string result = run.ResultJson();
    switch (run.kind) {
      case ExecutionKind::kCommitted: {
        core::ProposalUpdate u =
            Finish(*p, ProposalStatus::kCommitted, core::kOutcomeSuccess, result);
        if (!run.ledger_provenance_json.empty()) u.ledger_provenance_json = run.ledger_provenance_json;
        auto done = deps.store->CompleteOutbox(e.id, options.worker_id, result, u);
        if (!done.ok()) return {p->id, "retry-later", "store: " + done.ToString()};
        return {p->id, "committed", plan->summary};
      }
      case ExecutionKind::kConflict: {
        core::ProposalUpdate u = Finish(*p, ProposalStatus::kConflict,
                                        core::kOutcomeMinorFailure, result);
        u.outcome_json = fhir::OperationOutcomeFor(run.error);
        auto done = deps.store->CompleteOutbox(e.id, options.worker_id, result, u);
        if (!done.ok()) return {p->id, "retry-later", "store: " + done.ToString()};
        return {p->id, "conflict", run.error.ToString()};
      }
      case ExecutionKind::kFailed:
        return CompleteFailed(e, *p, run.error, result);
      case ExecutionKind::kRetryLater:
        return RetryOrFail(e, *p, run.error, result);
    }
    return {p->id, "retry-later", "unreachable"};
  }

  // A transient failure: try again later (the next claim reconciles first), until the budget of
  // attempts is spent; then failed with the last error.
  CommitOutcome RetryOrFail(const core::OutboxEntry& e, const core::Proposal& p, const Status& why,
                            const std::string& result_json) {
    if (e.attempts >= options.max_attempts) {
      Status final = Status::Error(why.kind(),
                                   "gave up after " + std::to_string(e.attempts) +
                                       " attempts: " + why.message(),
                                   why.http_status(), why.operation_outcome());
      return CompleteFailed(e, p, final, result_json);
    }
    int64_t delay = options.retry_delay_ms * (int64_t{1} << std::min<int64_t>(e.attempts - 1, 6));
    Status s = deps.store->DeferOutbox(e.id, options.worker_id, Now() + delay, result_json);
    return {p.id, "retry-later", why.ToString() + (s.ok() ? "" : "; store: " + s.ToString())};
  }
};

CommitEngine::CommitEngine(CommitEngineDeps deps, CommitEngineOptions options)
    : impl_(new Impl{deps, std::move(options)}) {
  if (impl_->deps.clock == nullptr) impl_->deps.clock = &core::SystemClock();
  if (impl_->options.worker_id.empty()) impl_->options.worker_id = DefaultWorkerId();
}

CommitEngine::~CommitEngine() { delete impl_; }

Result<CommitRunReport> CommitEngine::RunOnce() {
  if (impl_->deps.store == nullptr || impl_->deps.client == nullptr) {
    return Status::Internal("commit engine without store or FHIR client");
  }
  auto claimed = impl_->deps.store->ClaimOutbox(impl_->options.worker_id, impl_->Now(),
                                                impl_->options.lease_ms, impl_->options.batch);
  if (!claimed.ok()) return claimed.status();
  CommitRunReport report;
  report.claimed = static_cast<int>(claimed->size());
  for (const core::OutboxEntry& e : *claimed) report.outcomes.push_back(impl_->CommitEntry(e));
  return report;
}

}  // namespace countersign::commit
