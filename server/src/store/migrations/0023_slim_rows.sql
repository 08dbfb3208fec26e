-- Less per document on disk, second step (issue 12, part 5; the first was 0008_lean_storage).
--
-- A snapshot is deflated against a preset dictionary of its kind (`store/snapshot.rs`):
-- `dictionary` names which (1: `store/dictionaries/KIND-1.bin`), NULL a plain deflate stream
-- (rows from before; each is rewritten with the dictionary at its next commit or compaction).
ALTER TABLE docs ADD COLUMN dictionary INTEGER;

-- `problems_state_deadline (state, deadline)` answers every lookup by state: the index on
-- `state` alone only repeated it.
DROP INDEX IF EXISTS problems_state;

-- A change row keeps its Automerge actor and its pushing device as their 16 bytes, not as hex
-- and UUID text (36 bytes less a row; nothing reads them but audits of the table itself).
-- Rows from before are converted; a value that is not hex (none is written) stays as it was.
CREATE TABLE changes_slim (
    doc_id      TEXT NOT NULL REFERENCES docs (doc_id),
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    actor       BLOB NOT NULL,                      -- Automerge actor id, its bytes
    device      BLOB NOT NULL,                      -- the device that pushed it, the UUID's bytes
    device_time INTEGER NOT NULL,                   -- the change's own timestamp, ms
    received_at INTEGER NOT NULL,                   -- server clock, ms
    PRIMARY KEY (doc_id, hash)
) WITHOUT ROWID;
INSERT INTO changes_slim (doc_id, hash, actor, device, device_time, received_at)
    SELECT doc_id, hash, coalesce(unhex(actor), actor), coalesce(unhex(device, '-'), device),
           device_time, received_at
    FROM changes;
DROP TABLE changes;
ALTER TABLE changes_slim RENAME TO changes;

-- Tables looked up only by their keys, stored WITHOUT ROWID: the table is its key's index
-- (before, SQLite kept each row twice: in the table and in the key's automatic index).
CREATE TABLE visit_officers_slim (
    visit   TEXT NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    officer TEXT NOT NULL,
    PRIMARY KEY (visit, officer)
) WITHOUT ROWID;
INSERT INTO visit_officers_slim (visit, officer) SELECT visit, officer FROM visit_officers;
DROP TABLE visit_officers;
ALTER TABLE visit_officers_slim RENAME TO visit_officers;

CREATE TABLE reminder_watch_slim (
    problem TEXT PRIMARY KEY NOT NULL,
    next_at INTEGER
) WITHOUT ROWID;
INSERT INTO reminder_watch_slim (problem, next_at) SELECT problem, next_at FROM reminder_watch;
DROP TABLE reminder_watch;
ALTER TABLE reminder_watch_slim RENAME TO reminder_watch;
CREATE INDEX reminder_watch_next ON reminder_watch (next_at) WHERE next_at IS NOT NULL;

CREATE TABLE deliveries_slim (
    device   TEXT NOT NULL,
    delivery INTEGER NOT NULL,
    doc_id   TEXT NOT NULL,
    heads    BLOB NOT NULL,
    PRIMARY KEY (device, delivery, doc_id)
) WITHOUT ROWID;
INSERT INTO deliveries_slim (device, delivery, doc_id, heads)
    SELECT device, delivery, doc_id, heads FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_slim RENAME TO deliveries;
