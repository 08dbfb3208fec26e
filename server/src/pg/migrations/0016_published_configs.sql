-- The district configurations published, in PostgreSQL (issue 16): SQLite's
-- store/migrations/0025_published_configs.sql with BIGINT ms. A device that declares an older
-- version (`X-Lianxin-Config` on its sync request) has the values it sets judged by that
-- version too, so each one served is kept by version. Rows are only added. Copied by `migrate`.
CREATE TABLE published_configs (
    version      TEXT PRIMARY KEY CHECK (length(version) = 32),  -- PublishedConfig::version
    json         TEXT NOT NULL,                                  -- the canonical JSON devices got
    published_at BIGINT NOT NULL                                 -- first served, server ms
);
