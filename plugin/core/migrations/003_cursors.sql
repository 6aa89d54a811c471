-- 003_cursors.sql: named positions of background readers of the audit trail (the FHIR Task
-- mirror keeps the seq of the last audit record it mirrored). One row per reader; a missing row
-- reads as 0 (from the start).
CREATE TABLE cursors (
  name   TEXT PRIMARY KEY,
  value  INTEGER NOT NULL
);
