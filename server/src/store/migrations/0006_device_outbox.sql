-- What each device last reported of its outbox (sync protocol version 2, `SyncRequest.unsent`):
-- how many documents stay on it unsent besides those its request pushed. `unsent` NULL: the
-- device's app speaks version 1 and does not report it; no row: it has not synced since. The
-- row is written only when the number changes; `changed_at` is the server time of that request.
CREATE TABLE device_outbox (
    device     TEXT PRIMARY KEY NOT NULL,
    unsent     INTEGER,
    changed_at INTEGER NOT NULL
);
