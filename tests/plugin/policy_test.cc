#include <boost/test/unit_test.hpp>

#include "plugin/core/approval_policy.h"
#include "plugin/core/principals.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::LoadPolicy;
using testing::LoadPrincipals;

json::Document Doc(std::string_view text) {
  auto d = json::Parse(text);
  BOOST_REQUIRE(d.ok());
  return std::move(d).value();
}

BOOST_AUTO_TEST_SUITE(principals_and_policy)

BOOST_AUTO_TEST_CASE(principals_load_from_the_fixture) {
  PrincipalDirectory dir = LoadPrincipals();
  BOOST_TEST(dir.size() == 6u);
  const Principal* ada = dir.Find("Practitioner/dr-ada");
  BOOST_REQUIRE(ada);
  BOOST_TEST(ada->HasRole("clinician"));
  BOOST_TEST(!ada->IsAiAgent());
  BOOST_TEST(dir.Find("Device/ai-scribe")->IsAiAgent());
  BOOST_TEST(dir.Find("Practitioner/nobody") == nullptr);
}

BOOST_AUTO_TEST_CASE(principal_config_errors_name_the_path) {
  auto bad_id = PrincipalDirectory::Parse(R"({"principals":[{"id":"not a ref","roles":["x"]}]})");
  BOOST_TEST(bad_id.status().IsInvalid());
  BOOST_TEST(bad_id.status().message().find("$.principals[0].id") != std::string::npos);
  auto no_roles = PrincipalDirectory::Parse(R"({"principals":[{"id":"Practitioner/1","roles":[]}]})");
  BOOST_TEST(no_roles.status().message().find("roles") != std::string::npos);
  auto dup = PrincipalDirectory::Parse(
      R"({"principals":[{"id":"Practitioner/1","roles":["a"]},{"id":"Practitioner/1","roles":["b"]}]})");
  BOOST_TEST(dup.status().message().find("duplicate") != std::string::npos);
  // An AI principal can never double as a reviewer.
  auto mixed = PrincipalDirectory::Parse(
      R"({"principals":[{"id":"Device/x","roles":["ai-agent","clinician"]}]})");
  BOOST_TEST(mixed.status().IsInvalid());
}

BOOST_AUTO_TEST_CASE(ai_agent_can_never_decide) {
  ApprovalPolicy policy = LoadPolicy();
  PrincipalDirectory dir = LoadPrincipals();
  std::string role;
  for (const char* kind : {"note", "appointment", "message", "unknown"}) {
    Status s = policy.CheckDecide(*dir.Find("Device/ai-scribe"), kind, &role);
    BOOST_TEST(s.IsForbidden());
    BOOST_TEST(role.empty());
  }
  // Even a policy that names ai-agent as approver is refused when loaded.
  auto sneaky = ApprovalPolicy::Parse(
      R"({"reject_reasons":[{"code":"x"}],"kinds":{"note":{"approver_roles":["ai-agent"],"owner":["queue:q"]}}})");
  BOOST_TEST(sneaky.status().IsInvalid());
}

BOOST_AUTO_TEST_CASE(roles_per_kind) {
  ApprovalPolicy policy = LoadPolicy();
  PrincipalDirectory dir = LoadPrincipals();
  const Principal& ada = *dir.Find("Practitioner/dr-ada");
  const Principal& sam = *dir.Find("Practitioner/fd-sam");
  const Principal& kim = *dir.Find("Practitioner/admin-kim");
  std::string role;
  BOOST_TEST(policy.CheckDecide(ada, "note", &role).ok());
  BOOST_TEST(role == "clinician");
  BOOST_TEST(policy.CheckDecide(sam, "note", &role).IsForbidden());
  BOOST_TEST(policy.CheckDecide(sam, "appointment", &role).ok());
  BOOST_TEST(role == "front-desk");
  BOOST_TEST(policy.CheckDecide(kim, "note", &role).IsForbidden());
  BOOST_TEST(policy.CheckSubmit(ada, &role).IsForbidden());
  BOOST_TEST(policy.CheckSubmit(*dir.Find("Device/ai-scribe"), &role).ok());
  BOOST_TEST(policy.CheckView(*dir.Find("Device/ai-scribe"), &role).IsForbidden());
  BOOST_TEST(policy.CheckView(kim, &role).ok());
  BOOST_TEST(policy.CheckReassign(kim, "queue:front-desk", &role).ok());
  BOOST_TEST(policy.CheckReassign(ada, "queue:front-desk", &role).IsForbidden());
  BOOST_TEST(policy.CheckReassign(ada, "Practitioner/dr-ada", &role).ok());  // own item
  BOOST_TEST(policy.For("message")->two_approvers);
  BOOST_TEST(!policy.For("note")->two_approvers);
}

BOOST_AUTO_TEST_CASE(owner_rules_in_order) {
  ApprovalPolicy policy = LoadPolicy();
  PrincipalDirectory dir = LoadPrincipals();
  auto draft = Doc(R"({"author":"Practitioner/dr-grace"})");
  BOOST_TEST(*policy.ChooseOwner("note", "Practitioner/dr-ada", draft, dir) == "Practitioner/dr-ada");
  BOOST_TEST(*policy.ChooseOwner("note", "", draft, dir) == "Practitioner/dr-grace");
  // Unknown requested owner and an AI author fall through to the queue.
  auto ai_author = Doc(R"({"author":{"reference":"Device/ai-scribe"}})");
  BOOST_TEST(*policy.ChooseOwner("note", "Practitioner/ghost", ai_author, dir) == "queue:clinical-review");
  auto obj_author = Doc(R"({"author":{"reference":"Practitioner/dr-ada"}})");
  BOOST_TEST(*policy.ChooseOwner("note", "", obj_author, dir) == "Practitioner/dr-ada");
  BOOST_TEST(*policy.ChooseOwner("appointment", "", draft, dir) == "queue:front-desk");
  BOOST_TEST(*policy.ChooseOwner("message", "queue:nurses", draft, dir) == "queue:nurses");
  BOOST_TEST(policy.ChooseOwner("unknown", "", draft, dir).status().IsInvalid());
}

BOOST_AUTO_TEST_CASE(expiry_is_per_kind) {
  ApprovalPolicy policy = LoadPolicy();
  BOOST_TEST(policy.For("note")->expiry_ms == 4320LL * 60'000);
  BOOST_TEST(policy.For("appointment")->expiry_ms == 1440LL * 60'000);
}

BOOST_AUTO_TEST_CASE(policy_config_errors) {
  BOOST_TEST(ApprovalPolicy::Parse(R"({"kinds":{}})").status().IsInvalid());
  auto no_fallback = ApprovalPolicy::Parse(
      R"({"reject_reasons":[{"code":"x"}],"kinds":{"note":{"approver_roles":["clinician"],"owner":["requested"]}}})");
  BOOST_TEST(no_fallback.status().message().find("queue:") != std::string::npos);
  auto bad_rule = ApprovalPolicy::Parse(
      R"({"reject_reasons":[{"code":"x"}],"kinds":{"note":{"approver_roles":["clinician"],"owner":["whoever","queue:q"]}}})");
  BOOST_TEST(bad_rule.status().message().find("$.kinds.note.owner") != std::string::npos);
  auto no_reasons = ApprovalPolicy::Parse(
      R"({"kinds":{"note":{"approver_roles":["clinician"],"owner":["queue:q"]}}})");
  BOOST_TEST(no_reasons.status().message().find("reject_reasons") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
