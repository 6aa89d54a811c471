// How the Provenance reaches a transaction server: inside the same transaction as the resources
// (one round trip, never a resource on the server without its Provenance), its targets versioned
// by the server through the resolve-as-version-specific extension — or pinned by the engine when
// the server keeps the references as sent; refused inside the transaction, it goes on its own or
// to the local ledger (commit_engine_test: provenance_refused_goes_to_the_local_ledger). Checked
// on the loopback FHIR server itself.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "fhir/resource.h"
#include "plugin/commit/commit_executor.h"
#include "tests/commit/commit_fixture.h"

namespace countersign::commit::testing {
namespace {

BOOST_AUTO_TEST_SUITE(provenance_in_the_transaction)

using countersign::testing::Fault;
using countersign::testing::ServerConfig;
using S = core::ProposalStatus;
namespace bdata = boost::unit_test::data;

const char* kTransactionPath = "^/fhir/R4/?$";

json::Document OnlyProvenanceOf(CommitHarness& h, const std::string& id) {
  auto provs = h.ServerSearch("Provenance", std::string("_tag=") + kProvenanceTagSystem + "|" + id);
  BOOST_REQUIRE(provs.size() == 1u);
  return std::move(provs[0]);
}

std::string TargetOf(const json::Value& provenance) {
  const json::Value* targets = json::Member(provenance, "target");
  BOOST_REQUIRE(targets && targets->IsArray() && targets->Size() == 1u);
  return std::string(json::GetString((*targets)[0], "reference").value_or(""));
}

// A clinician edits the one note on the server after a first attempt: {"DocumentReference/id",
// the version the attempt wrote}.
std::pair<std::string, std::string> EditTheOnlyNote(CommitHarness& h) {
  auto notes = h.ServerSearch("DocumentReference", "");
  BOOST_REQUIRE(notes.size() == 1u);
  std::string note = "DocumentReference/" + std::string(fhir::ResourceId(notes[0]).value_or(""));
  std::string committed = std::string(fhir::VersionId(notes[0]).value_or(""));
  json::Document edited = h.ServerRead(note);
  json::SetString(edited, "description", "edited by the clinician", edited.GetAllocator());
  h.ServerUpdate(note, json::Stringify(edited));
  BOOST_REQUIRE(std::string(fhir::VersionId(h.ServerRead(note)).value_or("")) != committed);
  return {note, committed};
}

// Past the retry delay, the engine's next attempts; the last one committed.
std::vector<CommitOutcome> RetryLater(CommitHarness& h) {
  h.core.clock.Advance(120'000);
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "committed", outcomes.back().detail);
  return outcomes;
}

BOOST_AUTO_TEST_CASE(one_transaction_carries_the_provenance_with_server_versioned_targets) {
  CommitHarness h;
  std::string a = h.ApprovedNote("k-a", "First note.");
  std::string b = h.ApprovedNote("k-b", "Second note.");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 2u);
  for (const auto& o : outcomes) BOOST_TEST(o.status == "committed", o.detail);
  h.ExpectNoteCommittedOnce(a);
  h.ExpectNoteCommittedOnce(b);
  // One round trip per proposal: the transaction, and no write of the Provenance on its own.
  BOOST_TEST(h.RequestsSeen("POST", kTransactionPath) == 2u);
  BOOST_TEST(h.RequestsSeen("POST", "/Provenance") == 0u);
  BOOST_TEST(h.RequestsSeen("PUT", "/Provenance") == 0u);
}

BOOST_AUTO_TEST_CASE(an_update_target_names_the_version_the_transaction_wrote) {
  CommitHarness h;
  std::string appt = h.ServerCreate(kAppointment);
  std::string base = std::string(fhir::VersionId(h.ServerRead(appt)).value_or(""));
  std::string id = h.ApprovedUpdate("k-move", appt, R"({"start":"2026-12-02T10:00:00Z",
      "end":"2026-12-02T10:30:00Z"})", false, "appointment");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  std::string now = std::string(fhir::VersionId(h.ServerRead(appt)).value_or(""));
  BOOST_TEST(now != base);
  BOOST_TEST(TargetOf(OnlyProvenanceOf(h, id)) == appt + "/_history/" + now);
  BOOST_TEST(h.RequestsSeen("PUT", "/Provenance") == 0u);
}

BOOST_AUTO_TEST_CASE(a_server_that_keeps_the_references_gets_them_pinned_by_the_engine) {
  ServerConfig config;
  config.resolve_version_specific = false;  // like a server that does not know the extension
  CommitHarness h(config);
  std::string id = h.ApprovedNote("k-pin");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(id);  // versioned, the extension gone
  BOOST_TEST(h.RequestsSeen("POST", kTransactionPath) == 1u);
  BOOST_TEST(h.RequestsSeen("PUT", "/Provenance/") == 1u);
}

// A server that answers the transaction with locations only: ids and versions come from them,
// and the Provenance is read back once to see whether its targets were versioned.
BOOST_DATA_TEST_CASE(a_server_answering_minimally_still_gets_versioned_targets,
                     bdata::make({true, false}), resolves) {
  ServerConfig config;
  config.return_minimal = true;
  config.resolve_version_specific = resolves;
  CommitHarness h(config);
  std::string id = h.ApprovedNote("k-minimal");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(id);
  BOOST_TEST(h.RequestsSeen("POST", kTransactionPath) == 1u);
  BOOST_TEST(h.RequestsSeen("GET", "^/fhir/R4/Provenance/[^?]+$") == 1u);
  BOOST_TEST(h.RequestsSeen("PUT", "/Provenance/") == (resolves ? 0u : 1u));
}

BOOST_AUTO_TEST_CASE(a_pin_cut_off_is_finished_on_the_next_attempt) {
  ServerConfig config;
  config.resolve_version_specific = false;
  CommitHarness h(config);
  std::string id = h.ApprovedNote("k-pin-later");
  Fault down;
  down.method = "PUT";
  down.path_regex = "/Provenance/";
  down.status = 503;
  down.count = 20;  // more than the client's retries: the attempt ends retry-later
  BOOST_REQUIRE(h.server.AddFault(down).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok() && first->outcomes.size() == 1u);
  BOOST_TEST(first->outcomes[0].status == "retry-later", first->outcomes[0].detail);
  BOOST_TEST(h.StatusOf(id) == S::kCommitting);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  h.core.clock.Advance(120'000);
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "committed", outcomes.back().detail);
  h.ExpectNoteCommittedOnce(id);  // found by its tag, pinned: still one Provenance, one note
  BOOST_TEST(h.RequestsSeen("POST", kTransactionPath) == 1u);
}

// The transaction is applied but its answer lost; before the retry a clinician edits the note.
// The retry finds everything by identifier and tag, sends nothing, and the Provenance still
// names the version the commit wrote, not the clinician's newer one.
BOOST_AUTO_TEST_CASE(a_retry_after_a_lost_answer_keeps_the_committed_version) {
  CommitHarness h;
  std::string id = h.ApprovedNote("k-lost");
  Fault lost;
  lost.method = "POST";
  lost.path_regex = kTransactionPath;
  lost.status = 503;
  lost.after_apply = true;
  BOOST_REQUIRE(h.server.AddFault(lost).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok() && first->outcomes.size() == 1u);
  BOOST_TEST(first->outcomes[0].status == "retry-later", first->outcomes[0].detail);
  auto [note, committed] = EditTheOnlyNote(h);
  auto outcomes = RetryLater(h);
  BOOST_TEST(h.StatusOf(id) == S::kCommitted);
  BOOST_TEST(TargetOf(OnlyProvenanceOf(h, id)) == note + "/_history/" + committed);
  BOOST_TEST(h.RequestsSeen("POST", kTransactionPath) == 1u);
  BOOST_TEST(h.RequestsSeen("PUT", "/Provenance") == 0u);
}

// The gap the previous pinning left: a server that keeps the references as sent, the pin cut off,
// and a clinician edit before the retry. The retry finds the note (now at a newer version) and
// the unversioned Provenance, and pins it to the version the commit wrote (the note's first, from
// its history), not to the clinician's.
BOOST_AUTO_TEST_CASE(a_pin_cut_off_then_an_edit_still_pins_the_committed_version) {
  ServerConfig config;
  config.resolve_version_specific = false;
  CommitHarness h(config);
  std::string id = h.ApprovedNote("k-pin-edit");
  Fault down;
  down.method = "PUT";
  down.path_regex = "/Provenance/";
  down.status = 503;
  down.count = 20;
  BOOST_REQUIRE(h.server.AddFault(down).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok() && first->outcomes.size() == 1u);
  BOOST_TEST(first->outcomes[0].status == "retry-later", first->outcomes[0].detail);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  auto [note, committed] = EditTheOnlyNote(h);
  auto outcomes = RetryLater(h);
  BOOST_TEST(TargetOf(OnlyProvenanceOf(h, id)) == note + "/_history/" + committed);
  BOOST_TEST(h.RequestsSeen("GET", "/DocumentReference/[^/]+/_history$") == 1u);
  BOOST_TEST(h.RequestsSeen("POST", kTransactionPath) == 1u);
}

// Two copies of the AI Device on the server (conditional creates that raced elsewhere, on a
// server where they are not atomic): every conditional create of it now answers 412. The engine
// adopts the one with the lowest id instead of failing every commit from then on, on both plans.
BOOST_DATA_TEST_CASE(two_copies_of_the_ai_device_are_adopted, bdata::make({true, false}),
                     transactions) {
  ServerConfig config;
  config.transactions = transactions;
  CommitHarness h(config);
  std::string id = h.ApprovedNote("k-two-devices");
  auto p = h.core.store->GetProposal(id);
  BOOST_REQUIRE(p.ok());
  auto bundle = json::Parse(p->bundle_json);
  BOOST_REQUIRE(bundle.ok());
  std::string device;
  for (const auto& e : json::Member(*bundle, "entry")->GetArray()) {
    const json::Value* r = json::Member(e, "resource");
    if (r && fhir::ResourceType(*r).value_or("") == "Device") device = json::Stringify(*r);
  }
  BOOST_REQUIRE(!device.empty());
  std::string first = h.ServerCreate(device);
  std::string second = h.ServerCreate(device);
  std::string lowest = std::min(first, second);

  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(id);
  BOOST_TEST(h.ServerSearch("Device", "").size() == 2u);  // no third one
  json::Document prov = OnlyProvenanceOf(h, id);
  BOOST_TEST(json::Stringify(prov).find("\"" + lowest + "\"") != std::string::npos,
             lowest << " in " << json::Stringify(prov));
  auto outbox = h.core.store->ListOutbox(id);
  BOOST_TEST(outbox->front().result_json.find("conditional creates raced") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::commit::testing
