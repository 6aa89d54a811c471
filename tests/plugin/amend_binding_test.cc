// Amendments may edit what a proposal says, never whom it is about: over the shipped mapping
// rules, every amendment path (a Bundle patch, an edited draft, a re-base onto the server's
// version) that would move a note, appointment or message to another patient or encounter is
// refused, and the store is unchanged. The other edits the review surface refuses stay refused.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "fhir/resource.h"
#include "plugin/core/coordinator.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::CoreHarness;

std::string Fixture(const std::string& name) {
  std::ifstream in(testing::FixturePath("drafts/" + name));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Case {
  const char* draft;  // fixture under fixtures/drafts
  const char* patch;  // the amendment
};

Proposal Submit(CoreHarness& h, const std::string& draft) {
  const Principal& ai = h.P(draft.find("\"appointment\"") != std::string::npos
                                ? "Device/ai-scheduler"
                                : "Device/ai-scribe");
  auto r = h.coordinator->Submit(ai, draft);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return r->proposal;
}

// The same proposal, unchanged: status, revision, content, no approval.
void ExpectUnchanged(CoreHarness& h, const Proposal& before) {
  auto after = h.store->GetProposal(before.id);
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(after->status == before.status);
  BOOST_TEST(after->revision == before.revision);
  BOOST_TEST(after->bundle_json == before.bundle_json);
  BOOST_TEST(after->patient == before.patient);
  BOOST_TEST(after->approvals.size() == before.approvals.size());
}

BOOST_AUTO_TEST_SUITE(amend_binding)

BOOST_AUTO_TEST_CASE(bundle_patches_that_move_the_record_or_touch_what_countersign_owns_are_refused) {
  const Case cases[] = {
      // Moving the record to someone else.
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/subject/reference","value":"Patient/other"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/subject","value":{"reference":"Patient/other"}}])"},
      {"note-create.json", R"([{"op":"remove","path":"/entry/0/resource/subject"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/subject","value":{"identifier":{"system":"urn:mrn","value":"other"}}}])"},
      {"note-create.json", R"([{"op":"add","path":"/entry/0/resource/subject/display","value":"x"},{"op":"replace","path":"/entry/0/resource/subject/reference","value":"Patient/pat-1/_history/1"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/context/encounter/0/reference","value":"Encounter/other"}])"},
      {"note-create.json", R"([{"op":"remove","path":"/entry/0/resource/context/encounter"}])"},
      {"note-create.json", R"([{"op":"move","from":"/entry/0/resource/subject","path":"/entry/0/resource/description"}])"},
      {"note-create.json", R"([{"op":"add","path":"/entry/0/resource/context/related","value":[{"reference":"Patient/other"}]}])"},
      {"appointment-reschedule.json", R"([{"op":"replace","path":"/entry/0/resource/participant/0/actor/reference","value":"Patient/other"}])"},
      {"message-create.json", R"([{"op":"replace","path":"/entry/0/resource/subject/reference","value":"Patient/other"}])"},
      {"message-create.json", R"([{"op":"replace","path":"/entry/0/resource/recipient/0/reference","value":"Patient/other"}])"},
      {"message-create.json", R"([{"op":"add","path":"/entry/0/resource/recipient/-","value":{"reference":"RelatedPerson/other"}}])"},
      // What the review surface refused before: Countersign's own parts, the Bundle's shape.
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/resourceType","value":"Observation"}])"},
      {"note-create.json", R"([{"op":"add","path":"/entry/0/resource/id","value":"other"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/meta","value":{}}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/request/url","value":"Patient"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/fullUrl","value":"urn:uuid:0"}])"},
      {"note-create.json", R"([{"op":"remove","path":"/entry/0"}])"},
      {"note-create.json", R"([{"op":"add","path":"/entry/-","value":{}}])"},
      {"note-create.json", R"([{"op":"replace","path":"/type","value":"batch"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/2/resource/recorded","value":"2020-01-01T00:00:00Z"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/99/resource/status","value":"x"}])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/x/resource/status","value":"x"}])"},
      {"note-create.json", R"([{"op":"copy","from":"/entry/2/resource/target","path":"/entry/0/resource/note"}])"},
      {"note-create.json", R"([])"},
      {"note-create.json", R"([{"op":"replace","path":"/entry/0/resource/description","value":"bad\u0000text"}])"},
      {"appointment-reschedule.json", R"([{"op":"replace","path":"/entry/0/resource/participant/0/status","value":"declined"}])"},
  };
  CoreHarness h;
  h.UseRealMappings();
  size_t refused = 0;
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.draft << " " << c.patch) {
      // The same fixture again is the same (still pending) proposal: its idempotency key.
      Proposal p = Submit(h, Fixture(c.draft));
      BOOST_REQUIRE(p.status == ProposalStatus::kPending);
      Amendment a;
      a.bundle_patch = c.patch;
      auto r = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), p.id, a);
      BOOST_TEST(!r.ok());
      BOOST_TEST((r.status().IsInvalid() || r.status().IsForbidden()), r.status().ToString());
      ExpectUnchanged(h, p);
      refused += r.ok() ? 0 : 1;
    }
  }
  BOOST_TEST(refused == std::size(cases));
}

BOOST_AUTO_TEST_CASE(edits_that_keep_the_subject_are_accepted) {
  CoreHarness h;
  h.UseRealMappings();
  Proposal note = Submit(h, Fixture("note-create.json"));
  Amendment a;
  a.bundle_patch = R"([{"op":"add","path":"/entry/0/resource/description","value":"Edited by Dr. Pérez & co, 100% #1"},
                       {"op":"add","path":"/entry/0/resource/subject/display","value":"Ana Núñez"}])";
  auto r = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), note.id, a);
  BOOST_TEST(r.ok(), r.status().ToString());
  BOOST_TEST(r->revision == 1);
  BOOST_TEST(r->patient == "Patient/pat-1");
}

BOOST_AUTO_TEST_CASE(an_edited_draft_cannot_change_patient_encounter_or_recipient) {
  CoreHarness h;
  h.UseRealMappings();
  struct Edit {
    const char* fixture;
    const char* from;
    const char* to;
  };
  for (const Edit& e : {Edit{"note-create.json", "\"Patient/pat-1\"", "\"Patient/other\""},
                        Edit{"note-create.json", "\"Encounter/enc-1\"", "\"Encounter/other\""},
                        Edit{"message-create.json", "\"recipient\": \"Patient/pat-1\"",
                             "\"recipient\": \"Patient/other\""}}) {
    BOOST_TEST_CONTEXT(e.fixture << " " << e.to) {
      std::string draft = Fixture(e.fixture);
      Proposal p = Submit(h, draft);
      size_t at = draft.find(e.from);
      BOOST_REQUIRE(at != std::string::npos);
      draft.replace(at, std::string(e.from).size(), e.to);
      Amendment a;
      a.draft_json = draft;
      auto r = h.coordinator->AmendAndApprove(h.P("Practitioner/dr-ada"), p.id, a);
      BOOST_TEST(r.status().IsInvalid(), r.status().ToString());
      ExpectUnchanged(h, p);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_rebase_onto_a_version_of_another_patient_is_refused) {
  CoreHarness h;
  h.UseRealMappings();
  Proposal p = Submit(h, Fixture("appointment-reschedule.json"));
  auto approved = h.coordinator->Approve(h.P("Practitioner/fd-sam"), p.id, {}, p.revision);
  BOOST_REQUIRE_MESSAGE(approved.ok(), approved.status().ToString());
  // The commit found the server past the base version: committing, then conflict.
  for (auto [from, to] : {std::pair{ProposalStatus::kApproved, ProposalStatus::kCommitting},
                          std::pair{ProposalStatus::kCommitting, ProposalStatus::kConflict}}) {
    auto cur = h.store->GetProposal(p.id);
    BOOST_REQUIRE(cur.ok());
    ProposalUpdate u;
    u.proposal_id = p.id;
    u.expected_status = from;
    u.new_status = to;
    u.event.at = 1;
    u.event.actor = "system";
    u.event.event = "transition";
    BOOST_REQUIRE(h.store->UpdateProposal(u).ok());
  }
  auto before = h.store->GetProposal(p.id);
  BOOST_REQUIRE(before.ok());
  // On the server, the appointment now belongs to another patient (version 3).
  auto moved = [](const std::string&) -> Result<json::Document> {
    auto d = json::Parse(R"({"resourceType":"Appointment","id":"appt-9","meta":{"versionId":"3"},
      "status":"booked","start":"2026-12-05T14:00:00Z","end":"2026-12-05T14:30:00Z",
      "participant":[{"actor":{"reference":"Patient/other"},"status":"accepted"}]})");
    return std::move(d).value();
  };
  auto r = h.coordinator->Rebase(h.P("Practitioner/fd-sam"), p.id, moved);
  BOOST_TEST(r.status().IsConflict(), r.status().ToString());
  ExpectUnchanged(h, *before);
  // The same move of time only, same patient: re-based.
  auto same = [](const std::string&) -> Result<json::Document> {
    auto d = json::Parse(R"({"resourceType":"Appointment","id":"appt-9","meta":{"versionId":"3"},
      "status":"booked","start":"2026-12-05T15:00:00Z","end":"2026-12-05T15:30:00Z",
      "comment":"room changed",
      "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"}]})");
    return std::move(d).value();
  };
  auto ok = h.coordinator->Rebase(h.P("Practitioner/fd-sam"), p.id, same);
  BOOST_TEST(ok.ok(), ok.status().ToString());
}

}  // namespace
BOOST_AUTO_TEST_SUITE_END()
}  // namespace countersign::core
