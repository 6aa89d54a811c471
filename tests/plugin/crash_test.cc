// Crash safety: a forked child submits and approves drafts in a loop (plain commits in even
// rounds, group commit from three threads in odd rounds) and reports each acknowledged operation
// over a pipe; the parent SIGKILLs it at a random moment, reopens the database and checks that
// every acknowledged operation is there, nothing is half-written, and the audit chain verifies.
#define BOOST_TEST_MODULE core_crash
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "plugin/core/provenance.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::NoteDraft;

constexpr int kRounds = 30;

[[noreturn]] void RunChild(const std::string& db_path, int round, int write_fd) {
  SqliteStoreOptions options;
  options.group_commit = round % 2 == 1;
  auto store = SqliteStore::Open(db_path, options);
  if (!store.ok()) _exit(3);
  testing::FakeMapper mapper;
  auto principals = PrincipalDirectory::LoadFile(testing::FixturePath("config/principals.json"));
  auto policy = ApprovalPolicy::LoadFile(testing::FixturePath("config/approval-policy.json"));
  auto guardrails = Guardrails::LoadFile(testing::FixturePath("config/guardrails.json"));
  if (!principals.ok() || !policy.ok() || !guardrails.ok()) _exit(4);
  CoordinatorDeps deps;
  deps.store = store->get();
  deps.mapper = &mapper;
  deps.principals = &*principals;
  deps.policy = &*policy;
  deps.guardrails = &*guardrails;
  Coordinator coordinator(deps);
  const Principal& ai = *principals->Find("Device/ai-scribe");
  const Principal& ada = *principals->Find("Practitioner/dr-ada");
  auto ack = [write_fd](const std::string& line) {
    // One write per line (< PIPE_BUF): atomic even with several threads.
    if (write(write_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
  };
  auto loop = [&](int thread) {
    for (int i = 0;; ++i) {
      std::string key = "r" + std::to_string(round) + "-t" + std::to_string(thread) + "-" + std::to_string(i);
      auto s = coordinator.Submit(ai, NoteDraft(key, "note " + key));
      if (!s.ok()) _exit(6);
      ack("S " + key + " " + s->proposal.id + "\n");
      if (i % 3 == 2) continue;  // leave some pending
      auto a = coordinator.Approve(ada, s->proposal.id);
      if (!a.ok()) _exit(7);
      ack("A " + s->proposal.id + "\n");
    }
  };
  // The loops never end: the parent kills the child.
  if (options.group_commit) {
    std::thread t1(loop, 1), t2(loop, 2);
    loop(0);
    t1.join();
    t2.join();
  }
  loop(0);
  _exit(0);
}

struct Acks {
  std::map<std::string, std::string> submitted;  // key -> id
  std::set<std::string> approved;                // ids
};

void ReadAcks(int fd, Acks& acks) {
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof() && !data.empty() && data.back() != '\n') break;  // torn last line: not an ack
    std::istringstream parts(line);
    std::string kind, a, b;
    parts >> kind >> a >> b;
    if (kind == "S") acks.submitted[a] = b;
    if (kind == "A") acks.approved.insert(a);
  }
}

void CheckStore(const std::string& db_path, const Acks& acks, int round) {
  auto opened = SqliteStore::Open(db_path);
  BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  Store& store = **opened;
  for (const auto& [key, id] : acks.submitted) {
    auto p = store.GetProposal(id);
    BOOST_REQUIRE_MESSAGE(p.ok(), "round " << round << ": acknowledged submission " << key << " lost");
    BOOST_TEST(p->idempotency_key == key);
  }
  for (const std::string& id : acks.approved) {
    auto p = store.GetProposal(id);
    BOOST_REQUIRE(p.ok());
    BOOST_TEST_CONTEXT("round " << round << " approval " << id) {
      BOOST_TEST(p->status == ProposalStatus::kApproved);
    }
  }
  // Nothing half-written: every stored proposal is complete and consistent.
  std::set<std::string> audited_submits, audited_approvals;
  for (int64_t after = 0;;) {
    auto page = store.ReadAudit(after, 1000);
    BOOST_REQUIRE(page.ok());
    for (const auto& r : *page) {
      if (r.action == audit::kSubmit) audited_submits.insert(r.proposal_id);
      if (r.action == audit::kApprove) audited_approvals.insert(r.proposal_id);
      after = r.seq;
    }
    if (page->size() < 1000) break;
  }
  PageRequest page{1000, ""};
  size_t seen = 0;
  for (;;) {
    auto list = store.ListProposals({}, page);
    BOOST_REQUIRE(list.ok());
    for (const ProposalSummary& s : list->items) {
      ++seen;
      auto p = store.GetProposal(s.id);
      BOOST_REQUIRE(p.ok());
      BOOST_TEST(!p->history.empty());
      BOOST_TEST(p->history.front().event == "submit");
      BOOST_TEST(audited_submits.count(s.id) == 1u);
      if (p->status == ProposalStatus::kApproved) {
        BOOST_TEST(p->approvals.size() == 1u);
        BOOST_TEST(p->history.back().to_status == "approved");
        BOOST_TEST(audited_approvals.count(s.id) == 1u);
        BOOST_TEST(store.ListOutbox(s.id)->size() == 1u);
        auto bundle = json::Parse(p->bundle_json);
        BOOST_TEST(bundle->IsObject());
        BOOST_TEST(json::Stringify(*bundle).find("verifier") != std::string::npos);
      } else {
        BOOST_TEST(p->status == ProposalStatus::kPending);
        BOOST_TEST(p->approvals.empty());
        BOOST_TEST(store.ListOutbox(s.id)->empty());
      }
    }
    if (list->next_cursor.empty()) break;
    page.after = list->next_cursor;
  }
  BOOST_TEST(seen >= acks.submitted.size());
  auto v = VerifyAudit(store);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST_CONTEXT("round " << round << ": " << v->reason) { BOOST_TEST(v->ok); }
}

BOOST_AUTO_TEST_CASE(sigkill_during_submit_and_approve_loses_nothing_acknowledged) {
  testing::TempDir dir;
  const std::string db_path = dir.Path("crash.db");
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(5, 60);
  Acks acks;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
      close(fds[0]);
      RunChild(db_path, round, fds[1]);
    }
    close(fds[1]);
    // The random moment counts from the child's first acknowledgement, so a slow start (e.g.
    // under ASan) does not turn every round into a kill before any work.
    pollfd first{fds[0], POLLIN, 0};
    poll(&first, 1, 10000);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status), "child exited early with " << WEXITSTATUS(status));
    ReadAcks(fds[0], acks);
    close(fds[0]);
    CheckStore(db_path, acks, round);
  }
  BOOST_TEST_MESSAGE("acknowledged: " << acks.submitted.size() << " submissions, "
                                      << acks.approved.size() << " approvals");
  BOOST_TEST(acks.submitted.size() > static_cast<size_t>(kRounds));
  BOOST_TEST(acks.approved.size() > 0u);
}

}  // namespace
}  // namespace countersign::core
