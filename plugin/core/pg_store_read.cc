// PgStore's reads. A read that needs several statements (a proposal with its history) runs in
// one REPEATABLE READ READ ONLY transaction so they all see the same snapshot.
#include "plugin/core/page_cursor.h"
#include "plugin/core/store_common.h"
#include "plugin/core/pg_store.h"
#include "plugin/core/pg_store_internal.h"

namespace countersign::core {

using pg::Conn;
using pg::Params;
using pg::Rows;

namespace {

constexpr const char* kProposalColumns =
    "id, kind, action, patient, owner, ai_principal, status, revision, created_at, updated_at, "
    "expires_at";

Status ReadSummary(const Rows& r, int row, ProposalSummary& s) {
  s.id = r.Text(row, 0);
  s.kind = r.Text(row, 1);
  s.action = r.Text(row, 2);
  s.patient = r.Text(row, 3);
  s.owner = r.Text(row, 4);
  s.ai_principal = r.Text(row, 5);
  auto status = ParseStatus(r.Text(row, 6));
  if (!status) return Status::Corruption("proposal " + s.id + ": unknown status " + r.Text(row, 6));
  s.status = *status;
  s.revision = r.Int(row, 7);
  s.created_at = r.Int(row, 8);
  s.updated_at = r.Int(row, 9);
  s.expires_at = r.Int(row, 10);
  return Status::Ok();
}

}  // namespace

namespace pg_internal {

Result<Proposal> LoadProposal(Conn& c, const std::string& id) {
  Proposal p;
  {
    auto r = c.Query(
        "SELECT p.id, p.kind, p.action, p.patient, p.owner, p.ai_principal, p.status, "
        "p.revision, p.created_at, p.updated_at, p.expires_at, p.encounter, p.idempotency_key, "
        "p.draft_sha256, p.row_version, c.draft_json, c.bundle_json, c.patches_json, "
        "c.outcome_json FROM proposals p JOIN proposal_content c ON c.proposal_id = p.id "
        "WHERE p.id = $1",
        Params().Add(id));
    if (!r.ok()) return r.status();
    if (r->empty()) return Status::NotFound("no proposal " + id);
    CS_RETURN_IF_ERROR(ReadSummary(*r, 0, p));
    p.encounter = r->Text(0, 11);
    p.idempotency_key = r->Text(0, 12);
    p.draft_sha256 = r->Text(0, 13);
    p.row_version = r->Int(0, 14);
    p.draft_json = r->Text(0, 15);
    p.bundle_json = r->Text(0, 16);
    p.patches_json = r->Text(0, 17);
    p.outcome_json = r->Text(0, 18);
  }
  {
    auto r = c.Query(
        "SELECT seq, at, actor, actor_role, event, from_status, to_status, reason_code, "
        "reason_text, detail_json FROM proposal_events WHERE proposal_id = $1 ORDER BY seq",
        Params().Add(id));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) {
      p.history.push_back({r->Int(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3),
                           r->Text(i, 4), r->Text(i, 5), r->Text(i, 6), r->Text(i, 7),
                           r->Text(i, 8), r->Text(i, 9)});
    }
  }
  {
    auto r = c.Query(
        "SELECT revision, at, author, author_role, draft_json, bundle_json, patches_json, note "
        "FROM revisions WHERE proposal_id = $1 ORDER BY revision",
        Params().Add(id));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) {
      p.revisions.push_back({r->Int(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3),
                             r->Text(i, 4), r->Text(i, 5), r->Text(i, 6), r->Text(i, 7)});
    }
  }
  {
    auto r = c.Query(
        "SELECT revision, approver, role, at FROM approvals WHERE proposal_id = $1 "
        "ORDER BY at, approver",
        Params().Add(id));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) {
      p.approvals.push_back({r->Int(i, 0), r->Text(i, 1), r->Text(i, 2), r->Int(i, 3)});
    }
  }
  return p;
}

OutboxEntry OutboxFromRow(const pg::Rows& r, int i) {
  return {r.Int(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3),  r.Text(i, 4),  r.Int(i, 5),
          r.Text(i, 6), r.Int(i, 7), r.Int(i, 8), r.Text(i, 9), r.Text(i, 10), r.Int(i, 11)};
}

}  // namespace pg_internal

Result<Proposal> PgStore::GetProposal(const std::string& id) {
  std::optional<Result<Proposal>> out;
  Status s = RunRead([&](Conn& c) -> Status {
    CS_RETURN_IF_ERROR(c.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    out = pg_internal::LoadProposal(c, id);
    c.Exec("ROLLBACK");  // read-only: nothing to commit
    // A connection failure is the runner's to retry; kNotFound and the like are answers.
    return out->ok() || c.Healthy() ? Status::Ok() : out->status();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

Result<ProposalPage> PgStore::ListProposals(const ProposalFilter& filter,
                                            const PageRequest& page) {
  int64_t after_created = 0;
  std::string after_id;
  CS_RETURN_IF_ERROR(CheckPageRequest(page, after_created, after_id));
  // The SQL is assembled from constant fragments and parameter numbers only; every value is
  // bound. Each filter combination is its own prepared statement.
  Params params;
  int n = 0;
  auto next = [&n] { return "$" + std::to_string(++n); };
  std::string sql = std::string("SELECT ") + kProposalColumns + " FROM proposals WHERE true";
  if (filter.owner) {
    sql += " AND owner = " + next();
    params.Add(*filter.owner);
  }
  if (filter.status) {
    sql += " AND status = " + next();
    params.Add(std::string_view(StatusName(*filter.status)));
  }
  if (filter.patient) {
    sql += " AND patient = " + next();
    params.Add(*filter.patient);
  }
  if (filter.kind) {
    sql += " AND kind = " + next();
    params.Add(*filter.kind);
  }
  if (filter.created_before) {
    sql += " AND created_at < " + next() + "::bigint";
    params.Add(*filter.created_before);
  }
  if (!page.after.empty()) {
    std::string a = next();
    std::string b = next();
    sql += " AND (created_at, id) > (" + a + "::bigint, " + b + "::text)";
    params.Add(after_created).Add(after_id);
  }
  sql += " ORDER BY created_at, id LIMIT " + next() + "::bigint";
  params.Add(static_cast<int64_t>(page.limit) + 1);  // one extra: is there a next page?

  ProposalPage out;
  Status s = RunRead([&](Conn& c) -> Status {
    out.items.clear();
    auto r = c.Query(sql, params);
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) {
      ProposalSummary sum;
      CS_RETURN_IF_ERROR(ReadSummary(*r, i, sum));
      out.items.push_back(std::move(sum));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (out.items.size() > static_cast<size_t>(page.limit)) {
    out.items.pop_back();
    out.next_cursor = EncodePageCursor(out.items.back().created_at, out.items.back().id);
  }
  return out;
}

Result<std::vector<std::string>> PgStore::ListExpired(int64_t now, int limit) {
  std::vector<std::string> ids;
  Status s = RunRead([&](Conn& c) -> Status {
    ids.clear();
    auto r = c.Query(
        "SELECT id FROM proposals WHERE status = 'pending' AND expires_at > 0 AND "
        "expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
        Params().Add(now).Add(static_cast<int64_t>(limit)));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) ids.push_back(r->Text(i, 0));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return ids;
}

Result<std::vector<AuditRecord>> PgStore::ReadAudit(int64_t after_seq, int limit) {
  std::vector<AuditRecord> out;
  Status s = RunRead([&](Conn& c) -> Status {
    out.clear();
    auto r = c.Query(
        "SELECT seq, at, actor, actor_role, action, proposal_id, patient, outcome, detail_json, "
        "prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        Params().Add(after_seq).Add(static_cast<int64_t>(limit)));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) {
      out.push_back({r->Int(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3), r->Text(i, 4),
                     r->Text(i, 5), r->Text(i, 6), static_cast<int>(r->Int(i, 7)),
                     r->Text(i, 8), r->Text(i, 9), r->Text(i, 10)});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<AuditHead> PgStore::ReadAuditHead() {
  AuditHead head;
  Status s = RunRead([&](Conn& c) -> Status {
    auto r = c.Query("SELECT count, hash FROM audit_head WHERE id = 1");
    if (!r.ok()) return r.status();
    if (r->empty()) return Status::Corruption("audit head is missing");
    head = AuditHead{r->Int(0, 0), r->Text(0, 1)};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return head;
}

Result<std::vector<OutboxEntry>> PgStore::ListOutbox(const std::string& proposal_id) {
  std::vector<OutboxEntry> out;
  Status s = RunRead([&](Conn& c) -> Status {
    out.clear();
    auto r = c.Query("SELECT " + OutboxColumns() +
                         " FROM outbox WHERE proposal_id = $1 ORDER BY id",
                     Params().Add(proposal_id));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) out.push_back(pg_internal::OutboxFromRow(*r, i));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<LedgerEntry>> PgStore::ReadProvenanceLedger(const std::string& proposal_id,
                                                               int64_t after_seq, int limit) {
  std::vector<LedgerEntry> out;
  Status s = RunRead([&](Conn& c) -> Status {
    out.clear();
    auto r = c.Query(
        "SELECT seq, proposal_id, revision, recorded_at, provenance_json FROM provenance_ledger "
        "WHERE seq > $1 AND ($2::text = '' OR proposal_id = $2::text) ORDER BY seq LIMIT $3",
        Params().Add(after_seq).Add(proposal_id).Add(static_cast<int64_t>(limit)));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) {
      out.push_back({r->Int(i, 0), r->Text(i, 1), r->Int(i, 2), r->Int(i, 3), r->Text(i, 4)});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<int64_t> PgStore::ReadCursor(const std::string& name) {
  if (name.empty()) return Status::Invalid("a cursor needs a name");
  int64_t value = 0;  // never written: from the start
  Status s = RunRead([&](Conn& c) -> Status {
    value = 0;
    auto r = c.Query("SELECT value FROM cursors WHERE name = $1", Params().Add(name));
    if (!r.ok()) return r.status();
    if (r->size() > 0) value = r->Int(0, 0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return value;
}

}  // namespace countersign::core
