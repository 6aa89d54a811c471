// The Store conformance suite: every test runs on every backend in StoreBackends().
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <thread>

#include "plugin/core/state_machine.h"
#include "tests/plugin/store_backends.h"

namespace bdata = boost::unit_test::data;

namespace countersign::core::testing {
namespace {

using S = ProposalStatus;

NewProposal MakeNew(const std::string& id, int64_t at, const std::string& owner = "queue:front-desk",
                    const std::string& patient = "Patient/p1", const std::string& kind = "note") {
  NewProposal p;
  p.id = id;
  p.kind = kind;
  p.action = "create";
  p.patient = patient;
  p.ai_principal = "Device/ai-scribe";
  p.idempotency_key = "key-" + id;
  p.owner = owner;
  p.draft_json = R"({"text":")" + id + R"("})";
  p.bundle_json = R"({"resourceType":"Bundle","type":"transaction"})";
  p.patches_json = "[]";
  p.created_at = at;
  p.expires_at = at + 1000;
  return p;
}

AuditRecord SubmitAudit(const NewProposal& p) {
  AuditRecord a;
  a.at = p.created_at;
  a.actor = p.ai_principal;
  a.actor_role = "ai-agent";
  a.action = audit::kSubmit;
  a.proposal_id = p.id;
  a.patient = p.patient;
  return a;
}

Proposal Create(Store& store, const NewProposal& p) {
  auto r = store.CreateProposal(p, SubmitAudit(p));
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_REQUIRE(r->created);
  return r->proposal;
}

ProposalUpdate Move(const std::string& id, S from, S to, int64_t at = 2000) {
  ProposalUpdate u;
  u.proposal_id = id;
  u.expected_status = from;
  u.new_status = to;
  u.event.at = at;
  u.event.actor = "Practitioner/dr-ada";
  u.event.actor_role = "clinician";
  u.event.event = "transition";
  u.event.reason_text = std::string("to ") + StatusName(to);
  AuditRecord a;
  a.at = at;
  a.actor = "Practitioner/dr-ada";
  a.actor_role = "clinician";
  a.action = audit::kTransition;
  a.proposal_id = id;
  a.patient = "Patient/p1";
  u.audit = a;
  return u;
}

// The legal path from pending to each status.
std::vector<S> PathTo(S target) {
  switch (target) {
    case S::kPending: return {};
    case S::kApproved: return {S::kApproved};
    case S::kCommitting: return {S::kApproved, S::kCommitting};
    case S::kCommitted: return {S::kApproved, S::kCommitting, S::kCommitted};
    case S::kRejected: return {S::kRejected};
    case S::kExpired: return {S::kExpired};
    case S::kConflict: return {S::kApproved, S::kCommitting, S::kConflict};
    case S::kFailed: return {S::kApproved, S::kCommitting, S::kFailed};
  }
  return {};
}

void Drive(Store& store, const std::string& id, S target) {
  S at = S::kPending;
  for (S next : PathTo(target)) {
    auto r = store.UpdateProposal(Move(id, at, next));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    at = next;
  }
}

// Every member, history included: what CreateProposal answers must be what GetProposal reads.
void ExpectSameProposal(const Proposal& a, const Proposal& b) {
  BOOST_TEST(a.id == b.id);
  BOOST_TEST(a.kind == b.kind);
  BOOST_TEST(a.action == b.action);
  BOOST_TEST(a.patient == b.patient);
  BOOST_TEST(a.owner == b.owner);
  BOOST_TEST(a.ai_principal == b.ai_principal);
  BOOST_TEST(a.status == b.status);
  BOOST_TEST(a.revision == b.revision);
  BOOST_TEST(a.created_at == b.created_at);
  BOOST_TEST(a.updated_at == b.updated_at);
  BOOST_TEST(a.expires_at == b.expires_at);
  BOOST_TEST(a.encounter == b.encounter);
  BOOST_TEST(a.idempotency_key == b.idempotency_key);
  BOOST_TEST(a.draft_sha256 == b.draft_sha256);
  BOOST_TEST(a.row_version == b.row_version);
  BOOST_TEST(a.draft_json == b.draft_json);
  BOOST_TEST(a.bundle_json == b.bundle_json);
  BOOST_TEST(a.patches_json == b.patches_json);
  BOOST_TEST(a.outcome_json == b.outcome_json);
  BOOST_REQUIRE(a.history.size() == b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) {
    const ProposalEvent& x = a.history[i];
    const ProposalEvent& y = b.history[i];
    BOOST_TEST(x.seq == y.seq);
    BOOST_TEST(x.at == y.at);
    BOOST_TEST(x.actor == y.actor);
    BOOST_TEST(x.actor_role == y.actor_role);
    BOOST_TEST(x.event == y.event);
    BOOST_TEST(x.from_status == y.from_status);
    BOOST_TEST(x.to_status == y.to_status);
    BOOST_TEST(x.reason_code == y.reason_code);
    BOOST_TEST(x.reason_text == y.reason_text);
    BOOST_TEST(x.detail_json == y.detail_json);
  }
  BOOST_TEST(a.revisions.size() == b.revisions.size());
  BOOST_TEST(a.approvals.size() == b.approvals.size());
}

int64_t AuditCount(Store& store) {
  auto h = store.ReadAuditHead();
  BOOST_REQUIRE(h.ok());
  return h->count;
}

BOOST_AUTO_TEST_SUITE(store_conformance)

BOOST_DATA_TEST_CASE(create_and_get_round_trip, bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  NewProposal n = MakeNew("p-1", 1000, "Practitioner/dr-ada");
  n.encounter = "Encounter/e1";
  n.patches_json = R"([{"target":"X/1"}])";
  Proposal p = Create(*store, n);
  auto got = store->GetProposal("p-1");
  BOOST_REQUIRE(got.ok());
  ExpectSameProposal(p, *got);
  BOOST_TEST(got->row_version == 1);
  BOOST_TEST(got->updated_at == 1000);
  BOOST_TEST(got->id == "p-1");
  BOOST_TEST(got->kind == "note");
  BOOST_TEST(got->patient == "Patient/p1");
  BOOST_TEST(got->encounter == "Encounter/e1");
  BOOST_TEST(got->owner == "Practitioner/dr-ada");
  BOOST_TEST(got->ai_principal == "Device/ai-scribe");
  BOOST_TEST(got->status == S::kPending);
  BOOST_TEST(got->revision == 0);
  BOOST_TEST(got->created_at == 1000);
  BOOST_TEST(got->expires_at == 2000);
  BOOST_TEST(got->draft_json == n.draft_json);
  BOOST_TEST(got->bundle_json == n.bundle_json);
  BOOST_TEST(got->patches_json == n.patches_json);
  BOOST_REQUIRE(got->history.size() == 1u);
  BOOST_TEST(got->history[0].seq == 1);
  BOOST_TEST(got->history[0].event == "submit");
  BOOST_TEST(got->history[0].to_status == "pending");
  BOOST_TEST(got->history[0].actor == "Device/ai-scribe");
  BOOST_TEST(AuditCount(*store) == 1);
  BOOST_TEST(store->GetProposal("nope").status().IsNotFound());
}

BOOST_DATA_TEST_CASE(idempotency_key_is_unique_per_ai_principal, bdata::make(StoreBackendNames()),
                     backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  NewProposal n = MakeNew("p-1", 1000);
  Create(*store, n);
  NewProposal again = n;
  again.id = "p-2";
  auto r = store->CreateProposal(again, SubmitAudit(again));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r->created);
  BOOST_TEST(r->proposal.id == "p-1");
  BOOST_TEST(AuditCount(*store) == 1);  // a replay is not a new submission

  NewProposal different = again;
  different.draft_json = R"({"text":"other"})";
  auto c = store->CreateProposal(different, SubmitAudit(different));
  BOOST_TEST(c.status().IsConflict());
  BOOST_TEST(store->GetProposal("p-2").status().IsNotFound());

  NewProposal other_ai = again;
  other_ai.ai_principal = "Device/ai-scheduler";
  auto o = store->CreateProposal(other_ai, SubmitAudit(other_ai));
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->created);
  BOOST_TEST(AuditCount(*store) == 2);
}

BOOST_DATA_TEST_CASE(every_illegal_transition_is_refused_and_changes_nothing,
                     bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  int n = 0;
  int refused = 0;
  for (S from : AllStatuses()) {
    for (S to : AllStatuses()) {
      if (IsLegalTransition(from, to)) continue;
      std::string id = "p-" + std::to_string(n++);
      Create(*store, MakeNew(id, 1000 + n));
      Drive(*store, id, from);
      auto before = store->GetProposal(id);
      int64_t audit_before = AuditCount(*store);
      auto r = store->UpdateProposal(Move(id, from, to));
      BOOST_TEST_CONTEXT(StatusName(from) << " -> " << StatusName(to)) {
        BOOST_TEST(r.status().IsIllegalState());
        auto after = store->GetProposal(id);
        BOOST_TEST(after->status == from);
        BOOST_TEST(after->row_version == before->row_version);
        BOOST_TEST(after->history.size() == before->history.size());
        BOOST_TEST(AuditCount(*store) == audit_before);
      }
      ++refused;
    }
  }
  BOOST_TEST(refused == 64 - 10);  // the ten legal edges of state_machine.cc
}

BOOST_DATA_TEST_CASE(legal_transitions_are_recorded_with_actor_time_reason,
                     bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Create(*store, MakeNew("p-1", 1000));
  Drive(*store, "p-1", S::kConflict);
  auto r = store->UpdateProposal(Move("p-1", S::kConflict, S::kPending, 3000));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->status == S::kPending);
  BOOST_REQUIRE(r->history.size() == 5u);
  const ProposalEvent& e = r->history.back();
  BOOST_TEST(e.seq == 5);
  BOOST_TEST(e.from_status == "conflict");
  BOOST_TEST(e.to_status == "pending");
  BOOST_TEST(e.actor == "Practitioner/dr-ada");
  BOOST_TEST(e.at == 3000);
  BOOST_TEST(e.reason_text == "to pending");
  BOOST_TEST(r->updated_at == 3000);
}

BOOST_DATA_TEST_CASE(compare_and_set_refuses_stale_expectations, bdata::make(StoreBackendNames()),
                     backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Proposal p = Create(*store, MakeNew("p-1", 1000));
  auto wrong = store->UpdateProposal(Move("p-1", S::kApproved, S::kCommitting));
  BOOST_TEST(wrong.status().IsConflict());
  ProposalUpdate stale = Move("p-1", S::kPending, S::kApproved);
  stale.expected_row_version = p.row_version + 7;
  BOOST_TEST(store->UpdateProposal(stale).status().IsConflict());
  stale.expected_row_version = p.row_version;
  BOOST_TEST(store->UpdateProposal(stale).ok());
  BOOST_TEST(store->UpdateProposal(Move("nope", S::kPending, S::kApproved)).status().IsNotFound());
}

BOOST_DATA_TEST_CASE(revisions_sit_beside_the_original, bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  NewProposal n = MakeNew("p-1", 1000);
  Create(*store, n);
  ProposalUpdate u = Move("p-1", S::kPending, S::kPending);
  u.new_status.reset();
  u.event.event = "amend";
  u.revision = Revision{2, 1500, "Practitioner/dr-ada", "clinician", "", "{\"b\":2}", "[]", "typo"};
  BOOST_TEST(store->UpdateProposal(u).status().IsInvalid());  // must be current + 1
  u.revision->revision = 1;
  auto r = store->UpdateProposal(u);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  BOOST_TEST(r->revision == 1);
  BOOST_TEST(r->bundle_json == "{\"b\":2}");
  BOOST_TEST(r->draft_json == n.draft_json);  // the AI's original stays
  BOOST_REQUIRE(r->revisions.size() == 1u);
  BOOST_TEST(r->revisions[0].author == "Practitioner/dr-ada");
  BOOST_TEST(r->revisions[0].note == "typo");
}

BOOST_DATA_TEST_CASE(duplicate_approval_is_refused_atomically, bdata::make(StoreBackendNames()),
                     backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Create(*store, MakeNew("p-1", 1000));
  ProposalUpdate u = Move("p-1", S::kPending, S::kPending);
  u.new_status.reset();
  u.event.event = "approve";
  u.approval = ApprovalRecord{0, "Practitioner/dr-ada", "clinician", 1500};
  BOOST_REQUIRE(store->UpdateProposal(u).ok());
  int64_t audit_before = AuditCount(*store);
  auto again = store->UpdateProposal(u);
  BOOST_TEST(again.status().IsConflict());
  auto p = store->GetProposal("p-1");
  BOOST_TEST(p->approvals.size() == 1u);
  BOOST_TEST(p->history.size() == 2u);
  BOOST_TEST(AuditCount(*store) == audit_before);
}

BOOST_DATA_TEST_CASE(outbox_is_written_with_the_approval_and_claimed_once,
                     bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Create(*store, MakeNew("p-1", 1000));
  ProposalUpdate u = Move("p-1", S::kPending, S::kApproved);
  u.enqueue_outbox = true;
  BOOST_REQUIRE(store->UpdateProposal(u).ok());
  auto entries = store->ListOutbox("p-1");
  BOOST_REQUIRE(entries.ok());
  BOOST_REQUIRE(entries->size() == 1u);
  BOOST_TEST((*entries)[0].state == "ready");

  auto claimed = store->ClaimOutbox("worker-1", 5000, 1000, 10);
  BOOST_REQUIRE(claimed.ok());
  BOOST_REQUIRE(claimed->size() == 1u);
  BOOST_TEST((*claimed)[0].attempts == 1);
  BOOST_TEST(store->GetProposal("p-1")->status == S::kCommitting);
  BOOST_TEST(store->ClaimOutbox("worker-2", 5500, 1000, 10)->empty());  // leased
  auto reclaimed = store->ClaimOutbox("worker-2", 6000, 1000, 10);     // lease ran out
  BOOST_REQUIRE(reclaimed->size() == 1u);
  BOOST_TEST((*reclaimed)[0].attempts == 2);
  BOOST_TEST(store->GetProposal("p-1")->status == S::kCommitting);

  ProposalUpdate done = Move("p-1", S::kCommitting, S::kCommitted, 6100);
  int64_t outbox_id = (*claimed)[0].id;
  BOOST_TEST(store->CompleteOutbox(outbox_id, "worker-1", "{}", done).IsConflict());
  BOOST_TEST(store->GetProposal("p-1")->status == S::kCommitting);  // the refusal changed nothing
  Status finished = store->CompleteOutbox(outbox_id, "worker-2", R"({"ids":["X/1/_history/1"]})", done);
  BOOST_REQUIRE_MESSAGE(finished.ok(), finished.ToString());
  BOOST_TEST(store->GetProposal("p-1")->status == S::kCommitted);
  auto after = store->ListOutbox("p-1");
  BOOST_TEST((*after)[0].state == "done");
  BOOST_TEST((*after)[0].result_json == R"({"ids":["X/1/_history/1"]})");
  BOOST_TEST(store->ClaimOutbox("worker-3", 99999, 1000, 10)->empty());
}

BOOST_DATA_TEST_CASE(outbox_keeps_the_approved_hash_and_defers_retries,
                     bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  NewProposal n = MakeNew("p-1", 1000);
  Create(*store, n);
  ProposalUpdate u = Move("p-1", S::kPending, S::kApproved);
  const std::string approved = R"({"resourceType":"Bundle","type":"transaction","entry":[]})";
  u.new_bundle_json = approved;
  u.enqueue_outbox = true;
  BOOST_REQUIRE(store->UpdateProposal(u).ok());
  auto claimed = store->ClaimOutbox("w1", 5000, 1000, 10);
  BOOST_REQUIRE(claimed.ok() && claimed->size() == 1u);
  BOOST_TEST((*claimed)[0].bundle_sha256 == Sha256Hex(approved));

  int64_t id = (*claimed)[0].id;
  BOOST_TEST(store->DeferOutbox(id, "other", 9000, "{}").IsConflict());
  BOOST_REQUIRE(store->DeferOutbox(id, "w1", 9000, R"({"error":"unavailable"})").ok());
  BOOST_TEST(store->ClaimOutbox("w2", 8999, 1000, 10)->empty());  // not before 9000
  auto again = store->ClaimOutbox("w2", 9000, 1000, 10);
  BOOST_REQUIRE(again->size() == 1u);
  BOOST_TEST((*again)[0].attempts == 2);
  BOOST_TEST((*again)[0].bundle_sha256 == Sha256Hex(approved));
}

BOOST_DATA_TEST_CASE(provenance_ledger_is_written_with_the_commit,
                     bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Create(*store, MakeNew("p-1", 1000));
  Create(*store, MakeNew("p-2", 1001));
  for (const char* id : {"p-1", "p-2"}) {
    ProposalUpdate u = Move(id, S::kPending, S::kApproved);
    u.enqueue_outbox = true;
    BOOST_REQUIRE(store->UpdateProposal(u).ok());
  }
  auto claimed = store->ClaimOutbox("w1", 5000, 1000, 10);
  BOOST_REQUIRE(claimed->size() == 2u);
  ProposalUpdate done = Move("p-1", S::kCommitting, S::kCommitted, 6000);
  done.ledger_provenance_json = R"({"resourceType":"Provenance"})";
  BOOST_REQUIRE(store->CompleteOutbox((*claimed)[0].id, "w1", "{}", done).ok());
  // A refused completion leaves no ledger entry behind.
  ProposalUpdate wrong = Move("p-2", S::kCommitting, S::kCommitted, 6000);
  wrong.ledger_provenance_json = R"({"resourceType":"Provenance","id":"x"})";
  BOOST_TEST(!store->CompleteOutbox((*claimed)[1].id, "not-me", "{}", wrong).ok());

  auto all = store->ReadProvenanceLedger("", 0, 10);
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == 1u);
  BOOST_TEST((*all)[0].proposal_id == "p-1");
  BOOST_TEST((*all)[0].provenance_json == R"({"resourceType":"Provenance"})");
  BOOST_TEST(store->ReadProvenanceLedger("p-2", 0, 10)->empty());
  BOOST_TEST(store->ReadProvenanceLedger("", (*all)[0].seq, 10)->empty());
}

BOOST_DATA_TEST_CASE(failed_keeps_the_server_outcome, bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Create(*store, MakeNew("p-1", 1000));
  Drive(*store, "p-1", S::kCommitting);
  ProposalUpdate u = Move("p-1", S::kCommitting, S::kFailed);
  u.outcome_json = R"({"resourceType":"OperationOutcome"})";
  auto r = store->UpdateProposal(u);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->outcome_json == R"({"resourceType":"OperationOutcome"})");
}

BOOST_DATA_TEST_CASE(queues_filter_and_page_by_keyset, bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  const char* owners[] = {"Practitioner/dr-ada", "queue:front-desk", "Practitioner/dr-grace"};
  const char* kinds[] = {"note", "appointment", "message"};
  for (int i = 0; i < 60; ++i) {
    // Same created_at for pairs, to exercise the id tie-break in the keyset.
    Create(*store, MakeNew("p-" + std::to_string(100 + i), 1000 + i / 2, owners[i % 3],
                           "Patient/" + std::to_string(i % 4), kinds[i % 3]));
  }
  for (int i = 0; i < 60; i += 5) Drive(*store, "p-" + std::to_string(100 + i), S::kRejected);

  auto all_pages = [&](const ProposalFilter& f, int limit) {
    std::vector<ProposalSummary> out;
    PageRequest page{limit, ""};
    for (int guard = 0; guard < 100; ++guard) {
      auto r = store->ListProposals(f, page);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
      BOOST_REQUIRE(r->items.size() <= static_cast<size_t>(limit));
      out.insert(out.end(), r->items.begin(), r->items.end());
      if (r->next_cursor.empty()) break;
      page.after = r->next_cursor;
    }
    return out;
  };
  auto check = [&](const ProposalFilter& f, auto pred) {
    auto items = all_pages(f, 7);
    std::set<std::string> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      BOOST_TEST(pred(items[i]));
      BOOST_TEST(seen.insert(items[i].id).second);
      if (i > 0) {
        BOOST_TEST((items[i - 1].created_at < items[i].created_at ||
                    (items[i - 1].created_at == items[i].created_at && items[i - 1].id < items[i].id)));
      }
    }
    size_t expected = 0;
    for (int i = 0; i < 60; ++i) {
      auto p = store->GetProposal("p-" + std::to_string(100 + i));
      if (pred(*p)) ++expected;
    }
    BOOST_TEST(items.size() == expected);
    return items.size();
  };
  BOOST_TEST(check({}, [](const ProposalSummary&) { return true; }) == 60u);
  ProposalFilter by_owner;
  by_owner.owner = "Practitioner/dr-ada";
  BOOST_TEST(check(by_owner, [](const ProposalSummary& s) { return s.owner == "Practitioner/dr-ada"; }) == 20u);
  ProposalFilter owner_pending = by_owner;
  owner_pending.status = S::kPending;
  check(owner_pending, [](const ProposalSummary& s) {
    return s.owner == "Practitioner/dr-ada" && s.status == S::kPending;
  });
  ProposalFilter by_status;
  by_status.status = S::kRejected;
  BOOST_TEST(check(by_status, [](const ProposalSummary& s) { return s.status == S::kRejected; }) == 12u);
  ProposalFilter by_patient;
  by_patient.patient = "Patient/2";
  BOOST_TEST(check(by_patient, [](const ProposalSummary& s) { return s.patient == "Patient/2"; }) == 15u);
  ProposalFilter by_kind;
  by_kind.kind = "message";
  BOOST_TEST(check(by_kind, [](const ProposalSummary& s) { return s.kind == "message"; }) == 20u);
  ProposalFilter by_age;
  by_age.created_before = 1010;
  BOOST_TEST(check(by_age, [](const ProposalSummary& s) { return s.created_at < 1010; }) == 20u);
  ProposalFilter combined;
  combined.kind = "note";
  combined.status = S::kPending;
  combined.patient = "Patient/0";
  combined.created_before = 1025;
  check(combined, [](const ProposalSummary& s) {
    return s.kind == "note" && s.status == S::kPending && s.patient == "Patient/0" && s.created_at < 1025;
  });

  BOOST_TEST(store->ListProposals({}, {0, ""}).status().IsInvalid());
  BOOST_TEST(store->ListProposals({}, {1001, ""}).status().IsInvalid());
  BOOST_TEST(store->ListProposals({}, {10, "garbage"}).status().IsInvalid());
}

BOOST_DATA_TEST_CASE(expired_lists_only_pending_past_deadline, bdata::make(StoreBackendNames()),
                     backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  Create(*store, MakeNew("p-1", 1000));  // expires 2000
  Create(*store, MakeNew("p-2", 1500));  // expires 2500
  NewProposal never = MakeNew("p-3", 1000);
  never.expires_at = 0;
  Create(*store, never);
  Create(*store, MakeNew("p-4", 1000));
  Drive(*store, "p-4", S::kRejected);
  auto due = store->ListExpired(2000, 10);
  BOOST_REQUIRE(due.ok());
  BOOST_TEST(*due == std::vector<std::string>{"p-1"});
  BOOST_TEST(store->ListExpired(3000, 10)->size() == 2u);
}

BOOST_DATA_TEST_CASE(audit_chain_appends_and_verifies, bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  for (int i = 0; i < 5; ++i) Create(*store, MakeNew("p-" + std::to_string(i), 1000 + i));
  AuditRecord view;
  view.at = 2000;
  view.actor = "Practitioner/dr-ada";
  view.actor_role = "clinician";
  view.action = audit::kView;
  view.proposal_id = "p-1";
  auto sealed = store->AppendAudit(view);
  BOOST_REQUIRE(sealed.ok());
  BOOST_TEST(sealed->seq == 6);
  BOOST_TEST(sealed->hash == ComputeAuditHash(*sealed));
  auto records = store->ReadAudit(0, 100);
  BOOST_REQUIRE(records->size() == 6u);
  for (size_t i = 1; i < records->size(); ++i) {
    BOOST_TEST((*records)[i].prev_hash == (*records)[i - 1].hash);
  }
  BOOST_TEST(store->ReadAudit(4, 100)->size() == 2u);
  auto v = VerifyAudit(*store);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == 6);
}

BOOST_DATA_TEST_CASE(everything_acknowledged_survives_reopen, bdata::make(StoreBackendNames()),
                     backend) {
  auto db = MakeStoreInstance(backend);
  {
    auto store = db->Open();
    Create(*store, MakeNew("p-1", 1000));
    ProposalUpdate u = Move("p-1", S::kPending, S::kApproved);
    u.enqueue_outbox = true;
    u.approval = ApprovalRecord{0, "Practitioner/dr-ada", "clinician", 2000};
    BOOST_REQUIRE(store->UpdateProposal(u).ok());
  }
  auto store = db->Open();
  auto p = store->GetProposal("p-1");
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->status == S::kApproved);
  BOOST_TEST(p->approvals.size() == 1u);
  BOOST_TEST(store->ListOutbox("p-1")->size() == 1u);
  BOOST_TEST(VerifyAudit(*store)->records == 2);
  Create(*store, MakeNew("p-2", 3000));  // the chain continues after reopen
  BOOST_TEST(VerifyAudit(*store)->ok);
  BOOST_TEST(VerifyAudit(*store)->records == 3);
}

// Cursors (the Task mirror's position in the audit trail): 0 until written, set as given (also
// backwards), independent per name, outside the audit chain, and kept across a reopen.
BOOST_DATA_TEST_CASE(cursors_start_at_zero_and_keep_what_was_written,
                     bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  {
    auto store = db->Open();
    Create(*store, MakeNew("p-1", 1000));
    BOOST_TEST(*store->ReadCursor("task-mirror") == 0);
    BOOST_TEST(store->WriteCursor("task-mirror", 7).ok());
    BOOST_TEST(store->WriteCursor("other-reader", 3).ok());
    BOOST_TEST(*store->ReadCursor("task-mirror") == 7);
    BOOST_TEST(store->WriteCursor("task-mirror", 12).ok());
    BOOST_TEST(*store->ReadCursor("task-mirror") == 12);
    BOOST_TEST(store->WriteCursor("task-mirror", 5).ok());  // back: mirror again from there
    BOOST_TEST(*store->ReadCursor("task-mirror") == 5);
    BOOST_TEST(store->WriteCursor("", 1).IsInvalid());
    BOOST_TEST(store->WriteCursor("bad", -1).IsInvalid());
    BOOST_TEST(store->ReadCursor("").status().IsInvalid());
    BOOST_TEST(*store->ReadCursor("bad") == 0);  // the refused write left nothing
    BOOST_TEST(AuditCount(*store) == 1);         // cursors are not audited state
  }
  auto store = db->Open();
  BOOST_TEST(*store->ReadCursor("task-mirror") == 5);
  BOOST_TEST(*store->ReadCursor("other-reader") == 3);
  BOOST_TEST(VerifyAudit(*store)->ok);
}

BOOST_DATA_TEST_CASE(concurrent_writers_all_land, bdata::make(StoreBackendNames()), backend) {
  auto db = MakeStoreInstance(backend);
  auto store = db->Open();
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        NewProposal n = MakeNew(id, 1000 + i);
        if (!store->CreateProposal(n, SubmitAudit(n)).ok()) ++failures;
        if (!store->UpdateProposal(Move(id, S::kPending, S::kApproved)).ok()) ++failures;
        // A refused change inside a batch must not disturb its neighbours.
        if (store->UpdateProposal(Move(id, S::kPending, S::kApproved)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  ProposalFilter approved;
  approved.status = S::kApproved;
  BOOST_TEST(store->ListProposals(approved, {1000, ""})->items.size() ==
             static_cast<size_t>(kThreads * kEach));
  auto v = VerifyAudit(*store);
  BOOST_TEST(v->ok);
  BOOST_TEST(v->records == kThreads * kEach * 2);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace countersign::core::testing
