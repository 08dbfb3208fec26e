-- What each device last reported of its outbox, in PostgreSQL (issue 16 item 2): the same rows
-- as SQLite's (store/migrations/0006_device_outbox.sql), which officer freshness reads
-- (`store/freshness.rs`, written once for both backends). `unsent` NULL: the device's app
-- speaks sync protocol version 1 and does not report it; no row: it has not synced since. The
-- row is written only when the number changes; `changed_at` is the server time of that request.
CREATE TABLE device_outbox (
    device     TEXT PRIMARY KEY,
    unsent     INTEGER,
    changed_at BIGINT NOT NULL
);
