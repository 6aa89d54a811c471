// The commit engine against the loopback FHIR server (Medplum's router): each write plan and
// each behaviour of real servers — transactions or not, 409 or 412 conflicts, Provenance refused,
// 503/429 before and after the write was applied, timeouts, a restart in the middle, a server
// that cannot write a type at all — and the exactly-once guarantee checked on the server itself.
#define BOOST_TEST_MODULE commit_engine
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>


#include <filesystem>
#include <fstream>
#include <sstream>

#include "fhir/resource.h"
#include "plugin/commit/commit_executor.h"
#include "plugin/core/audit_chain.h"
#include "tests/commit/commit_fixture.h"

namespace bdata = boost::unit_test::data;

namespace countersign::commit::testing {
namespace {

using countersign::testing::Fault;
using countersign::testing::EpicSandboxConfig;
using countersign::testing::ServerConfig;
using S = core::ProposalStatus;

ServerConfig Transactions(bool on) {
  ServerConfig c;
  c.transactions = on;
  return c;
}

BOOST_DATA_TEST_CASE(approved_note_commits_once_with_versioned_provenance, bdata::make({true, false}),
                     transactions) {
  CommitHarness h(Transactions(transactions));
  std::string a = h.ApprovedNote("k-a", "First note.");
  std::string b = h.ApprovedNote("k-b", "Second note.");
  h.core.SubmitNote("k-pending", "Never approved.");  // stays pending: must never arrive
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 2u);
  for (const auto& o : outcomes) BOOST_TEST(o.status == "committed", o.proposal_id << ": " << o.detail);
  h.ExpectNoteCommittedOnce(a);
  h.ExpectNoteCommittedOnce(b);
  // One AI Device for both (conditional create), and nothing of the pending proposal.
  BOOST_TEST(h.ServerSearch("Device", "").size() == 1u);
  BOOST_TEST(h.ServerSearch("DocumentReference", "").size() == 2u);
  // The plan followed the server: a transaction Bundle, or none at all.
  auto seen = h.server.Requests();
  BOOST_REQUIRE(seen.ok());
  size_t transaction_posts = 0;
  for (const auto& r : *seen) {
    if (r.method == "POST" && (r.path == "/fhir/R4" || r.path == "/fhir/R4/")) ++transaction_posts;
  }
  BOOST_TEST(transaction_posts == (transactions ? 2u : 0u));
  // Nothing more to do; the trail is intact and records the results.
  BOOST_TEST(h.engine->RunOnce()->claimed == 0);
  BOOST_TEST(core::VerifyAudit(*h.core.store)->ok);
  auto outbox = h.core.store->ListOutbox(a);
  BOOST_REQUIRE(outbox->size() == 1u);
  BOOST_TEST(outbox->front().state == "done");
  BOOST_TEST(outbox->front().result_json.find("\"provenance\":\"Provenance/") != std::string::npos);
}

BOOST_DATA_TEST_CASE(stale_base_version_is_a_conflict_and_nothing_is_overwritten,
                     bdata::make({409, 412}) * bdata::make({true, false}), status, transactions) {
  ServerConfig config = Transactions(transactions);
  config.version_conflict_status = status;
  CommitHarness h(config);
  std::string appt = h.ServerCreate(kAppointment);
  std::string id = h.ApprovedUpdate("k-res", appt, R"({"start":"2026-12-02T10:00:00Z",
      "end":"2026-12-02T10:30:00Z"})", false, "appointment");
  // Someone else changes the appointment after the AI read it.
  json::Document moved = h.ServerRead(appt);
  json::SetString(moved, "comment", "patient called: running late", moved.GetAllocator());
  h.ServerUpdate(appt, json::Stringify(moved));
  json::Document before = h.ServerRead(appt);

  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "conflict", outcomes[0].detail);
  BOOST_TEST(h.StatusOf(id) == S::kConflict);
  json::Document after = h.ServerRead(appt);
  BOOST_TEST(json::Stringify(after) == json::Stringify(before));  // untouched
  BOOST_TEST(h.ServerSearch("Provenance", "").empty());
  // The record carries a fresh patch against the server's current version.
  auto outbox = h.core.store->ListOutbox(id);
  auto result = json::Parse(outbox->front().result_json);
  BOOST_REQUIRE(result.ok());
  const json::Value* conflicts = json::Member(*result, "conflicts");
  BOOST_REQUIRE(conflicts && conflicts->Size() == 1u);
  BOOST_TEST(json::GetString((*conflicts)[0], "serverVersion").value_or("") ==
             std::string(fhir::VersionId(before).value_or("x")));
  BOOST_TEST(json::Stringify(*json::Member((*conflicts)[0], "patch")).find("/start") !=
             std::string::npos);

  // The reviewer re-bases onto the current version and approves again: committed, and the
  // other person's comment is kept.
  auto rebased = h.core.coordinator->Rebase(
      h.core.P("Practitioner/fd-sam"), id,
      [&](const std::string& type_and_id) -> Result<json::Document> {
        return h.ServerRead(type_and_id);
      });
  BOOST_REQUIRE_MESSAGE(rebased.ok(), rebased.status().ToString());
  BOOST_TEST(rebased->status == S::kPending);
  BOOST_REQUIRE(h.core.coordinator->Approve(h.core.P("Practitioner/fd-sam"), id).ok());
  auto again = h.Drain();
  BOOST_REQUIRE(again.size() == 1u);
  BOOST_TEST(again[0].status == "committed", again[0].detail);
  json::Document final_appt = h.ServerRead(appt);
  BOOST_TEST(json::GetString(final_appt, "start").value_or("") == "2026-12-02T10:00:00Z");
  BOOST_TEST(json::GetString(final_appt, "comment").value_or("") == "patient called: running late");
}

// A server that refuses Provenance writes: undeclared in its CapabilityStatement (nothing is
// sent), or declared and refused in practice (the transaction carrying it is refused as a whole
// and sent again without it; refused on its own too). Either way the note is committed once and
// the Provenance, with the note's committed version as target, is kept in the local ledger.
BOOST_DATA_TEST_CASE(provenance_refused_goes_to_the_local_ledger, bdata::make({false, true}),
                     declared) {
  ServerConfig config;
  if (declared) {
    auto& server = countersign::testing::SharedTestFhirServer();
    BOOST_REQUIRE(server.Configure({}).ok());
    auto metadata = server.Raw("GET", "/metadata");
    BOOST_REQUIRE(metadata.ok() && metadata->status == 200);
    config.capability_statement_json = metadata->body;  // declares Provenance create
    config.read_only_status = 403;
  }
  config.read_only_types = {"Provenance"};
  CommitHarness h(config);
  std::string id = h.ApprovedNote("k-ledger");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  BOOST_TEST(h.CountByIdentifier("DocumentReference", id) == 1u);
  BOOST_TEST(h.ServerSearch("Provenance", "").empty());
  BOOST_TEST(h.RequestsSeen("POST", "^/fhir/R4/?$") == (declared ? 2u : 1u));
  auto ledger = h.core.store->ReadProvenanceLedger(id, 0, 10);
  BOOST_REQUIRE(ledger.ok());
  BOOST_REQUIRE(ledger->size() == 1u);
  auto prov = json::Parse((*ledger)[0].provenance_json);
  BOOST_REQUIRE(prov.ok());
  auto notes = h.ServerSearch("DocumentReference", "");
  BOOST_REQUIRE(notes.size() == 1u);
  const json::Value* targets = json::Member(*prov, "target");
  BOOST_REQUIRE(targets && targets->IsArray() && targets->Size() == 1u);
  BOOST_TEST(json::GetString((*targets)[0], "reference").value_or("") ==
             "DocumentReference/" + std::string(fhir::ResourceId(notes[0]).value_or("")) +
                 "/_history/" + std::string(fhir::VersionId(notes[0]).value_or("")));
}

// A server that answers 503 (or 429 with Retry-After), before applying the write or after it
// (the answer is lost): the proposal still ends committed exactly once.
BOOST_DATA_TEST_CASE(unavailable_before_or_after_apply_commits_exactly_once,
                     bdata::make({503, 429}) * bdata::make({false, true}) * bdata::make({true, false}),
                     status, after_apply, transactions) {
  CommitHarness h(Transactions(transactions));
  std::string id = h.ApprovedNote("k-fault");
  Fault f;
  f.method = "POST";
  f.path_regex = transactions ? "^/fhir/R4/?$" : "/DocumentReference";
  f.status = status;
  f.retry_after_s = status == 429 ? 1 : -1;
  f.after_apply = after_apply;
  f.count = 1;
  BOOST_REQUIRE(h.server.AddFault(f).ok());
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "committed", outcomes.back().detail);
  h.ExpectNoteCommittedOnce(id);
}

// The transaction is applied, then the connection closes before the answer: libcurl sends it
// once more (fhir_client_test), the version check refuses the copy with 412, and the engine
// must see that the update is its own rather than a conflict or a failure.
BOOST_AUTO_TEST_CASE(a_transaction_applied_twice_by_the_transport_is_no_conflict) {
  CommitHarness h(Transactions(true));
  std::string appt = h.ServerCreate(kAppointment);
  std::string base(fhir::VersionId(h.ServerRead(appt)).value_or(""));
  BOOST_REQUIRE(h.client->Read("Appointment", "warm-up").status().IsNotFound());  // reused next
  std::string id = h.ApprovedUpdate("k-twice", appt, R"({"start":"2026-12-02T10:00:00Z",
      "end":"2026-12-02T10:30:00Z"})", false, "appointment");
  Fault drop;
  drop.method = "POST";
  drop.path_regex = "^/fhir/R4/?$";
  drop.status = 0;
  drop.after_apply = true;
  drop.count = 1;  // the re-sent copy gets the real answer: 412
  BOOST_REQUIRE(h.server.AddFault(drop).ok());
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "committed", outcomes.back().detail);
  for (const auto& o : outcomes) BOOST_TEST(o.status != "conflict");
  json::Document now = h.ServerRead(appt);
  std::string version(fhir::VersionId(now).value_or(""));
  BOOST_TEST(std::stoi(version) == std::stoi(base) + 1);  // updated once
  auto provs = h.ServerSearch("Provenance", std::string("_tag=") + kProvenanceTagSystem + "|" + id);
  BOOST_REQUIRE(provs.size() == 1u);
  BOOST_TEST(json::GetString((*json::Member(provs[0], "target"))[0], "reference").value_or("") ==
             appt + "/_history/" + version);
  BOOST_TEST(h.RequestsSeen("POST", "^/fhir/R4/?$") == 2u);  // the copy did arrive
}

BOOST_AUTO_TEST_CASE(timeout_then_commit_once) {
  CommitHarness h(Transactions(true));
  std::string id = h.ApprovedNote("k-timeout");
  Fault slow;
  slow.method = "POST";
  slow.path_regex = "^/fhir/R4/?$";
  slow.status = 0;  // no answer...
  slow.delay_ms = 2500;  // ...after longer than the client's 2 s timeout
  slow.after_apply = true;
  BOOST_REQUIRE(h.server.AddFault(slow).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok() && first->outcomes.size() == 1u);
  BOOST_TEST(first->outcomes[0].status == "retry-later", first->outcomes[0].detail);
  BOOST_TEST(h.StatusOf(id) == S::kCommitting);
  h.core.clock.Advance(120'000);
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "committed");
  h.ExpectNoteCommittedOnce(id);
}

BOOST_AUTO_TEST_CASE(server_restart_in_the_middle) {
  CommitHarness h(Transactions(false));
  std::string id = h.ApprovedNote("k-restart");
  // The note is written, then the connection drops on the Provenance and the server restarts.
  Fault drop;
  drop.method = "POST";
  drop.path_regex = "/Provenance";
  drop.status = 0;
  drop.after_apply = false;
  drop.count = 20;  // more than the client's retries: the attempt ends retry-later
  BOOST_REQUIRE(h.server.AddFault(drop).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->outcomes.at(0).status == "retry-later", first->outcomes.at(0).detail);
  BOOST_REQUIRE(h.server.Restart().ok());
  h.core.clock.Advance(120'000);
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "committed", outcomes.back().detail);
  h.ExpectNoteCommittedOnce(id);
}

BOOST_AUTO_TEST_CASE(retry_budget_ends_failed_with_the_last_outcome) {
  CommitHarness h(Transactions(true));
  std::string id = h.ApprovedNote("k-budget");
  Fault f;
  f.method = "POST";
  f.path_regex = "^/fhir/R4/?$";
  f.status = 503;
  f.count = 100;
  BOOST_REQUIRE(h.server.AddFault(f).ok());
  auto outcomes = h.Drain(10);
  BOOST_TEST(outcomes.back().status == "failed");
  BOOST_TEST(outcomes.size() == 4u);  // max_attempts
  auto p = h.core.store->GetProposal(id);
  BOOST_TEST(p->status == S::kFailed);
  BOOST_TEST(p->outcome_json.find("OperationOutcome") != std::string::npos);
  BOOST_TEST(h.ServerSearch("DocumentReference", "").empty());
}

// The first transaction is applied but its answer lost, then the server stays down past the
// retry budget: failed. Once it is back a clinician retries; the engine finds what the lost
// attempt wrote and ends the proposal committed once (no second note, no second Provenance).
// A failed attempt that compensated its creates cannot be retried.
BOOST_DATA_TEST_CASE(a_failed_commit_retried_by_a_person_commits_once, bdata::make({true, false}),
                     transactions) {
  CommitHarness h(Transactions(transactions));
  std::string id = h.ApprovedNote("k-retry");
  Fault lost;  // applied, answer lost; more often than the client retries a conditional create
  lost.method = "POST";
  lost.status = 503;
  lost.after_apply = true;
  lost.count = 10;
  lost.path_regex = transactions ? "^/fhir/R4/?$" : "^/fhir/R4/DocumentReference$";
  BOOST_REQUIRE(h.server.AddFault(lost).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok() && first->outcomes.size() == 1u);
  BOOST_TEST(first->outcomes[0].status == "retry-later", first->outcomes[0].detail);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  Fault down;  // then every request, reads included, past the engine's budget
  down.path_regex = "^/fhir/R4";
  down.status = 503;
  down.count = 1000;
  BOOST_REQUIRE(h.server.AddFault(down).ok());
  h.core.clock.Advance(120'000);
  auto outcomes = h.Drain(10);
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "failed", outcomes.back().detail);
  BOOST_REQUIRE(h.StatusOf(id) == S::kFailed);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  BOOST_TEST(h.CountByIdentifier("DocumentReference", id) == 1u);  // the lost attempt's note
  const core::Principal& ada = h.core.P("Practitioner/dr-ada");
  const core::Principal& ai = h.core.P("Device/ai-scribe");
  BOOST_TEST(h.core.coordinator->RetryCommit(ai, id, "server back").status().IsForbidden());
  BOOST_TEST(h.core.coordinator->RetryCommit(ada, id, "").status().IsInvalid());
  auto retried = h.core.coordinator->RetryCommit(ada, id, "the EHR is back");
  BOOST_REQUIRE_MESSAGE(retried.ok(), retried.status().ToString());
  BOOST_TEST(retried->status == S::kApproved);
  outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(id);
  BOOST_TEST(h.core.coordinator->RetryCommit(ada, id, "again").status().IsIllegalState());
  BOOST_TEST(core::VerifyAudit(*h.core.store)->ok);
}

BOOST_AUTO_TEST_CASE(a_compensated_failure_cannot_be_retried) {
  CommitHarness h(Transactions(false));
  std::string old_note = h.ServerCreate(R"({"resourceType":"DocumentReference","status":"current",
      "subject":{"reference":"Patient/p1"},"content":[{"attachment":{"contentType":"text/plain"}}]})");
  std::string id = h.ApprovedUpdate("k-comp", old_note, R"({"status":"superseded"})", true);
  Fault refused;  // the supersede update refused for good, after the new note was created
  refused.method = "PUT";
  refused.path_regex = "/DocumentReference/";
  refused.status = 400;
  BOOST_REQUIRE(h.server.AddFault(refused).ok());
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "failed", outcomes[0].detail);
  auto outbox = h.core.store->ListOutbox(id);
  BOOST_REQUIRE(outbox->size() == 1u);
  BOOST_TEST(outbox->front().result_json.find("compensated") != std::string::npos,
             outbox->front().result_json);
  auto retry = h.core.coordinator->RetryCommit(h.core.P("Practitioner/dr-ada"), id, "try again");
  BOOST_TEST(retry.status().IsIllegalState());
  BOOST_TEST(retry.status().message().find("entered-in-error") != std::string::npos);
  BOOST_TEST(h.StatusOf(id) == S::kFailed);
}

BOOST_AUTO_TEST_CASE(a_type_the_server_cannot_write_fails_before_sending_anything) {
  ServerConfig config = EpicSandboxConfig();
  CommitHarness h(config);
  std::string appt = h.ServerCreate(kAppointment);
  std::string id = h.ApprovedUpdate("k-epic", appt, R"({"start":"2026-12-03T10:00:00Z"})", false,
                                    "appointment");
  size_t writes_before = h.WritesSeen();
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "failed");
  BOOST_TEST(outcomes[0].detail.find("Appointment") != std::string::npos, outcomes[0].detail);
  BOOST_TEST(h.WritesSeen() == writes_before);
  BOOST_TEST(h.StatusOf(id) == S::kFailed);
}

BOOST_AUTO_TEST_CASE(content_changed_after_approval_is_not_written) {
  CommitHarness h(Transactions(true));
  std::string id = h.ApprovedNote("k-tamper", "Approved words.");
  // Someone edits the stored Bundle behind the coordinator's back.
  h.core.store.reset();
  h.core.coordinator.reset();
  {
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(h.core.db_path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db,
        "UPDATE proposal_content SET bundle_json = replace(bundle_json, 'Approved', 'Other') "
        "WHERE proposal_id = ?1", -1, &st, nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    BOOST_REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  h.core.Reopen();
  CommitEngineDeps deps;
  deps.store = h.core.store.get();
  deps.client = h.client.get();
  deps.guardrails = &h.core.guardrails;
  deps.clock = &h.core.clock;
  h.engine = std::make_unique<CommitEngine>(deps, CommitEngineOptions{"test-worker"});
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "failed");
  BOOST_TEST(outcomes[0].detail.find("approved") != std::string::npos, outcomes[0].detail);
  BOOST_TEST(h.WritesSeen() == 0u);
}

BOOST_AUTO_TEST_CASE(a_later_step_failing_compensates_without_deleting) {
  // Per-resource: the new note is created, then the old one's supersede update hits a moved
  // version. The new note is marked entered-in-error (not deleted); the proposal is in conflict.
  ServerConfig config = Transactions(false);
  CommitHarness h(config);
  std::string old_note = h.ServerCreate(R"({"resourceType":"DocumentReference","status":"current",
      "subject":{"reference":"Patient/p1"},"content":[{"attachment":{"contentType":"text/plain"}}]})");
  std::string id = h.ApprovedUpdate("k-amend", old_note, R"({"status":"superseded"})", true);
  json::Document moved = h.ServerRead(old_note);
  json::SetString(moved, "description", "edited by someone", moved.GetAllocator());
  h.ServerUpdate(old_note, json::Stringify(moved));
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "conflict", outcomes[0].detail);
  auto created = h.ServerSearch("DocumentReference", std::string("identifier=") +
                                    mappings::kCountersignIdentifierSystem + "|" + id + "/0");
  BOOST_REQUIRE(created.size() == 1u);  // still there
  BOOST_TEST(json::GetString(created[0], "status").value_or("") == "entered-in-error");
  BOOST_TEST(json::GetString(h.ServerRead(old_note), "status").value_or("") == "current");
  auto outbox = h.core.store->ListOutbox(id);
  BOOST_TEST(outbox->front().result_json.find("compensated") != std::string::npos);
}


// SMART Backend Services end to end: the engine commits through tokens the server's authorization
// server issued for a signed assertion, and a token revoked between two commits is renewed
// without the second commit noticing (committed once, no failure, no duplicate).
BOOST_DATA_TEST_CASE(commits_with_smart_backend_services_tokens, bdata::make({true, false}),
                     transactions) {
  std::string dir = (std::filesystem::temp_directory_path() / "countersign-smart-XXXXXX").string();
  BOOST_REQUIRE(mkdtemp(dir.data()) != nullptr);
  BOOST_REQUIRE(countersign::testing::MakeTestSigningKeys(dir).ok());
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  ServerConfig config = Transactions(transactions);
  config.bearer_token = "raw-checks-token";  // the harness's own server reads
  config.smart_backend = ServerConfig::SmartClient{"countersign", "key-1", read(dir + "/es384.pub.pem")};
  fhir::AuthOptions auth;
  auth.smart_backend.client_id = "countersign";
  auth.smart_backend.key_id = "key-1";
  auth.smart_backend.private_key_pem = read(dir + "/es384.pem");
  auth.smart_backend.scope = "system/DocumentReference.cru system/Device.cr system/Provenance.cru";
  CommitHarness h(config, CommitHarness::FastRetry(), &auth);
  std::filesystem::remove_all(dir);

  std::string first = h.ApprovedNote("k-smart-1", "First note.");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  BOOST_REQUIRE(h.server.RevokeTokens().ok());
  std::string second = h.ApprovedNote("k-smart-2", "Second note.");
  outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(first);
  h.ExpectNoteCommittedOnce(second);
  BOOST_TEST(h.RequestsSeen("POST", "^/auth/token$") == 2u);
  auto seen = h.server.Requests();
  BOOST_REQUIRE(seen.ok());
  size_t refused = 0;
  for (const auto& r : *seen) refused += r.status == 401 ? 1 : 0;
  BOOST_TEST(refused == 1u);  // the revoked token, once; then the renewed one
}

}  // namespace
}  // namespace countersign::commit::testing
