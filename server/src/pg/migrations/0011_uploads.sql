-- Blob bookkeeping in PostgreSQL (issue 14 item 3, issue 16): the same rows as SQLite's
-- (store/migrations/0015_blob_store.sql; `blob_refs` is in 0004_query_tables.sql). The files are
-- in the folder every server names with `serve --blobs`, never in the database.

-- tus uploads (`http/uploads.rs`, `pg/blob_records.rs`): the bytes received so far are the
-- partial file's length in the shared folder; the row says what is expected. `charged` counts
-- against the uploader's daily budget (at least 64 KiB, `blobs::limits::MIN_CHARGE`). Finished
-- rows stay a while for the budget.
CREATE TABLE uploads (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    hash        TEXT NOT NULL,
    length      BIGINT NOT NULL CHECK (length > 0),
    filetype    TEXT NOT NULL,
    charged     BIGINT NOT NULL CHECK (charged >= 0),
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX uploads_user_created ON uploads (user_id, created_at);

-- Stored blobs that no record referenced when garbage collection last looked, and since when
-- (server time, ms). Carried over by `migrate`; garbage collection does not run on PostgreSQL
-- yet.
CREATE TABLE blob_orphans (
    hash  TEXT PRIMARY KEY,
    since BIGINT NOT NULL
);
