-- The sync store in PostgreSQL (issue 16 item 2, third slice): documents, the changes the
-- server accepted, the change feed's counter, the store's epoch, what each device is known to
-- have and the deliveries it has not acknowledged yet. The same rows as SQLite's
-- (store/migrations 0001, with 0004's `appended`, 0017_store_epoch and 0023's slim changes),
-- except that a snapshot is kept as committed: PostgreSQL compresses large values itself
-- (TOAST), where SQLite deflates them against a dictionary (`store/snapshot.rs`).
-- How commits of several servers keep the feed without gaps: `pg/sync_store.rs`.

-- One row per document: the latest merged snapshot and its place in the change feed.
CREATE TABLE docs (
    doc_id     TEXT PRIMARY KEY,                    -- `kind/id`
    kind       TEXT NOT NULL,                       -- DocKind code
    enterprise TEXT NOT NULL,                       -- scope key (EnterpriseId)
    seq        BIGINT NOT NULL UNIQUE,              -- change-feed position; UNIQUE indexes it
    snapshot   BYTEA NOT NULL,                      -- loadable Automerge bytes
    heads      BYTEA NOT NULL CHECK (length(heads) % 32 = 0), -- sorted hashes, concatenated
    updated_at BIGINT NOT NULL,                     -- server clock, ms
    appended   INTEGER NOT NULL DEFAULT 0           -- commits appended since the last save
);
CREATE INDEX docs_enterprise_seq ON docs (enterprise, seq);

-- Every change the server has accepted, once each (its bytes are in the snapshot).
CREATE TABLE changes (
    doc_id      TEXT NOT NULL REFERENCES docs (doc_id),
    hash        BYTEA NOT NULL CHECK (length(hash) = 32),
    actor       BYTEA NOT NULL,                     -- Automerge actor id, its bytes
    device      BYTEA NOT NULL,                     -- the device that pushed it, the UUID's bytes
    device_time BIGINT NOT NULL,                    -- the change's own timestamp, ms
    received_at BIGINT NOT NULL,                    -- server clock, ms
    PRIMARY KEY (doc_id, hash)
);

-- Counters; `seq` is the largest sequence number given out. A commit takes this row's lock
-- first and holds it to its end: commits become visible in the order of their numbers.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('seq', 0);

-- The store's epoch (纪元): 0 at creation, a new number at each restore from a backup.
CREATE TABLE store_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL CHECK (epoch >= 0)
);
INSERT INTO store_epoch (id, epoch) VALUES (1, 0);

-- Heads each device is confirmed to have, per document.
CREATE TABLE device_docs (
    device TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    heads  BYTEA NOT NULL,
    PRIMARY KEY (device, doc_id)
);

-- What each response delivered, until the device acknowledges it (or it is known lost).
CREATE TABLE deliveries (
    device   TEXT NOT NULL,
    delivery BIGINT NOT NULL,
    doc_id   TEXT NOT NULL,
    heads    BYTEA NOT NULL,
    PRIMARY KEY (device, delivery, doc_id)
);

-- The last delivery number given to each device.
CREATE TABLE delivery_counters (
    device TEXT PRIMARY KEY,
    last   BIGINT NOT NULL
);
