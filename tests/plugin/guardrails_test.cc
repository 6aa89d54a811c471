#include "plugin/core/guardrails.h"

#include <boost/test/unit_test.hpp>

#include "tests/plugin/core_fixture.h"

namespace countersign::core {
namespace {

using testing::FakeMapper;
using testing::LoadGuardrails;

mappings::MappedDraft MapDraft(std::string_view draft) {
  FakeMapper mapper;
  mappings::MapContext ctx;
  ctx.proposal_id = "p1";
  auto m = mapper.Map(draft, ctx);
  BOOST_REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  return std::move(m).value();
}

std::vector<fhir::OutcomeIssue> Check(const Guardrails& g, std::string_view draft) {
  auto m = MapDraft(draft);
  return g.Violations(m.kind, m.bundle, m.patches);
}

bool Mentions(const std::vector<fhir::OutcomeIssue>& issues, std::string_view text,
              std::string_view code = {}) {
  for (const auto& i : issues) {
    if (i.diagnostics.find(text) != std::string::npos && (code.empty() || i.code == code)) return true;
  }
  return false;
}

const char* kAppointmentBase =
    R"({"resourceType":"Appointment","id":"a1","meta":{"versionId":"3"},"status":"booked",)"
    R"("participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]})";

BOOST_AUTO_TEST_SUITE(guardrails)

BOOST_AUTO_TEST_CASE(an_allowed_note_passes) {
  Guardrails g = LoadGuardrails();
  auto issues = Check(g, R"({"kind":"note","idempotency_key":"k","text":"hello"})");
  BOOST_TEST(issues.empty());
  auto m = MapDraft(R"({"kind":"note","idempotency_key":"k","text":"hello"})");
  BOOST_TEST(g.Check("note", m.bundle, m.patches).ok());
}

BOOST_AUTO_TEST_CASE(resource_type_not_allowed) {
  Guardrails g = LoadGuardrails();
  auto issues = Check(g, R"({"kind":"note","resource_type":"Observation","idempotency_key":"k"})");
  BOOST_REQUIRE(issues.size() == 1u);
  BOOST_TEST(issues[0].code == "forbidden");
  BOOST_TEST(issues[0].diagnostics == "create of Observation is not allowed for note proposals");
  BOOST_TEST(issues[0].expression.at(0) == "Bundle.entry[0].request");
}

BOOST_AUTO_TEST_CASE(interaction_not_allowed) {
  Guardrails g = LoadGuardrails();
  // Messages may create Communications, never update them.
  std::string draft = R"({"kind":"message","idempotency_key":"k","update":{"base":)"
                      R"({"resourceType":"Communication","id":"c1","meta":{"versionId":"1"},"status":"completed"},)"
                      R"("changes":{"status":"entered-in-error"}}})";
  auto issues = Check(g, draft);
  BOOST_TEST(Mentions(issues, "update of Communication is not allowed", "forbidden"));
}

BOOST_AUTO_TEST_CASE(patch_paths_outside_the_allow_list_are_refused) {
  Guardrails g = LoadGuardrails();
  std::string ok = std::string(R"({"kind":"appointment","idempotency_key":"k","update":{"base":)") +
                   kAppointmentBase + R"(,"changes":{"status":"cancelled"}}})";
  BOOST_TEST(Check(g, ok).empty());
  std::string bad = std::string(R"({"kind":"appointment","idempotency_key":"k","update":{"base":)") +
                    kAppointmentBase +
                    R"(,"changes":{"status":"cancelled","participant":[{"actor":{"reference":"Patient/p2"},"status":"accepted"}]}}})";
  auto issues = Check(g, bad);
  BOOST_TEST(Mentions(issues, "may not touch /participant", "forbidden"));
  BOOST_TEST(!Mentions(issues, "/status"));
}

BOOST_AUTO_TEST_CASE(update_without_a_patch_is_refused) {
  Guardrails g = LoadGuardrails();
  std::string draft = std::string(R"({"kind":"appointment","idempotency_key":"k","update":{"base":)") +
                      kAppointmentBase + R"(,"changes":{"status":"cancelled"}}})";
  auto m = MapDraft(draft);
  json::Document none(rapidjson::kArrayType);
  auto issues = g.Violations("appointment", m.bundle, none);
  BOOST_TEST(Mentions(issues, "has no reviewable patch"));
}

BOOST_AUTO_TEST_CASE(deletes_need_explicit_permission) {
  Guardrails g = LoadGuardrails();
  auto issues = Check(g, R"({"kind":"note","idempotency_key":"k","delete":"DocumentReference/old"})");
  BOOST_TEST(Mentions(issues, "delete of DocumentReference/old is not allowed", "forbidden"));

  const char* listed_only = R"({"kinds":{"note":{"interactions":{"DocumentReference":["create","delete"],
      "Device":["create"],"Provenance":["create"]}}}})";
  auto g2 = Guardrails::Parse(listed_only);
  BOOST_REQUIRE(g2.ok());
  BOOST_TEST(Mentions(Check(*g2, R"({"kind":"note","idempotency_key":"k","delete":"DocumentReference/old"})"),
                      "delete of DocumentReference/old"));

  const char* allowed = R"({"kinds":{"note":{"allow_delete":true,"interactions":{"DocumentReference":["create","delete"],
      "Device":["create"],"Provenance":["create"]}}}})";
  auto g3 = Guardrails::Parse(allowed);
  BOOST_REQUIRE(g3.ok());
  BOOST_TEST(Check(*g3, R"({"kind":"note","idempotency_key":"k","delete":"DocumentReference/old"})").empty());
}

BOOST_AUTO_TEST_CASE(too_many_entries) {
  Guardrails g = LoadGuardrails();  // note: at most 4 entries
  BOOST_TEST(Check(g, R"({"kind":"note","idempotency_key":"k","extra_entries":1})").empty());  // 4
  auto issues = Check(g, R"({"kind":"note","idempotency_key":"k","extra_entries":2})");        // 5
  BOOST_REQUIRE(issues.size() == 1u);
  BOOST_TEST(issues[0].code == "too-costly");
  BOOST_TEST(issues[0].diagnostics == "the Bundle has 5 entries; at most 4 are allowed");
}

BOOST_AUTO_TEST_CASE(text_too_large) {
  Guardrails g = LoadGuardrails();  // message: max_text_bytes 8000
  std::string ok = R"({"kind":"message","idempotency_key":"k","text":")" + std::string(8000, 'a') + "\"}";
  BOOST_TEST(Check(g, ok).empty());
  std::string big = R"({"kind":"message","idempotency_key":"k","text":")" + std::string(8001, 'a') + "\"}";
  auto issues = Check(g, big);
  BOOST_REQUIRE(issues.size() == 1u);
  BOOST_TEST(issues[0].code == "too-long");
  BOOST_TEST(issues[0].diagnostics.find("8001 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bundle_too_large) {
  auto g = Guardrails::Parse(R"({"defaults":{"max_bundle_bytes":500},"kinds":{"note":{"interactions":
      {"DocumentReference":["create"],"Device":["create"],"Provenance":["create"]}}}})");
  BOOST_REQUIRE(g.ok());
  auto issues = Check(*g, R"({"kind":"note","idempotency_key":"k","text":"x"})");
  BOOST_TEST(Mentions(issues, "at most 500", "too-long"));
}

BOOST_AUTO_TEST_CASE(check_reports_every_violation_in_one_operation_outcome) {
  Guardrails g = LoadGuardrails();
  auto m = MapDraft(R"({"kind":"note","resource_type":"Observation","idempotency_key":"k",)"
                    R"("extra_entries":3,"delete":"Patient/p1"})");
  Status s = g.Check("note", m.bundle, m.patches);
  BOOST_TEST(s.IsForbidden());
  BOOST_TEST(s.message().find("guardrails refused") == 0u);
  auto oo = json::Parse(s.operation_outcome());
  BOOST_REQUIRE(oo.ok());
  BOOST_TEST(*json::GetString(*oo, "resourceType") == "OperationOutcome");
  // 4 Observation creates + 1 delete + too many entries.
  BOOST_TEST(fhir::ReadOperationOutcome(*oo).size() == 6u);
}

BOOST_AUTO_TEST_CASE(unknown_kind_is_refused) {
  Guardrails g = LoadGuardrails();
  auto m = MapDraft(R"({"kind":"note","idempotency_key":"k"})");
  BOOST_TEST(g.Check("lab-order", m.bundle, m.patches).IsForbidden());
}

BOOST_AUTO_TEST_CASE(config_errors_name_the_path) {
  auto bad = Guardrails::Parse(R"({"kinds":{"note":{"interactions":{"Patient":["destroy"]}}}})");
  BOOST_TEST(bad.status().message().find("$.kinds.note.interactions.Patient") != std::string::npos);
  auto bad_path = Guardrails::Parse(R"({"kinds":{"note":{"update_paths":{"Patient":["name"]}}}})");
  BOOST_TEST(bad_path.status().message().find("not a JSON pointer") != std::string::npos);
  auto bad_max = Guardrails::Parse(R"({"kinds":{"note":{"max_entries":0}}})");
  BOOST_TEST(bad_max.status().IsInvalid());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
