-- Bulletins (通报): KPI snapshots per period and unit with rankings, immutable once issued.

CREATE TABLE bulletins (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    unit        TEXT,                               -- OrgUnitId; NULL for the whole zone
    period_from INTEGER NOT NULL,                   -- ms, inclusive
    period_to   INTEGER NOT NULL,                   -- ms, exclusive
    issued_at   INTEGER NOT NULL,                   -- server clock, ms
    issued_by   TEXT NOT NULL,                      -- UserId
    body        TEXT NOT NULL                       -- the snapshot, JSON
);

CREATE TRIGGER bulletins_are_immutable_update BEFORE UPDATE ON bulletins
BEGIN
    SELECT RAISE(ABORT, 'a bulletin is immutable once issued');
END;

CREATE TRIGGER bulletins_are_immutable_delete BEFORE DELETE ON bulletins
BEGIN
    SELECT RAISE(ABORT, 'a bulletin is immutable once issued');
END;
