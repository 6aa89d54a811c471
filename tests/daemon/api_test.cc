// The REST API through Api::Handle(): authentication, roles, limits, errors as OperationOutcome,
// Idempotency-Key, paging, hostile filters — over a real SQLite store.
#include <boost/test/unit_test.hpp>

#include <set>

#include "fhir/json.h"
#include "tests/daemon/daemon_fixture.h"

namespace countersign::daemon::testing {
namespace {

using core::testing::NoteDraft;

json::Document Body(const HttpServerResponse& r) {
  auto d = json::Parse(r.body);
  BOOST_REQUIRE_MESSAGE(d.ok(), "not JSON: " + r.body);
  return std::move(d).value();
}

// An error answer: the status, an OperationOutcome body, the FHIR JSON content type.
void ExpectOutcome(const HttpServerResponse& r, int status) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  auto ct = r.headers.find("content-type");
  BOOST_REQUIRE(ct != r.headers.end());
  BOOST_TEST(ct->second == "application/fhir+json");
  auto d = Body(r);
  BOOST_TEST(json::GetString(d, "resourceType").value_or("") == "OperationOutcome");
  const json::Value* issues = json::Member(d, "issue");
  BOOST_REQUIRE(issues && issues->IsArray() && !issues->Empty());
}

std::string StatusOf(ApiHarness& h, const std::string& id) {
  auto p = h.core.store->GetProposal(id);
  BOOST_REQUIRE(p.ok());
  return core::StatusName(p->status);
}

int64_t AuditCount(ApiHarness& h) {
  auto head = h.core.store->ReadAuditHead();
  BOOST_REQUIRE(head.ok());
  return head->count;
}

int64_t ProposalCount(ApiHarness& h) {
  core::PageRequest page;
  page.limit = 1000;
  auto r = h.core.store->ListProposals({}, page);
  BOOST_REQUIRE(r.ok());
  return static_cast<int64_t>(r->items.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(api)

BOOST_AUTO_TEST_CASE(health_and_metrics_need_no_token) {
  ApiHarness h;
  h.Submit("k1");
  auto health = h.Call("GET", "/healthz");
  BOOST_TEST(health.status == 200);
  auto metrics = h.Call("GET", "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(metrics.body.find("countersign_proposals{status=\"pending\"} 1") != std::string::npos,
             metrics.body);
  BOOST_TEST(metrics.body.find("countersign_http_requests_total{method=\"POST\",status=\"201\"} 1") !=
             std::string::npos);
  BOOST_TEST(metrics.body.find("countersign_commit_latency_seconds_bucket") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_or_unknown_token_is_401) {
  ApiHarness h;
  for (const char* target : {"/proposals", "/drafts", "/audit/verify", "/nowhere"}) {
    auto r = h.Call("GET", target);
    ExpectOutcome(r, 401);
    BOOST_TEST(r.headers["WWW-Authenticate"].rfind("Bearer", 0) == 0);
  }
  auto unknown = h.Call("GET", "/proposals", "not-a-token");
  ExpectOutcome(unknown, 401);
  BOOST_TEST(unknown.headers["WWW-Authenticate"].find("invalid_token") != std::string::npos);
  HttpServerRequest basic;
  basic.method = "GET";
  basic.path = "/proposals";
  basic.headers["authorization"] = std::string("Basic ") + kAdaToken;
  ExpectOutcome(h.api->Handle(basic), 401);
  // The scheme is case-insensitive and the header name too.
  HttpServerRequest lower;
  lower.method = "GET";
  lower.path = "/proposals";
  lower.headers["authorization"] = std::string("bearer ") + kAdaToken;
  BOOST_TEST(h.api->Handle(lower).status == 200);
  auto submit = h.Call("POST", "/drafts", "", NoteDraft("k1"));
  ExpectOutcome(submit, 401);
  BOOST_TEST(ProposalCount(h) == 0);
}

BOOST_AUTO_TEST_CASE(submit_answers_201_with_location) {
  ApiHarness h;
  auto r = h.Call("POST", "/drafts", kAiToken, NoteDraft("k1"));
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  auto d = Body(r);
  std::string id(json::GetString(d, "id").value_or(""));
  BOOST_TEST(!id.empty());
  BOOST_TEST(r.headers["Location"] == "/proposals/" + id);
  BOOST_TEST(json::GetString(d, "status").value_or("") == "pending");
  BOOST_TEST(json::GetString(d, "ai_principal").value_or("") == "Device/ai-scribe");
}

BOOST_AUTO_TEST_CASE(clinician_cannot_submit) {
  ApiHarness h;
  ExpectOutcome(h.Call("POST", "/drafts", kAdaToken, NoteDraft("k1")), 403);
  BOOST_TEST(ProposalCount(h) == 0);
}

BOOST_AUTO_TEST_CASE(invalid_draft_is_400_with_the_mappers_outcome) {
  ApiHarness h;
  auto r = h.Call("POST", "/drafts", kAiToken, R"({"kind":"note","invalid":true})");
  ExpectOutcome(r, 400);
  BOOST_TEST(r.body.find("bad draft") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(guardrail_refusal_is_422) {
  ApiHarness h;
  // The note guardrail allows 4 entries; the fake mapper adds 1 + extra + Device + Provenance.
  auto r = h.Call("POST", "/drafts", kAiToken,
                  R"({"kind":"note","patient":"Patient/p1","idempotency_key":"g1","text":"x",)"
                  R"("extra_entries":5})");
  ExpectOutcome(r, 422);
  BOOST_TEST(ProposalCount(h) == 0);
}

BOOST_AUTO_TEST_CASE(idempotency_key_same_body_same_answer_other_body_refused) {
  ApiHarness h;
  const std::string draft = R"({"kind":"note","patient":"Patient/p1","text":"hello"})";
  auto first = h.Call("POST", "/drafts", kAiToken, draft, {{"Idempotency-Key", "idem-1"}});
  BOOST_REQUIRE_MESSAGE(first.status == 201, first.body);
  auto again = h.Call("POST", "/drafts", kAiToken, draft, {{"Idempotency-Key", "idem-1"}});
  BOOST_TEST(again.status == 201);
  BOOST_TEST(again.headers["Location"] == first.headers["Location"]);
  BOOST_TEST(again.headers["Idempotent-Replayed"] == "true");
  BOOST_TEST(json::GetString(Body(again), "id").value() == json::GetString(Body(first), "id").value());
  BOOST_TEST(ProposalCount(h) == 1);

  auto other = h.Call("POST", "/drafts", kAiToken,
                      R"({"kind":"note","patient":"Patient/p1","text":"changed"})",
                      {{"Idempotency-Key", "idem-1"}});
  ExpectOutcome(other, 422);
  BOOST_TEST(ProposalCount(h) == 1);

  // The header and a key inside the draft must agree.
  auto mismatch = h.Call("POST", "/drafts", kAiToken, NoteDraft("inside"),
                         {{"Idempotency-Key", "outside"}});
  ExpectOutcome(mismatch, 400);
  auto agree = h.Call("POST", "/drafts", kAiToken, NoteDraft("same"), {{"Idempotency-Key", "same"}});
  BOOST_TEST(agree.status == 201);
  ExpectOutcome(h.Call("POST", "/drafts", kAiToken, draft, {{"Idempotency-Key", "bad key\x01"}}),
                400);
}

BOOST_AUTO_TEST_CASE(wrong_content_type_is_415) {
  ApiHarness h;
  auto r = h.Call("POST", "/drafts", kAiToken, NoteDraft("k1"), {{"Content-Type", "text/plain"}});
  ExpectOutcome(r, 415);
  auto fhir = h.Call("POST", "/drafts", kAiToken, NoteDraft("k2"),
                     {{"Content-Type", "application/fhir+json; charset=utf-8"}});
  BOOST_TEST(fhir.status == 201);
  BOOST_TEST(ProposalCount(h) == 1);
}

BOOST_AUTO_TEST_CASE(oversized_body_is_413_and_changes_nothing) {
  ApiLimits limits;
  limits.max_body_bytes = 4096;
  ApiHarness h(limits);
  const int64_t audit_before = AuditCount(h);
  auto r = h.Call("POST", "/drafts", kAiToken, NoteDraft("big", std::string(8000, 'x')));
  ExpectOutcome(r, 413);
  BOOST_TEST(ProposalCount(h) == 0);
  BOOST_TEST(AuditCount(h) == audit_before);
}

BOOST_AUTO_TEST_CASE(deeply_nested_or_malformed_json_is_400_and_changes_nothing) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  const int64_t audit_before = AuditCount(h);
  std::string deep = "{\"kind\":\"note\",\"x\":" + std::string(500, '[') + std::string(500, ']') + "}";
  ExpectOutcome(h.Call("POST", "/drafts", kAiToken, deep), 400);
  std::string deeper(100000, '[');
  ExpectOutcome(h.Call("POST", "/drafts", kAiToken, deeper), 400);
  ExpectOutcome(h.Call("POST", "/drafts", kAiToken, "{\"kind\":"), 400);
  ExpectOutcome(h.Call("POST", "/drafts", kAiToken, "[1,2]"), 400);
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/approve", kAdaToken,
                       "{\"note\":" + std::string(100, '[') + "}"),
                400);
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/reject", kAdaToken, "{\"code\": 7}"), 400);
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/amend", kAdaToken, "{\"note\":\"x\"}"), 400);
  BOOST_TEST(ProposalCount(h) == 1);
  BOOST_TEST(StatusOf(h, id) == "pending");
  BOOST_TEST(AuditCount(h) == audit_before);
}

BOOST_AUTO_TEST_CASE(ai_token_cannot_approve_amend_or_reject) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/approve", kAiToken, R"({"revision":0})"), 403);
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/amend", kAiToken,
                       "{\"draft\":" + NoteDraft("k1", "edited") + ",\"note\":\"x\"}"),
                403);
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/reject", kAiToken,
                       R"({"code":"not-needed","text":"dup"})"),
                403);
  ExpectOutcome(h.Call("GET", "/proposals/" + id, kAiToken), 403);
  BOOST_TEST(StatusOf(h, id) == "pending");
}

BOOST_AUTO_TEST_CASE(reviewer_outside_their_kind_is_403) {
  ApiHarness h;
  const std::string id = h.Submit("k1");  // a note: clinicians only
  ExpectOutcome(h.Call("POST", "/proposals/" + id + "/approve", kSamToken, R"({"revision":0})"), 403);
  BOOST_TEST(StatusOf(h, id) == "pending");
}

BOOST_AUTO_TEST_CASE(approver_cannot_be_spoofed_through_the_body) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  for (const char* body : {R"({"approver":"Practitioner/dr-grace"})",
                           R"({"note":"ok","principal":"Practitioner/dr-grace"})",
                           R"({"note":"ok","who":{"id":"Practitioner/dr-grace"}})",
                           R"({"note":"ok","roles":["clinician"]})"}) {
    ExpectOutcome(h.Call("POST", "/proposals/" + id + "/approve", kSamToken, body), 400);
    ExpectOutcome(h.Call("POST", "/proposals/" + id + "/approve", kAiToken, body), 400);
  }
  BOOST_TEST(StatusOf(h, id) == "pending");
  auto ok = h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"note":"looks right","revision":0})");
  BOOST_REQUIRE_MESSAGE(ok.status == 200, ok.body);
  auto p = h.core.store->GetProposal(id);
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(core::StatusName(p->status) == std::string("approved"));
  BOOST_REQUIRE(p->approvals.size() == 1u);
  BOOST_TEST(p->approvals[0].approver == "Practitioner/dr-ada");
}

// The daemon's commit worker is woken by the approval itself (ApiDeps::outbox_ready), not left
// to its next poll; refused and non-final decisions do not wake it.
BOOST_AUTO_TEST_CASE(final_approval_wakes_the_commit_worker) {
  ApiHarness h;
  int wakes = 0;
  ApiDeps deps = h.Deps({});
  deps.outbox_ready = [&wakes] { ++wakes; };
  h.api = std::make_unique<Api>(std::move(deps));
  auto call = [&](const std::string& target, const std::string& token, const std::string& body) {
    return h.Call("POST", target, token, body);
  };
  const std::string a = h.Submit("a");
  const std::string b = h.Submit("b");
  BOOST_TEST(call("/proposals/" + a + "/approve", kAiToken, R"({"revision":0})").status == 403);
  BOOST_TEST(call("/proposals/" + b + "/reject", kAdaToken, R"({"code":"not-needed"})").status ==
             200);
  BOOST_TEST(wakes == 0);
  BOOST_TEST(call("/proposals/" + a + "/approve", kAdaToken, R"({"revision":0})").status == 200);
  BOOST_TEST(wakes == 1);
  BOOST_TEST(call("/proposals/" + a + "/approve", kAdaToken, R"({"revision":0})").status == 409);
  BOOST_TEST(wakes == 1);
}

BOOST_AUTO_TEST_CASE(decisions_and_illegal_transitions) {
  ApiHarness h;
  const std::string a = h.Submit("a");
  const std::string b = h.Submit("b");
  const std::string c = h.Submit("c");
  auto rej = h.Call("POST", "/proposals/" + a + "/reject", kAdaToken,
                    R"({"code":"not-needed","text":"duplicate"})");
  BOOST_TEST(rej.status == 200, rej.body);
  BOOST_TEST(json::GetString(Body(rej), "status").value_or("") == "rejected");
  ExpectOutcome(h.Call("POST", "/proposals/" + a + "/approve", kAdaToken, R"({"revision":0})"), 409);
  ExpectOutcome(h.Call("POST", "/proposals/" + b + "/reject", kAdaToken, R"({"code":"nonsense"})"),
                400);
  ExpectOutcome(h.Call("POST", "/proposals/" + b + "/reject", kAdaToken, R"({"text":"no code"})"),
                400);

  auto amend = h.Call("POST", "/proposals/" + b + "/amend", kAdaToken,
                      "{\"draft\":" + NoteDraft("b", "Patient is very well.") +
                          ",\"note\":\"wording\"}");
  BOOST_TEST(amend.status == 200, amend.body);
  auto amended = Body(amend);
  BOOST_TEST(json::GetString(amended, "status").value_or("") == "approved");
  BOOST_TEST(json::GetInt(amended, "revision").value_or(0) == 1);

  auto reassign = h.Call("POST", "/proposals/" + c + "/reassign", kSamToken,
                         R"({"owner":"Practitioner/dr-grace","reason":"on call"})");
  BOOST_TEST(reassign.status == 200, reassign.body);
  BOOST_TEST(json::GetString(Body(reassign), "owner").value_or("") == "Practitioner/dr-grace");
  ExpectOutcome(h.Call("POST", "/proposals/" + c + "/reassign", kAdaToken,
                       R"({"owner":"Practitioner/dr-ada"})"),
                403);
  ExpectOutcome(h.Call("POST", "/proposals/nope/approve", kAdaToken, R"({"revision":0})"), 404);
  ExpectOutcome(h.Call("POST", "/proposals/" + c + "/rebase", kAdaToken, ""), 503);
  ExpectOutcome(h.Call("GET", "/proposals/" + c + "/approve", kAdaToken), 405);
  ExpectOutcome(h.Call("DELETE", "/proposals/" + c, kAdaToken), 405);
  ExpectOutcome(h.Call("GET", "/nowhere", kAdaToken), 404);
}

// A proposal whose commit failed, put there through the store the way the commit engine does it
// (claim, then complete as failed with the attempt's result).
std::string FailedProposal(ApiHarness& h, const std::string& key, const std::string& result_json) {
  const std::string id = h.Submit(key);
  auto approved = h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"revision":0})");
  BOOST_REQUIRE_MESSAGE(approved.status == 200, approved.body);
  auto claimed = h.core.store->ClaimOutbox("test-worker", h.core.clock.NowMillis(), 60'000, 100);
  BOOST_REQUIRE(claimed.ok());
  for (const core::OutboxEntry& e : *claimed) {
    if (e.proposal_id != id) continue;
    core::ProposalUpdate u;
    u.proposal_id = id;
    u.expected_status = core::ProposalStatus::kCommitting;
    u.new_status = core::ProposalStatus::kFailed;
    u.event.at = h.core.clock.NowMillis();
    u.event.actor = "test-worker";
    u.event.actor_role = "commit-engine";
    u.event.event = "transition";
    u.event.detail_json = result_json;
    BOOST_REQUIRE(h.core.store->CompleteOutbox(e.id, "test-worker", result_json, u).ok());
  }
  BOOST_REQUIRE(StatusOf(h, id) == "failed");
  return id;
}

// POST /proposals/{id}/retry: only a failed commit, only by someone who may approve its kind,
// with a reason, and not when the failed attempt compensated what it had created. It queues a
// new outbox entry, wakes the worker and is audited.
BOOST_AUTO_TEST_CASE(retry_of_a_failed_commit) {
  ApiHarness h;
  int wakes = 0;
  ApiDeps deps = h.Deps({});
  deps.outbox_ready = [&wakes] { ++wakes; };
  h.api = std::make_unique<Api>(std::move(deps));
  const std::string pending = h.Submit("pending");
  const std::string failed = FailedProposal(
      h, "failed", R"({"result":"failed","error":"unavailable: gave up after 5 attempts"})");
  const std::string compensated = FailedProposal(
      h, "compensated",
      R"({"result":"failed","writes":[],"compensated":["DocumentReference/9/_history/2"]})");
  const std::string reason = R"({"reason":"the EHR's outage is over"})";
  wakes = 0;

  ExpectOutcome(h.Call("POST", "/proposals/" + pending + "/retry", kAdaToken, reason), 409);
  ExpectOutcome(h.Call("POST", "/proposals/" + failed + "/retry", kAiToken, reason), 403);
  ExpectOutcome(h.Call("POST", "/proposals/" + failed + "/retry", kSamToken, reason), 403);
  ExpectOutcome(h.Call("POST", "/proposals/" + failed + "/retry", kAdaToken, "{}"), 400);
  ExpectOutcome(h.Call("POST", "/proposals/" + failed + "/retry", kAdaToken,
                       R"({"reason":"x","force":true})"),
                400);
  auto refused = h.Call("POST", "/proposals/" + compensated + "/retry", kAdaToken, reason);
  ExpectOutcome(refused, 409);
  BOOST_TEST(refused.body.find("entered-in-error") != std::string::npos, refused.body);
  BOOST_TEST(StatusOf(h, compensated) == "failed");
  BOOST_TEST(wakes == 0);

  auto ok = h.Call("POST", "/proposals/" + failed + "/retry", kAdaToken, reason);
  BOOST_REQUIRE_MESSAGE(ok.status == 200, ok.body);
  BOOST_TEST(json::GetString(Body(ok), "status").value_or("") == "approved");
  BOOST_TEST(wakes == 1);
  auto outbox = h.core.store->ListOutbox(failed);
  BOOST_REQUIRE(outbox.ok() && outbox->size() == 2u);
  BOOST_TEST(outbox->front().state == "done");
  BOOST_TEST(outbox->back().state == "ready");
  ExpectOutcome(h.Call("POST", "/proposals/" + failed + "/retry", kAdaToken, reason), 409);
  auto trail = h.Call("GET", "/proposals/" + failed + "/audit", kAdaToken);
  BOOST_REQUIRE(trail.status == 200);
  BOOST_TEST(trail.body.find("\"commit-retry\"") != std::string::npos);
  BOOST_TEST(trail.body.find("outage is over") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(get_shows_content_history_and_provenance) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  auto r = h.Call("GET", "/proposals/" + id, kAdaToken);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  auto d = Body(r);
  BOOST_TEST(json::Member(d, "draft") != nullptr);
  const json::Value* bundle = json::Member(d, "bundle");
  BOOST_REQUIRE(bundle != nullptr);
  BOOST_TEST(json::GetString(*bundle, "resourceType").value_or("") == "Bundle");
  const json::Value* prov = json::Member(d, "provenance");
  BOOST_REQUIRE(prov != nullptr);
  BOOST_TEST(json::GetString(*prov, "resourceType").value_or("") == "Provenance");
  const json::Value* history = json::Member(d, "history");
  BOOST_REQUIRE(history && history->IsArray() && history->Size() == 1u);
  ExpectOutcome(h.Call("GET", "/proposals/" + id + "?diff=true", kAdaToken), 503);
  ExpectOutcome(h.Call("GET", "/proposals/" + id + "?diff=maybe", kAdaToken), 400);
  ExpectOutcome(h.Call("GET", "/proposals/does-not-exist", kAdaToken), 404);
}

BOOST_AUTO_TEST_CASE(review_diff_uses_the_current_reader) {
  ApiHarness h;
  ApiDeps deps = h.Deps({});
  deps.read_current = [](const std::string&) -> Result<json::Document> {
    return Status::Unavailable("server down");
  };
  h.api = std::make_unique<Api>(std::move(deps));
  const std::string id = h.Submit("k1");
  auto r = h.Call("GET", "/proposals/" + id + "?diff=true", kAdaToken);
  // A create-only proposal has no update to diff: the reader is not needed.
  BOOST_TEST(r.status == 200, r.body);
  auto d = Body(r);
  const json::Value* diff = json::Member(d, "diff");
  BOOST_REQUIRE(diff != nullptr);
  BOOST_TEST(diff->IsArray());
}

BOOST_AUTO_TEST_CASE(paging_follows_next_links) {
  ApiHarness h;
  std::set<std::string> submitted;
  for (int i = 0; i < 5; ++i) {
    submitted.insert(h.Submit("page-" + std::to_string(i)));
    h.core.clock.Advance(1000);
  }
  std::set<std::string> seen;
  std::string target = "/proposals?limit=2&status=pending";
  int pages = 0;
  while (!target.empty()) {
    auto r = h.Call("GET", target, kAdaToken);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    auto d = Body(r);
    for (const auto& item : json::Member(d, "items")->GetArray()) {
      seen.insert(std::string(json::GetString(item, "id").value_or("")));
    }
    target = std::string(json::GetString(d, "next").value_or(""));
    ++pages;
    BOOST_REQUIRE(pages <= 5);
  }
  BOOST_TEST(pages == 3);
  BOOST_TEST((seen == submitted));
  ExpectOutcome(h.Call("GET", "/proposals?limit=0", kAdaToken), 400);
  ExpectOutcome(h.Call("GET", "/proposals?limit=1001", kAdaToken), 400);
  ExpectOutcome(h.Call("GET", "/proposals?limit=abc", kAdaToken), 400);
  ExpectOutcome(h.Call("GET", "/proposals?status=bogus", kAdaToken), 400);
  ExpectOutcome(h.Call("GET", "/proposals?sort=id", kAdaToken), 400);
  ExpectOutcome(h.Call("GET", "/proposals", kAiToken), 403);
  auto old = h.Call("GET", "/proposals?created_before=1", kAdaToken);
  BOOST_TEST(old.status == 200);
  BOOST_TEST(json::Member(Body(old), "items")->Size() == 0u);
}

BOOST_AUTO_TEST_CASE(sql_injection_in_every_filter_is_data) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  const std::vector<std::string> hostile = {
      "' OR '1'='1", "x'; DROP TABLE proposals; --", "\" OR 1=1 --", "%' OR 1=1 --",
      "Patient/p1' UNION SELECT * FROM audit --", "1) OR (1=1"};
  for (const auto& s : hostile) {
    for (const char* name : {"owner", "patient", "kind"}) {
      auto r = h.Call("GET", std::string("/proposals?") + name + "=" + PercentEncode(s), kAdaToken);
      BOOST_TEST(r.status == 200, name << "=" << s << " -> " << r.status);
      BOOST_TEST(json::Member(Body(r), "items")->Size() == 0u, name << "=" << s);
    }
    auto status = h.Call("GET", "/proposals?status=" + PercentEncode(s), kAdaToken);
    ExpectOutcome(status, 400);
    auto before = h.Call("GET", "/proposals?created_before=" + PercentEncode(s), kAdaToken);
    ExpectOutcome(before, 400);
    auto after = h.Call("GET", "/proposals?after=" + PercentEncode(s), kAdaToken);
    BOOST_TEST((after.status == 200 || after.status == 400), "after=" << s << " -> " << after.status);
    if (after.status == 400) ExpectOutcome(after, 400);
    auto one = h.Call("GET", "/proposals/" + PercentEncode(s), kAdaToken);
    ExpectOutcome(one, 404);
    auto ledger = h.Call("GET", "/provenance-ledger?proposal=" + PercentEncode(s), kAdaToken);
    BOOST_TEST(ledger.status == 200);
  }
  // Everything is still there and the chain is intact.
  BOOST_TEST(ProposalCount(h) == 1);
  BOOST_TEST(StatusOf(h, id) == "pending");
  auto verify = h.Call("GET", "/audit/verify", kKimToken);
  BOOST_TEST(verify.status == 200);
  BOOST_TEST(json::GetBool(Body(verify), "ok").value_or(false));
  auto list = h.Call("GET", "/proposals?patient=Patient%2Fp1", kAdaToken);
  BOOST_TEST(json::Member(Body(list), "items")->Size() == 1u);
}

BOOST_AUTO_TEST_CASE(audit_routes) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  BOOST_TEST(h.Call("GET", "/proposals/" + id, kAdaToken).status == 200);  // audited view
  auto trail = h.Call("GET", "/proposals/" + id + "/audit", kAdaToken);
  BOOST_REQUIRE_MESSAGE(trail.status == 200, trail.body);
  json::Document trail_doc = Body(trail);  // keep the document alive while reading into it
  auto records = json::Member(trail_doc, "records");
  BOOST_REQUIRE(records && records->IsArray());
  BOOST_TEST(records->Size() >= 2u);  // submit, view
  ExpectOutcome(h.Call("GET", "/proposals/" + id + "/audit", kAiToken), 403);
  ExpectOutcome(h.Call("GET", "/proposals/missing/audit", kAdaToken), 404);

  auto verify = h.Call("GET", "/audit/verify", kAdaToken);
  BOOST_TEST(verify.status == 200);
  BOOST_TEST(json::GetBool(Body(verify), "ok").value_or(false));

  ExpectOutcome(h.Call("GET", "/audit/export", kAdaToken), 403);
  const int64_t before = AuditCount(h);
  auto exp = h.Call("GET", "/audit/export", kKimToken);
  BOOST_REQUIRE_MESSAGE(exp.status == 200, exp.body);
  BOOST_TEST(exp.headers["Content-Type"] == "application/fhir+ndjson");
  int lines = 0;
  size_t pos = 0;
  while (pos < exp.body.size()) {
    size_t nl = exp.body.find('\n', pos);
    if (nl == std::string::npos) nl = exp.body.size();
    auto event = json::Parse(std::string_view(exp.body).substr(pos, nl - pos));
    BOOST_REQUIRE(event.ok());
    BOOST_TEST(json::GetString(*event, "resourceType").value_or("") == "AuditEvent");
    ++lines;
    pos = nl + 1;
  }
  BOOST_TEST(lines == before + 1);  // the export itself is audited first
  BOOST_TEST(AuditCount(h) == before + 1);

  auto ledger = h.Call("GET", "/provenance-ledger", kAdaToken);
  BOOST_TEST(ledger.status == 200);
  ExpectOutcome(h.Call("GET", "/provenance-ledger", kAiToken), 403);
}

BOOST_AUTO_TEST_CASE(log_has_one_line_per_request_and_never_a_token) {
  ApiHarness h;
  const std::string id = h.Submit("k1");
  h.Call("GET", "/proposals/" + id, kAdaToken);
  h.Call("GET", "/proposals?patient=Patient%2Fsecret-patient", kAdaToken);
  h.Call("GET", "/proposals", "wrong-token-value-123");
  h.Call("POST", "/proposals/" + id + "/approve", kAdaToken, R"({"approver":"x"})");
  const std::string log = h.LogText();
  BOOST_TEST(h.log.size() == 5u);
  for (const char* secret : {kAiToken, kAdaToken, "wrong-token-value-123", "Bearer",
                             "Authorization", "secret-patient"}) {
    BOOST_TEST(log.find(secret) == std::string::npos, "log contains " << secret << ":\n" << log);
  }
  BOOST_TEST(log.find("principal=Practitioner/dr-ada") != std::string::npos, log);
  BOOST_TEST(log.find("POST /drafts 201") != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(a_handler_exception_becomes_500) {
  ApiHarness h;
  ApiDeps deps = h.Deps({});
  deps.authenticate = [](std::string_view) -> Result<core::Principal> {
    throw std::runtime_error("boom with secret detail");
  };
  h.api = std::make_unique<Api>(std::move(deps));
  auto r = h.Call("GET", "/proposals", kAdaToken);
  ExpectOutcome(r, 500);
  BOOST_TEST(r.body.find("secret detail") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_types)

BOOST_AUTO_TEST_CASE(query_and_percent_decoding) {
  auto q = ParseQuery("a=1&b=x%20y&c=p+q&d=&e");
  BOOST_REQUIRE(q.has_value());
  BOOST_TEST((*q)["a"] == "1");
  BOOST_TEST((*q)["b"] == "x y");
  BOOST_TEST((*q)["c"] == "p q");
  BOOST_TEST((*q)["d"] == "");
  BOOST_TEST(q->count("e") == 1u);
  BOOST_TEST(!ParseQuery("a=%zz").has_value());
  BOOST_TEST(!ParseQuery("a=%2").has_value());
  BOOST_TEST(!ParseQuery("a=%00").has_value());
  BOOST_TEST(!PercentDecode("/x%").has_value());
  BOOST_TEST(PercentDecode(PercentEncode("a b/c'\"%&=")).value() == "a b/c'\"%&=");
  HeaderMap headers;
  headers["Content-Type"] = "x";
  BOOST_TEST(headers.count("content-type") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace countersign::daemon::testing
