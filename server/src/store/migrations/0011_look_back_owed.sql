-- A problem signed off after a bad rating is flagged black until a look-back passes (issue 13,
-- item 3): the replay's `look_back_owed`, kept beside the state so the list's flag rule reads
-- it. Rows from before have no bad-rating events, so 0 is their true value.
ALTER TABLE problems ADD COLUMN look_back_owed INTEGER NOT NULL DEFAULT 0;
