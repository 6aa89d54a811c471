// A fault campaign against the commit engine on the loopback FHIR server: every approved
// proposal (new notes, and appointment updates under If-Match) meets one fault drawn at random —
// 503 or 429 before or after the server applied the request, the connection dropped before or
// after, an answer slower than the client's timeout, or the server restarted mid-commit — on a
// request drawn from those its commit makes, on three servers: transactions that version the
// Provenance's targets, transactions that do not (and answer minimally), no transactions.
// Some updates are also contested: someone else changes the appointment after the AI read it.
// Afterwards the server itself is checked: every note exactly once with one Provenance naming
// its committed version, every appointment updated exactly once (its version moved by one), a
// conflict for every contested update (the other change kept, nothing of ours written) and
// nowhere else (no false conflicts), nothing failed. The drafts are real ones, mapped by the
// shipped rules, with hostile AI names (fixtures/drafts/hostile: spaces, '&', '+', '#', '%', ',',
// '$', '\', non-ASCII) that every reconciling search carries. Bounded: a fixed seed
// (COUNTERSIGN_FAULT_SEED), COUNTERSIGN_FAULT_RUNS proposals per server (default 40), at most 2
// faulty requests each.
#define BOOST_TEST_MODULE fault_campaign
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fhir/resource.h"
#include "plugin/commit/commit_executor.h"
#include "tests/commit/commit_fixture.h"

namespace countersign::commit::testing {
namespace {

using countersign::testing::Fault;
using countersign::testing::ServerConfig;
using S = core::ProposalStatus;

constexpr const char* kPatAppointment = R"({"resourceType":"Appointment","status":"booked",
  "start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:30:00Z",
  "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"}]})";

uint32_t Seed() {
  const char* env = std::getenv("COUNTERSIGN_FAULT_SEED");
  return env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : 20261201;
}

int Runs() {
  const char* env = std::getenv("COUNTERSIGN_FAULT_RUNS");
  return env ? std::max(1, std::atoi(env)) : 40;
}

enum class Kind { k503Before, k503After, k429Before, k429After, kDropBefore, kDropAfter, kSlow, kRestart };
const char* Name(Kind k) {
  static const char* kNames[] = {"503 before", "503 after",  "429 before",  "429 after",
                                 "drop before", "drop after", "slow answer", "server restart"};
  return kNames[static_cast<int>(k)];
}

struct Planned {
  std::string id;
  bool update = false;
  std::string appointment;  // Type/id for updates
  std::string base_version;
  bool contested = false;   // someone else changed the appointment after the AI read it
};

// The requests a commit of this proposal makes on this server, as (method, path regex).
// The three servers: transactions that version the Provenance's targets themselves; transactions
// from a server that ignores the extension and answers with locations only (the engine reads the
// Provenance back and pins it); no transactions (per-resource writes).
enum class Server { kTransactions, kPlainTransactions, kPerResource };

ServerConfig ConfigFor(Server server) {
  ServerConfig c;
  c.transactions = server != Server::kPerResource;
  if (server == Server::kPlainTransactions) {
    c.resolve_version_specific = false;
    c.return_minimal = true;
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> Targets(Server server, bool update) {
  if (server == Server::kTransactions) {
    // The transaction, and the searches a later attempt makes to reconcile.
    return {{"POST", "^/fhir/R4/?$"}, {"POST", "^/fhir/R4/?$"}, {"GET", "\\?"}};
  }
  if (server == Server::kPlainTransactions) {
    // ... and the read-back and the pinning update of the Provenance.
    return {{"POST", "^/fhir/R4/?$"}, {"GET", "/Provenance/"}, {"PUT", "/Provenance/"}};
  }
  std::vector<std::pair<std::string, std::string>> t = {{"POST", "/Device"}, {"POST", "/Provenance"}};
  t.push_back(update ? std::make_pair(std::string("PUT"), std::string("/Appointment/"))
                     : std::make_pair(std::string("POST"), std::string("/DocumentReference")));
  return t;
}

void RunCampaign(Server server, std::map<std::string, int>& faults_by_kind,
                 std::map<std::string, int>& outcomes, int& contested) {
  CommitHarness h(ConfigFor(server));
  std::mt19937 rng(Seed() + static_cast<uint32_t>(server));
  const int runs = Runs();
  std::vector<Planned> planned;

  for (int run = 0; run < runs; ++run) {
    Planned p;
    p.update = run % 3 == 2;
    if (p.update) {
      p.appointment = h.ServerCreate(kPatAppointment);
      p.base_version = std::string(fhir::VersionId(h.ServerRead(p.appointment)).value_or(""));
      p.id = h.ApprovedHostileReschedule("Clínica Pérez fault #" + std::to_string(run) + " & co",
                                         p.appointment, "2026-12-02T10:00:00Z");
      // One update in four meets a real conflict as well as the fault: it must still be one.
      p.contested = run % 12 == 11;
      if (p.contested) {
        json::Document moved = h.ServerRead(p.appointment);
        json::SetString(moved, "comment", "patient called: running late", moved.GetAllocator());
        h.ServerUpdate(p.appointment, json::Stringify(moved));
      }
    } else {
      p.id = h.ApprovedHostileNote("Clínica Pérez fault #" + std::to_string(run) + " & co",
                                   "Nota " + std::to_string(run) + ": «A&B» + 50% | ok");
    }
    planned.push_back(p);

    // Slow answers cost the client's 2 s timeout each: one run in ten.
    Kind kind = static_cast<Kind>(std::uniform_int_distribution<int>(0, 7)(rng));
    if (kind == Kind::kSlow && run % 10 != 0) kind = Kind::kDropAfter;
    ++faults_by_kind[Name(kind)];
    auto targets = Targets(server, p.update);
    auto [method, path] = targets[std::uniform_int_distribution<size_t>(0, targets.size() - 1)(rng)];
    Fault f;
    f.method = method;
    f.path_regex = path;
    f.count = std::uniform_int_distribution<int>(1, 2)(rng);
    switch (kind) {
      case Kind::k503Before: f.status = 503; break;
      case Kind::k503After: f.status = 503; f.after_apply = true; break;
      case Kind::k429Before: f.status = 429; f.retry_after_s = 0; break;
      case Kind::k429After: f.status = 429; f.retry_after_s = 0; f.after_apply = true; break;
      case Kind::kDropBefore: f.status = 0; break;
      case Kind::kDropAfter: f.status = 0; f.after_apply = true; break;
      case Kind::kSlow: f.status = 0; f.delay_ms = 2500; f.after_apply = true; f.count = 1; break;
      case Kind::kRestart: f.status = 0; f.after_apply = true; f.count = 1; break;
    }
    BOOST_REQUIRE(h.server.AddFault(f).ok());
    auto first = h.engine->RunOnce();
    BOOST_REQUIRE(first.ok());
    if (kind == Kind::kRestart) BOOST_REQUIRE(h.server.Restart().ok());
    h.core.clock.Advance(120'000);  // past the retry delay of an attempt that was deferred
    // COUNTERSIGN_FAULT_TRACE=1: one line per proposal, its fault and its attempts' outcomes.
    std::string trace;
    auto count = [&](const std::vector<CommitOutcome>& list) {
      for (const auto& o : list) {
        ++outcomes[o.status];
        trace += " " + o.status + " (" + o.detail.substr(0, 100) + ")";
      }
    };
    count(first->outcomes);
    count(h.Drain(12));
    if (std::getenv("COUNTERSIGN_FAULT_TRACE")) {
      std::cerr << "run " << run << " " << p.id << ": " << Name(kind) << " on " << method << " "
                << path << " x" << f.count << ":" << trace << "\n";
    }
    BOOST_REQUIRE(h.server.ClearFaults().ok());
  }

  for (const Planned& p : planned) {
    if (p.contested) {
      BOOST_TEST(h.StatusOf(p.id) == S::kConflict, p.id);
      json::Document now = h.ServerRead(p.appointment);  // the other change kept, ours not made
      BOOST_TEST(std::stoi(std::string(fhir::VersionId(now).value_or("0"))) ==
                 std::stoi(p.base_version) + 1);
      BOOST_TEST(json::GetString(now, "comment").value_or("") == "patient called: running late");
      BOOST_TEST(json::GetString(now, "start").value_or("") == "2026-12-01T09:00:00Z");
      BOOST_TEST(h.ProvenancesOf(p.id).empty());
      ++contested;
      continue;
    }
    BOOST_TEST(h.StatusOf(p.id) == S::kCommitted, p.id);
    auto provs = h.ProvenancesOf(p.id);
    BOOST_REQUIRE_MESSAGE(provs.size() == 1u, p.id << ": " << provs.size() << " Provenances");
    const json::Value* targets = json::Member(provs[0], "target");
    BOOST_REQUIRE(targets && targets->IsArray() && targets->Size() == 1u);
    std::string target(json::GetString((*targets)[0], "reference").value_or(""));
    if (p.update) {
      json::Document now = h.ServerRead(p.appointment);
      std::string version(fhir::VersionId(now).value_or(""));
      BOOST_TEST(std::stoi(version) == std::stoi(p.base_version) + 1, p.appointment);  // once
      BOOST_TEST(json::GetString(now, "start").value_or("") == "2026-12-02T10:00:00Z");
      BOOST_TEST(target == p.appointment + "/_history/" + version);
    } else {
      BOOST_REQUIRE(h.CountByIdentifier("DocumentReference", p.id) == 1u);
      auto notes = h.ServerSearch("DocumentReference", std::string("identifier=") +
                                                           mappings::kCountersignIdentifierSystem +
                                                           "|" + p.id + "/0");
      BOOST_TEST(target == "DocumentReference/" +
                               std::string(fhir::ResourceId(notes[0]).value_or("")) + "/_history/" +
                               std::string(fhir::VersionId(notes[0]).value_or("")));
    }
  }
  // One AI Device per model (the notes' scribe, the appointments' scheduler), each found by its
  // hostile identifier: no conditional create missed its match.
  const bool any_update = runs >= 3;  // every third proposal
  BOOST_TEST(h.ServerSearch("Device", "").size() == (any_update ? 2u : 1u));
  for (const std::string fixture : {"note-create.json", "appointment-reschedule.json"}) {
    size_t expected = fixture == "note-create.json" || any_update ? 1u : 0u;
    BOOST_TEST(h.ServerSearch("Device", CommitHarness::TokenQuery(
                                            "identifier", mappings::kAiDeviceIdentifierSystem,
                                            CommitHarness::HostileDeviceIdentifier(fixture)))
                   .size() == expected, fixture);
  }
}

BOOST_AUTO_TEST_SUITE(fault_campaign)

BOOST_AUTO_TEST_CASE(every_approved_proposal_commits_exactly_once_through_random_faults) {
  std::map<std::string, int> faults_by_kind, outcomes;
  int contested = 0;
  for (Server server : {Server::kTransactions, Server::kPlainTransactions, Server::kPerResource}) {
    RunCampaign(server, faults_by_kind, outcomes, contested);
  }
  BOOST_TEST(contested > 0);
  BOOST_TEST(outcomes["conflict"] == contested);  // every real conflict, and no false one
  BOOST_TEST(outcomes["failed"] == 0);
  std::cout << "fault campaign: " << 3 * Runs() << " proposals (" << Runs()
            << " per server: transactions, plain transactions, per-resource; " << contested
            << " of them contested by another writer); faults armed:";
  for (const auto& [kind, n] : faults_by_kind) std::cout << " " << kind << " " << n << ",";
  std::cout << " engine outcomes:";
  for (const auto& [status, n] : outcomes) std::cout << " " << status << " " << n << ",";
  std::cout << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::commit::testing
