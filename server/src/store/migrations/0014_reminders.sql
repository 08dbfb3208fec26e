-- Reminders (issue 15, item 4): the notification outbox (`store/reminders.rs`, `remind/`).

-- The department a hand-out (交办) names, so a reminder reaches its handlers; NULL for every
-- other action (and for rows projected before this migration, until their problem changes).
ALTER TABLE problem_events ADD COLUMN unit TEXT;

-- One row per reminder, per recipient and channel: created once (the UNIQUE key), then sent
-- by the delivery loop (log, webhook) or read by its recipient (in_app).
CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,          -- UserId
    via_unit        TEXT,                   -- the department it was addressed to, if any
    kind            TEXT NOT NULL,          -- remind::ReminderKind code
    problem         TEXT NOT NULL,          -- ProblemId
    occasion        TEXT NOT NULL,          -- the event, entry or deadline it is about
    due_at          INTEGER NOT NULL,       -- when it became due (server clock, ms)
    created_at      INTEGER NOT NULL,
    channel         TEXT NOT NULL,          -- log | webhook | in_app
    text            TEXT NOT NULL,          -- the message, in Chinese
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,       -- not sent before (quiet hours, digest, backoff)
    delivered_at    INTEGER,                -- acknowledged by the receiver, or seen in the app
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
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, problem, occasion)
) WITHOUT ROWID;

-- When each problem must be looked at again without a change of its own (a deadline coming
-- up, a look-back falling due); NULL: only when it changes.
CREATE TABLE reminder_watch (
    problem TEXT PRIMARY KEY NOT NULL,
    next_at INTEGER
);
CREATE INDEX reminder_watch_next ON reminder_watch (next_at) WHERE next_at IS NOT NULL;

-- `cursor`: the change feed's position the scan has read problems up to. (The outbox started
-- when this migration was applied, `schema_migrations.applied_at`: events recorded before it
-- remind no one.)
CREATE TABLE reminder_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
