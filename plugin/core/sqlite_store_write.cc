// SqliteStore's write operations. Each builds a WriteFn that runs inside RunWrite's transaction
// (or group-commit savepoint), so a failure anywhere leaves nothing behind.
#include "plugin/core/sqlite_store.h"
#include "plugin/core/sqlite_store_internal.h"
#include "plugin/core/store_common.h"
#include "plugin/core/state_machine.h"

namespace countersign::core {

using sqlite::Db;
using sqlite::Stmt;
using sqlite_internal::OutboxFromRow;

namespace sqlite_internal {

Result<AuditRecord> AppendAuditIn(Db& db, const AuditRecord& record) {
  AuditRecord r = record;
  Status err;
  {
    auto st = db.Prepare("SELECT count, hash FROM audit_head WHERE id = 1");
    if (!st.ok()) return st.status();
    if (!(*st)->Step(&err)) {
      CS_RETURN_IF_ERROR(err);
      return Status::Corruption("audit head is missing");
    }
    if (r.detail_json.empty()) r.detail_json = "{}";
    SealAuditRecord(r, (*st)->Int(0), (*st)->Text(1));
  }
  auto ins = db.Prepare(
      "INSERT INTO audit_log (seq, at, actor, actor_role, action, proposal_id, patient, outcome, "
      "detail_json, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!ins.ok()) return ins.status();
  (*ins)->Bind(1, r.seq).Bind(2, r.at).Bind(3, r.actor).Bind(4, r.actor_role).Bind(5, r.action);
  (*ins)->Bind(6, r.proposal_id).Bind(7, r.patient).Bind(8, static_cast<int64_t>(r.outcome));
  (*ins)->Bind(9, r.detail_json).Bind(10, r.prev_hash).Bind(11, r.hash);
  CS_RETURN_IF_ERROR((*ins)->Run());
  auto head = db.Prepare("UPDATE audit_head SET count = ?1, hash = ?2 WHERE id = 1");
  if (!head.ok()) return head.status();
  (*head)->Bind(1, r.seq).Bind(2, r.hash);
  CS_RETURN_IF_ERROR((*head)->Run());
  return r;
}

namespace {

Status InsertEvent(Db& db, const std::string& proposal_id, const ProposalEvent& e) {
  auto st = db.Prepare(
      "INSERT INTO proposal_events (proposal_id, seq, at, actor, actor_role, event, from_status, "
      "to_status, reason_code, reason_text, detail_json) VALUES (?1, (SELECT COALESCE(MAX(seq), "
      "0) + 1 FROM proposal_events WHERE proposal_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!st.ok()) return st.status();
  Stmt& s = **st;
  s.Bind(1, proposal_id).Bind(2, e.at).Bind(3, e.actor).Bind(4, e.actor_role).Bind(5, e.event);
  s.Bind(6, e.from_status).Bind(7, e.to_status).Bind(8, e.reason_code).Bind(9, e.reason_text);
  s.Bind(10, e.detail_json);
  return s.Run();
}

}  // namespace

Status InsertEventForCreate(Db& db, const std::string& proposal_id, const ProposalEvent& e) {
  return InsertEvent(db, proposal_id, e);
}

Status ApplyUpdateIn(Db& db, const ProposalUpdate& u) {
  CS_RETURN_IF_ERROR(CheckUpdate(u));
  ProposalStatus current;
  int64_t row_version = 0;
  int64_t revision = 0;
  {
    auto st = db.Prepare("SELECT status, row_version, revision FROM proposals WHERE id = ?1");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, u.proposal_id);
    Status err;
    if (!(*st)->Step(&err)) {
      CS_RETURN_IF_ERROR(err);
      return Status::NotFound("no proposal " + u.proposal_id);
    }
    auto parsed = ParseStatus((*st)->Text(0));
    if (!parsed) return Status::Corruption("proposal " + u.proposal_id + ": unknown status");
    current = *parsed;
    row_version = (*st)->Int(1);
    revision = (*st)->Int(2);
  }
  CS_RETURN_IF_ERROR(CheckUpdateAgainst(u, current, row_version, revision));

  std::optional<std::string> bundle = u.new_bundle_json;
  std::optional<std::string> patches;
  std::optional<int64_t> new_revision;
  if (u.revision) {
    auto st = db.Prepare(
        "INSERT INTO revisions (proposal_id, revision, at, author, author_role, draft_json, "
        "bundle_json, patches_json, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!st.ok()) return st.status();
    const Revision& r = *u.revision;
    (*st)->Bind(1, u.proposal_id).Bind(2, r.revision).Bind(3, r.at).Bind(4, r.author);
    (*st)->Bind(5, r.author_role).Bind(6, r.draft_json).Bind(7, r.bundle_json);
    (*st)->Bind(8, r.patches_json).Bind(9, r.note);
    CS_RETURN_IF_ERROR((*st)->Run());
    new_revision = r.revision;
    revision = r.revision;
    if (!bundle) bundle = r.bundle_json;
    patches = r.patches_json;
  }
  if (u.approval) {
    auto st = db.Prepare(
        "INSERT INTO approvals (proposal_id, revision, approver, role, at) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, u.proposal_id).Bind(2, u.approval->revision).Bind(3, u.approval->approver);
    (*st)->Bind(4, u.approval->role).Bind(5, u.approval->at);
    Status s = (*st)->Run();
    if (s.IsConflict()) return AlreadyApproved(*u.approval);
    CS_RETURN_IF_ERROR(s);
  }
  {
    auto st = db.Prepare(
        "UPDATE proposals SET status = COALESCE(?2, status), owner = COALESCE(?3, owner), "
        "revision = COALESCE(?4, revision), row_version = row_version + 1, updated_at = ?5 "
        "WHERE id = ?1 AND status = ?6");
    if (!st.ok()) return st.status();
    Stmt& s = **st;
    s.Bind(1, u.proposal_id);
    if (u.new_status) s.Bind(2, std::string_view(StatusName(*u.new_status))); else s.BindNull(2);
    if (u.new_owner) s.Bind(3, *u.new_owner); else s.BindNull(3);
    if (new_revision) s.Bind(4, *new_revision); else s.BindNull(4);
    s.Bind(5, u.event.at).Bind(6, std::string_view(StatusName(current)));
    CS_RETURN_IF_ERROR(s.Run());
    if (db.Changes() != 1) return Status::Conflict("proposal " + u.proposal_id + " changed meanwhile");
  }
  if (bundle || patches || u.outcome_json) {
    auto st = db.Prepare(
        "UPDATE proposal_content SET bundle_json = COALESCE(?2, bundle_json), "
        "patches_json = COALESCE(?3, patches_json), outcome_json = COALESCE(?4, outcome_json) "
        "WHERE proposal_id = ?1");
    if (!st.ok()) return st.status();
    Stmt& s = **st;
    s.Bind(1, u.proposal_id);
    if (bundle) s.Bind(2, *bundle); else s.BindNull(2);
    if (patches) s.Bind(3, *patches); else s.BindNull(3);
    if (u.outcome_json) s.Bind(4, *u.outcome_json); else s.BindNull(4);
    CS_RETURN_IF_ERROR(s.Run());
  }
  CS_RETURN_IF_ERROR(InsertEvent(db, u.proposal_id, UpdateEvent(u, current)));
  if (u.enqueue_outbox) {
    // The hash of what was approved: the bundle as it stands after this update.
    std::string approved_bundle;
    if (const std::string* in_update = ApprovedBundleIn(u)) {
      approved_bundle = *in_update;
    } else {
      auto cur = db.Prepare("SELECT bundle_json FROM proposal_content WHERE proposal_id = ?1");
      if (!cur.ok()) return cur.status();
      (*cur)->Bind(1, u.proposal_id);
      Status err;
      if (!(*cur)->Step(&err)) return err.ok() ? Status::Internal("proposal content missing") : err;
      approved_bundle = (*cur)->Text(0);
    }
    auto st = db.Prepare(
        "INSERT INTO outbox (proposal_id, revision, created_at, state, bundle_sha256) VALUES "
        "(?1, ?2, ?3, 'ready', ?4)");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, u.proposal_id).Bind(2, revision).Bind(3, u.event.at);
    (*st)->Bind(4, Sha256Hex(approved_bundle));
    CS_RETURN_IF_ERROR((*st)->Run());
  }
  if (u.ledger_provenance_json) {
    auto st = db.Prepare(
        "INSERT INTO provenance_ledger (proposal_id, revision, recorded_at, provenance_json) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, u.proposal_id).Bind(2, revision).Bind(3, u.event.at);
    (*st)->Bind(4, *u.ledger_provenance_json);
    CS_RETURN_IF_ERROR((*st)->Run());
  }
  if (u.audit) {
    auto a = AppendAuditIn(db, *u.audit);
    if (!a.ok()) return a.status();
  }
  return Status::Ok();
}

}  // namespace sqlite_internal

using sqlite_internal::AppendAuditIn;

namespace {

Status InsertProposal(Db& db, const NewProposal& p, const std::string& sha) {
  {
    auto st = db.Prepare(
        "INSERT INTO proposals (id, kind, action, patient, encounter, ai_principal, "
        "idempotency_key, draft_sha256, owner, status, revision, row_version, created_at, "
        "updated_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, 1, "
        "?10, ?10, ?11)");
    if (!st.ok()) return st.status();
    Stmt& q = **st;
    q.Bind(1, p.id).Bind(2, p.kind).Bind(3, p.action).Bind(4, p.patient).Bind(5, p.encounter);
    q.Bind(6, p.ai_principal).Bind(7, p.idempotency_key).Bind(8, sha).Bind(9, p.owner);
    q.Bind(10, p.created_at).Bind(11, p.expires_at);
    CS_RETURN_IF_ERROR(q.Run());
  }
  auto st = db.Prepare(
      "INSERT INTO proposal_content (proposal_id, draft_json, bundle_json, patches_json) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, p.id).Bind(2, p.draft_json).Bind(3, p.bundle_json).Bind(4, p.patches_json);
  return (*st)->Run();
}

}  // namespace

using sqlite_internal::ApplyUpdateIn;

Result<CreateResult> SqliteStore::CreateProposal(const NewProposal& p, const AuditRecord& audit) {
  CS_RETURN_IF_ERROR(CheckNewProposal(p));
  std::string sha = Sha256Hex(p.draft_json);
  const ProposalEvent submit_event = SubmitEvent(p, audit.actor_role);
  CreateResult out;
  Status s = RunWrite([&](Db& db) -> Status {
    {
      auto st = db.Prepare(
          "SELECT id, draft_sha256 FROM proposals WHERE ai_principal = ?1 AND "
          "idempotency_key = ?2");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, p.ai_principal).Bind(2, p.idempotency_key);
      Status err;
      if ((*st)->Step(&err)) {
        if ((*st)->Text(1) != sha) return IdempotencyKeyReused(p.idempotency_key);
        out.proposal.id = (*st)->Text(0);
        out.created = false;
        return Status::Ok();
      }
      CS_RETURN_IF_ERROR(err);
    }
    CS_RETURN_IF_ERROR(InsertProposal(db, p, sha));
    CS_RETURN_IF_ERROR(sqlite_internal::InsertEventForCreate(db, p.id, submit_event));
    out.proposal.id = p.id;
    out.created = true;
    return AppendAuditIn(db, audit).status();
  });
  if (!s.ok()) return s;
  return CreateAnswer(*this, std::move(out), p, sha, submit_event);
}

Result<Proposal> SqliteStore::UpdateProposal(const ProposalUpdate& update) {
  Status s = RunWrite([&](Db& db) { return ApplyUpdateIn(db, update); });
  if (!s.ok()) return s;
  // Read back on the reader connection, outside the serialized write section.
  return GetProposal(update.proposal_id);
}

Result<AuditRecord> SqliteStore::AppendAudit(const AuditRecord& record) {
  AuditRecord out;
  Status s = RunWrite([&](Db& db) -> Status {
    auto r = AppendAuditIn(db, record);
    if (!r.ok()) return r.status();
    out = std::move(r).value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqliteStore::SeedProposals(int64_t n, const std::function<NewProposal(int64_t)>& make) {
  return RunWrite([&](Db& db) -> Status {
    for (int64_t i = 0; i < n; ++i) {
      NewProposal p = make(i);
      CS_RETURN_IF_ERROR(InsertProposal(db, p, Sha256Hex(p.draft_json)));
      CS_RETURN_IF_ERROR(
          sqlite_internal::InsertEventForCreate(db, p.id, SubmitEvent(p, "ai-agent")));
    }
    return Status::Ok();
  });
}

Result<std::vector<OutboxEntry>> SqliteStore::ClaimOutbox(const std::string& worker, int64_t now,
                                                          int64_t lease_ms, int limit) {
  std::vector<OutboxEntry> out;
  Status s = RunWrite([&](Db& db) -> Status {
    out.clear();
    {
      auto st = db.Prepare("SELECT " + OutboxColumns() +
                           " FROM outbox WHERE state = 'ready' OR (state = 'claimed' AND "
                           "lease_until <= ?1 AND not_before <= ?1) ORDER BY id LIMIT ?2");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, now).Bind(2, static_cast<int64_t>(limit));
      Status err;
      while ((*st)->Step(&err)) {
        out.push_back(OutboxFromRow(**st));
      }
      CS_RETURN_IF_ERROR(err);
    }
    for (OutboxEntry& e : out) {
      bool first_claim = e.state == "ready";
      auto st = db.Prepare(
          "UPDATE outbox SET state = 'claimed', claimed_by = ?2, lease_until = ?3, "
          "attempts = attempts + 1 WHERE id = ?1");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, e.id).Bind(2, worker).Bind(3, now + lease_ms);
      CS_RETURN_IF_ERROR((*st)->Run());
      e.state = "claimed";
      e.claimed_by = worker;
      e.lease_until = now + lease_ms;
      e.attempts += 1;

      CS_RETURN_IF_ERROR(ApplyUpdateIn(db, ClaimUpdate(e, first_claim, worker, now)));
    }
    return Status::Ok();
  }, Sync::kRederivable);
  if (!s.ok()) return s;
  return out;
}

Status SqliteStore::CompleteOutbox(int64_t outbox_id, const std::string& worker,
                                   const std::string& result_json, const ProposalUpdate& update) {
  Status s = RunWrite([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE outbox SET state = 'done', completed_at = ?3, result_json = ?4 WHERE id = ?1 AND "
        "state = 'claimed' AND claimed_by = ?2 AND proposal_id = ?5");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, outbox_id).Bind(2, worker).Bind(3, update.event.at).Bind(4, result_json);
    (*st)->Bind(5, update.proposal_id);
    CS_RETURN_IF_ERROR((*st)->Run());
    if (db.Changes() != 1) {
      return Status::Conflict("outbox entry " + std::to_string(outbox_id) +
                              " is not claimed by " + worker);
    }
    return ApplyUpdateIn(db, update);
  }, update.new_status == ProposalStatus::kCommitted ? Sync::kRederivable : Sync::kFull);
  return s;
}

Status SqliteStore::DeferOutbox(int64_t outbox_id, const std::string& worker, int64_t not_before,
                                const std::string& result_json) {
  return RunWrite([&](Db& db) -> Status {
    auto st = db.Prepare(
        "UPDATE outbox SET not_before = ?3, lease_until = ?3, result_json = ?4 WHERE id = ?1 "
        "AND state = 'claimed' AND claimed_by = ?2");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, outbox_id).Bind(2, worker).Bind(3, not_before).Bind(4, result_json);
    CS_RETURN_IF_ERROR((*st)->Run());
    if (db.Changes() != 1) {
      return Status::Conflict("outbox entry " + std::to_string(outbox_id) +
                              " is not claimed by " + worker);
    }
    return Status::Ok();
  }, Sync::kRederivable);
}

Status SqliteStore::WriteCursor(const std::string& name, int64_t value) {
  if (name.empty()) return Status::Invalid("a cursor needs a name");
  if (value < 0) return Status::Invalid("cursor " + name + " cannot be negative");
  // Re-derivable: a cursor that rolls back after a power cut only makes its reader redo
  // idempotent work (store.h).
  return RunWrite([&](Db& db) -> Status {
    auto st = db.Prepare(
        "INSERT INTO cursors (name, value) VALUES (?1, ?2) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, name).Bind(2, value);
    return (*st)->Run();
  }, Sync::kRederivable);
}

}  // namespace countersign::core
