-- A device that keeps reporting work left to send keeps its old bound only for a while
-- (issue 13, item 5; `[clock] settle_within_hours`): the server time of its first sync after
-- its last settled one (NULL while it is settled). Devices already unsettled start their
-- window at their next sync.
ALTER TABLE device_sync ADD COLUMN unsettled_since INTEGER;
