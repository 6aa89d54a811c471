// Hostile and stale decisions through the REST surface (Api::Handle over a real SQLite store):
// an approval names its revision (428 without, 409 when stale, ETag/If-Match), a draft with a NUL
// in any field is a 400 naming the field and the daemon keeps answering, and a Bundle patch
// cannot move a proposal to another patient.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "fhir/json.h"
#include "tests/daemon/daemon_fixture.h"

namespace countersign::daemon::testing {
namespace {

json::Document Parsed(const HttpServerResponse& r) {
  auto d = json::Parse(r.body);
  BOOST_REQUIRE_MESSAGE(d.ok(), "not JSON: " + r.body);
  return std::move(d).value();
}

// An OperationOutcome answer with this status; returns its issues' expressions.
std::set<std::string> Outcome(const HttpServerResponse& r, int status) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  auto d = Parsed(r);
  BOOST_TEST(json::GetString(d, "resourceType").value_or("") == "OperationOutcome");
  std::set<std::string> out;
  const json::Value* issues = json::Member(d, "issue");
  BOOST_REQUIRE(issues && issues->IsArray() && !issues->Empty());
  for (const auto& i : issues->GetArray()) {
    if (const json::Value* e = json::Member(i, "expression"); e && e->IsArray()) {
      for (const auto& x : e->GetArray()) out.insert(std::string(x.GetString(), x.GetStringLength()));
    }
  }
  return out;
}

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/fixtures/drafts/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The Api over the shipped mapping rules, as the daemon runs it.
void UseRealMappings(ApiHarness& h) {
  h.core.UseRealMappings();
  h.api = std::make_unique<Api>(h.Deps({}));
}

std::string IdOf(const HttpServerResponse& r) {
  BOOST_REQUIRE_MESSAGE(r.status == 201 || r.status == 200, r.body);
  return std::string(json::GetString(Parsed(r), "id").value_or(""));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(api_revisions)

BOOST_AUTO_TEST_CASE(approve_without_a_revision_is_428_and_the_etag_names_it) {
  ApiHarness h;
  const std::string id = h.Submit("r1");
  auto shown = h.Call("GET", "/proposals/" + id, kAdaToken);
  BOOST_REQUIRE(shown.status == 200);
  BOOST_TEST(shown.headers["ETag"] == "W/\"0\"");
  for (const char* body : {"", "{}", R"({"note":"fine"})"}) {
    Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, body), 428);
  }
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":"0"})"), 400);
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":-1})"), 400);
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":0.5})"), 400);
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, "", {{"If-Match", "*"}}), 400);
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, "", {{"If-Match", "W/\"x\""}}),
          400);
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":1})",
                 {{"If-Match", "W/\"0\""}}),
          400);  // the two disagree
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":1})"), 409);
  auto p = h.core.store->GetProposal(id);
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->status == core::ProposalStatus::kPending);
  BOOST_TEST(p->approvals.empty());
  auto ok = h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, "", {{"If-Match", "W/\"0\""}});
  BOOST_TEST(ok.status == 200, ok.body);
}

// Two approvers, an amendment between them: the second approval of the old revision is a 409,
// of the revision shown after the amendment a 200.
BOOST_AUTO_TEST_CASE(a_stale_second_approval_is_409) {
  ApiHarness h;
  auto submitted = h.Call("POST", "/drafts", kAiToken,
                          R"({"kind":"message","patient":"Patient/p1","idempotency_key":"m1",)"
                          R"("text":"Your results are normal."})");
  const std::string id = IdOf(submitted);
  BOOST_TEST(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":0})").status ==
             200);
  auto amended = h.Call("POST", "/proposals/" + id + "/amend", kAdaToken,
                        R"({"revision":0,"bundle_patch":[{"op":"replace",)"
                        R"("path":"/entry/0/resource/payload/0/contentString","value":"Edited"}]})");
  BOOST_REQUIRE_MESSAGE(amended.status == 200, amended.body);
  BOOST_TEST(json::GetInt(Parsed(amended), "revision").value_or(-1) == 1);
  Outcome(h.Call("POST", "/proposals/" + id + "/approve", kGraceToken, "", {{"If-Match", "W/\"0\""}}),
          409);
  BOOST_TEST(h.core.store->ListOutbox(id)->empty());
  auto shown = h.Call("GET", "/proposals/" + id, kGraceToken);
  BOOST_TEST(shown.headers["ETag"] == "W/\"1\"");
  auto ok = h.Call("POST", "/proposals/" + id + "/approve", kGraceToken, R"({"revision":1})");
  BOOST_REQUIRE_MESSAGE(ok.status == 200, ok.body);
  BOOST_TEST(json::GetString(Parsed(ok), "status").value_or("") == "approved");
}

// The request that took the daemon down: a NUL after the kind. Then a NUL in each field that
// reached the FHIR server or the store before; the Api keeps answering throughout.
BOOST_AUTO_TEST_CASE(a_nul_in_a_draft_is_400_with_its_path) {
  ApiHarness h;
  UseRealMappings(h);
  const std::string draft = Fixture("note-create.json");
  struct Field {
    const char* find;
    const char* with;
    const char* path;
  };
  const Field fields[] = {
      {R"("kind": "note")", R"("kind": "note\u0000")", "draft.kind"},
      {R"("action": "create")", R"("action": "create\u0000")", "draft.action"},
      {R"("patient": "Patient/pat-1")", R"("patient": "Patient/pat-1\u0000")", "draft.patient"},
      {R"("encounter": "Encounter/enc-1")", R"("encounter": "Encounter/enc-1\u0000x")", "draft.encounter"},
      {R"("author": "Practitioner/dr-ada")", R"("author": "Practitioner/dr-ada\u0000")", "draft.content.author"},
      {R"("date": "2026-11-24T10:30:00Z")", R"("date": "2026-11-24T10:30:00Z\u0000")", "draft.content.date"},
      {R"("format": "text/plain")", R"("format": "text/plain\u0000")", "draft.content.format"},
      {R"("code": "11506-3")", R"("code": "11506-3\u0000")", "draft.content.type.code"},
      {R"("requested_owner": "Practitioner/dr-ada")", R"("requested_owner": "Practitioner/dr-ada\u0000")", "draft.requested_owner"},
      {R"("idempotency_key": "scribe-visit-1001")", R"("idempotency_key": "scribe\u0000-visit-1001")", "draft.idempotency_key"},
      {R"("vendor": "Acme Health AI")", R"("vendor": "Acme Health AI\u0000")", "draft.ai.vendor"},
      {R"("model": "scribe-large")", R"("model": "\u0000scribe-large")", "draft.ai.model"},
      {R"("text": "Summarise)", R"("text": "\u0000Summarise)", "draft.ai.prompt.text"},
  };
  for (const Field& f : fields) {
    BOOST_TEST_CONTEXT(f.path) {
      std::string bad = draft;
      size_t at = bad.find(f.find);
      BOOST_REQUIRE(at != std::string::npos);
      bad.replace(at, std::string(f.find).size(), f.with);
      auto r = h.Call("POST", "/drafts", kAiToken, bad);
      BOOST_TEST(Outcome(r, 400).count(f.path) == 1u);
    }
  }
  core::PageRequest page;
  BOOST_TEST(h.core.store->ListProposals({}, page)->items.empty());
  // Still serving: the same draft without the NUL is accepted.
  auto good = h.Call("POST", "/drafts", kAiToken, draft);
  BOOST_TEST(good.status == 201, good.body);
}

BOOST_AUTO_TEST_CASE(a_bundle_patch_cannot_move_a_note_to_another_patient) {
  ApiHarness h;
  UseRealMappings(h);
  const std::string id = IdOf(h.Call("POST", "/drafts", kAiToken, Fixture("note-create.json")));
  Outcome(h.Call("POST", "/proposals/" + id + "/amend", kAdaToken,
                 R"({"bundle_patch":[{"op":"replace","path":"/entry/0/resource/subject/reference",)"
                 R"("value":"Patient/other"}]})"),
          400);
  auto p = h.core.store->GetProposal(id);
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->status == core::ProposalStatus::kPending);
  BOOST_TEST(p->revision == 0);
  BOOST_TEST(p->bundle_json.find("Patient/other") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace countersign::daemon::testing
