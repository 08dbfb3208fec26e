-- Every district configuration the server has published (issue 15, bad input): a device that
-- declares an older version (`X-Lianxin-Config` on its sync request) has the values it sets
-- judged by that version too, so the server keeps each one it served, by version.
CREATE TABLE published_configs (
    version      TEXT PRIMARY KEY CHECK (length(version) = 32),  -- PublishedConfig::version
    json         TEXT NOT NULL,                                  -- the canonical JSON devices got
    published_at INTEGER NOT NULL                                -- first served, server ms
) WITHOUT ROWID;
