-- Background jobs on PostgreSQL (issue 16 item 4; `pg/jobs.rs`, `pg/maintenance.rs`).

-- When each periodic job last started on any server: a server whose timer fires within the
-- job's period of another's start skips the run (`JobLocks::take_due`), so each period's run
-- happens once across the servers sharing the database. Written under the job's advisory lock.
CREATE TABLE job_runs (
    job        TEXT PRIMARY KEY,            -- `Job::name`
    started_at BIGINT NOT NULL              -- the database's clock, ms
);

-- Compaction's candidates (`store/compaction.rs`), as SQLite's 0004_compaction.
CREATE INDEX docs_appended ON docs (appended) WHERE appended > 0;

-- The history audit's batches (`store/history.rs`'s `audit_batch`), as SQLite's
-- 0020_history_verdicts, in the order the audit reads them (ids by their bytes).
CREATE INDEX history_verdicts_audit ON history_verdicts (full_at NULLS FIRST, doc_id COLLATE "C");
CREATE INDEX history_verdicts_pending ON history_verdicts (doc_id COLLATE "C") WHERE intact IS NULL;

-- A document committed before commits judged history on PostgreSQL has no verdict: pending
-- its first full check, as SQLite's migration left every record stored before it.
INSERT INTO history_verdicts (doc_id, heads, intact, broken, checked_at, full_at)
    SELECT doc_id, heads, NULL, NULL, 0, NULL FROM docs
    ON CONFLICT (doc_id) DO NOTHING;
