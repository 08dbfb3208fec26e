-- A refresh answer lost on a weak link is forgiven once (store/directory/sessions.rs, the
-- same rule on both backends): a used refresh token remembers the pair issued for it and when
-- a lost answer was forgiven, as SQLite's tokens do (store/migrations/0018_lost_refresh_answer.sql).
ALTER TABLE tokens ADD COLUMN successor_refresh BYTEA;
ALTER TABLE tokens ADD COLUMN successor_access BYTEA;
ALTER TABLE tokens ADD COLUMN retried_at BIGINT;
