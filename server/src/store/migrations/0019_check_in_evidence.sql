-- Check-in checks (签到核验, issue 14 item 5; `store/projection.rs`, `store/visits_query.rs`).
--
-- Each enterprise's registered position: its profile's (`source` 'profile'), or, while the
-- profile has none, the check-in of the first visit projected with a position ('visit', and
-- which visit), with the accuracy it was taken with (NULL: from before accuracies were kept).
CREATE TABLE enterprise_positions (
    enterprise TEXT PRIMARY KEY NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    accuracy_m REAL,
    source     TEXT NOT NULL,
    visit      TEXT
) WITHOUT ROWID;
INSERT INTO enterprise_positions (enterprise, lat, lon, accuracy_m, source, visit)
    SELECT id, lat, lon, NULL, 'profile', NULL FROM enterprises
    WHERE lat IS NOT NULL AND lon IS NOT NULL;

-- A visit's check-in distance from its enterprise's registered position, in metres (NULL: no
-- position at check-in, or none registered), and how many photos the record references.
-- Whether it is outside the radius is judged when read, with the configured radius.
ALTER TABLE visits ADD COLUMN distance_m REAL;
ALTER TABLE visits ADD COLUMN photos INTEGER NOT NULL DEFAULT 0;
UPDATE visits SET photos = (SELECT COUNT(*) FROM blob_refs b WHERE b.doc = 'visit/' || visits.id);
-- The distances of the visits stored before are measured once by the server when it opens the
-- database (`store::projection::measure_after_migration`: SQLite here has no trigonometry).
INSERT INTO meta (key, value) VALUES ('check_in_distances_pending', 1);
