// Sequences of AI changes to one resource, another writer in between: the second and third AI
// reschedule of one Appointment, the second amendment of one note. Every later proposal carries
// the markers of the earlier ones (an update keeps the identifiers it finds), so only this
// proposal's own marker may count as "our write landed": with another writer in between, the
// proposal ends conflict with a fresh patch, nothing of it is written, and the other writer's
// version stays as it is; on every write plan, and when answers are lost and the next attempt
// reconciles. And the positive control: a lost answer on our own update still commits, with the
// Provenance on the version we wrote even when someone changed the resource since.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "fhir/resource.h"
#include "mappings/engine.h"
#include "plugin/commit/commit_executor.h"
#include "tests/commit/commit_fixture.h"
#include "tests/support/fault_injecting_transport.h"

namespace bdata = boost::unit_test::data;

namespace countersign::commit::testing {
namespace {

using countersign::testing::Fault;
using countersign::testing::ServerConfig;
using S = core::ProposalStatus;

// 0: transactions that version the Provenance's targets; 1: transactions that do not, answered
// minimally (the engine pins the Provenance); 2: no transactions (per-resource writes).
ServerConfig Plan(int plan) {
  ServerConfig c;
  c.transactions = plan != 2;
  if (plan == 1) {
    c.resolve_version_specific = false;
    c.return_minimal = true;
  }
  return c;
}

constexpr const char* kPatAppointment = R"({"resourceType":"Appointment","status":"booked",
  "start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:30:00Z",
  "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"}]})";

constexpr const char* kPatNote = R"({"resourceType":"DocumentReference","status":"current",
  "docStatus":"final","subject":{"reference":"Patient/pat-1"},
  "type":{"coding":[{"system":"http://loinc.org","code":"11506-3"}]},
  "content":[{"attachment":{"contentType":"text/plain","data":"T2xkIG5vdGUu"}}]})";

std::string VersionOf(const json::Value& resource) {
  return std::string(fhir::VersionId(resource).value_or(""));
}

// The commit's write of the resource under `path` (its PUT per resource, or the transaction) is
// applied (or refused) and its answer lost, as often as the client tries: the attempt ends
// retry-later and the next one reconciles with the server. A 503 rather than a dropped
// connection, which libcurl would send once more on its own.
void LoseAnswers(CommitHarness& h, int plan, const std::string& put_path) {
  Fault f;
  f.method = plan == 2 ? "PUT" : "POST";
  f.path_regex = plan == 2 ? put_path : "^/fhir/R4/?$";
  f.status = 503;
  f.after_apply = true;
  f.count = plan == 2 ? CommitHarness::FastRetry().max_attempts : 1;  // a transaction: one try
  BOOST_REQUIRE(h.server.AddFault(f).ok());
}

// Another writer (the EHR) changes the resource, keeping everything else, identifiers included.
json::Document OtherWriterChanges(CommitHarness& h, const std::string& type_and_id,
                                  const std::string& member, const std::string& value) {
  json::Document moved = h.ServerRead(type_and_id);
  json::SetString(moved, member, value, moved.GetAllocator());
  h.ServerUpdate(type_and_id, json::Stringify(moved));
  return h.ServerRead(type_and_id);
}

// The conflict the proposal's last outbox entry records for target.
void ExpectFreshPatch(CommitHarness& h, const std::string& id, const std::string& target,
                      const std::string& server_version, const std::string& changed_path) {
  auto outbox = h.core.store->ListOutbox(id);
  BOOST_REQUIRE(outbox.ok() && !outbox->empty());
  auto result = json::Parse(outbox->back().result_json);
  BOOST_REQUIRE(result.ok());
  BOOST_TEST(json::GetString(*result, "result").value_or("") == "conflict");
  const json::Value* conflicts = json::Member(*result, "conflicts");
  BOOST_REQUIRE(conflicts && conflicts->IsArray() && conflicts->Size() == 1u);
  BOOST_TEST(json::GetString((*conflicts)[0], "target").value_or("") == target);
  BOOST_TEST(json::GetString((*conflicts)[0], "serverVersion").value_or("") == server_version);
  std::string patch = json::Stringify(*json::Member((*conflicts)[0], "patch"));
  BOOST_TEST(patch.find(changed_path) != std::string::npos, patch);
}

void ExpectProvenanceOn(CommitHarness& h, const std::string& id, const std::string& versioned) {
  auto provs = h.ProvenancesOf(id);
  BOOST_REQUIRE_MESSAGE(provs.size() == 1u, id << ": " << provs.size() << " Provenances");
  const json::Value* targets = json::Member(provs[0], "target");
  BOOST_REQUIRE(targets && targets->IsArray() && targets->Size() >= 1u);
  bool found = false;
  for (const auto& t : targets->GetArray()) {
    found |= json::GetString(t, "reference").value_or("") == versioned;
  }
  BOOST_TEST(found, id << " names " << json::Stringify(*targets) << ", not " << versioned);
}

BOOST_AUTO_TEST_SUITE(sequences_on_one_resource)

BOOST_DATA_TEST_CASE(a_later_ai_update_after_another_writer_is_a_conflict,
                     bdata::make({0, 1, 2}) * bdata::make({1, 2}) * bdata::make({false, true}),
                     plan, earlier, lost) {
  CommitHarness h(Plan(plan));
  std::string appt = h.ServerCreate(kPatAppointment);
  const char* starts[] = {"2026-12-02T10:00:00Z", "2026-12-03T11:00:00Z"};
  std::vector<std::pair<std::string, std::string>> committed;  // proposal, the version it wrote
  for (int i = 0; i < earlier; ++i) {
    std::string id = h.ApprovedHostileReschedule(
        "Clínica Pérez reschedule #" + std::to_string(i) + " & co", appt, starts[i]);
    if (lost) LoseAnswers(h, plan, "/Appointment/");
    auto out = h.Drain();
    BOOST_REQUIRE(!out.empty());
    BOOST_TEST(out.back().status == "committed", out.back().detail);
    BOOST_REQUIRE(h.server.ClearFaults().ok());
    committed.emplace_back(id, VersionOf(h.ServerRead(appt)));
  }
  std::string id = h.ApprovedHostileReschedule("Clínica Pérez reschedule, last + 1", appt,
                                               "2026-12-09T11:00:00Z");
  json::Document theirs =
      OtherWriterChanges(h, appt, "comment", "Llamó el paciente: llega tarde & +15', #3");
  if (lost) LoseAnswers(h, plan, "/Appointment/");
  auto out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == "conflict", out.back().detail);
  for (const auto& o : out) BOOST_TEST((o.status == "conflict" || o.status == "retry-later"), o.detail);
  BOOST_TEST(h.StatusOf(id) == S::kConflict);
  BOOST_TEST(json::Stringify(h.ServerRead(appt)) == json::Stringify(theirs));  // untouched
  BOOST_TEST(h.ProvenancesOf(id).empty());
  ExpectFreshPatch(h, id, appt, VersionOf(theirs), "/start");
  // The earlier proposals: each committed once, its Provenance on the version it wrote.
  for (const auto& [earlier_id, version] : committed) {
    BOOST_TEST(h.StatusOf(earlier_id) == S::kCommitted);
    ExpectProvenanceOn(h, earlier_id, appt + "/_history/" + version);
  }
  BOOST_TEST(h.ServerSearch("Device", "").size() == 1u);
  BOOST_TEST(h.ServerSearch("Device", CommitHarness::TokenQuery(
                                          "identifier", mappings::kAiDeviceIdentifierSystem,
                                          CommitHarness::HostileDeviceIdentifier(
                                              "appointment-reschedule.json")))
                 .size() == 1u);
}

// The positive control: our own second update is applied, its answer lost, and someone changes
// the appointment before the next attempt: committed, the Provenance on the version we wrote.
BOOST_DATA_TEST_CASE(a_lost_answer_on_our_own_second_update_commits_on_our_version,
                     bdata::make({0, 1, 2}), plan) {
  CommitHarness h(Plan(plan));
  std::string appt = h.ServerCreate(kPatAppointment);
  std::string first = h.ApprovedHostileReschedule("Clínica Pérez first & co", appt,
                                                  "2026-12-02T10:00:00Z");
  auto out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == "committed", out.back().detail);
  std::string first_version = VersionOf(h.ServerRead(appt));
  std::string second = h.ApprovedHostileReschedule("Clínica Pérez second + 1", appt,
                                                   "2026-12-03T11:00:00Z");
  LoseAnswers(h, plan, "/Appointment/");
  auto attempt = h.engine->RunOnce();
  BOOST_REQUIRE(attempt.ok() && attempt->outcomes.size() == 1u);
  BOOST_TEST(attempt->outcomes[0].status == "retry-later", attempt->outcomes[0].detail);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  json::Document ours = h.ServerRead(appt);
  BOOST_REQUIRE(json::GetString(ours, "start").value_or("") == "2026-12-03T11:00:00Z");
  json::Document theirs = OtherWriterChanges(h, appt, "comment", "Confirmado por teléfono & +1");
  h.core.clock.Advance(120'000);
  out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == "committed", out.back().detail);
  ExpectProvenanceOn(h, second, appt + "/_history/" + VersionOf(ours));
  ExpectProvenanceOn(h, first, appt + "/_history/" + first_version);
  BOOST_TEST(VersionOf(ours) != VersionOf(theirs));
  BOOST_TEST(json::Stringify(h.ServerRead(appt)) == json::Stringify(theirs));  // untouched
}

// A note amended twice (both amendments supersede the same note), another writer in between.
BOOST_DATA_TEST_CASE(a_note_amended_twice_with_another_writer_between_is_a_conflict,
                     bdata::make({0, 2}) * bdata::make({false, true}), plan, lost) {
  CommitHarness h(Plan(plan));
  std::string note = h.ServerCreate(kPatNote);
  std::string first = h.ApprovedDraft(
      h.HostileUpdateDraft("note-amend.json", "Clínica Pérez amend #1 & 2", note));
  if (lost) LoseAnswers(h, plan, "/DocumentReference/");
  auto out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == "committed", out.back().detail);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  std::string first_version = VersionOf(h.ServerRead(note));
  BOOST_TEST(json::GetString(h.ServerRead(note), "status").value_or("") == "superseded");

  std::string second = h.ApprovedDraft(h.HostileUpdateDraft(
      "note-amend.json", "Clínica Pérez amend #2 + 50%", note,
      R"({"text":"Segunda corrección: 850 mg, «no» 500 mg & +1 #2"})"));
  json::Document theirs = OtherWriterChanges(h, note, "description", "Revisado por Dr. Núñez & co");
  if (lost) LoseAnswers(h, plan, "/DocumentReference/");
  out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == "conflict", out.back().detail);
  BOOST_TEST(h.StatusOf(second) == S::kConflict);
  BOOST_TEST(json::Stringify(h.ServerRead(note)) == json::Stringify(theirs));  // untouched
  BOOST_TEST(h.ProvenancesOf(second).empty());
  ExpectFreshPatch(h, second, note, VersionOf(theirs), "/description");
  // The second amendment's new note: never written (transaction), or marked entered-in-error.
  auto made = h.ServerSearch("DocumentReference",
                             CommitHarness::TokenQuery("identifier",
                                                       mappings::kCountersignIdentifierSystem,
                                                       second + "/0"));
  if (plan == 2) {
    BOOST_REQUIRE(made.size() == 1u);
    BOOST_TEST(json::GetString(made[0], "status").value_or("") == "entered-in-error");
  } else {
    BOOST_TEST(made.empty());
  }
  ExpectProvenanceOn(h, first, note + "/_history/" + first_version);
}

// The harness's client replaced by one whose every transport shares `plan`: faults a server
// cannot produce, here a connection reset after the server answered (the answer lost on the way).
void UseFaultPlan(CommitHarness& h, std::shared_ptr<countersign::testing::FaultPlan> plan) {
  fhir::ClientOptions options;
  options.base_url = h.server.base_url();
  options.request_timeout = std::chrono::milliseconds(2000);
  options.retry = CommitHarness::FastRetry();
  h.client = countersign::testing::MakeFaultInjectingClient(options, std::move(plan));
  CommitEngineDeps deps;
  deps.store = h.core.store.get();
  deps.client = h.client.get();
  deps.guardrails = &h.core.guardrails;
  deps.clock = &h.core.clock;
  CommitEngineOptions opts;
  opts.worker_id = "test-worker";
  opts.retry_delay_ms = 1000;
  opts.max_attempts = 4;
  h.engine = std::make_unique<CommitEngine>(deps, opts);
}

// The second AI reschedule reaches the server (applied, or refused 412 because another writer
// came first) and the connection is reset before its answer arrives, as often as the client
// tries: the next attempt reconciles. Another writer in between: conflict, nothing of ours
// written. Another writer only after our write landed: committed, the Provenance on our version.
BOOST_DATA_TEST_CASE(a_connection_reset_after_the_server_answered_reconciles_to_the_truth,
                     bdata::make({0, 2}) * bdata::make({false, true}), plan, contested) {
  using When = countersign::testing::FaultPlan::When;
  CommitHarness h(Plan(plan));
  auto faults = std::make_shared<countersign::testing::FaultPlan>();
  UseFaultPlan(h, faults);
  std::string appt = h.ServerCreate(kPatAppointment);
  std::string first = h.ApprovedHostileReschedule("Clínica Pérez reset #1 & co", appt,
                                                  "2026-12-02T10:00:00Z");
  auto out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == "committed", out.back().detail);
  std::string second = h.ApprovedHostileReschedule("Clínica Pérez reset #2 + 1", appt,
                                                   "2026-12-03T11:00:00Z");
  json::Document theirs;
  if (contested) theirs = OtherWriterChanges(h, appt, "comment", "Llamó: llega tarde & +15'");
  // The transaction once (never re-sent by the client); the per-resource PUT on every try.
  faults->FailNext(plan == 2 ? CommitHarness::FastRetry().max_attempts : 1, When::kAfterSend,
                   plan == 2 ? "PUT" : "POST");
  auto attempt = h.engine->RunOnce();
  BOOST_REQUIRE(attempt.ok() && attempt->outcomes.size() == 1u);
  BOOST_TEST(attempt->outcomes[0].status == "retry-later", attempt->outcomes[0].detail);
  BOOST_TEST(faults->pending() == 0);
  json::Document ours = h.ServerRead(appt);
  if (!contested) theirs = OtherWriterChanges(h, appt, "comment", "Confirmado & +1");
  h.core.clock.Advance(120'000);
  out = h.Drain();
  BOOST_REQUIRE(!out.empty());
  BOOST_TEST(out.back().status == (contested ? "conflict" : "committed"), out.back().detail);
  BOOST_TEST(json::Stringify(h.ServerRead(appt)) == json::Stringify(theirs));  // untouched
  if (contested) {
    BOOST_TEST(h.ProvenancesOf(second).empty());
    ExpectFreshPatch(h, second, appt, VersionOf(theirs), "/start");
  } else {
    BOOST_REQUIRE(json::GetString(ours, "start").value_or("") == "2026-12-03T11:00:00Z");
    ExpectProvenanceOn(h, second, appt + "/_history/" + VersionOf(ours));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::commit::testing
