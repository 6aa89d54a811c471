-- 003_cursors.sql (PostgreSQL): mirrors migrations/003_cursors.sql. Named positions of
-- background readers of the audit trail (the FHIR Task mirror keeps the seq of the last audit
-- record it mirrored). One row per reader; a missing row reads as 0 (from the start).
CREATE TABLE cursors (
  name   TEXT COLLATE "C" PRIMARY KEY,
  value  BIGINT NOT NULL
);
