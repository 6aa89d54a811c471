-- 001_init.sql: proposals, their history, revisions and approvals; the commit outbox; the
-- hash-chained audit log. Times are milliseconds since the Unix epoch (UTC).
-- Kept to portable SQL where possible so the PostgreSQL backend's 001 reads the same.

CREATE TABLE proposals (
  id                TEXT PRIMARY KEY,
  kind              TEXT NOT NULL,
  action            TEXT NOT NULL,
  patient           TEXT NOT NULL,
  encounter         TEXT NOT NULL DEFAULT '',
  ai_principal      TEXT NOT NULL,
  idempotency_key   TEXT NOT NULL,
  draft_sha256      TEXT NOT NULL,
  owner             TEXT NOT NULL,
  status            TEXT NOT NULL,
  revision          INTEGER NOT NULL DEFAULT 0,   -- current content revision (0 = the AI's)
  row_version       INTEGER NOT NULL DEFAULT 1,   -- bumped by every change (optimistic checks)
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,             -- 0 = never
  UNIQUE (ai_principal, idempotency_key)
);

-- The content, apart from the queue columns: listings read only the compact proposals table
-- (about 200 bytes a row), so a million proposals stay in cache.
CREATE TABLE proposal_content (
  proposal_id       TEXT PRIMARY KEY REFERENCES proposals (id),
  draft_json        TEXT NOT NULL,                -- the AI's original draft, never changed
  bundle_json       TEXT NOT NULL,                -- the current pending Bundle
  patches_json      TEXT NOT NULL,                -- the current patches (updates only)
  outcome_json      TEXT NOT NULL DEFAULT ''      -- the server's OperationOutcome when failed
);

-- Queue listings: every filter leads with its column, then status, then the keyset order.
CREATE INDEX proposals_owner   ON proposals (owner, status, created_at, id);
CREATE INDEX proposals_owner_all ON proposals (owner, created_at, id);
CREATE INDEX proposals_status  ON proposals (status, created_at, id);
CREATE INDEX proposals_patient ON proposals (patient, status, created_at, id);
CREATE INDEX proposals_kind    ON proposals (kind, status, created_at, id);
CREATE INDEX proposals_created ON proposals (created_at, id);
-- Expiry sweeps: pending proposals by deadline.
CREATE INDEX proposals_expiry  ON proposals (status, expires_at);

-- The proposal's full history: submission, every transition, approval, amendment, reassignment.
CREATE TABLE proposal_events (
  proposal_id  TEXT NOT NULL REFERENCES proposals (id),
  seq          INTEGER NOT NULL,                  -- 1, 2, ... per proposal
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  actor_role   TEXT NOT NULL DEFAULT '',
  event        TEXT NOT NULL,                     -- submit | transition | approve | amend | reassign
  from_status  TEXT NOT NULL DEFAULT '',
  to_status    TEXT NOT NULL DEFAULT '',
  reason_code  TEXT NOT NULL DEFAULT '',
  reason_text  TEXT NOT NULL DEFAULT '',
  detail_json  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (proposal_id, seq)
);

-- A reviewer's amendment, kept beside the AI's original (revision 0 lives in proposals).
CREATE TABLE revisions (
  proposal_id  TEXT NOT NULL REFERENCES proposals (id),
  revision     INTEGER NOT NULL,
  at           INTEGER NOT NULL,
  author       TEXT NOT NULL,
  author_role  TEXT NOT NULL,
  draft_json   TEXT NOT NULL DEFAULT '',          -- the edited draft, when the draft was edited
  bundle_json  TEXT NOT NULL,
  patches_json TEXT NOT NULL,
  note         TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (proposal_id, revision)
);

-- Approvals count per content revision: a two-approver rule needs two distinct approvers of the
-- same revision.
CREATE TABLE approvals (
  proposal_id  TEXT NOT NULL REFERENCES proposals (id),
  revision     INTEGER NOT NULL,
  approver     TEXT NOT NULL,
  role         TEXT NOT NULL,
  at           INTEGER NOT NULL,
  PRIMARY KEY (proposal_id, revision, approver)
);

-- Commit outbox: written in the same transaction as the final approval; the commit engine
-- claims entries (with a lease), and completes them with the server's answer.
CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY,
  proposal_id  TEXT NOT NULL REFERENCES proposals (id),
  revision     INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  state        TEXT NOT NULL,                     -- ready | claimed | done
  attempts     INTEGER NOT NULL DEFAULT 0,
  claimed_by   TEXT NOT NULL DEFAULT '',
  lease_until  INTEGER NOT NULL DEFAULT 0,
  completed_at INTEGER NOT NULL DEFAULT 0,
  result_json  TEXT NOT NULL DEFAULT ''           -- server ids/versions or OperationOutcome
);
CREATE INDEX outbox_ready ON outbox (state, lease_until, id);

-- The audit trail: append-only, hash-chained. hash = SHA-256(prev_hash || canonical record).
CREATE TABLE audit_log (
  seq          INTEGER PRIMARY KEY,               -- 1, 2, ... without gaps
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  actor_role   TEXT NOT NULL,
  action       TEXT NOT NULL,
  proposal_id  TEXT NOT NULL,
  patient      TEXT NOT NULL,
  outcome      INTEGER NOT NULL,                  -- 0 success, 4 minor, 8 serious, 12 major
  detail_json  TEXT NOT NULL,
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL
);

-- The chain's head, updated in the same transaction as every append, so deleting the newest
-- record is detected too. One row.
CREATE TABLE audit_head (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  count        INTEGER NOT NULL,
  hash         TEXT NOT NULL
);
INSERT INTO audit_head (id, count, hash) VALUES (1, 0, '');
