-- 002_commit.sql (PostgreSQL): what the commit engine needs; mirrors migrations/002_commit.sql.
-- The approved content's hash, taken in the approval transaction: the engine refuses to write a
-- Bundle whose hash differs (what is written is exactly what was approved).
ALTER TABLE outbox ADD COLUMN bundle_sha256 TEXT NOT NULL DEFAULT '';
-- Retry-later: a transiently failed commit is not reclaimed before this time (ms).
ALTER TABLE outbox ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;

-- The local Provenance ledger: Provenance the FHIR server refused to store, kept with its
-- committed targets, queryable and exportable. Append-only. seq is assigned under an advisory
-- lock (not a sequence) so it follows commit order: a reader paging by seq never skips an entry
-- that commits late with a lower number.
CREATE TABLE provenance_ledger (
  seq             BIGINT PRIMARY KEY,
  proposal_id     TEXT COLLATE "C" NOT NULL REFERENCES proposals (id),
  revision        BIGINT NOT NULL,
  recorded_at     BIGINT NOT NULL,
  provenance_json TEXT NOT NULL
);
CREATE INDEX provenance_ledger_proposal ON provenance_ledger (proposal_id);
