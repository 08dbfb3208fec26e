-- Photos and other files by SHA-256 (issue 14, items 2 and 3; `store/blob_refs.rs`).
-- Which blobs each record references, rewritten with the record's projection: whether a
-- caller may read blob H is one lookup by hash here, then the read scope sync uses.
CREATE TABLE blob_refs (
    hash TEXT NOT NULL,
    doc TEXT NOT NULL,
    enterprise TEXT NOT NULL,
    PRIMARY KEY (hash, doc)
) WITHOUT ROWID;
CREATE INDEX blob_refs_doc ON blob_refs (doc);

-- Stored blobs that no record referenced when garbage collection last looked, and since when
-- (server time, ms); removed after 30 days of it, forgotten when referenced again.
CREATE TABLE blob_orphans (
    hash TEXT PRIMARY KEY NOT NULL,
    since INTEGER NOT NULL
) WITHOUT ROWID;

-- tus uploads (`http/uploads.rs`): the bytes received so far are the partial file's length;
-- the row says what is expected. `charged` is what counts against the uploader's daily budget
-- (at least 64 KiB, `blobs::limits::MIN_CHARGE`, even for a blob already stored). Finished
-- rows stay a while for the budget.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    user TEXT NOT NULL,
    hash TEXT NOT NULL,
    length INTEGER NOT NULL,
    filetype TEXT NOT NULL,
    charged INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX uploads_user_created ON uploads (user, created_at);
