// Hostile requests against the REST API wired the way `countersign serve` wires it from the sample
// configuration: the real mapping rules, the real SQLite file, the sample principals and tokens.
// What must hold under them:
// - every malformed request is a 4xx OperationOutcome and changes neither proposals nor audit;
// - one Idempotency-Key sent by many clients at once makes one proposal;
// - two clinicians approving one proposal at once: exactly one wins;
// - no token, and none of the patient data, ever reaches the log or /metrics.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "fhir/json.h"
#include "plugin/config/config.h"
#include "plugin/core/audit_chain.h"
#include "plugin/config/service.h"
#include "plugin/daemon/api.h"
#include "tests/plugin/core_fixture.h"

namespace countersign::daemon::testing {
namespace {

// Plain values of the sample configuration's hashed tokens (fixtures/config/countersign.json).
constexpr const char* kAi = "demo-ai-scribe-token";
constexpr const char* kAda = "demo-dr-ada-token";
constexpr const char* kGrace = "demo-dr-grace-token";

// Data the log and /metrics must never show.
constexpr const char* kPatient = "Patient/pat-hostile-1";
constexpr const char* kSecretText = "Pérez & Söhne: K+ 5.9 #urgent 100% |dose| \"q.d.\"";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The sample note draft with hostile names in it.
std::string Note(const std::string& key, const std::string& text = kSecretText,
                 const std::string& patient = kPatient) {
  auto d = json::Parse(ReadFile(core::testing::FixturePath("drafts/note-create.json")));
  BOOST_REQUIRE(d.ok());
  auto& a = d->GetAllocator();
  json::SetString(*d, "idempotency_key", key, a);
  json::SetString(*d, "patient", patient, a);
  json::Value& content = (*d)["content"];
  json::SetString(content, "text", text, a);
  json::SetString(content, "title", "Visite de suivi — Clínica Pérez & Co. #2", a);
  json::Value& ai = (*d)["ai"];
  json::SetString(ai, "vendor", "Acme Health AI, Clínica Pérez & Co. +50% #1", a);
  json::SetString(ai, "model", "scribe large β", a);
  return json::Stringify(*d);
}

struct SampleApi {
  SampleApi() {
    std::string text = ReadFile(core::testing::FixturePath("config/countersign.json"));
    auto doc = json::Parse(text);
    BOOST_REQUIRE(doc.ok());
    json::SetString((*doc)["store"], "path", dir.Path("countersign.db"), doc->GetAllocator());
    auto cfg = config::Config::Parse(json::Stringify(*doc),
                                     core::testing::FixturePath("config"));
    BOOST_REQUIRE_MESSAGE(cfg.ok(), cfg.status().ToString());
    auto opened = config::Service::Open(*cfg);
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    service = std::move(opened).value();
    config::Service* s = service.get();
    ApiDeps deps;
    deps.coordinator = &s->coordinator();
    deps.store = &s->store();
    deps.policy = &s->policy();
    deps.authenticate = [s](std::string_view token) { return s->Authenticate(token); };
    deps.read_current = [s](const std::string& ref) { return s->ReadCurrent(ref); };
    deps.metrics = &metrics;
    deps.counts_ttl_ms = 0;
    deps.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu);
      log += line + "\n";
    };
    api = std::make_unique<Api>(std::move(deps));
  }

  HttpServerResponse Call(const std::string& method, const std::string& path,
                          const std::string& token = {}, const std::string& body = {},
                          std::map<std::string, std::string> headers = {},
                          std::map<std::string, std::string> query = {}) {
    HttpServerRequest r;
    r.method = method;
    r.path = path;
    r.query = std::move(query);
    if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
    if (!body.empty()) r.headers["Content-Type"] = "application/json";
    for (auto& [k, v] : headers) r.headers[k] = v;
    r.body = body;
    return api->Handle(r);
  }

  std::string Submit(const std::string& key) {
    auto r = Call("POST", "/drafts", kAi, Note(key));
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    auto d = json::Parse(r.body);
    BOOST_REQUIRE(d.ok());
    return std::string(json::GetString(*d, "id").value_or(""));
  }

  int64_t Proposals() {
    core::PageRequest page;
    page.limit = 1000;
    auto r = service->store().ListProposals({}, page);
    BOOST_REQUIRE(r.ok());
    return static_cast<int64_t>(r->items.size());
  }
  int64_t AuditRecords() {
    auto head = service->store().ReadAuditHead();
    BOOST_REQUIRE(head.ok());
    return head->count;
  }
  std::string Status(const std::string& id) {
    auto p = service->store().GetProposal(id);
    BOOST_REQUIRE(p.ok());
    return core::StatusName(p->status);
  }
  std::string Log() {
    std::lock_guard<std::mutex> lock(log_mu);
    return log;
  }

  core::testing::TempDir dir;
  std::unique_ptr<config::Service> service;
  Metrics metrics;
  std::unique_ptr<Api> api;
  std::mutex log_mu;
  std::string log;
};

// A 4xx answer whose body is an OperationOutcome with at least one issue.
bool IsOutcome4xx(const HttpServerResponse& r) {
  if (r.status < 400 || r.status >= 500) return false;
  auto ct = r.headers.find("content-type");
  if (ct == r.headers.end() || ct->second != "application/fhir+json") return false;
  auto d = json::Parse(r.body);
  if (!d.ok() || json::GetString(*d, "resourceType").value_or("") != "OperationOutcome") return false;
  const json::Value* issues = json::Member(*d, "issue");
  return issues != nullptr && issues->IsArray() && !issues->Empty();
}

// The sample note with one member replaced (or removed when value is null) at a path of object
// names, e.g. {"content", "text"}.
std::string NoteWith(const std::vector<std::string>& path, const json::Value& value) {
  auto d = json::Parse(Note("k-mutated"));
  BOOST_REQUIRE(d.ok());
  auto& a = d->GetAllocator();
  json::Value* at = &*d;
  for (size_t i = 0; i + 1 < path.size(); ++i) at = &(*at)[path[i].c_str()];
  if (value.IsNull()) {
    json::Remove(*at, path.back());
  } else {
    json::Set(*at, path.back(), json::Value(value, a), a);
  }
  return json::Stringify(*d);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_sweep)

BOOST_AUTO_TEST_CASE(malformed_requests_are_4xx_outcomes_and_change_nothing) {
  SampleApi h;
  const std::string id = h.Submit("seed");
  const int64_t proposals = h.Proposals();
  const int64_t audit = h.AuditRecords();

  struct Case {
    std::string what;
    HttpServerResponse answer;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, HttpServerResponse r) { cases.push_back({std::move(what), r}); };

  // Authentication: missing, malformed or unknown tokens, on every route.
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/drafts"},          {"GET", "/proposals"},
      {"GET", "/proposals/" + id},  {"POST", "/proposals/" + id + "/approve"},
      {"POST", "/proposals/" + id + "/amend"},  {"POST", "/proposals/" + id + "/reject"},
      {"POST", "/proposals/" + id + "/reassign"}, {"POST", "/proposals/" + id + "/retry"},
      {"GET", "/audit/verify"},     {"GET", "/provenance-ledger"}};
  const std::vector<std::map<std::string, std::string>> bad_auth = {
      {},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "Basic ZGVtbzpkZW1v"}},
      {{"Authorization", "Bearer not-a-token"}},
      {{"Authorization", std::string("Bearer demo-dr-ada-token\0x", 26)}},
      {{"Authorization", "Bearer " + std::string(8192, 'a')}}};
  for (const auto& [method, path] : routes) {
    for (const auto& headers : bad_auth) {
      add(method + " " + path + " bad auth", h.Call(method, path, {}, "{}", headers));
    }
  }

  // Draft bodies that are not drafts.
  const std::vector<std::string> not_drafts = {
      "", "null", "[]", "\"note\"", "{", "{}", "{\"kind\":1e400}", "\xff\xfe{}",
      std::string(100, '[') + std::string(100, ']'), "{\"kind\":\"note\"}",
      "{\"kind\":\"note\",\"kind\":\"message\"}"};
  for (const auto& body : not_drafts) {
    add("draft body " + body.substr(0, 20),
        h.Call("POST", "/drafts", kAi, body.empty() ? " " : body));
  }
  // The sample draft with one member removed or of the wrong type.
  const std::vector<std::vector<std::string>> members = {
      {"kind"}, {"action"}, {"patient"}, {"content", "text"}, {"content", "author"},
      {"content", "date"}, {"ai", "model"}, {"ai", "vendor"}};
  json::Document scratch;
  auto& sa = scratch.GetAllocator();
  for (const auto& path : members) {
    std::vector<json::Value> wrong;
    wrong.emplace_back(42);
    wrong.emplace_back(rapidjson::kArrayType);
    wrong.emplace_back(rapidjson::kObjectType);
    wrong.emplace_back(true);
    wrong.emplace_back(json::String(std::string("x\0y", 3), sa));
    if (path.size() == 1 || path[0] != "content" || path[1] != "text") wrong.emplace_back(json::String("", sa));
    for (const auto& v : wrong) add("draft member " + path.back(), h.Call("POST", "/drafts", kAi, NoteWith(path, v)));
    if (path[0] != "ai" && path.back() != "date") {
      add("draft without " + path.back(), h.Call("POST", "/drafts", kAi, NoteWith(path, json::Value())));
    }
  }
  for (const char* patient : {"Patient/", "Observation/1", "Patient/a b", "Patient/../x",
                              "Patient/x|y", "http://evil.example/Patient/1"}) {
    add(std::string("patient ") + patient,
        h.Call("POST", "/drafts", kAi, NoteWith({"patient"}, json::String(patient, sa))));
  }
  add("draft of an unknown kind", h.Call("POST", "/drafts", kAi, NoteWith({"kind"}, json::String("invoice", sa))));
  add("draft as text/plain",
      h.Call("POST", "/drafts", kAi, Note("k-ct"), {{"Content-Type", "text/plain"}}));
  add("draft with a bad Idempotency-Key",
      h.Call("POST", "/drafts", kAi, Note("k-idem"), {{"Idempotency-Key", std::string(300, 'k')}}));
  add("draft by a clinician", h.Call("POST", "/drafts", kAda, Note("k-clin")));

  // Listing with bad filters and cursors.
  const std::vector<std::map<std::string, std::string>> bad_queries = {
      {{"limit", "-1"}}, {{"limit", "abc"}}, {{"limit", "1e9"}}, {{"limit", ""}},
      {{"status", "bogus"}}, {{"after", "not-a-cursor"}}, {{"after", std::string(4096, 'z')}},
      {{"unknown", "x"}}};
  for (const auto& q : bad_queries) {
    add("list " + q.begin()->first, h.Call("GET", "/proposals", kAda, {}, {}, q));
  }

  // Decisions with bodies that do not decide anything, or on proposals that are not there.
  const std::vector<std::pair<std::string, std::string>> bad_decisions = {
      {"approve", "{\"approver\":\"Practitioner/dr-grace\"}"}, {"approve", "[1]"},
      {"approve", "{\"note\":7}"},                           {"approve", "{"},
      {"reject", "{}"},                                      {"reject", "{\"code\":\"made-up\"}"},
      {"reject", "{\"code\":null}"},                         {"reassign", "{}"},
      {"reassign", "{\"owner\":7,\"reason\":\"x\"}"},        {"amend", "{}"},
      {"amend", "{\"draft\":\"text\"}"},                     {"amend", "{\"bundle_patch\":{}}"},
      {"amend", "{\"bundle_patch\":[{\"op\":\"explode\",\"path\":\"/\"}]}"},
      {"retry", "{}"},                                       {"retry", "{\"reason\":\"\"}"},
      {"rebase", "{}"}};
  for (const auto& [action, body] : bad_decisions) {
    add(action + " " + body, h.Call("POST", "/proposals/" + id + "/" + action, kAda, body));
  }
  for (const char* other : {"does-not-exist", "%00", "..", "x'--", "ü"}) {
    add(std::string("approve unknown ") + other,
        h.Call("POST", std::string("/proposals/") + other + "/approve", kAda, "{}"));
    add(std::string("get unknown ") + other, h.Call("GET", std::string("/proposals/") + other, kAda));
  }
  // Methods and paths the API does not have.
  for (const char* method : {"PUT", "DELETE", "PATCH"}) {
    add(std::string(method) + " /proposals/id", h.Call(method, "/proposals/" + id, kAda, "{}"));
    add(std::string(method) + " /drafts", h.Call(method, "/drafts", kAi, "{}"));
  }
  add("GET /nowhere", h.Call("GET", "/nowhere", kAda));
  add("the AI approving", h.Call("POST", "/proposals/" + id + "/approve", kAi, "{}"));

  BOOST_TEST(cases.size() >= 120u, cases.size() << " cases");
  for (const auto& c : cases) {
    BOOST_TEST(IsOutcome4xx(c.answer), c.what << ": " << c.answer.status << " " << c.answer.body);
  }
  BOOST_TEST(h.Proposals() == proposals);
  BOOST_TEST(h.Status(id) == "pending");
  // Refusals of authenticated principals are audited as such; nothing else was recorded.
  auto records = h.service->store().ReadAudit(audit, 10000);
  BOOST_REQUIRE(records.ok());
  for (const core::AuditRecord& r : *records) {
    BOOST_TEST(r.outcome == core::kOutcomeMinorFailure, r.action << " " << r.detail_json);
  }
}

BOOST_AUTO_TEST_CASE(one_idempotency_key_from_twelve_clients_at_once_is_one_proposal) {
  SampleApi h;
  const std::string draft = Note("same-key-from-everyone");
  std::vector<HttpServerResponse> answers(12);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      answers[i] = h.Call("POST", "/drafts", kAi, draft);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (const auto& r : answers) {
    BOOST_TEST(r.status == 201, r.status << " " << r.body);
    auto d = json::Parse(r.body);
    if (d.ok()) ids.insert(std::string(json::GetString(*d, "id").value_or("")));
  }
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(h.Proposals() == 1);
}

BOOST_AUTO_TEST_CASE(forty_two_clinician_approve_races_have_one_winner_each) {
  SampleApi h;
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(h.Submit("race-" + std::to_string(i)));
  for (const std::string& id : ids) {
    HttpServerResponse a, b;
    std::atomic<bool> go{false};
    std::thread ta([&] {
      while (!go.load()) std::this_thread::yield();
      a = h.Call("POST", "/proposals/" + id + "/approve", kAda, "{\"revision\":0}");
    });
    std::thread tb([&] {
      while (!go.load()) std::this_thread::yield();
      b = h.Call("POST", "/proposals/" + id + "/approve", kGrace, "{\"revision\":0}");
    });
    go = true;
    ta.join();
    tb.join();
    const int wins = (a.status == 200) + (b.status == 200);
    BOOST_TEST(wins == 1, id << ": " << a.status << " " << b.status);
    const HttpServerResponse& loser = a.status == 200 ? b : a;
    BOOST_TEST(loser.status == 409, loser.body);
    auto p = h.service->store().GetProposal(id);
    BOOST_REQUIRE(p.ok());
    BOOST_TEST(core::StatusName(p->status) == std::string("approved"));
    BOOST_TEST(p->approvals.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(no_token_or_patient_data_in_the_log_or_metrics) {
  SampleApi h;
  const std::string id = h.Submit("phi-1");
  h.Call("GET", "/proposals/" + id, kAda);
  h.Call("GET", "/proposals", kAda, {}, {}, {{"patient", kPatient}});
  h.Call("POST", "/drafts", kAi, NoteWith({"patient"}, json::Value(7)));
  h.Call("POST", "/proposals/" + id + "/reject", kAda,
         std::string("{\"code\":\"other\",\"text\":\"") + "Pérez & Söhne" + "\"}");
  h.Call("GET", "/proposals", "demo-not-a-real-token");
  const std::string metrics = h.Call("GET", "/metrics").body;
  const std::string log = h.Log();
  BOOST_TEST(!log.empty());
  for (const std::string& secret :
       {std::string(kAi), std::string(kAda), std::string("demo-not-a-real-token"),
        std::string("pat-hostile-1"), std::string("Pérez"),
        std::string("K+ 5.9")}) {
    BOOST_TEST(log.find(secret) == std::string::npos, "log shows " << secret);
    BOOST_TEST(metrics.find(secret) == std::string::npos, "metrics show " << secret);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace countersign::daemon::testing
