// An approval names the revision the approver saw: with two approvers and an amendment between
// them, the second approver cannot approve content they never read. And what an approved message
// says: a Communication that was sent, stamped once by the final approval.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "plugin/core/coordinator.h"
#include "plugin/core/provenance.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using S = ProposalStatus;
using testing::CoreHarness;

std::string MessageDraft(const std::string& key) {
  return R"({"kind":"message","patient":"Patient/p1","idempotency_key":")" + key +
         R"(","text":"Your results are normal."})";
}

const char* kEdit =
    R"([{"op":"replace","path":"/entry/0/resource/payload/0/contentString","value":"Edited"}])";

BOOST_AUTO_TEST_SUITE(approve_revision)

// The flow that went wrong: A approves revision 0, A amends (revision 1), B approves having seen
// revision 0. B's approval is refused; B approves once B names revision 1.
BOOST_AUTO_TEST_CASE(a_second_approver_cannot_approve_a_revision_they_did_not_see) {
  CoreHarness h;
  auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), MessageDraft("m1"));
  BOOST_REQUIRE(m.ok());
  const std::string id = m->proposal.id;
  auto first = h.coordinator->Approve(h.P("Practitioner/dr-ada"), id, {}, 0);
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  BOOST_TEST(first->status == S::kPending);
  Amendment a;
  a.bundle_patch = kEdit;
  a.revision = 0;
  auto amended = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), id, a);
  BOOST_REQUIRE_MESSAGE(amended.ok(), amended.status().ToString());
  BOOST_TEST(amended->revision == 1);
  BOOST_TEST(amended->status == S::kPending);

  auto stale = h.coordinator->Approve(h.P("Practitioner/dr-grace"), id, "looks fine", 0);
  BOOST_TEST(stale.status().IsConflict(), stale.status().ToString());
  BOOST_TEST(stale.status().message().find("revision 1") != std::string::npos);
  auto after = h.store->GetProposal(id);
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(after->status == S::kPending);
  BOOST_TEST(after->approvals.size() == amended->approvals.size());
  BOOST_TEST(h.store->ListOutbox(id)->empty());
  // The refusal is in the audit trail.
  auto audit = h.store->ReadAudit(0, 1000);
  BOOST_REQUIRE(audit.ok());
  BOOST_TEST(audit->back().actor == "Practitioner/dr-grace");
  BOOST_TEST(audit->back().outcome == kOutcomeMinorFailure);

  auto done = h.coordinator->Approve(h.P("Practitioner/dr-grace"), id, {}, 1);
  BOOST_REQUIRE_MESSAGE(done.ok(), done.status().ToString());
  BOOST_TEST(done->status == S::kApproved);
  BOOST_TEST(h.store->ListOutbox(id)->at(0).revision == 1);
}

// An amendment starts the count again: an approval of revision 0 does not carry over.
BOOST_AUTO_TEST_CASE(an_amendment_by_another_resets_earlier_approvals) {
  CoreHarness h;
  auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), MessageDraft("m2"));
  BOOST_REQUIRE(m.ok());
  const std::string id = m->proposal.id;
  BOOST_REQUIRE(h.coordinator->Approve(h.P("Practitioner/dr-ada"), id, {}, 0).ok());
  Amendment a;
  a.bundle_patch = kEdit;
  auto amended = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-grace"), id, a);
  BOOST_REQUIRE(amended.ok());
  // Ada's approval of revision 0 plus Grace's amendment would have been two: still pending.
  BOOST_TEST(amended->status == S::kPending);
  // Ada reads revision 1 and approves it: the second approval of that revision.
  auto done = h.coordinator->Approve(h.P("Practitioner/dr-ada"), id, {}, 1);
  BOOST_REQUIRE_MESSAGE(done.ok(), done.status().ToString());
  BOOST_TEST(done->status == S::kApproved);
}

BOOST_AUTO_TEST_CASE(an_amendment_of_a_stale_revision_is_refused) {
  CoreHarness h;
  auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), MessageDraft("m3"));
  BOOST_REQUIRE(m.ok());
  Amendment a;
  a.bundle_patch = kEdit;
  BOOST_REQUIRE(h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), m->proposal.id, a).ok());
  a.revision = 0;  // Grace edits what she saw: revision 0
  auto stale = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-grace"), m->proposal.id, a);
  BOOST_TEST(stale.status().IsConflict());
  BOOST_TEST(h.store->GetProposal(m->proposal.id)->revision == 1);
}

BOOST_AUTO_TEST_CASE(a_single_approver_names_the_revision_too) {
  CoreHarness h;
  Proposal p = h.SubmitNote("n1");
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), p.id, {}, 3).status().IsConflict());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), p.id, {}, -1).status().IsConflict());
  BOOST_TEST(h.store->GetProposal(p.id)->status == S::kPending);
  // A caller without the role learns nothing about revisions: the role is checked first.
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/fd-sam"), p.id, {}, 3).status().IsForbidden());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), p.id, {}, 0).ok());
}

// The shipped message rule writes a Communication "completed"; the final approval (not the
// first of two) sets `sent`, and the CommunicationRequest profile is written "active".
BOOST_AUTO_TEST_CASE(an_approved_message_is_sent_not_in_preparation) {
  for (const char* profile : {"communication", "communication-request"}) {
    BOOST_TEST_CONTEXT(profile) {
      CoreHarness h;
      h.UseRealMappings({{"message", profile}});
      std::ifstream in(testing::FixturePath("drafts/message-create.json"));
      std::stringstream s;
      s << in.rdbuf();
      auto m = h.coordinator->Submit(h.P("Device/ai-scribe"), s.str());
      BOOST_REQUIRE_MESSAGE(m.ok(), m.status().ToString());
      const std::string id = m->proposal.id;
      auto first = h.coordinator->Approve(h.P("Practitioner/dr-ada"), id, {}, 0);
      BOOST_REQUIRE(first.ok());
      BOOST_TEST(first->bundle_json.find("\"sent\"") == std::string::npos);
      h.clock.Advance(60'000);
      const std::string released = FormatInstant(h.clock.NowMillis());
      auto second = h.coordinator->Approve(h.P("Practitioner/fd-sam"), id, {}, 0);
      BOOST_REQUIRE(second.ok());
      BOOST_TEST(second->status == S::kApproved);
      auto bundle = json::Parse(second->bundle_json);
      BOOST_REQUIRE(bundle.ok());
      const json::Value& r = (*bundle)["entry"][0]["resource"];
      if (std::string(profile) == "communication") {
        BOOST_TEST(json::GetString(r, "resourceType").value_or("") == "Communication");
        BOOST_TEST(json::GetString(r, "status").value_or("") == "completed");
        BOOST_TEST(json::GetString(r, "sent").value_or("") == released);
      } else {
        BOOST_TEST(json::GetString(r, "resourceType").value_or("") == "CommunicationRequest");
        BOOST_TEST(json::GetString(r, "status").value_or("") == "active");
        BOOST_TEST(json::Member(r, "sent") == nullptr);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
