-- Tamper evidence, checked (issue 14 item 6; `store/history.rs`, `history_audit.rs`).
-- The verdict on each record's hash-linked history, for the heads it was reached at: `intact`
-- 1 when every change hashes to its hash, depends only on changes the record holds, is in the
-- change table (and every change the table recorded is still in the record) and carries the
-- Automerge actor of the device its message names; 0 when something is broken (`broken` says
-- what, in English); NULL when changes came since the last full check (the commit could not
-- vouch for all of it) and the audit has yet to look. `full_at`: the last full check.
CREATE TABLE history_verdicts (
    doc_id     TEXT PRIMARY KEY NOT NULL,
    heads      BLOB NOT NULL,
    intact     INTEGER,
    broken     TEXT,
    checked_at INTEGER NOT NULL,
    full_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX history_verdicts_audit ON history_verdicts (full_at);
-- The commit-burst follower checks the pending ones first.
CREATE INDEX history_verdicts_pending ON history_verdicts (doc_id) WHERE intact IS NULL;
-- Every record stored before this migration is pending its first full check.
INSERT INTO history_verdicts (doc_id, heads, intact, broken, checked_at, full_at)
    SELECT doc_id, heads, NULL, NULL, 0, NULL FROM docs;
