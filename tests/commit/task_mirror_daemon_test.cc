// The daemon's worker runs the Task mirror after each commit pass: an approval ends, with no
// call from the test, as a committed resource on the server and a completed Task listing it.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugin/commit/task_mirror.h"
#include "plugin/daemon/daemon.h"
#include "tests/commit/commit_fixture.h"

namespace countersign::commit::testing {
namespace {

BOOST_AUTO_TEST_CASE(the_daemon_worker_mirrors_after_committing) {
  CommitHarness h;
  TaskMirror mirror(TaskMirrorDeps{h.core.store.get(), h.client.get()});
  daemon::DaemonParts parts;
  parts.coordinator = h.core.coordinator.get();
  parts.store = h.core.store.get();
  parts.policy = &h.core.policy;
  parts.authenticate = [](std::string_view) -> Result<core::Principal> {
    return Status::Unauthorized("no API calls in this test");
  };
  parts.commit_engine = h.engine.get();
  parts.task_mirror = &mirror;
  std::vector<std::string> log;
  std::mutex log_mu;
  parts.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.push_back(line);
  };
  daemon::DaemonOptions options;
  options.listen.port = 0;
  options.worker_poll_ms = 50;
  options.expire_every_ms = 0;
  auto d = daemon::Daemon::Start(std::move(parts), options);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());

  // Not ApprovedNote: the worker may be committing before Approve reads the proposal back.
  std::string id = h.core.SubmitNote("k-daemon", "Written by the worker.").id;
  BOOST_REQUIRE(h.core.coordinator->Approve(h.core.P("Practitioner/dr-ada"), id).ok());
  std::string status;
  for (int i = 0; i < 200 && status != "completed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = h.server.Raw("GET", "/Task/cs-" + id);
    BOOST_REQUIRE(r.ok());
    if (r->status != 200) continue;
    auto t = json::Parse(r->body);
    BOOST_REQUIRE(t.ok());
    status = std::string(json::GetString(*t, "status").value_or(""));
  }
  (*d)->Stop();
  BOOST_TEST(status == "completed");
  BOOST_TEST(h.StatusOf(id) == core::ProposalStatus::kCommitted);
  BOOST_TEST(*h.core.store->ReadCursor(kTaskMirrorCursor) == h.core.store->ReadAuditHead()->count);
  std::lock_guard<std::mutex> lock(log_mu);
  for (const auto& line : log) BOOST_TEST(line.find("task mirror") == std::string::npos, line);
}

}  // namespace
}  // namespace countersign::commit::testing
