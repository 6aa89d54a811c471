// Who may decide what: the owner-only switch (a person decides only what they own, themselves or
// through their queues), and the policy's say over the reviewer the AI asks for.
#include <boost/test/unit_test.hpp>

#include "plugin/core/coordinator.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::CoreHarness;

const char* kPrincipals = R"({"principals":[
  {"id":"Device/ai-scribe","roles":["ai-agent"]},
  {"id":"Practitioner/dr-ada","display":"Dr. Ada Lovelace","roles":["clinician"],"queues":["clinical-review"]},
  {"id":"Practitioner/dr-grace","roles":["clinician"]},
  {"id":"Practitioner/fd-sam","roles":["front-desk"],"queues":["front-desk"]},
  {"id":"Practitioner/admin-kim","roles":["admin"]}]})";

std::string Policy(const std::string& owner_only, const std::string& note_owner) {
  return R"({"reject_reasons":[{"code":"other"}],"reassign_roles":["admin"],)" + owner_only +
         R"("kinds":{"note":{"approver_roles":["clinician"],"owner":)" + note_owner + R"(},)"
         R"("message":{"approver_roles":["clinician","front-desk"],"owner":["requested","queue:front-desk"],)"
         R"("owner_only":false}}})";
}

void Configure(CoreHarness& h, const std::string& policy) {
  auto dir = PrincipalDirectory::Parse(kPrincipals);
  BOOST_REQUIRE_MESSAGE(dir.ok(), dir.status().ToString());
  auto p = ApprovalPolicy::Parse(policy);
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  h.principals = std::move(dir).value();
  h.policy = std::move(p).value();
  h.Reopen();
}

std::string Note(const std::string& key, const std::string& requested) {
  return R"({"kind":"note","patient":"Patient/p1","idempotency_key":")" + key +
         R"(","text":"x","requested_owner":")" + requested + R"("})";
}

Proposal Submit(CoreHarness& h, const std::string& draft) {
  auto r = h.coordinator->Submit(h.P("Device/ai-scribe"), draft);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return r->proposal;
}

BOOST_AUTO_TEST_SUITE(owner_policy)

BOOST_AUTO_TEST_CASE(owner_only_lets_people_decide_only_what_they_own) {
  CoreHarness h;
  Configure(h, Policy(R"("owner_only":true,)", R"(["requested","queue:clinical-review"])"));
  Proposal mine = Submit(h, Note("k1", "Practitioner/dr-ada"));
  BOOST_TEST(mine.owner == "Practitioner/dr-ada");
  auto other = h.coordinator->Approve(h.P("Practitioner/dr-grace"), mine.id, {}, 0);
  BOOST_TEST(other.status().IsForbidden(), other.status().ToString());
  BOOST_TEST(other.status().message().find("reassign") != std::string::npos);
  RejectReason why{"other", "not mine"};
  BOOST_TEST(h.coordinator->Reject(h.P("Practitioner/dr-grace"), mine.id, why).status().IsForbidden());
  Amendment edit;
  edit.bundle_patch = R"([{"op":"add","path":"/entry/0/resource/description","value":"x"}])";
  BOOST_TEST(h.coordinator->AmendAndApprove(h.P("Practitioner/dr-grace"), mine.id, edit)
                 .status()
                 .IsForbidden());
  BOOST_TEST(h.store->GetProposal(mine.id)->status == ProposalStatus::kPending);
  // Through a queue: Ada works clinical-review, Grace does not.
  Proposal queued = Submit(h, Note("k2", "queue:clinical-review"));
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-grace"), queued.id, {}, 0).status().IsForbidden());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), queued.id, {}, 0).ok());
  // Reassigned by an admin, it becomes Grace's to decide.
  BOOST_REQUIRE(h.coordinator->Reassign(h.P("Practitioner/admin-kim"), mine.id,
                                        "Practitioner/dr-grace", "on call")
                    .ok());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-ada"), mine.id, {}, 0).status().IsForbidden());
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-grace"), mine.id, {}, 0).ok());
  // The per-kind setting wins over the default: messages stay open to every reviewer.
  Proposal msg = Submit(h, R"({"kind":"message","patient":"Patient/p1","idempotency_key":"m1","text":"x"})");
  BOOST_TEST(msg.owner == "queue:front-desk");
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-grace"), msg.id, {}, 0).ok());
}

BOOST_AUTO_TEST_CASE(owner_only_is_off_by_default) {
  CoreHarness h;
  Configure(h, Policy("", R"(["requested","queue:clinical-review"])"));
  Proposal p = Submit(h, Note("k1", "Practitioner/dr-ada"));
  BOOST_TEST(h.coordinator->Approve(h.P("Practitioner/dr-grace"), p.id, {}, 0).ok());
}

BOOST_AUTO_TEST_CASE(the_policy_can_override_the_requested_owner) {
  PrincipalDirectory dir = *PrincipalDirectory::Parse(kPrincipals);
  auto draft = json::Parse("{}");
  // A queue listed before "requested" always wins.
  auto routed = *ApprovalPolicy::Parse(Policy("", R"(["queue:cardiology","requested"])"));
  BOOST_TEST(*routed.ChooseOwner("note", "Practitioner/dr-ada", *draft, dir) == "queue:cardiology");
  // Without "requested" the AI's choice is ignored.
  auto ignore = *ApprovalPolicy::Parse(Policy("", R"(["queue:clinical-review"])"));
  BOOST_TEST(*ignore.ChooseOwner("note", "Practitioner/dr-ada", *draft, dir) == "queue:clinical-review");
  // "requested" takes a queue, or a person who may decide the kind; not the front desk for a
  // note, which nobody there could approve.
  auto asked = *ApprovalPolicy::Parse(Policy("", R"(["requested","queue:clinical-review"])"));
  BOOST_TEST(*asked.ChooseOwner("note", "Practitioner/dr-ada", *draft, dir) == "Practitioner/dr-ada");
  BOOST_TEST(*asked.ChooseOwner("note", "queue:night", *draft, dir) == "queue:night");
  BOOST_TEST(*asked.ChooseOwner("note", "Practitioner/fd-sam", *draft, dir) == "queue:clinical-review");
  BOOST_TEST(*asked.ChooseOwner("note", "Device/ai-scribe", *draft, dir) == "queue:clinical-review");
  BOOST_TEST(*asked.ChooseOwner("message", "Practitioner/fd-sam", *draft, dir) == "Practitioner/fd-sam");
}

BOOST_AUTO_TEST_CASE(policy_and_principal_errors_name_the_path) {
  auto bad = ApprovalPolicy::Parse(Policy(R"("owner_only":"yes",)", R"(["queue:q"])"));
  BOOST_TEST(bad.status().message().find("$.owner_only") != std::string::npos);
  auto kind = ApprovalPolicy::Parse(
      R"({"reject_reasons":[{"code":"x"}],"kinds":{"note":{"approver_roles":["clinician"],"owner":["queue:q"],"owner_only":1}}})");
  BOOST_TEST(kind.status().message().find("$.kinds.note.owner_only") != std::string::npos);
  for (const char* queues : {R"("queues":"front-desk")", R"("queues":["queue:front-desk"])",
                             R"("queues":[""])", R"("queues":["a\u0000b"])"}) {
    auto p = PrincipalDirectory::Parse(std::string(R"({"principals":[{"id":"Practitioner/x","roles":["clinician"],)") +
                                       queues + "}]}");
    BOOST_TEST(p.status().message().find("queues") != std::string::npos, queues);
  }
  Principal ada{"Practitioner/ada", "", {"clinician"}, {"clinical-review"}};
  BOOST_TEST(ada.Owns("Practitioner/ada"));
  BOOST_TEST(ada.Owns("queue:clinical-review"));
  BOOST_TEST(!ada.Owns("queue:clinical"));
  BOOST_TEST(!ada.Owns("clinical-review"));
  BOOST_TEST(!ada.Owns("Practitioner/ada2"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
