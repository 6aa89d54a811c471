-- 002_commit.sql: what the commit engine needs.
-- The approved content's hash, taken in the approval transaction: the engine refuses to write a
-- Bundle whose hash differs (what is written is exactly what was approved).
ALTER TABLE outbox ADD COLUMN bundle_sha256 TEXT NOT NULL DEFAULT '';
-- Retry-later: a transiently failed commit is not reclaimed before this time (ms).
ALTER TABLE outbox ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;

-- The local Provenance ledger: Provenance the FHIR server refused to store (read-only type, e.g.
-- Epic's sandbox), kept with its committed targets, queryable and exportable. Append-only.
CREATE TABLE provenance_ledger (
  seq             INTEGER PRIMARY KEY,
  proposal_id     TEXT NOT NULL REFERENCES proposals (id),
  revision        INTEGER NOT NULL,
  recorded_at     INTEGER NOT NULL,
  provenance_json TEXT NOT NULL
);
CREATE INDEX provenance_ledger_proposal ON provenance_ledger (proposal_id);
