-- KPIs on the server's clock (issue 13, item 5) and satisfaction by channel (item 6).
-- The time columns the KPIs read (problems.created_at, problem_events.at, ratings.at,
-- visits.device_time) now hold each claimed time clamped to what the server saw
-- (`shared::server_time::kpi_time`); the claim itself is kept beside it. Rows stored before
-- this migration keep their claimed times (they are re-clamped only if their document's
-- stamps change, which recorded stamps never do).
ALTER TABLE problems ADD COLUMN claimed_created_at INTEGER;
-- How many of the problem's stamps (creation, workflow events, rating) were clamped.
ALTER TABLE problems ADD COLUMN clamped INTEGER NOT NULL DEFAULT 0;
-- The rating's channel code (`enterprise`, `officer_signed`, `officer`); NULL: not rated.
ALTER TABLE problems ADD COLUMN rating_channel TEXT;
ALTER TABLE problem_events ADD COLUMN claimed_at INTEGER;
ALTER TABLE ratings ADD COLUMN claimed_at INTEGER;
ALTER TABLE visits ADD COLUMN claimed_time INTEGER;
UPDATE problems SET claimed_created_at = created_at;
UPDATE problem_events SET claimed_at = at;
UPDATE ratings SET claimed_at = at;
UPDATE visits SET claimed_time = device_time;
UPDATE problems SET rating_channel = 'officer' WHERE rating IS NOT NULL;

-- The server time of each device's last sync after which it had nothing left to send
-- (it reported nothing unsent and every push was accepted): whatever it sends later was
-- made after that, less the allowed skew.
ALTER TABLE device_sync ADD COLUMN settled_at INTEGER;

-- The KPI counts read the channel and the clamped count with the rest from one index.
DROP INDEX problems_period;
CREATE INDEX problems_period
    ON problems (created_at, state, deadline, rating, rating_channel, clamped, enterprise, id);
DROP INDEX visits_device_time;
CREATE INDEX visits_device_time ON visits (device_time, enterprise, claimed_time);
