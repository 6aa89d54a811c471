// The governance flow end to end against a real SQLite file and the loopback FHIR test server
// (Medplum's FHIR router): submit -> list by owner -> review diff against the server's current
// version -> approve / amend / reject; reopen; verify the chain; the exported AuditEvents and an
// approved, amended Bundle (with the verifier and revision Provenance) are accepted as valid R4.
#define BOOST_TEST_MODULE core_integration
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>

#include <sstream>

#include "fhir/bundle.h"
#include "fhir/resource.h"
#include "plugin/core/audit_export.h"
#include "tests/plugin/core_fixture.h"
#include "tests/support/test_fhir_server.h"

namespace countersign::core {
namespace {

using S = ProposalStatus;
using testing::CoreHarness;
using testing::NoteDraft;

struct Answer {
  long status = 0;
  std::string body;
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// Plain libcurl, so this suite depends only on the server harness.
Answer Http(const std::string& method, const std::string& url, const std::string& body = {}) {
  CURL* curl = curl_easy_init();
  Answer a;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/fhir+json");
  headers = curl_slist_append(headers, "Accept: application/fhir+json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  CURLcode rc = curl_easy_perform(curl);
  BOOST_REQUIRE_MESSAGE(rc == CURLE_OK, method << " " << url << ": " << curl_easy_strerror(rc));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return a;
}

std::string BaseUrl() {
  auto& server = countersign::testing::SharedTestFhirServer();
  server.Reset();
  std::string base = server.base_url();
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

CurrentReader ServerReader(const std::string& base) {
  return [base](const std::string& target) -> Result<json::Document> {
    Answer a = Http("GET", base + "/" + target);
    if (a.status != 200) return Status::NotFound(target + ": HTTP " + std::to_string(a.status));
    return json::Parse(a.body);
  };
}

BOOST_AUTO_TEST_CASE(submit_list_review_decide_against_sqlite_and_the_fhir_server) {
  const std::string base = BaseUrl();
  // The server's current appointment, which the AI proposes to cancel.
  Answer put = Http("PUT", base + "/Appointment/int-a1",
                    R"({"resourceType":"Appointment","id":"int-a1","status":"booked",)"
                    R"("start":"2030-01-02T09:00:00Z","end":"2030-01-02T09:30:00Z",)"
                    R"("participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]})");
  BOOST_REQUIRE_MESSAGE(put.status == 200 || put.status == 201, put.body);
  Answer current = Http("GET", base + "/Appointment/int-a1");
  BOOST_REQUIRE_EQUAL(current.status, 200);

  CoreHarness h;
  Coordinator& c = *h.coordinator;
  Proposal note1 = h.SubmitNote("int-n1", "Stable; continue plan.");
  Proposal note2 = h.SubmitNote("int-n2", "Folow up in 2 weeks.");
  auto appt = c.Submit(h.P("Device/ai-scheduler"),
                       R"({"kind":"appointment","idempotency_key":"int-u1","update":{"base":)" +
                           current.body + R"(,"changes":{"status":"cancelled"}}})");
  BOOST_REQUIRE_MESSAGE(appt.ok(), appt.status().ToString());
  auto msg = c.Submit(h.P("Device/ai-scribe"),
                      R"({"kind":"message","patient":"Patient/p1","idempotency_key":"int-m1","text":"Hello"})");
  BOOST_REQUIRE(msg.ok());

  // Queues by owner.
  ProposalFilter ada;
  ada.owner = "Practitioner/dr-ada";
  ada.status = S::kPending;
  auto mine = c.List(h.P("Practitioner/dr-ada"), ada, {50, ""});
  BOOST_REQUIRE(mine.ok());
  BOOST_TEST(mine->items.size() == 2u);
  ProposalFilter desk;
  desk.owner = "queue:front-desk";
  auto queue = c.List(h.P("Practitioner/fd-sam"), desk, {1, ""});
  BOOST_TEST(queue->items.size() == 1u);
  auto queue2 = c.List(h.P("Practitioner/fd-sam"), desk, {1, queue->next_cursor});
  BOOST_TEST(queue2->items.size() == 1u);
  BOOST_TEST(queue2->next_cursor.empty());

  // The reviewer's diff against the server's current version.
  auto diff = c.ReviewDiff(h.P("Practitioner/fd-sam"), appt->proposal.id, ServerReader(base));
  BOOST_REQUIRE_MESSAGE(diff.ok(), diff.status().ToString());
  BOOST_REQUIRE(diff->Size() == 1u);
  BOOST_TEST(!*json::GetBool((*diff)[0], "moved"));
  BOOST_TEST(json::Stringify((*diff)[0]["patch"]).find("cancelled") != std::string::npos);
  // Someone changes the appointment on the server: the diff says the base moved.
  Answer moved = Http("PUT", base + "/Appointment/int-a1",
                      R"({"resourceType":"Appointment","id":"int-a1","status":"booked","comment":"moved",)"
                      R"("start":"2030-01-02T09:00:00Z","end":"2030-01-02T09:30:00Z",)"
                      R"("participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]})");
  BOOST_REQUIRE(moved.status == 200);
  auto diff2 = c.ReviewDiff(h.P("Practitioner/fd-sam"), appt->proposal.id, ServerReader(base));
  BOOST_REQUIRE(diff2.ok());
  BOOST_TEST(*json::GetBool((*diff2)[0], "moved"));

  // Decide.
  BOOST_REQUIRE(c.Approve(h.P("Practitioner/dr-ada"), note1.id).ok());
  Amendment fix;
  fix.bundle_patch = R"([{"op":"replace","path":"/entry/0/resource/description","value":"Follow up in 2 weeks."}])";
  fix.note = "spelling";
  auto amended = c.AmendAndApprove(h.P("Practitioner/dr-ada"), note2.id, fix);
  BOOST_REQUIRE_MESSAGE(amended.ok(), amended.status().ToString());
  BOOST_REQUIRE(c.Reject(h.P("Practitioner/dr-grace"), msg->proposal.id, {"not-needed", ""}).ok());
  BOOST_REQUIRE(c.Approve(h.P("Practitioner/fd-sam"), appt->proposal.id).ok());

  // Durable on the real file.
  h.Reopen();
  BOOST_TEST(h.store->GetProposal(note1.id)->status == S::kApproved);
  BOOST_TEST(h.store->GetProposal(note2.id)->status == S::kApproved);
  BOOST_TEST(h.store->GetProposal(note2.id)->revisions.size() == 1u);
  BOOST_TEST(h.store->GetProposal(msg->proposal.id)->status == S::kRejected);
  BOOST_TEST(h.store->GetProposal(appt->proposal.id)->status == S::kApproved);
  auto v = VerifyAudit(*h.store);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->ok);

  // The amended, approved Bundle (verifier + revision author in its Provenance) is valid R4:
  // the server accepts it as a transaction.
  Answer tx = Http("POST", base, h.store->GetProposal(note2.id)->bundle_json);
  BOOST_TEST(tx.status == 200, "transaction: HTTP " << tx.status << " " << tx.body.substr(0, 2000));

  // Every exported AuditEvent is valid FHIR R4: the server validates each on create.
  std::ostringstream ndjson;
  AuditExportOptions options;
  options.include_id = false;
  auto n = ExportAuditNdjson(*h.store, ndjson, 0, options);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == v->records);
  std::istringstream lines(ndjson.str());
  std::string line;
  int accepted = 0;
  while (std::getline(lines, line)) {
    Answer a = Http("POST", base + "/AuditEvent", line);
    BOOST_TEST(a.status == 201, "AuditEvent rejected: HTTP " << a.status << " " << a.body.substr(0, 2000)
                                                             << "\n" << line);
    if (a.status == 201) ++accepted;
  }
  BOOST_TEST(accepted == *n);
}

}  // namespace
}  // namespace countersign::core
