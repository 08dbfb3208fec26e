-- The directory's people, devices and session tokens in PostgreSQL: the same rows and rules
-- as SQLite's (store/migrations/0002_directory.sql with 0016 and 0018's token columns).
CREATE TABLE org_units (
    id     TEXT PRIMARY KEY,                        -- OrgUnitId
    code   TEXT NOT NULL UNIQUE,                    -- short key used in CSV files, e.g. yuquan
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('zone', 'town', 'department')),
    parent TEXT REFERENCES org_units (id)
);
CREATE INDEX org_units_parent ON org_units (parent);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,                 -- UserId
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,                    -- Role code
    org_unit      TEXT NOT NULL REFERENCES org_units (id),
    password_hash TEXT NOT NULL,                    -- argon2 PHC string, never the password
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL                   -- ms
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,                 -- DeviceId, made by the client
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    actor_id      TEXT NOT NULL UNIQUE,             -- 16 random bytes, hex, made by the server
    registered_at BIGINT NOT NULL,
    revoked_at    BIGINT,
    last_seen     BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

-- Session tokens: only their SHA-256 is stored.
CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    device     TEXT NOT NULL REFERENCES devices (id),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    rotated_at BIGINT,                              -- a refresh token exchanged for its successor
    used_at    BIGINT                               -- an access token's first request
);
CREATE INDEX tokens_device ON tokens (device);
