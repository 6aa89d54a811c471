// PgStore's write operations. Each runs inside RunWrite's transaction, so a failure anywhere
// leaves nothing behind.
//
// Lock order, the same in every transaction so instances cannot deadlock one another: outbox
// rows, then proposal rows, then the provenance-ledger lock, then audit_head (always last, and
// held only from the audit append to COMMIT).
#include "plugin/core/pg_store.h"
#include "plugin/core/pg_store_internal.h"
#include "plugin/core/store_common.h"
#include "plugin/core/state_machine.h"

namespace countersign::core {

using pg::Conn;
using pg::Params;

namespace {

// The advisory lock that orders provenance-ledger appends ("CsLedger"): see 002_commit.sql.
constexpr int64_t kLedgerLock = 0x43734c6564676572;

// False when the idempotency key was taken meanwhile. ON CONFLICT on the key: a concurrent
// submit of the same key waits for the other transaction and then inserts nothing (the caller
// looks the stored one up). A duplicate id is still a unique violation: kConflict.
Result<bool> InsertProposal(Conn& c, const NewProposal& p, const std::string& sha) {
  auto r = c.Query(
      "INSERT INTO proposals (id, kind, action, patient, encounter, ai_principal, "
      "idempotency_key, draft_sha256, owner, status, revision, row_version, created_at, "
      "updated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, 1, "
      "$10, $10, $11) ON CONFLICT (ai_principal, idempotency_key) DO NOTHING",
      Params().Add(p.id).Add(p.kind).Add(p.action).Add(p.patient).Add(p.encounter)
          .Add(p.ai_principal).Add(p.idempotency_key).Add(sha).Add(p.owner).Add(p.created_at)
          .Add(p.expires_at));
  if (!r.ok()) return r.status();
  if (r->Affected() != 1) return false;
  CS_RETURN_IF_ERROR(
      c.Query("INSERT INTO proposal_content (proposal_id, draft_json, bundle_json, patches_json) "
              "VALUES ($1, $2, $3, $4)",
              Params().Add(p.id).Add(p.draft_json).Add(p.bundle_json).Add(p.patches_json))
          .status());
  return true;
}

// The proposal already stored under (ai_principal, idempotency_key), if any: its id and draft hash.
Result<std::optional<std::pair<std::string, std::string>>> FindByKey(Conn& c,
                                                                     const NewProposal& p) {
  auto r = c.Query(
      "SELECT id, draft_sha256 FROM proposals WHERE ai_principal = $1 AND idempotency_key = $2",
      Params().Add(p.ai_principal).Add(p.idempotency_key));
  if (!r.ok()) return r.status();
  if (r->empty()) return std::optional<std::pair<std::string, std::string>>();
  return std::optional(std::make_pair(r->Text(0, 0), r->Text(0, 1)));
}

std::string NotClaimedBy(int64_t outbox_id, const std::string& worker) {
  return "outbox entry " + std::to_string(outbox_id) + " is not claimed by " + worker;
}

}  // namespace

namespace pg_internal {

Result<AuditRecord> AppendAuditIn(Conn& c, const AuditRecord& record) {
  AuditRecord r = record;
  // The row lock is what keeps the chain gapless across connections and instances: the next
  // appender waits here until this transaction commits or rolls back.
  auto head = c.Query("SELECT count, hash FROM audit_head WHERE id = 1 FOR UPDATE");
  if (!head.ok()) return head.status();
  if (head->empty()) return Status::Corruption("audit head is missing");
  if (r.detail_json.empty()) r.detail_json = "{}";
  SealAuditRecord(r, head->Int(0, 0), head->Text(0, 1));
  CS_RETURN_IF_ERROR(
      c.Query("INSERT INTO audit_log (seq, at, actor, actor_role, action, proposal_id, patient, "
              "outcome, detail_json, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
              "$9, $10, $11)",
              Params().Add(r.seq).Add(r.at).Add(r.actor).Add(r.actor_role).Add(r.action)
                  .Add(r.proposal_id).Add(r.patient).Add(int64_t{r.outcome}).Add(r.detail_json)
                  .Add(r.prev_hash).Add(r.hash))
          .status());
  CS_RETURN_IF_ERROR(c.Query("UPDATE audit_head SET count = $1, hash = $2 WHERE id = 1",
                             Params().Add(r.seq).Add(r.hash))
                         .status());
  return r;
}

Status InsertEvent(Conn& c, const std::string& proposal_id, const ProposalEvent& e) {
  return c.Query(
              "INSERT INTO proposal_events (proposal_id, seq, at, actor, actor_role, event, "
              "from_status, to_status, reason_code, reason_text, detail_json) VALUES ($1, "
              "(SELECT COALESCE(MAX(seq), 0) + 1 FROM proposal_events WHERE proposal_id = $1), "
              "$2, $3, $4, $5, $6, $7, $8, $9, $10)",
              Params().Add(proposal_id).Add(e.at).Add(e.actor).Add(e.actor_role).Add(e.event)
                  .Add(e.from_status).Add(e.to_status).Add(e.reason_code).Add(e.reason_text)
                  .Add(e.detail_json))
      .status();
}

Status ApplyUpdateIn(Conn& c, const ProposalUpdate& u) {
  CS_RETURN_IF_ERROR(CheckUpdate(u));
  ProposalStatus current;
  int64_t row_version = 0;
  int64_t revision = 0;
  {
    // FOR UPDATE: the compare-and-set below holds until COMMIT, whoever else writes.
    auto r = c.Query("SELECT status, row_version, revision FROM proposals WHERE id = $1 "
                     "FOR UPDATE",
                     Params().Add(u.proposal_id));
    if (!r.ok()) return r.status();
    if (r->empty()) return Status::NotFound("no proposal " + u.proposal_id);
    auto parsed = ParseStatus(r->Text(0, 0));
    if (!parsed) return Status::Corruption("proposal " + u.proposal_id + ": unknown status");
    current = *parsed;
    row_version = r->Int(0, 1);
    revision = r->Int(0, 2);
  }
  CS_RETURN_IF_ERROR(CheckUpdateAgainst(u, current, row_version, revision));

  std::optional<std::string> bundle = u.new_bundle_json;
  std::optional<std::string> patches;
  std::optional<int64_t> new_revision;
  if (u.revision) {
    const Revision& r = *u.revision;
    CS_RETURN_IF_ERROR(
        c.Query("INSERT INTO revisions (proposal_id, revision, at, author, author_role, "
                "draft_json, bundle_json, patches_json, note) VALUES ($1, $2, $3, $4, $5, $6, "
                "$7, $8, $9)",
                Params().Add(u.proposal_id).Add(r.revision).Add(r.at).Add(r.author)
                    .Add(r.author_role).Add(r.draft_json).Add(r.bundle_json).Add(r.patches_json)
                    .Add(r.note))
            .status());
    new_revision = r.revision;
    revision = r.revision;
    if (!bundle) bundle = r.bundle_json;
    patches = r.patches_json;
  }
  if (u.approval) {
    Status s = c.Query("INSERT INTO approvals (proposal_id, revision, approver, role, at) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       Params().Add(u.proposal_id).Add(u.approval->revision)
                           .Add(u.approval->approver).Add(u.approval->role).Add(u.approval->at))
                   .status();
    if (s.IsConflict()) return AlreadyApproved(*u.approval);
    CS_RETURN_IF_ERROR(s);
  }
  {
    std::optional<std::string> status;
    if (u.new_status) status = StatusName(*u.new_status);
    auto r = c.Query(
        "UPDATE proposals SET status = COALESCE($2::text, status), "
        "owner = COALESCE($3::text, owner), revision = COALESCE($4::bigint, revision), "
        "row_version = row_version + 1, updated_at = $5 WHERE id = $1 AND status = $6",
        Params().Add(u.proposal_id).AddOptional(status).AddOptional(u.new_owner)
            .AddOptional(new_revision)
            .Add(u.event.at).Add(std::string_view(StatusName(current))));
    if (!r.ok()) return r.status();
    if (r->Affected() != 1) {
      return Status::Conflict("proposal " + u.proposal_id + " changed meanwhile");
    }
  }
  if (bundle || patches || u.outcome_json) {
    CS_RETURN_IF_ERROR(
        c.Query("UPDATE proposal_content SET bundle_json = COALESCE($2::text, bundle_json), "
                "patches_json = COALESCE($3::text, patches_json), "
                "outcome_json = COALESCE($4::text, outcome_json) WHERE proposal_id = $1",
                Params().Add(u.proposal_id).AddOptional(bundle).AddOptional(patches)
                    .AddOptional(u.outcome_json))
            .status());
  }
  CS_RETURN_IF_ERROR(InsertEvent(c, u.proposal_id, UpdateEvent(u, current)));
  if (u.enqueue_outbox) {
    // The hash of what was approved: the bundle as it stands after this update.
    std::string approved_bundle;
    if (const std::string* in_update = ApprovedBundleIn(u)) {
      approved_bundle = *in_update;
    } else {
      auto cur = c.Query("SELECT bundle_json FROM proposal_content WHERE proposal_id = $1",
                         Params().Add(u.proposal_id));
      if (!cur.ok()) return cur.status();
      if (cur->empty()) return Status::Internal("proposal content missing");
      approved_bundle = cur->Text(0, 0);
    }
    CS_RETURN_IF_ERROR(
        c.Query("INSERT INTO outbox (proposal_id, revision, created_at, state, bundle_sha256) "
                "VALUES ($1, $2, $3, 'ready', $4)",
                Params().Add(u.proposal_id).Add(revision).Add(u.event.at)
                    .Add(Sha256Hex(approved_bundle)))
            .status());
  }
  if (u.ledger_provenance_json) {
    CS_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock($1::bigint)",
                               Params().Add(kLedgerLock)).status());
    CS_RETURN_IF_ERROR(
        c.Query("INSERT INTO provenance_ledger (seq, proposal_id, revision, recorded_at, "
                "provenance_json) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM "
                "provenance_ledger), $1, $2, $3, $4)",
                Params().Add(u.proposal_id).Add(revision).Add(u.event.at)
                    .Add(*u.ledger_provenance_json))
            .status());
  }
  if (u.audit) {
    auto a = AppendAuditIn(c, *u.audit);
    if (!a.ok()) return a.status();
  }
  return Status::Ok();
}

}  // namespace pg_internal

using pg_internal::AppendAuditIn;
using pg_internal::ApplyUpdateIn;

Result<CreateResult> PgStore::CreateProposal(const NewProposal& p, const AuditRecord& audit) {
  CS_RETURN_IF_ERROR(CheckNewProposal(p));
  const std::string sha = Sha256Hex(p.draft_json);
  const ProposalEvent submit_event = SubmitEvent(p, audit.actor_role);
  CreateResult out;
  Status s = RunWrite([&](Conn& c) -> Status {
    // Up to two rounds: a concurrent submit of the same key can commit between the lookup and
    // the insert; the insert then does nothing and the second lookup finds it.
    for (int round = 0;; ++round) {
      auto existing = FindByKey(c, p);
      if (!existing.ok()) return existing.status();
      if (existing->has_value()) {
        if ((*existing)->second != sha) return IdempotencyKeyReused(p.idempotency_key);
        out.proposal.id = (*existing)->first;
        out.created = false;
        return Status::Ok();
      }
      auto inserted = InsertProposal(c, p, sha);
      if (!inserted.ok()) return inserted.status();
      if (*inserted) break;
      if (round == 1) return Status::Internal("idempotency key taken but not found");
    }
    CS_RETURN_IF_ERROR(pg_internal::InsertEvent(c, p.id, submit_event));
    out.proposal.id = p.id;
    out.created = true;
    return AppendAuditIn(c, audit).status();
  });
  if (!s.ok()) return s;
  return CreateAnswer(*this, std::move(out), p, sha, submit_event);
}

Result<Proposal> PgStore::UpdateProposal(const ProposalUpdate& update) {
  Status s = RunWrite([&](Conn& c) { return ApplyUpdateIn(c, update); });
  if (!s.ok()) return s;
  return GetProposal(update.proposal_id);
}

Result<AuditRecord> PgStore::AppendAudit(const AuditRecord& record) {
  AuditRecord out;
  Status s = RunWrite([&](Conn& c) -> Status {
    auto r = AppendAuditIn(c, record);
    if (!r.ok()) return r.status();
    out = std::move(r).value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<OutboxEntry>> PgStore::ClaimOutbox(const std::string& worker, int64_t now,
                                                      int64_t lease_ms, int limit) {
  std::vector<OutboxEntry> out;
  Status s = RunWrite([&](Conn& c) -> Status {
    out.clear();
    // SKIP LOCKED: entries another instance is claiming or completing right now are left to it,
    // and their proposals' rows are locked with them (OF o, p) so this transaction never waits
    // on a proposal while holding the audit head.
    auto r = c.Query(
        "SELECT " + OutboxColumns("o.") + " FROM outbox o JOIN proposals p ON p.id = o.proposal_id "
        "WHERE o.state = 'ready' OR (o.state = 'claimed' AND o.lease_until <= $1 AND "
        "o.not_before <= $1) ORDER BY o.id LIMIT $2 FOR UPDATE OF o, p SKIP LOCKED",
        Params().Add(now).Add(static_cast<int64_t>(limit)));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); ++i) out.push_back(pg_internal::OutboxFromRow(*r, i));
    for (OutboxEntry& e : out) {
      const bool first_claim = e.state == "ready";
      CS_RETURN_IF_ERROR(
          c.Query("UPDATE outbox SET state = 'claimed', claimed_by = $2, lease_until = $3, "
                  "attempts = attempts + 1 WHERE id = $1",
                  Params().Add(e.id).Add(worker).Add(now + lease_ms))
              .status());
      e.state = "claimed";
      e.claimed_by = worker;
      e.lease_until = now + lease_ms;
      e.attempts += 1;

      CS_RETURN_IF_ERROR(ApplyUpdateIn(c, ClaimUpdate(e, first_claim, worker, now)));
    }
    return Status::Ok();
  }, Sync::kRederivable);
  if (!s.ok()) return s;
  return out;
}

Status PgStore::CompleteOutbox(int64_t outbox_id, const std::string& worker,
                               const std::string& result_json, const ProposalUpdate& update) {
  Status s = RunWrite([&](Conn& c) -> Status {
    auto r = c.Query(
        "UPDATE outbox SET state = 'done', completed_at = $3, result_json = $4 WHERE id = $1 AND "
        "state = 'claimed' AND claimed_by = $2 AND proposal_id = $5",
        Params().Add(outbox_id).Add(worker).Add(update.event.at).Add(result_json)
            .Add(update.proposal_id));
    if (!r.ok()) return r.status();
    if (r->Affected() != 1) return Status::Conflict(NotClaimedBy(outbox_id, worker));
    return ApplyUpdateIn(c, update);
  }, update.new_status == ProposalStatus::kCommitted ? Sync::kRederivable : Sync::kFull);
  return s;
}

Status PgStore::DeferOutbox(int64_t outbox_id, const std::string& worker, int64_t not_before,
                            const std::string& result_json) {
  return RunWrite([&](Conn& c) -> Status {
    auto r = c.Query(
        "UPDATE outbox SET not_before = $3, lease_until = $3, result_json = $4 WHERE id = $1 "
        "AND state = 'claimed' AND claimed_by = $2",
        Params().Add(outbox_id).Add(worker).Add(not_before).Add(result_json));
    if (!r.ok()) return r.status();
    if (r->Affected() != 1) return Status::Conflict(NotClaimedBy(outbox_id, worker));
    return Status::Ok();
  }, Sync::kRederivable);
}

Status PgStore::WriteCursor(const std::string& name, int64_t value) {
  if (name.empty()) return Status::Invalid("a cursor needs a name");
  if (value < 0) return Status::Invalid("cursor " + name + " cannot be negative");
  return RunWrite([&](Conn& c) -> Status {
    auto r = c.Query(
        "INSERT INTO cursors (name, value) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        Params().Add(name).Add(value));
    return r.ok() ? Status::Ok() : r.status();
  }, Sync::kRederivable);
}

}  // namespace countersign::core
