// The FHIR Task mirror against the loopback FHIR server (Medplum's router, which validates every
// create and update): each proposal's Task follows it from submission to commit or rejection, the
// audit cursor moves only past what is on the server, and a server that cannot hold the Tasks is
// refused before anything is sent. Server state is checked with raw HTTP.
#define BOOST_TEST_MODULE task_mirror
#include <boost/test/unit_test.hpp>


#include "fhir/resource.h"
#include "plugin/commit/task_mirror.h"
#include "plugin/commit/task_resource.h"
#include "plugin/core/approval_policy.h"
#include "plugin/core/clock.h"
#include "tests/commit/commit_fixture.h"

namespace countersign::commit::testing {
namespace {

using countersign::testing::Fault;
using countersign::testing::EpicSandboxConfig;
using countersign::testing::ServerConfig;
using S = core::ProposalStatus;

struct MirrorHarness : CommitHarness {
  explicit MirrorHarness(const ServerConfig& config = {}) : CommitHarness(config) {
    mirror = std::make_unique<TaskMirror>(TaskMirrorDeps{core.store.get(), client.get()},
                                          TaskMirrorOptions{});
  }
  std::unique_ptr<TaskMirror> mirror;

  MirrorReport Mirror() {
    auto r = mirror->RunOnce();
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return std::move(r).value();
  }
  json::Document Task(const std::string& proposal_id) {
    return ServerRead("Task/cs-" + proposal_id);
  }
  int TaskHttpStatus(const std::string& proposal_id) {
    auto r = server.Raw("GET", "/Task/cs-" + proposal_id);
    BOOST_REQUIRE(r.ok());
    return r->status;
  }
  int64_t Cursor() { return *core.store->ReadCursor(kTaskMirrorCursor); }
  int64_t AuditHead() { return core.store->ReadAuditHead()->count; }
  // The first audit seq that names the proposal.
  int64_t FirstSeqOf(const std::string& proposal_id) {
    auto records = core.store->ReadAudit(0, 10000);
    BOOST_REQUIRE(records.ok());
    for (const auto& r : *records) {
      if (r.proposal_id == proposal_id) return r.seq;
    }
    BOOST_FAIL("no audit record for " + proposal_id);
    return 0;
  }
};

std::string Str(const json::Value& v, std::string_view name) {
  return std::string(json::GetString(v, name).value_or(""));
}
std::string RefOf(const json::Value& task, std::string_view name) {
  const json::Value* m = json::Member(task, name);
  return m ? Str(*m, "reference") : "";
}

BOOST_AUTO_TEST_CASE(a_submitted_proposal_is_a_requested_task_with_its_owner) {
  MirrorHarness h;
  core::Proposal p = h.core.SubmitNote("k-submit");
  MirrorReport r = h.Mirror();
  BOOST_TEST(r.records == 1);
  BOOST_TEST(r.mirrored == 1);
  BOOST_TEST(r.caught_up);
  BOOST_TEST(h.Cursor() == h.AuditHead());

  json::Document t = h.Task(p.id);
  BOOST_TEST(Str(t, "status") == "requested");
  BOOST_TEST(Str(*json::Member(t, "businessStatus"), "text") == "pending");
  BOOST_TEST(Str(t, "intent") == "proposal");
  BOOST_TEST(RefOf(t, "for") == "Patient/p1");
  BOOST_TEST(RefOf(t, "owner") == "Practitioner/dr-ada");  // the policy's draft:/author owner
  BOOST_TEST(RefOf(t, "requester") == "Device/ai-scribe");
  BOOST_TEST(Str(t, "authoredOn") == core::FormatInstant(p.created_at));
  BOOST_TEST(Str(t, "lastModified") == core::FormatInstant(p.updated_at));
  BOOST_TEST(Str(t, "description").find("note (create)") != std::string::npos);
  const json::Value& code = (*json::Member(*json::Member(t, "code"), "coding"))[0];
  BOOST_TEST(Str(code, "system") == kTaskCodeSystem);
  BOOST_TEST(Str(code, "code") == "approve");
  BOOST_TEST(fhir::HasSecurityLabel(t, fhir::AiAssistedLabel()));
  auto ident = fhir::FindIdentifier(t, kTaskIdentifierSystem);
  BOOST_REQUIRE(ident.has_value());
  BOOST_TEST(ident->value == p.id);
  BOOST_TEST(json::Member(t, "output") == nullptr);
  BOOST_TEST(json::Member(t, "statusReason") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_reassignment_moves_the_task_to_the_new_owner) {
  MirrorHarness h;
  core::Proposal p = h.core.SubmitNote("k-reassign");
  h.Mirror();
  const core::Principal& admin = h.core.P("Practitioner/admin-kim");
  BOOST_REQUIRE(
      h.core.coordinator->Reassign(admin, p.id, "Practitioner/dr-grace", "on leave").ok());
  BOOST_TEST(h.Mirror().mirrored == 1);
  json::Document t = h.Task(p.id);
  BOOST_TEST(RefOf(t, "owner") == "Practitioner/dr-grace");
  BOOST_TEST(std::string(fhir::VersionId(t).value_or("")) == "2");

  // A queue is no FHIR resource: the EHR sees its name.
  BOOST_REQUIRE(h.core.coordinator->Reassign(admin, p.id, "queue:clinical-review", "triage").ok());
  h.Mirror();
  t = h.Task(p.id);
  const json::Value* owner = json::Member(t, "owner");
  BOOST_REQUIRE(owner != nullptr);
  BOOST_TEST(Str(*owner, "display") == "queue:clinical-review");
  BOOST_TEST(json::Member(*owner, "reference") == nullptr);
  BOOST_TEST(Str(t, "status") == "requested");
}

BOOST_AUTO_TEST_CASE(a_committed_proposal_completes_its_task_with_the_committed_versions) {
  MirrorHarness h;
  std::string id = h.ApprovedNote("k-commit", "Committed words.");
  h.Mirror();
  BOOST_TEST(Str(h.Task(id), "status") == "accepted");

  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_REQUIRE(outcomes[0].status == "committed");
  MirrorReport r = h.Mirror();
  BOOST_TEST(r.mirrored == 1);
  json::Document t = h.Task(id);
  BOOST_TEST(Str(t, "status") == "completed");
  BOOST_TEST(Str(*json::Member(t, "businessStatus"), "text") == "committed");

  const json::Value* output = json::Member(t, "output");
  BOOST_REQUIRE(output && output->IsArray() && output->Size() >= 1u);
  // Each output is a versioned reference that the server resolves; one is the note itself at
  // the version the commit wrote.
  auto notes = h.ServerSearch("DocumentReference", std::string("identifier=") +
                                                       mappings::kCountersignIdentifierSystem +
                                                       "|" + id + "/0");
  BOOST_REQUIRE(notes.size() == 1u);
  std::string note_version = "DocumentReference/" +
                             std::string(fhir::ResourceId(notes[0]).value_or("")) + "/_history/" +
                             std::string(fhir::VersionId(notes[0]).value_or(""));
  bool has_note = false;
  for (const auto& o : output->GetArray()) {
    std::string ref = RefOf(o, "valueReference");
    BOOST_TEST(ref.find("/_history/") != std::string::npos, ref);
    auto read = h.server.Raw("GET", "/" + ref);
    BOOST_REQUIRE(read.ok());
    BOOST_TEST(read->status == 200, ref << " reads as HTTP " << read->status);
    if (ref == note_version) has_note = true;
  }
  BOOST_TEST(has_note, "no output names " << note_version);
}

BOOST_AUTO_TEST_CASE(a_rejection_carries_the_coded_reason) {
  MirrorHarness h;
  core::Proposal p = h.core.SubmitNote("k-reject");
  core::RejectReason why{"clinically-inaccurate", "dose is wrong"};
  BOOST_REQUIRE(h.core.coordinator->Reject(h.core.P("Practitioner/dr-ada"), p.id, why).ok());
  h.Mirror();
  json::Document t = h.Task(p.id);
  BOOST_TEST(Str(t, "status") == "rejected");
  BOOST_TEST(Str(*json::Member(t, "businessStatus"), "text") == "rejected");
  const json::Value* reason = json::Member(t, "statusReason");
  BOOST_REQUIRE(reason != nullptr);
  const json::Value& coding = (*json::Member(*reason, "coding"))[0];
  BOOST_TEST(Str(coding, "system") == core::kRejectReasonSystem);
  BOOST_TEST(Str(coding, "code") == "clinically-inaccurate");
  BOOST_TEST(Str(coding, "display") == "Clinically inaccurate");
  BOOST_TEST(Str(*reason, "text") == "dose is wrong");
}

// Real drafts with hostile AI names and text (fixtures/drafts/hostile): one committed (its Task
// lists the committed versions, found by the escaped, encoded search), one rejected with a reason
// in hostile free text, one failed and retried by a person.
BOOST_AUTO_TEST_CASE(hostile_drafts_are_mirrored_through_commit_rejection_and_retry) {
  MirrorHarness h;
  std::string committed = h.ApprovedHostileNote("Clínica Pérez mirror #1 & 2 + 50% | x, y");
  auto drafted = h.Drafts().Submit(h.core.P("Device/ai-scribe"),
                                   CommitHarness::HostileNoteDraft("Clínica Pérez mirror #2 & 3"));
  BOOST_REQUIRE_MESSAGE(drafted.ok(), drafted.status().ToString());
  std::string rejected = drafted->proposal.id;
  const std::string reason = "Dosis errónea: 500 mg & no 850 mg, #2 + 50% | «revisar» \\ 東京";
  BOOST_REQUIRE(h.Drafts().Reject(h.core.P("Practitioner/dr-ada"), rejected,
                                  {"other", reason}).ok());
  std::string retried = h.ApprovedHostileNote("Clínica Pérez mirror #3 & 4");
  auto outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 2u);
  for (const auto& o : outcomes) BOOST_TEST(o.status == "committed", o.detail);
  // One more: the server refuses its transaction for good, then a person retries it.
  std::string failed = h.ApprovedHostileNote("Clínica Pérez mirror #4 & 5");
  Fault refused;
  refused.method = "POST";
  refused.path_regex = "^/fhir/R4/?$";
  refused.status = 400;
  refused.count = 2;  // with the Provenance, and once more without it
  BOOST_REQUIRE(h.server.AddFault(refused).ok());
  outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "failed", outcomes[0].detail);
  h.Mirror();
  BOOST_TEST(Str(h.Task(failed), "status") == "failed");
  BOOST_REQUIRE(h.Drafts().RetryCommit(h.core.P("Practitioner/dr-ada"), failed, "otra vez & +1").ok());
  outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.Mirror();
  for (const std::string& id : {committed, retried, failed}) {
    auto found = h.ServerSearch("Task", CommitHarness::TokenQuery("identifier", kTaskIdentifierSystem, id));
    BOOST_REQUIRE_MESSAGE(found.size() == 1u, id);
    BOOST_TEST(Str(found[0], "status") == "completed", id);
    const json::Value* output = json::Member(found[0], "output");
    BOOST_REQUIRE(output && output->IsArray() && output->Size() >= 2u);  // the note, the Device
    h.ExpectNoteCommittedOnce(id);
  }
  json::Document t = h.Task(rejected);
  BOOST_TEST(Str(t, "status") == "rejected");
  BOOST_TEST(Str(*json::Member(t, "statusReason"), "text") == reason);
  BOOST_TEST(h.ServerSearch("Device", "").size() == 1u);
}

BOOST_AUTO_TEST_CASE(running_again_writes_no_second_task) {
  MirrorHarness h;
  core::Proposal a = h.core.SubmitNote("k-once-a", "First.");
  core::Proposal b = h.core.SubmitNote("k-once-b", "Second.");
  BOOST_TEST(h.Mirror().mirrored == 2);
  MirrorReport again = h.Mirror();
  BOOST_TEST(again.records == 0);
  BOOST_TEST(again.mirrored == 0);
  // Even mirroring everything again (cursor back to the start) replaces, never duplicates.
  BOOST_REQUIRE(h.core.store->WriteCursor(kTaskMirrorCursor, 0).ok());
  BOOST_TEST(h.Mirror().mirrored == 2);
  for (const auto& id : {a.id, b.id}) {
    auto found =
        h.ServerSearch("Task", std::string("identifier=") + kTaskIdentifierSystem + "|" + id);
    BOOST_TEST(found.size() == 1u, id);
  }
  BOOST_TEST(h.ServerSearch("Task", "").size() == 2u);
  // Views are audited but change nothing: no write for them.
  BOOST_REQUIRE(h.core.coordinator->View(h.core.P("Practitioner/dr-ada"), a.id).ok());
  size_t writes = h.WritesSeen();
  MirrorReport viewed = h.Mirror();
  BOOST_TEST(viewed.records == 1);
  BOOST_TEST(viewed.mirrored == 0);
  BOOST_TEST(h.WritesSeen() == writes);
  BOOST_TEST(h.Cursor() == h.AuditHead());
}

BOOST_AUTO_TEST_CASE(a_busy_server_keeps_the_cursor_and_the_next_run_catches_up) {
  MirrorHarness h;
  core::Proposal a = h.core.SubmitNote("k-busy-a", "Before.");
  h.Mirror();
  const int64_t before = h.Cursor();
  core::Proposal b = h.core.SubmitNote("k-busy-b", "Refused while busy.");
  core::Proposal c = h.core.SubmitNote("k-busy-c", "Behind it.");
  Fault busy;
  busy.method = "PUT";
  busy.path_regex = "/Task/cs-" + b.id + "$";
  busy.status = 503;
  busy.count = 100;  // more than the client's retries
  BOOST_REQUIRE(h.server.AddFault(busy).ok());

  MirrorReport r = h.Mirror();
  BOOST_TEST(r.stalled);
  BOOST_TEST(!r.caught_up);
  BOOST_REQUIRE(!r.outcomes.empty());
  BOOST_TEST(r.outcomes.back().proposal_id == b.id);
  BOOST_TEST(r.outcomes.back().status == "retry-later");
  BOOST_TEST(h.Cursor() == before);  // not past b's first record
  BOOST_TEST(h.Cursor() == h.FirstSeqOf(b.id) - 1);
  BOOST_TEST(h.TaskHttpStatus(b.id) == 404);
  BOOST_TEST(h.TaskHttpStatus(c.id) == 404);  // the run stopped at b

  BOOST_REQUIRE(h.server.ClearFaults().ok());
  MirrorReport next = h.Mirror();
  BOOST_TEST(!next.stalled);
  BOOST_TEST(next.caught_up);
  BOOST_TEST(next.mirrored == 2);
  BOOST_TEST(Str(h.Task(b.id), "status") == "requested");
  BOOST_TEST(Str(h.Task(c.id), "status") == "requested");
  BOOST_TEST(h.Cursor() == h.AuditHead());
  BOOST_TEST(Str(h.Task(a.id), "status") == "requested");
}

BOOST_AUTO_TEST_CASE(a_task_the_server_refuses_is_reported_and_skipped) {
  MirrorHarness h;
  core::Proposal b = h.core.SubmitNote("k-refused-b", "Refused for good.");
  core::Proposal c = h.core.SubmitNote("k-refused-c", "Not held up.");
  Fault refuse;
  refuse.method = "PUT";
  refuse.path_regex = "/Task/cs-" + b.id + "$";
  refuse.status = 422;
  refuse.count = 100;
  BOOST_REQUIRE(h.server.AddFault(refuse).ok());

  MirrorReport r = h.Mirror();
  BOOST_TEST(!r.stalled);
  BOOST_TEST(r.refused == 1);
  BOOST_TEST(r.mirrored == 1);
  BOOST_REQUIRE(r.outcomes.size() == 2u);
  BOOST_TEST(r.outcomes[0].status == "refused");
  BOOST_TEST(r.outcomes[0].detail.find("422") != std::string::npos, r.outcomes[0].detail);
  BOOST_TEST(h.Cursor() == h.AuditHead());  // the queue moved on
  BOOST_TEST(Str(h.Task(c.id), "status") == "requested");
  BOOST_TEST(h.TaskHttpStatus(b.id) == 404);

  // The proposal's next change writes its Task again.
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  core::RejectReason why{"not-needed", ""};
  BOOST_REQUIRE(h.core.coordinator->Reject(h.core.P("Practitioner/dr-ada"), b.id, why).ok());
  BOOST_TEST(h.Mirror().mirrored == 1);
  BOOST_TEST(Str(h.Task(b.id), "status") == "rejected");
}

BOOST_AUTO_TEST_CASE(a_server_without_update_create_for_task_is_refused_unsent) {
  // Epic's sandbox: Task is updatable, but ids are the server's (updateCreate false).
  ServerConfig config = EpicSandboxConfig();
  MirrorHarness h(config);
  h.core.SubmitNote("k-epic");
  auto r = h.mirror->RunOnce();
  BOOST_TEST(r.status().IsUnsupported());
  BOOST_TEST(r.status().message().find("update-create") != std::string::npos, r.status().message());
  BOOST_TEST(h.WritesSeen() == 0u);
  BOOST_TEST(h.Cursor() == 0);
  BOOST_TEST(h.ServerSearch("Task", "").empty());
}

// Every status's Task is one the server accepts (it validates each write), encounter included.
BOOST_AUTO_TEST_CASE(every_status_makes_a_task_the_server_accepts) {
  MirrorHarness h;
  for (S status : core::AllStatuses()) {
    core::Proposal p;
    p.id = std::string("status-") + core::StatusName(status);
    p.kind = "appointment";
    p.action = "update";
    p.patient = "Patient/p1";
    p.encounter = "Encounter/e1";
    p.ai_principal = "Device/ai-scheduler";
    p.owner = "queue:front-desk";
    p.status = status;
    p.created_at = 1'700'000'000'000;
    p.updated_at = p.created_at + 60'000;
    if (status == S::kRejected) {
      p.history.push_back({2, p.updated_at, "Practitioner/fd-sam", "front-desk", "transition",
                           "pending", "rejected", "other", "patient moved away", "{}"});
    }
    auto task = BuildTask(p, {"Appointment/a1/_history/2"});
    BOOST_REQUIRE(task.ok());
    auto written = h.client->Update(*task);
    BOOST_REQUIRE_MESSAGE(written.ok(), core::StatusName(status)
                                            << ": " << written.status().ToString()
                                            << written.status().operation_outcome());
    json::Document t = h.Task(p.id);
    BOOST_TEST(Str(t, "status") == TaskStatusFor(status));
    BOOST_TEST(RefOf(t, "encounter") == "Encounter/e1");
    BOOST_TEST((json::Member(t, "output") != nullptr) == (status == S::kCommitted));
    BOOST_TEST((json::Member(t, "statusReason") != nullptr) == (status == S::kRejected));
  }
  BOOST_TEST(std::string(TaskStatusFor(S::kExpired)) == "cancelled");
  BOOST_TEST(std::string(TaskStatusFor(S::kConflict)) == "on-hold");
  BOOST_TEST(std::string(TaskStatusFor(S::kCommitting)) == "in-progress");
  BOOST_TEST(!TaskIdFor(std::string(70, 'x')).ok());  // over FHIR's 64-character id limit
}

}  // namespace
}  // namespace countersign::commit::testing
