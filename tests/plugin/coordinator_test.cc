// The coordinator's operations over a real SQLite file: roles, the ai-agent rule, two approvers,
// amendments as revisions, coded rejections, reassignment, expiry, audit of views, Provenance.
#include "plugin/core/coordinator.h"

#include <boost/test/unit_test.hpp>

#include <sstream>

#include "plugin/core/audit_export.h"
#include "plugin/core/migrations.h"
#include "plugin/core/provenance.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using S = ProposalStatus;
using testing::CoreHarness;
using testing::NoteDraft;

json::Document Doc(std::string_view text) {
  auto d = json::Parse(text);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  return std::move(d).value();
}

std::vector<AuditRecord> Audit(CoreHarness& h) {
  auto r = h.store->ReadAudit(0, 10000);
  BOOST_REQUIRE(r.ok());
  return *r;
}

std::string MessageDraft(const std::string& key) {
  return R"({"kind":"message","patient":"Patient/p1","idempotency_key":")" + key +
         R"(","text":"Your results are normal."})";
}

const json::Value& ProvenanceOf(json::Document& bundle) {
  json::Value* p = FindProvenance(bundle);
  BOOST_REQUIRE(p != nullptr);
  return *p;
}

int CountAgents(const json::Value& prov, std::string_view type_code) {
  int n = 0;
  for (const auto& a : prov["agent"].GetArray()) {
    if (*json::GetString(a["type"]["coding"][0], "code") == type_code) ++n;
  }
  return n;
}

BOOST_AUTO_TEST_SUITE(coordinator)

BOOST_AUTO_TEST_CASE(submit_maps_checks_and_stores_pending_with_owner) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  BOOST_TEST(p.status == S::kPending);
  BOOST_TEST(p.kind == "note");
  BOOST_TEST(p.patient == "Patient/p1");
  BOOST_TEST(p.ai_principal == "Device/ai-scribe");
  BOOST_TEST(p.owner == "Practitioner/dr-ada");  // the note's author, by policy
  BOOST_TEST(p.created_at == h.clock.NowMillis());
  BOOST_TEST(p.expires_at == p.created_at + 4320LL * 60'000);
  auto audit = Audit(h);
  BOOST_REQUIRE(audit.size() == 1u);
  BOOST_TEST(audit[0].action == "submit");
  BOOST_TEST(audit[0].proposal_id == p.id);

  // Appointments and messages go to the front-desk queue.
  auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), MessageDraft("m1"));
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->proposal.owner == "queue:front-desk");
}

BOOST_AUTO_TEST_CASE(submit_is_idempotent_per_key) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  auto again = h.coordinator->Submit(h.P("Device/ai-scribe"), NoteDraft("k1"));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!again->created);
  BOOST_TEST(again->proposal.id == p.id);
  auto changed = h.coordinator->Submit(h.P("Device/ai-scribe"), NoteDraft("k1", "different"));
  BOOST_TEST(changed.status().IsConflict());
}

BOOST_AUTO_TEST_CASE(submit_refusals_are_audited_and_store_nothing) {
  CoreHarness h;
  // A clinician cannot submit drafts.
  BOOST_TEST(h.coordinator->Submit(h.P("Practitioner/dr-ada"), NoteDraft("k1")).status().IsForbidden());
  // The mapping refuses an invalid draft.
  auto invalid = h.coordinator->Submit(h.P("Device/ai-scribe"), R"({"invalid":true})");
  BOOST_TEST(invalid.status().IsInvalid());
  BOOST_TEST(!invalid.status().operation_outcome().empty());
  // A guardrail violation carries its OperationOutcome.
  auto big = h.coordinator->Submit(h.P("Device/ai-scribe"),
                                   R"({"kind":"note","idempotency_key":"k2","extra_entries":5})");
  BOOST_TEST(big.status().IsForbidden());
  BOOST_TEST(big.status().operation_outcome().find("too-costly") != std::string::npos);
  BOOST_TEST(h.store->ListProposals({}, {100, ""})->items.empty());
  auto audit = Audit(h);
  BOOST_REQUIRE(audit.size() == 3u);
  for (const auto& a : audit) {
    BOOST_TEST(a.action == "submit");
    BOOST_TEST(a.outcome == kOutcomeMinorFailure);
  }
}

BOOST_AUTO_TEST_CASE(ai_agent_can_never_approve_amend_or_reject) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  const Principal& ai = h.P("Device/ai-scribe");
  BOOST_TEST(h.coordinator->Approve(ai, p.id).status().IsForbidden());
  Amendment amend;
  amend.draft_json = NoteDraft("k1", "edited");
  BOOST_TEST(h.coordinator->AmendAndApprove(ai, p.id, amend).status().IsForbidden());
  BOOST_TEST(h.coordinator->Reject(ai, p.id, {"not-needed", ""}).status().IsForbidden());
  BOOST_TEST(h.coordinator->View(ai, p.id).status().IsForbidden());
  BOOST_TEST(h.coordinator->Reassign(ai, p.id, "queue:front-desk", "").status().IsForbidden());
  auto after = h.store->GetProposal(p.id);
  BOOST_TEST(after->status == S::kPending);
  BOOST_TEST(after->approvals.empty());
  BOOST_TEST(after->revisions.empty());
  for (const auto& a : Audit(h)) {
    if (a.actor == "Device/ai-scribe" && a.action != "submit") BOOST_TEST(a.outcome == kOutcomeMinorFailure);
  }
}

BOOST_AUTO_TEST_CASE(wrong_role_is_refused) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/fd-sam"), p.id).status().IsForbidden());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/admin-kim"), p.id).status().IsForbidden());
  BOOST_TEST(h.coordinator->Reject(h.P("Practitioner/fd-sam"), p.id, {"not-needed", ""}).status().IsForbidden());
  BOOST_TEST(h.store->GetProposal(p.id)->status == S::kPending);
  // Front desk may decide appointments.
  auto appt = h.coordinator->Submit(h.P("Device/ai-scheduler"),
                                    R"({"kind":"appointment","idempotency_key":"a1","text":"checkup"})");
  BOOST_REQUIRE(appt.ok());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/fd-sam"), appt->proposal.id).ok());
}

BOOST_AUTO_TEST_CASE(approver_identity_comes_from_the_principal_only) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  // A principal whose roles were inflated by the caller is not trusted.
  Principal forged = h.P("Practitioner/fd-sam");
  forged.roles = {"clinician"};
  BOOST_TEST(h.coordinator->Approve(forged, p.id).status().IsUnauthorized());
  Principal unknown{"Practitioner/ghost", "", {"clinician"}, {}};
  BOOST_TEST(h.coordinator->Approve(unknown, p.id).status().IsUnauthorized());
  // The note text cannot name an approver; the recorded approver is the principal argument.
  auto r = h.coordinator->Approve(h.P("Practitioner/dr-grace"), p.id, "approver: Practitioner/dr-ada");
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->approvals.size() == 1u);
  BOOST_TEST(r->approvals[0].approver == "Practitioner/dr-grace");
  BOOST_TEST(r->history.back().actor == "Practitioner/dr-grace");
  BOOST_TEST(Audit(h).back().actor == "Practitioner/dr-grace");
}

BOOST_AUTO_TEST_CASE(approval_adds_the_verifier_and_the_outbox_entry) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  h.clock.Advance(60'000);
  auto r = h.coordinator->Approve(h.P("Practitioner/dr-ada"), p.id);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_TEST(r->status == S::kApproved);
  BOOST_TEST(r->history.back().from_status == "pending");
  BOOST_TEST(r->history.back().to_status == "approved");
  json::Document bundle = Doc(r->bundle_json);
  const json::Value& prov = ProvenanceOf(bundle);
  BOOST_TEST(CountAgents(prov, "verifier") == 1);
  const json::Value& verifier = prov["agent"][prov["agent"].Size() - 1];
  BOOST_TEST(*json::GetString(verifier["who"], "reference") == "Practitioner/dr-ada");
  BOOST_TEST(*json::GetString(verifier["who"], "display") == "Dr. Ada Lovelace");
  BOOST_TEST(*json::GetString(verifier["role"][0], "text") == "clinician");
  BOOST_TEST(*json::GetString(prov, "recorded") == FormatInstant(h.clock.NowMillis()));
  BOOST_TEST(*json::GetString(prov["occurredPeriod"], "start") == FormatInstant(p.created_at));
  auto outbox = h.store->ListOutbox(p.id);
  BOOST_REQUIRE(outbox->size() == 1u);
  BOOST_TEST((*outbox)[0].state == "ready");
  // Approving twice is an illegal transition.
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-grace"), p.id).status().IsIllegalState());
}

BOOST_AUTO_TEST_CASE(two_approver_rule_needs_two_distinct_people) {
  CoreHarness h;
  auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), MessageDraft("m1"));
  BOOST_REQUIRE(m.ok());
  const std::string id = m->proposal.id;
  auto first = h.coordinator->Approve(h.P("Practitioner/dr-ada"), id);
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->status == S::kPending);
  BOOST_TEST(first->approvals.size() == 1u);
  BOOST_TEST(h.store->ListOutbox(id)->empty());
  // The same person again does not count twice.
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), id).status().IsConflict());
  BOOST_TEST(h.store->GetProposal(id)->status == S::kPending);
  auto second = h.coordinator->Approve(h.P("Practitioner/fd-sam"), id);
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second->status == S::kApproved);
  json::Document bundle = Doc(second->bundle_json);
  BOOST_TEST(CountAgents(ProvenanceOf(bundle), "verifier") == 2);
  BOOST_TEST(h.store->ListOutbox(id)->size() == 1u);
}

BOOST_AUTO_TEST_CASE(amend_by_draft_keeps_the_original_and_records_a_revision) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1", "Patient is wel.");
  Amendment a;
  a.draft_json = NoteDraft("k1", "Patient is well.");
  a.note = "typo";
  auto r = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), p.id, a);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_TEST(r->status == S::kApproved);
  BOOST_TEST(r->revision == 1);
  BOOST_TEST(r->draft_json == p.draft_json);  // the AI's original, untouched
  BOOST_REQUIRE(r->revisions.size() == 1u);
  BOOST_TEST(r->revisions[0].author == "Practitioner/dr-ada");
  BOOST_TEST(r->revisions[0].note == "typo");
  BOOST_TEST(r->revisions[0].draft_json.find("Patient is well.") != std::string::npos);
  BOOST_TEST(r->history.back().event == "amend");
  json::Document bundle = Doc(r->bundle_json);
  const json::Value& prov = ProvenanceOf(bundle);
  BOOST_TEST(CountAgents(prov, "author") == 2);  // the AI device and the reviewer
  BOOST_TEST(CountAgents(prov, "verifier") == 1);
  BOOST_TEST(*json::GetString(prov["entity"][0], "role") == "revision");
  BOOST_TEST(*json::GetString(prov["entity"][0]["what"]["identifier"], "value") == p.id + "/0");
  BOOST_TEST(Audit(h).back().action == "amend");
}

BOOST_AUTO_TEST_CASE(amend_by_bundle_patch_is_revalidated_and_guardrail_checked) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  const Principal& ada = h.P("Practitioner/dr-ada");
  auto amend = [&](std::string patch) {
    Amendment a;
    a.bundle_patch = std::move(patch);
    return h.coordinator->AmendAndApprove(ada, p.id, a);
  };
  // Outside the mapped resources, or touching Countersign's own parts: refused.
  BOOST_TEST(amend(R"([{"op":"replace","path":"/type","value":"batch"}])").status().IsInvalid());
  BOOST_TEST(amend(R"([{"op":"replace","path":"/entry/0/request/method","value":"DELETE"}])").status().IsInvalid());
  BOOST_TEST(amend(R"([{"op":"replace","path":"/entry/0/resource/resourceType","value":"Patient"}])").status().IsInvalid());
  BOOST_TEST(amend(R"([{"op":"add","path":"/entry/2/resource/agent/-","value":{}}])").status().IsInvalid());
  BOOST_TEST(amend(R"([{"op":"remove","path":"/entry/0"}])").status().IsInvalid());
  // Re-validated: a patch that does not apply is refused.
  BOOST_TEST(amend(R"([{"op":"replace","path":"/entry/0/resource/nothere/x","value":1}])").status().IsInvalid());
  // Guardrail-checked: a text over the limit is refused with the guardrail's outcome.
  std::string huge = R"([{"op":"replace","path":"/entry/0/resource/description","value":")" +
                     std::string(200001, 'x') + "\"}]";
  auto too_big = amend(huge);
  BOOST_TEST(too_big.status().IsForbidden());
  BOOST_TEST(too_big.status().operation_outcome().find("too-long") != std::string::npos);
  auto unchanged = h.store->GetProposal(p.id);
  BOOST_TEST(unchanged->status == S::kPending);
  BOOST_TEST(unchanged->revisions.empty());
  BOOST_TEST(unchanged->bundle_json == p.bundle_json);
  // A proper edit.
  auto ok = amend(R"([{"op":"replace","path":"/entry/0/resource/description","value":"Reviewed text"}])");
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  BOOST_TEST(ok->revision == 1);
  json::Document bundle = Doc(ok->bundle_json);
  BOOST_TEST(*json::GetString(bundle["entry"][0]["resource"], "description") == "Reviewed text");
  BOOST_REQUIRE(ok->revisions.size() == 1u);
  json::Document original = Doc(p.bundle_json);
  BOOST_TEST(*json::GetString(original["entry"][0]["resource"], "description") == "Patient is well.");
}

BOOST_AUTO_TEST_CASE(amending_an_update_extends_its_patch_and_rechecks_paths) {
  CoreHarness h;
  std::string draft =
      R"({"kind":"appointment","idempotency_key":"u1","update":{"base":{"resourceType":"Appointment",)"
      R"("id":"a1","meta":{"versionId":"3"},"status":"booked","participant":[{"actor":{"reference":"Patient/p1"},)"
      R"("status":"accepted"}]},"changes":{"status":"cancelled"}}})";
  auto s = h.coordinator->Submit(h.P("Device/ai-scheduler"), draft);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  Amendment bad;
  bad.bundle_patch = R"([{"op":"replace","path":"/entry/0/resource/participant/0/status","value":"declined"}])";
  auto refused = h.coordinator->AmendAndApprove(h.P("Practitioner/fd-sam"), s->proposal.id, bad);
  BOOST_TEST(refused.status().IsForbidden());
  BOOST_TEST(refused.status().operation_outcome().find("/participant/0/status") != std::string::npos);
  Amendment good;
  good.bundle_patch = R"([{"op":"add","path":"/entry/0/resource/comment","value":"Patient called"}])";
  auto ok = h.coordinator->AmendAndApprove(h.P("Practitioner/fd-sam"), s->proposal.id, good);
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  json::Document patches = Doc(ok->patches_json);
  std::string text = json::Stringify(patches);
  BOOST_TEST(text.find("/status") != std::string::npos);
  BOOST_TEST(text.find("/comment") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(amendment_cannot_change_patient_or_kind) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  Amendment a;
  a.draft_json = NoteDraft("k1", "x", "Patient/other");
  BOOST_TEST(h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), p.id, a).status().IsInvalid());
  Amendment both;
  both.draft_json = NoteDraft("k1");
  both.bundle_patch = "[]";
  BOOST_TEST(h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), p.id, both).status().IsInvalid());
}

BOOST_AUTO_TEST_CASE(two_approver_amendment_needs_a_second_approval_of_the_revision) {
  CoreHarness h;
  auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), MessageDraft("m1"));
  const std::string id = m->proposal.id;
  BOOST_REQUIRE(h.coordinator->Approve(h.P("Practitioner/fd-sam"), id).ok());  // approves rev 0
  Amendment a;
  a.bundle_patch = R"([{"op":"replace","path":"/entry/0/resource/payload/0/contentString","value":"Edited"}])";
  auto amended = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), id, a);
  BOOST_REQUIRE_MESSAGE(amended.ok(), amended.status().ToString());
  BOOST_TEST(amended->status == S::kPending);  // sam approved revision 0, not this revision
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), id).status().IsConflict());
  auto done = h.coordinator->Approve(h.P("Practitioner/fd-sam"), id);
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->status == S::kApproved);
  BOOST_TEST((h.store->ListOutbox(id)->at(0).revision == 1));
}

BOOST_AUTO_TEST_CASE(reject_needs_a_known_code) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  const Principal& ada = h.P("Practitioner/dr-ada");
  BOOST_TEST(h.coordinator->Reject(ada, p.id, {"", "looks wrong"}).status().IsInvalid());
  BOOST_TEST(h.coordinator->Reject(ada, p.id, {"bad-vibes", ""}).status().IsInvalid());
  BOOST_TEST(h.coordinator->Reject(ada, p.id, {"other", ""}).status().IsInvalid());
  BOOST_TEST(h.store->GetProposal(p.id)->status == S::kPending);
  auto r = h.coordinator->Reject(ada, p.id, {"clinically-inaccurate", "dose is wrong"});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == S::kRejected);
  BOOST_TEST(r->history.back().reason_code == "clinically-inaccurate");
  BOOST_TEST(r->history.back().reason_text == "dose is wrong");
  AuditRecord last = Audit(h).back();
  BOOST_TEST(last.action == "reject");
  BOOST_TEST(last.detail_json.find(kRejectReasonSystem) != std::string::npos);
  BOOST_TEST(h.coordinator->Approve(ada, p.id).status().IsIllegalState());
  BOOST_TEST(h.store->ListOutbox(p.id)->empty());
}

BOOST_AUTO_TEST_CASE(reassignment_is_recorded) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  BOOST_TEST(h.coordinator->Reassign(h.P("Practitioner/dr-grace"), p.id, "Practitioner/dr-grace", "")
                 .status().IsForbidden());  // not the owner, not a reassigner
  BOOST_TEST(h.coordinator->Reassign(h.P("Practitioner/admin-kim"), p.id, "Device/ai-scribe", "")
                 .status().IsInvalid());  // an AI cannot own a review
  auto r = h.coordinator->Reassign(h.P("Practitioner/dr-ada"), p.id, "Practitioner/dr-grace", "on leave");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->owner == "Practitioner/dr-grace");
  BOOST_TEST(r->history.back().event == "reassign");
  BOOST_TEST(r->history.back().detail_json.find("dr-ada") != std::string::npos);
  BOOST_TEST(Audit(h).back().action == "reassign");
  ProposalFilter f;
  f.owner = "Practitioner/dr-grace";
  BOOST_TEST(h.coordinator->List(h.P("Practitioner/dr-grace"), f, {10, ""})->items.size() == 1u);
}

BOOST_AUTO_TEST_CASE(expiry_is_per_kind_and_final) {
  CoreHarness h;
  Proposal note = h.SubmitNote("k1");  // 72 h
  auto appt = h.coordinator->Submit(h.P("Device/ai-scheduler"),
                                    R"({"kind":"appointment","idempotency_key":"a1"})");  // 24 h
  BOOST_REQUIRE(appt.ok());
  h.clock.Advance(24LL * 3600 * 1000 - 1);
  BOOST_TEST(*h.coordinator->ExpireDue() == 0);
  h.clock.Advance(1);
  BOOST_TEST(*h.coordinator->ExpireDue() == 1);
  BOOST_TEST(h.store->GetProposal(appt->proposal.id)->status == S::kExpired);
  BOOST_TEST(h.store->GetProposal(note.id)->status == S::kPending);
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/fd-sam"), appt->proposal.id).status().IsIllegalState());
  h.clock.Advance(48LL * 3600 * 1000);
  BOOST_TEST(*h.coordinator->ExpireDue() == 1);
  auto expired = h.store->GetProposal(note.id);
  BOOST_TEST(expired->status == S::kExpired);
  BOOST_TEST(expired->history.back().actor == "system");
  BOOST_TEST(expired->history.back().reason_code == "expired");
  BOOST_TEST(Audit(h).back().action == "expire");
}

BOOST_AUTO_TEST_CASE(views_are_audited_before_content_is_shown) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  auto v = h.coordinator->View(h.P("Practitioner/fd-sam"), p.id);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->bundle_json == p.bundle_json);
  AuditRecord last = Audit(h).back();
  BOOST_TEST(last.action == "view");
  BOOST_TEST(last.actor == "Practitioner/fd-sam");
  BOOST_TEST(last.patient == "Patient/p1");
  BOOST_TEST(h.coordinator->View(h.P("Practitioner/fd-sam"), "missing").status().IsNotFound());
}

BOOST_AUTO_TEST_CASE(queue_lists_by_owner_for_reviewers_only) {
  CoreHarness h;
  for (int i = 0; i < 5; ++i) {
    h.SubmitNote("k" + std::to_string(i));
    h.clock.Advance(1000);
  }
  ProposalFilter mine;
  mine.owner = "Practitioner/dr-ada";
  mine.status = S::kPending;
  auto page1 = h.coordinator->List(h.P("Practitioner/dr-ada"), mine, {3, ""});
  BOOST_REQUIRE(page1.ok());
  BOOST_TEST(page1->items.size() == 3u);
  auto page2 = h.coordinator->List(h.P("Practitioner/dr-ada"), mine, {3, page1->next_cursor});
  BOOST_TEST(page2->items.size() == 2u);
  BOOST_TEST(page2->next_cursor.empty());
  BOOST_TEST(h.coordinator->List(h.P("Device/ai-scribe"), mine, {3, ""}).status().IsForbidden());
}

BOOST_AUTO_TEST_CASE(review_diff_against_the_current_version) {
  CoreHarness h;
  std::string draft =
      R"({"kind":"appointment","idempotency_key":"u1","update":{"base":{"resourceType":"Appointment",)"
      R"("id":"a1","meta":{"versionId":"3"},"status":"booked","participant":[]},"changes":{"status":"cancelled"}}})";
  auto s = h.coordinator->Submit(h.P("Device/ai-scheduler"), draft);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  std::string server_version = "3";
  CurrentReader reader = [&](const std::string& target) -> Result<json::Document> {
    BOOST_TEST(target == "Appointment/a1");
    return Doc(R"({"resourceType":"Appointment","id":"a1","meta":{"versionId":")" + server_version +
               R"("},"status":"booked","participant":[]})");
  };
  auto diff = h.coordinator->ReviewDiff(h.P("Practitioner/fd-sam"), s->proposal.id, reader);
  BOOST_REQUIRE_MESSAGE(diff.ok(), diff.status().ToString());
  BOOST_REQUIRE(diff->Size() == 1u);
  BOOST_TEST(!*json::GetBool((*diff)[0], "moved"));
  BOOST_TEST(json::Stringify((*diff)[0]["patch"]).find("cancelled") != std::string::npos);
  server_version = "4";
  auto moved = h.coordinator->ReviewDiff(h.P("Practitioner/fd-sam"), s->proposal.id, reader);
  BOOST_TEST(*json::GetBool((*moved)[0], "moved"));
  BOOST_TEST(Audit(h).back().action == "view");
}

BOOST_AUTO_TEST_CASE(chain_verifies_and_exports_after_a_full_flow) {
  CoreHarness h;
  Proposal a = h.SubmitNote("k1");
  Proposal b = h.SubmitNote("k2");
  h.coordinator->View(h.P("Practitioner/dr-ada"), a.id);
  h.coordinator->Approve(h.P("Practitioner/dr-ada"), a.id);
  h.coordinator->Reject(h.P("Practitioner/dr-ada"), b.id, {"not-needed", ""});
  auto v = VerifyAudit(*h.store);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == 5);
  std::ostringstream out;
  auto n = ExportAuditNdjson(*h.store, out);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 5);
  std::istringstream lines(out.str());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    json::Document e = Doc(line);
    BOOST_TEST(*json::GetString(e, "resourceType") == "AuditEvent");
    ++count;
  }
  BOOST_TEST(count == 5);
}

BOOST_AUTO_TEST_CASE(durable_across_reopen) {
  CoreHarness h;
  Proposal p = h.SubmitNote("k1");
  BOOST_REQUIRE(h.coordinator->Approve(h.P("Practitioner/dr-ada"), p.id).ok());
  h.Reopen();
  auto again = h.store->GetProposal(p.id);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->status == S::kApproved);
  BOOST_TEST(h.store->ListOutbox(p.id)->size() == 1u);
  BOOST_TEST(VerifyAudit(*h.store)->ok);
  BOOST_TEST(*h.store->SchemaVersion() == static_cast<int>(core::EmbeddedMigrations().size()));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
