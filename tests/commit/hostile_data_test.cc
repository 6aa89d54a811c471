// The commit path on realistic, hostile data: drafts in the real format, mapped by the shipped
// rules, whose AI vendor, model and version hold spaces, '&', '+', '#', '%', ',', '$', '\' and
// non-ASCII (fixtures/drafts/hostile). Those names end up in the AI Device's identifier, so in
// its conditional create and in every search that finds it again: transaction, per-resource
// writes, reconciliation after lost answers, conflict, and a person's retry of a failed commit.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "fhir/resource.h"
#include "mappings/engine.h"
#include "plugin/commit/commit_executor.h"
#include "plugin/core/audit_chain.h"
#include "tests/commit/commit_fixture.h"

namespace bdata = boost::unit_test::data;

namespace countersign::commit::testing {
namespace {

using countersign::testing::Fault;
using countersign::testing::ServerConfig;
using S = core::ProposalStatus;

ServerConfig Transactions(bool on) {
  ServerConfig c;
  c.transactions = on;
  return c;
}

// Exactly one AI Device, found by its hostile identifier.
void ExpectOneHostileDevice(CommitHarness& h) {
  BOOST_TEST(h.ServerSearch("Device", "").size() == 1u);
  BOOST_TEST(h.ServerSearch("Device", CommitHarness::TokenQuery(
                                          "identifier", mappings::kAiDeviceIdentifierSystem,
                                          CommitHarness::HostileDeviceIdentifier()))
                 .size() == 1u);
}

BOOST_AUTO_TEST_SUITE(hostile_data)

// A server that fails every second write with 503, before applying it or after (the answer is
// lost), and two notes with different idempotency keys, both approved: both commit exactly once.
// (The searches that reconcile a failed write once sent the Device's identifier unencoded:
// libcurl refused the URL and the proposal ended failed.)
BOOST_DATA_TEST_CASE(two_notes_on_a_server_failing_every_second_write_commit_once,
                     bdata::make({false, true}) * bdata::make({true, false}), after_apply,
                     transactions) {
  CommitHarness h(Transactions(transactions));
  std::string a = h.ApprovedHostileNote("Clínica Pérez visit #1 & 2 + 50% | x, y");
  std::string b = h.ApprovedHostileNote("Clínica Pérez visit #2 & 3 + 50% | x, y");
  for (const char* method : {"POST", "PUT"}) {
    Fault f;
    f.method = method;
    f.path_regex = "^/fhir/R4";
    f.status = 503;
    f.after_apply = after_apply;
    f.every = 2;
    f.count = 1000;
    BOOST_REQUIRE(h.server.AddFault(f).ok());
  }
  auto outcomes = h.Drain(20);
  for (const auto& o : outcomes) BOOST_TEST(o.status != "failed", o.proposal_id << ": " << o.detail);
  h.ExpectNoteCommittedOnce(a);
  h.ExpectNoteCommittedOnce(b);
  ExpectOneHostileDevice(h);
  BOOST_TEST(h.RequestsSeen("GET", "%") > 0u);  // the reconciling searches did go out, encoded
}

// Applied, answer lost, then the server down past the retry budget: failed. A person retries
// once it is back: the engine finds the lost attempt's writes by their hostile identifiers and
// commits once.
BOOST_DATA_TEST_CASE(a_failed_hostile_commit_retried_by_a_person_commits_once,
                     bdata::make({true, false}), transactions) {
  CommitHarness h(Transactions(transactions));
  std::string id = h.ApprovedHostileNote("Clínica Pérez retry #1 & 2 + 50%");
  Fault lost;
  lost.method = "POST";
  lost.status = 503;
  lost.after_apply = true;
  lost.count = 10;
  lost.path_regex = transactions ? "^/fhir/R4/?$" : "^/fhir/R4/DocumentReference$";
  BOOST_REQUIRE(h.server.AddFault(lost).ok());
  auto first = h.engine->RunOnce();
  BOOST_REQUIRE(first.ok() && first->outcomes.size() == 1u);
  BOOST_TEST(first->outcomes[0].status == "retry-later", first->outcomes[0].detail);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  Fault down;
  down.path_regex = "^/fhir/R4";
  down.status = 503;
  down.count = 1000;
  BOOST_REQUIRE(h.server.AddFault(down).ok());
  h.core.clock.Advance(120'000);
  auto outcomes = h.Drain(10);
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.back().status == "failed", outcomes.back().detail);
  BOOST_REQUIRE(h.StatusOf(id) == S::kFailed);
  // The failure names the request it could not make, query included: the reconciling search
  // for the Device by its (encoded) hostile identifier.
  auto outbox = h.core.store->ListOutbox(id);
  BOOST_REQUIRE(outbox.ok() && !outbox->empty());
  const std::string& result = outbox->back().result_json;
  BOOST_TEST(result.find("GET /Device?identifier=urn:countersign:ai-model%7CCl%C3%ADnica%20P") !=
                 std::string::npos, result);
  BOOST_TEST(result.find("HTTP 503") != std::string::npos, result);
  BOOST_REQUIRE(h.server.ClearFaults().ok());
  auto retried = h.Drafts().RetryCommit(h.core.P("Practitioner/dr-ada"), id, "el EHR volvió & +1");
  BOOST_REQUIRE_MESSAGE(retried.ok(), retried.status().ToString());
  outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(id);
  ExpectOneHostileDevice(h);
  BOOST_TEST(core::VerifyAudit(*h.core.store)->ok);
}

// The Device and the note are written, the answer lost; a second attempt reconciles by the
// hostile identifier; and a second note by the same AI reuses the one Device (conditional create
// on the escaped, encoded identifier), on both plans.
BOOST_DATA_TEST_CASE(a_lost_answer_reconciles_by_the_hostile_identifier, bdata::make({true, false}),
                     transactions) {
  CommitHarness h(Transactions(transactions));
  std::string a = h.ApprovedHostileNote("Clínica Pérez lost #1 & 2");
  Fault lost;
  lost.method = "POST";
  lost.status = 503;  // not a dropped connection: libcurl would send that request once more
  lost.after_apply = true;
  lost.count = transactions ? 1 : CommitHarness::FastRetry().max_attempts;  // every client try
  lost.path_regex = transactions ? "^/fhir/R4/?$" : "^/fhir/R4/Device$";
  BOOST_REQUIRE(h.server.AddFault(lost).ok());
  auto outcomes = h.Drain();
  BOOST_REQUIRE(!outcomes.empty());
  BOOST_TEST(outcomes.front().status == "retry-later", outcomes.front().detail);
  BOOST_TEST(outcomes.back().status == "committed", outcomes.back().detail);
  std::string b = h.ApprovedHostileNote("Clínica Pérez lost #2 & 3");
  outcomes = h.Drain();
  BOOST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].status == "committed", outcomes[0].detail);
  h.ExpectNoteCommittedOnce(a);
  h.ExpectNoteCommittedOnce(b);
  ExpectOneHostileDevice(h);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::commit::testing
