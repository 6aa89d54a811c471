#include "plugin/core/audit_chain.h"

#include <boost/test/unit_test.hpp>

#include "plugin/core/audit_export.h"
#include "plugin/core/clock.h"

namespace countersign::core {
namespace {

std::vector<AuditRecord> Chain(int n) {
  std::vector<AuditRecord> out;
  std::string head;
  for (int i = 0; i < n; ++i) {
    AuditRecord r;
    r.at = 1000 + i;
    r.actor = "Practitioner/dr-ada";
    r.actor_role = "clinician";
    r.action = i % 2 ? audit::kView : audit::kApprove;
    r.proposal_id = "p" + std::to_string(i);
    r.patient = "Patient/p1";
    r.detail_json = "{}";
    SealAuditRecord(r, i, head);
    head = r.hash;
    out.push_back(r);
  }
  return out;
}

Result<AuditVerification> Verify(const std::vector<AuditRecord>& records,
                                 std::optional<AuditHead> head = std::nullopt) {
  return VerifyAuditChain(
      [&](int64_t after, int limit) -> Result<std::vector<AuditRecord>> {
        std::vector<AuditRecord> page;
        for (const auto& r : records) {
          if (r.seq > after && static_cast<int>(page.size()) < limit) page.push_back(r);
        }
        return page;
      },
      head);
}

BOOST_AUTO_TEST_SUITE(audit_chain)

BOOST_AUTO_TEST_CASE(sha256_known_answer) {
  BOOST_TEST(Sha256Hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(canonical_form_is_fixed_and_escaped) {
  AuditRecord r;
  r.seq = 1;
  r.at = 2;
  r.actor = "a\"b";
  r.action = "view";
  r.detail_json = "{\"k\":1}";
  BOOST_TEST(CanonicalAuditRecord(r) ==
             R"(["countersign-audit-v1",1,2,"a\"b","","view","","",0,"{\"k\":1}",""])");
}

BOOST_AUTO_TEST_CASE(intact_chain_verifies) {
  auto records = Chain(10);
  auto v = Verify(records, AuditHead{10, records.back().hash});
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == 10);
  BOOST_TEST(Verify({})->ok);
}

BOOST_AUTO_TEST_CASE(any_field_edit_breaks_that_record) {
  auto records = Chain(6);
  for (int field = 0; field < 9; ++field) {
    for (size_t i = 0; i < records.size(); ++i) {
      auto copy = records;
      AuditRecord& r = copy[i];
      switch (field) {
        case 0: r.at += 1; break;
        case 1: r.actor += "x"; break;
        case 2: r.actor_role += "x"; break;
        case 3: r.action += "x"; break;
        case 4: r.proposal_id += "x"; break;
        case 5: r.patient += "x"; break;
        case 6: r.outcome = 8; break;
        case 7: r.detail_json = "{\"x\":1}"; break;
        case 8: r.hash[0] = r.hash[0] == 'a' ? 'b' : 'a'; break;
      }
      auto v = Verify(copy);
      BOOST_TEST_CONTEXT("field " << field << " record " << i + 1) {
        BOOST_TEST(!v->ok);
        BOOST_TEST(v->first_broken == static_cast<int64_t>(i + 1));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(deleting_or_reordering_is_detected_in_memory) {
  auto records = Chain(5);
  for (size_t i = 0; i < records.size(); ++i) {
    auto copy = records;
    copy.erase(copy.begin() + static_cast<long>(i));
    auto v = Verify(copy, AuditHead{5, records.back().hash});
    BOOST_TEST(!v->ok);
    BOOST_TEST(v->first_broken == static_cast<int64_t>(i + 1));
  }
  for (size_t i = 0; i + 1 < records.size(); ++i) {
    auto copy = records;
    std::swap(copy[i], copy[i + 1]);
    std::swap(copy[i].seq, copy[i + 1].seq);  // keep the sequence column ascending
    auto v = Verify(copy);
    BOOST_TEST(!v->ok);
    BOOST_TEST(v->first_broken == static_cast<int64_t>(i + 1));
  }
}

BOOST_AUTO_TEST_CASE(audit_event_export_shape) {
  AuditRecord r = Chain(1)[0];
  r.action = audit::kView;
  json::Document e = ToAuditEvent(r);
  BOOST_TEST(*json::GetString(e, "resourceType") == "AuditEvent");
  BOOST_TEST(*json::GetString(e, "action") == "R");
  BOOST_TEST(*json::GetString(e["type"], "code") == "rest");
  BOOST_TEST(*json::GetString(e["subtype"][0], "code") == "read");
  BOOST_TEST(*json::GetString(e["subtype"][0], "system") == "http://hl7.org/fhir/restful-interaction");
  BOOST_TEST(*json::GetString(e, "recorded") == FormatInstant(r.at));
  BOOST_TEST(*json::GetString(e, "outcome") == "0");
  BOOST_TEST(*json::GetString(e["agent"][0]["who"], "reference") == "Practitioner/dr-ada");
  BOOST_TEST(*json::GetBool(e["agent"][0], "requestor"));
  BOOST_TEST(*json::GetString(e["entity"][0]["what"], "reference") == "Patient/p1");
  BOOST_TEST(*json::GetString(e["entity"][1]["what"]["identifier"], "value") == "p0");
  BOOST_TEST(*json::GetString(e["source"]["observer"], "display") == "Countersign");
  BOOST_TEST(*json::GetString(e["agent"][0]["type"]["coding"][0], "code") == "IRCP");
  r.action = audit::kApprove;
  json::Document approve = ToAuditEvent(r);
  BOOST_TEST(*json::GetString(approve["agent"][0]["type"]["coding"][1], "code") == "VRF");
  r.action = audit::kSubmit;
  BOOST_TEST(*json::GetString(ToAuditEvent(r), "action") == "C");
  r.action = audit::kCommitAttempt;
  BOOST_TEST(*json::GetString(ToAuditEvent(r), "action") == "E");
  r.action = audit::kReject;
  r.outcome = kOutcomeMinorFailure;
  json::Document rej = ToAuditEvent(r);
  BOOST_TEST(*json::GetString(rej, "action") == "U");
  BOOST_TEST(*json::GetString(rej, "outcome") == "4");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core
