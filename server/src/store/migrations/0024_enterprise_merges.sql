-- Enterprise profiles merged by an administrator (issue 17: two profiles with one credit code,
-- e.g. imported twice or registered at the window). The absorbed profile stays stored with its
-- whole history; this row says which profile it was merged into, when and by whom. Lists and
-- scopes leave absorbed profiles out; the absorbed profile's records are re-pointed to the
-- survivor (`server/src/admin/enterprises.rs`), and so is any record of it that a phone
-- pushes later. A profile is absorbed once (the key); absorbing a survivor re-points its own
-- absorbed profiles to the new survivor.
CREATE TABLE enterprise_merges (
    absorbed  TEXT PRIMARY KEY NOT NULL,
    survivor  TEXT NOT NULL,
    merged_at INTEGER NOT NULL,
    merged_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX enterprise_merges_survivor ON enterprise_merges (survivor);
