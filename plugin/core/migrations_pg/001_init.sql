-- 001_init.sql (PostgreSQL): the same tables as migrations/001_init.sql for the SQLite store, in
-- PostgreSQL types. Times are milliseconds since the Unix epoch (UTC), as BIGINT.
-- Identifiers that listings order by use the "C" collation: byte order, as in SQLite, whatever
-- the database's default locale, so both backends page identically.

CREATE TABLE proposals (
  id                TEXT COLLATE "C" PRIMARY KEY,
  kind              TEXT NOT NULL,
  action            TEXT NOT NULL,
  patient           TEXT NOT NULL,
  encounter         TEXT NOT NULL DEFAULT '',
  ai_principal      TEXT NOT NULL,
  idempotency_key   TEXT NOT NULL,
  draft_sha256      TEXT NOT NULL,
  owner             TEXT NOT NULL,
  status            TEXT NOT NULL,
  revision          BIGINT NOT NULL DEFAULT 0,    -- current content revision (0 = the AI's)
  row_version       BIGINT NOT NULL DEFAULT 1,    -- bumped by every change (optimistic checks)
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  expires_at        BIGINT NOT NULL,              -- 0 = never
  UNIQUE (ai_principal, idempotency_key)
);

-- The content, apart from the queue columns: listings read only the compact proposals table.
CREATE TABLE proposal_content (
  proposal_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES proposals (id),
  draft_json        TEXT NOT NULL,                -- the AI's original draft, never changed
  bundle_json       TEXT NOT NULL,                -- the current pending Bundle
  patches_json      TEXT NOT NULL,                -- the current patches (updates only)
  outcome_json      TEXT NOT NULL DEFAULT ''      -- the server's OperationOutcome when failed
);

-- Queue listings: every filter leads with its column, then status, then the keyset order.
CREATE INDEX proposals_owner     ON proposals (owner, status, created_at, id);
CREATE INDEX proposals_owner_all ON proposals (owner, created_at, id);
CREATE INDEX proposals_status    ON proposals (status, created_at, id);
CREATE INDEX proposals_patient   ON proposals (patient, status, created_at, id);
CREATE INDEX proposals_kind      ON proposals (kind, status, created_at, id);
CREATE INDEX proposals_created   ON proposals (created_at, id);
-- Expiry sweeps: pending proposals by deadline.
CREATE INDEX proposals_expiry    ON proposals (status, expires_at);

-- The proposal's full history: submission, every transition, approval, amendment, reassignment.
CREATE TABLE proposal_events (
  proposal_id  TEXT COLLATE "C" NOT NULL REFERENCES proposals (id),
  seq          BIGINT NOT NULL,                   -- 1, 2, ... per proposal
  at           BIGINT NOT NULL,
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
  proposal_id  TEXT COLLATE "C" NOT NULL REFERENCES proposals (id),
  revision     BIGINT NOT NULL,
  at           BIGINT NOT NULL,
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
  proposal_id  TEXT COLLATE "C" NOT NULL REFERENCES proposals (id),
  revision     BIGINT NOT NULL,
  approver     TEXT COLLATE "C" NOT NULL,
  role         TEXT NOT NULL,
  at           BIGINT NOT NULL,
  PRIMARY KEY (proposal_id, revision, approver)
);

-- Commit outbox: written in the same transaction as the final approval; the commit engine
-- claims entries (with a lease, FOR UPDATE SKIP LOCKED), and completes them with the server's
-- answer.
CREATE TABLE outbox (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  proposal_id  TEXT COLLATE "C" NOT NULL REFERENCES proposals (id),
  revision     BIGINT NOT NULL,
  created_at   BIGINT NOT NULL,
  state        TEXT NOT NULL,                     -- ready | claimed | done
  attempts     BIGINT NOT NULL DEFAULT 0,
  claimed_by   TEXT NOT NULL DEFAULT '',
  lease_until  BIGINT NOT NULL DEFAULT 0,
  completed_at BIGINT NOT NULL DEFAULT 0,
  result_json  TEXT NOT NULL DEFAULT ''           -- server ids/versions or OperationOutcome
);
CREATE INDEX outbox_ready ON outbox (state, lease_until, id);
CREATE INDEX outbox_proposal ON outbox (proposal_id);

-- The audit trail: append-only, hash-chained. hash = SHA-256(prev_hash || canonical record).
CREATE TABLE audit_log (
  seq          BIGINT PRIMARY KEY,                -- 1, 2, ... without gaps
  at           BIGINT NOT NULL,
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
-- record is detected too. One row; appenders lock it (FOR UPDATE) to take the next seq, which
-- keeps the chain gapless across every instance sharing the database.
CREATE TABLE audit_head (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  count        BIGINT NOT NULL,
  hash         TEXT NOT NULL
);
INSERT INTO audit_head (id, count, hash) VALUES (1, 0, '');
