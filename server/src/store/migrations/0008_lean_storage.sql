-- Less per document on disk (issue 12, part 5).
--
-- A document's snapshot is stored deflated; `inflated_size` is the size it inflates to (what a
-- merge loads), NULL when the row holds the Automerge bytes as they are (rows from before, and
-- snapshots deflate would not shrink).
ALTER TABLE docs ADD COLUMN inflated_size INTEGER;

-- The change table and what each device has of each document are looked up only by their
-- keys: stored WITHOUT ROWID, the table is its key's index (before, SQLite kept each row twice:
-- in the table and in the key's automatic index).
-- A change row no longer keeps a `bytes` column: every change is in its document's snapshot
-- (rows written since the change table kept headers only held an empty value).
CREATE TABLE changes_lean (
    doc_id      TEXT NOT NULL REFERENCES docs (doc_id),
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    actor       TEXT NOT NULL,                      -- Automerge actor, hex
    device      TEXT NOT NULL,                      -- the device that pushed it
    device_time INTEGER NOT NULL,                   -- the change's own timestamp, ms
    received_at INTEGER NOT NULL,                   -- server clock, ms
    PRIMARY KEY (doc_id, hash)
) WITHOUT ROWID;
INSERT INTO changes_lean (doc_id, hash, actor, device, device_time, received_at)
    SELECT doc_id, hash, actor, device, device_time, received_at FROM changes;
DROP TABLE changes;
ALTER TABLE changes_lean RENAME TO changes;

CREATE TABLE device_docs_lean (
    device TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    heads  BLOB NOT NULL,
    PRIMARY KEY (device, doc_id)
) WITHOUT ROWID;
INSERT INTO device_docs_lean (device, doc_id, heads) SELECT device, doc_id, heads FROM device_docs;
DROP TABLE device_docs;
ALTER TABLE device_docs_lean RENAME TO device_docs;
