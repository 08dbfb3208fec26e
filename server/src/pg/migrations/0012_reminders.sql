-- The reminders' outbox in PostgreSQL (issue 15 item 4, issue 16): the same rows as SQLite's
-- (store/migrations/0014_reminders.sql with 0026's `text_en`; `problem_events.unit` is in
-- 0004_query_tables.sql). Written by `store/reminders.rs` on both backends (`pg/reminders.rs`);
-- several servers claim from it at once (`FOR UPDATE SKIP LOCKED`).

-- One row per reminder, per recipient and channel: created once (the UNIQUE key), then sent
-- by a delivery loop (log, webhook) or read by its recipient (in_app).
CREATE TABLE reminders (
    id              BIGSERIAL PRIMARY KEY,
    recipient       TEXT NOT NULL,          -- UserId
    via_unit        TEXT,                   -- the department it was addressed to, if any
    kind            TEXT NOT NULL,          -- remind::ReminderKind code
    problem         TEXT NOT NULL,          -- ProblemId
    occasion        TEXT NOT NULL,          -- the event, entry or deadline it is about
    due_at          BIGINT NOT NULL,        -- when it became due (server clock, ms)
    created_at      BIGINT NOT NULL,
    channel         TEXT NOT NULL,          -- log | webhook | in_app
    text            TEXT NOT NULL,          -- the message, in Chinese
    text_en         TEXT,                   -- the message, in English
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,        -- not sent before (quiet hours, digest, backoff)
    delivered_at    BIGINT,                 -- acknowledged by the receiver, or seen in the app
    last_error      TEXT,
    UNIQUE (recipient, kind, problem, occasion, channel)
);
CREATE INDEX reminders_pending ON reminders (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX reminders_unseen ON reminders (recipient, channel) WHERE delivered_at IS NULL;

-- Occasions already turned into reminders: a department's hand-out is resolved to its
-- handlers once, not again when someone joins it.
CREATE TABLE reminder_occasions (
    kind       TEXT NOT NULL,
    problem    TEXT NOT NULL,
    occasion   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, problem, occasion)
);

-- When each problem must be looked at again without a change of its own (a deadline coming
-- up, a look-back falling due); NULL: only when it changes.
CREATE TABLE reminder_watch (
    problem TEXT PRIMARY KEY,
    next_at BIGINT
);
CREATE INDEX reminder_watch_next ON reminder_watch (next_at) WHERE next_at IS NOT NULL;

-- `cursor`: the change feed's position the scan has read problems up to. `since`: when the
-- outbox started (the database's clock, ms): events recorded before it remind no one, as
-- SQLite's outbox counts from when its migration was applied.
CREATE TABLE reminder_meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO reminder_meta (key, value)
    VALUES ('since', (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
