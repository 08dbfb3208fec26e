-- The directory: who may log in, with which devices and tokens, and what they may see.
-- Org units, users (argon2 password hashes), assignments (包联) with validity periods,
-- registered devices with their Automerge actors, and hashed session tokens.

CREATE TABLE org_units (
    id     TEXT PRIMARY KEY NOT NULL,               -- OrgUnitId
    code   TEXT NOT NULL UNIQUE,                    -- short key used in CSV files, e.g. yuquan
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('zone', 'town', 'department')),
    parent TEXT REFERENCES org_units (id)
);
CREATE INDEX org_units_parent ON org_units (parent);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,        -- UserId
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,                    -- Role code
    org_unit      TEXT NOT NULL REFERENCES org_units (id),
    password_hash TEXT NOT NULL,                    -- argon2 PHC string, never the password
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- 包联: an officer or leader responsible for an enterprise from valid_from until valid_to.
CREATE TABLE assignments (
    id         INTEGER PRIMARY KEY,
    enterprise TEXT NOT NULL,                       -- EnterpriseId (a document's scope key)
    user       TEXT NOT NULL REFERENCES users (id),
    valid_from INTEGER NOT NULL,                    -- ms
    valid_to   INTEGER,                             -- ms, exclusive; NULL while open-ended
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX assignments_user ON assignments (user, valid_from);
CREATE INDEX assignments_enterprise ON assignments (enterprise);

-- A phone or browser registered at login, bound to one user and one Automerge actor.
CREATE TABLE devices (
    id                  TEXT PRIMARY KEY NOT NULL,  -- DeviceId, made by the client
    user                TEXT NOT NULL REFERENCES users (id),
    name                TEXT NOT NULL,
    actor_id            TEXT NOT NULL UNIQUE,       -- 16 random bytes, hex, made by the server
    registered_at       INTEGER NOT NULL,
    revoked_at          INTEGER,
    last_seen           INTEGER NOT NULL,
    -- Fingerprint of the read scope the device's cursor counts in; a new scope is confirmed
    -- once the device acknowledges the delivery that served it (see the sync driver).
    scope_confirmed     TEXT,
    scope_pending       TEXT,
    scope_pending_since INTEGER                     -- delivery number serving scope_pending
);
CREATE INDEX devices_user ON devices (user);

-- Session tokens: only their SHA-256 is stored.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
    device     TEXT NOT NULL REFERENCES devices (id),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_device ON tokens (device);

-- Scope lookups over the projection tables.
CREATE INDEX enterprises_town ON enterprises (town);
CREATE INDEX enterprises_credit_code ON enterprises (credit_code);
CREATE INDEX problems_owner ON problems (owner);
CREATE INDEX problems_created_by ON problems (created_by);
CREATE INDEX docs_kind ON docs (kind);
