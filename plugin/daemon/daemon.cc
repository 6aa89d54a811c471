#include "plugin/daemon/daemon.h"

#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <cctype>
#include <mutex>
#include <thread>

#include "plugin/commit/commit_engine.h"
#include "plugin/commit/task_mirror.h"
#include "plugin/core/clock.h"

namespace countersign::daemon {

namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void OnStopSignal(int sig) { g_signal = sig; }

// Why a commit did not land, for the log: the error kind, the request line without its query
// string, and the HTTP status, e.g. "conflict: PUT /Appointment/a1: HTTP 412". Query strings
// (a search names patients and identifiers) and the server's own diagnostics after the status
// (a server may echo resource content) are left out; the whole detail stays in the proposal's
// history (`countersign show`), which only reviewers can read.
std::string LogReason(const std::string& detail) {
  std::string out;
  for (size_t i = 0; i < detail.size(); ++i) {
    if (detail[i] == '?') {  // "?query" up to the next space or ':' is dropped
      out += "?...";
      while (i + 1 < detail.size() && detail[i + 1] != ' ' && detail[i + 1] != ':') ++i;
      continue;
    }
    out += detail[i];
  }
  // "...: HTTP 422: <server diagnostics> (HTTP 422)" -> "...: HTTP 422"
  for (size_t h = out.find(": HTTP "); h != std::string::npos; h = out.find(": HTTP ", h + 1)) {
    size_t digits = h + 7;
    size_t end = digits;
    while (end < out.size() && end - digits < 3 && std::isdigit(static_cast<unsigned char>(out[end]))) ++end;
    if (end - digits == 3) {
      out.resize(end);
      break;
    }
  }
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
}

}  // namespace

struct Daemon::Impl {
  DaemonParts parts;
  DaemonOptions options;
  Metrics metrics;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpListener> listener;
  std::thread worker;
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  bool outbox_ready = false;  // an approval since the worker last waited; guarded by mu
  std::string last_mirror_error;  // worker thread only

  void Log(const std::string& line) {
    if (parts.log) {
      parts.log(line);
    } else {
      std::string l = line + "\n";
      std::fwrite(l.data(), 1, l.size(), stderr);
    }
  }
  void WorkerLoop();
  bool RunMirror();
  void ObserveOutcome(const commit::CommitOutcome& outcome, int64_t now);
};

void Daemon::Impl::ObserveOutcome(const commit::CommitOutcome& outcome, int64_t now) {
  metrics.CountCommitOutcome(outcome.status);
  if (outcome.status == "retry-later" || outcome.status == "failed") {
    metrics.CountServerError(outcome.status);
  }
  if (outcome.status == "retry-later") return;
  // Commit latency: from the final approval to now (the commit's end).
  auto p = parts.store->GetProposal(outcome.proposal_id);
  if (!p.ok()) return;
  for (auto it = p->history.rbegin(); it != p->history.rend(); ++it) {
    if (it->to_status == "approved") {
      metrics.ObserveCommit(static_cast<double>(now - it->at) / 1000.0);
      break;
    }
  }
}

// One Task mirror pass; true when it left records to read (the worker should not wait).
bool Daemon::Impl::RunMirror() {
  auto report = parts.task_mirror->RunOnce();
  if (!report.ok()) {
    metrics.CountWorkerError();
    // A server that cannot hold the Tasks fails every pass the same way: say it once.
    std::string line = "task mirror: " + report.status().ToString();
    if (line != last_mirror_error) Log(line);
    last_mirror_error = line;
    return false;
  }
  last_mirror_error.clear();
  for (const auto& o : report->outcomes) {
    if (o.status == "mirrored") continue;
    Log("task mirror " + o.proposal_id + " " + o.status + ": " + o.detail);
  }
  return !report->caught_up && !report->stalled;
}

void Daemon::Impl::WorkerLoop() {
  int64_t next_expiry = core::SystemClock().NowMillis() + options.expire_every_ms;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
    }
    bool busy = false;
    if (options.worker_enabled && parts.commit_engine) {
      auto report = parts.commit_engine->RunOnce();
      const int64_t now = core::SystemClock().NowMillis();
      api->ObserveStorage(report.ok() ? Status::Ok() : report.status(),
                          report.ok() && report->claimed > 0);
      if (!report.ok()) {
        metrics.CountWorkerError();
        metrics.CountServerError(ErrorKindName(report.status().kind()));
        Log("commit worker: " + report.status().ToString());
      } else {
        busy = report->claimed > 0;
        for (const auto& o : report->outcomes) {
          ObserveOutcome(o, now);
          if (o.status == "committed") {
            Log("commit " + o.proposal_id + " committed");
          } else {
            Log("commit " + o.proposal_id + " " + o.status + ": " + LogReason(o.detail) +
                " (details: countersign show " + o.proposal_id + ")");
          }
        }
      }
    }
    // After the commits, so a committed proposal's Task lists what was just written.
    if (parts.task_mirror && RunMirror()) busy = true;
    if (options.expire_every_ms > 0 && core::SystemClock().NowMillis() >= next_expiry) {
      auto n = parts.coordinator->ExpireDue();
      if (!n.ok()) Log("expiry: " + n.status().ToString());
      else if (*n > 0) Log("expired " + std::to_string(*n) + " proposal(s)");
      next_expiry = core::SystemClock().NowMillis() + options.expire_every_ms;
    }
    if (!busy) {
      std::unique_lock<std::mutex> lock(mu);
      wake.wait_for(lock, std::chrono::milliseconds(options.worker_poll_ms),
                    [this] { return stopping || outbox_ready; });
      outbox_ready = false;
    }
  }
}

Daemon::Daemon() : impl_(std::make_unique<Impl>()) {}
Daemon::~Daemon() { Stop(); }

Result<std::unique_ptr<Daemon>> Daemon::Start(DaemonParts parts, const DaemonOptions& options) {
  if (!parts.coordinator || !parts.store || !parts.policy || !parts.authenticate) {
    return Status::Invalid("the daemon needs a coordinator, a store, a policy and an authenticator");
  }
  // One daemon per SQLite file; the CLI's --config admin commands may still open it.
  CS_RETURN_IF_ERROR(parts.store->ClaimServing());
  std::unique_ptr<Daemon> d(new Daemon());
  Impl& impl = *d->impl_;
  impl.parts = std::move(parts);
  impl.options = options;

  ApiDeps deps;
  deps.coordinator = impl.parts.coordinator;
  deps.store = impl.parts.store;
  deps.policy = impl.parts.policy;
  deps.authenticate = impl.parts.authenticate;
  deps.read_current = impl.parts.read_current;
  deps.metrics = &impl.metrics;
  deps.render = impl.parts.render;
  deps.log = impl.parts.log;
  deps.limits = options.limits;
  deps.outbox_ready = [&impl] {
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      impl.outbox_ready = true;
    }
    impl.wake.notify_all();
  };
  impl.api = std::make_unique<Api>(std::move(deps));

  ListenerOptions listen = options.listen;
  listen.max_body_bytes = options.limits.max_body_bytes;
  Api* api = impl.api.get();
  listen.screen = [api](const HttpServerRequest& head) { return api->Screen(head); };
  listen.on_refusal = [&impl](std::string_view method, int status) {
    impl.metrics.ObserveRequest(method, status, 0);
    // The method only (bounded, printable); the target may be what was too long.
    std::string m(MethodLabel(method.empty() ? std::string_view("other") : method));
    impl.Log("http " + m + " - " + std::to_string(status) + " refused by the listener");
  };
  auto listener = HttpListener::Start(
      listen, [api](const HttpServerRequest& request) { return api->Handle(request); });
  if (!listener.ok()) return listener.status();
  impl.listener = std::move(listener).value();
  if (listen.tcp_nodelay && !impl.listener->nodelay_applied()) {
    impl.Log("warning: TCP_NODELAY could not be set on the listening socket");
  }
  impl.worker = std::thread([&impl] { impl.WorkerLoop(); });
  impl.Log("countersign daemon listening on " + impl.listener->url());
  return d;
}

void Daemon::Stop() {
  if (!impl_) return;
  if (impl_->listener) impl_->listener->Stop();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

int Daemon::port() const { return impl_->listener->port(); }
std::string Daemon::url() const { return impl_->listener->url(); }
Metrics& Daemon::metrics() { return impl_->metrics; }
Api& Daemon::api() { return *impl_->api; }
bool Daemon::nodelay_applied() const { return impl_->listener->nodelay_applied(); }
int Daemon::open_connections() const { return impl_->listener->open_connections(); }

Status RunDaemon(DaemonParts parts, const DaemonOptions& options, std::atomic<bool>* stop) {
  g_signal = 0;
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  auto daemon = Daemon::Start(std::move(parts), options);
  Status result;
  if (!daemon.ok()) {
    result = daemon.status();
  } else {
    while (g_signal == 0 && !(stop && stop->load())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    (*daemon)->Stop();
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace countersign::daemon
