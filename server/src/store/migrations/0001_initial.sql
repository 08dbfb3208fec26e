-- The first schema: documents and their changes, the change feed's sequence counter, what each
-- device is known to have, pending deliveries, device clocks, and the query tables projected
-- from each document.

-- One row per document: the latest merged snapshot and its place in the change feed.
CREATE TABLE docs (
    doc_id     TEXT PRIMARY KEY NOT NULL,           -- `kind/id`
    kind       TEXT NOT NULL,                       -- DocKind code
    enterprise TEXT NOT NULL,                       -- scope key (EnterpriseId)
    seq        INTEGER NOT NULL UNIQUE,             -- change-feed position; UNIQUE indexes it
    snapshot   BLOB NOT NULL,                       -- Automerge save()
    heads      BLOB NOT NULL,                       -- sorted 32-byte hashes, concatenated
    updated_at INTEGER NOT NULL                     -- server clock, ms
);
CREATE INDEX docs_enterprise_seq ON docs (enterprise, seq);

-- Every change the server has accepted, once each.
CREATE TABLE changes (
    doc_id      TEXT NOT NULL REFERENCES docs (doc_id),
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    bytes       BLOB NOT NULL,
    actor       TEXT NOT NULL,                      -- Automerge actor, hex
    device      TEXT NOT NULL,                      -- the device that pushed it
    device_time INTEGER NOT NULL,                   -- the change's own timestamp, ms
    received_at INTEGER NOT NULL,                   -- server clock, ms
    PRIMARY KEY (doc_id, hash)
);

-- Counters; `seq` is the largest sequence number given out.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('seq', 0);

-- Heads each device is confirmed to have, per document.
CREATE TABLE device_docs (
    device TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    heads  BLOB NOT NULL,
    PRIMARY KEY (device, doc_id)
);

-- What each response delivered, until the device acknowledges it (or it is known lost).
CREATE TABLE deliveries (
    device   TEXT NOT NULL,
    delivery INTEGER NOT NULL,
    doc_id   TEXT NOT NULL,
    heads    BLOB NOT NULL,
    PRIMARY KEY (device, delivery, doc_id)
);

-- The last delivery number given to each device.
CREATE TABLE delivery_counters (
    device TEXT PRIMARY KEY NOT NULL,
    last   INTEGER NOT NULL
);

-- Each device's last commit: server and device clocks (skew = last_seen - last_device_time).
CREATE TABLE device_sync (
    device           TEXT PRIMARY KEY NOT NULL,
    last_seen        INTEGER NOT NULL,
    last_device_time INTEGER NOT NULL
);

-- Query tables, rewritten from each document's projection in the transaction that stores it.

CREATE TABLE enterprises (
    id             TEXT PRIMARY KEY NOT NULL,
    credit_code    TEXT NOT NULL,
    name           TEXT NOT NULL,
    address        TEXT NOT NULL,
    town           TEXT NOT NULL,
    industry       TEXT NOT NULL,
    size           TEXT NOT NULL,
    key_enterprise INTEGER NOT NULL,
    lat            REAL,
    lon            REAL
);

CREATE TABLE visits (
    id               TEXT PRIMARY KEY NOT NULL,
    enterprise       TEXT NOT NULL,
    method           TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    notes            TEXT NOT NULL,
    device_time      INTEGER NOT NULL,              -- created.at
    created_by       TEXT NOT NULL,
    created_device   TEXT NOT NULL,
    check_in_outcome TEXT,                          -- fixed | permission_refused | unavailable
    lat              REAL,
    lon              REAL,
    accuracy_m       REAL,
    confirmed        INTEGER NOT NULL
);
CREATE INDEX visits_enterprise ON visits (enterprise);

CREATE TABLE visit_officers (
    visit   TEXT NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    officer TEXT NOT NULL,
    PRIMARY KEY (visit, officer)
);

CREATE TABLE problems (
    id                TEXT PRIMARY KEY NOT NULL,
    enterprise        TEXT NOT NULL,
    visit             TEXT,
    source            TEXT NOT NULL,
    category          TEXT NOT NULL,
    class             TEXT NOT NULL,
    tier              TEXT NOT NULL,                -- effective (workflow outcome)
    set_tier          TEXT NOT NULL,                -- as set by people
    owner             TEXT NOT NULL,
    leader            TEXT,
    deadline          INTEGER NOT NULL,             -- effective (workflow outcome)
    state             TEXT NOT NULL,
    description       TEXT NOT NULL,
    expectation       TEXT NOT NULL,
    response          TEXT NOT NULL,
    rating            INTEGER,                      -- level 1..5
    created_at        INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    superseded_events INTEGER NOT NULL
);
CREATE INDEX problems_enterprise ON problems (enterprise);
CREATE INDEX problems_state ON problems (state);

CREATE TABLE problem_units (
    problem TEXT NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    unit    TEXT NOT NULL,
    PRIMARY KEY (problem, unit)
);
CREATE INDEX problem_units_unit ON problem_units (unit);

CREATE TABLE progress (
    id      TEXT NOT NULL,
    problem TEXT NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('progress', 'supervision')),
    text    TEXT NOT NULL,
    "by"    TEXT NOT NULL,
    device  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (problem, kind, id)
);

CREATE TABLE problem_events (
    id      TEXT NOT NULL,
    problem TEXT NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    action  TEXT NOT NULL,
    "by"    TEXT NOT NULL,
    device  TEXT NOT NULL,
    role    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    reason  TEXT NOT NULL,
    applied INTEGER NOT NULL,
    PRIMARY KEY (problem, id)
);

CREATE TABLE ratings (
    problem TEXT PRIMARY KEY NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    level   INTEGER NOT NULL,
    comment TEXT NOT NULL,
    "by"    TEXT NOT NULL,
    at      INTEGER NOT NULL
);

CREATE TABLE monitoring_power (
    enterprise TEXT NOT NULL,
    day        TEXT NOT NULL,                       -- YYYY-MM-DD
    kwh        REAL NOT NULL,
    PRIMARY KEY (enterprise, day)
);

CREATE TABLE monitoring_prices (
    enterprise TEXT NOT NULL,
    week       TEXT NOT NULL,                       -- YYYY-Www
    product    TEXT NOT NULL,
    price      REAL NOT NULL,
    PRIMARY KEY (enterprise, week, product)
);

CREATE TABLE monitoring_operation (
    enterprise   TEXT NOT NULL,
    month        TEXT NOT NULL,                     -- YYYY-MM
    output_value REAL NOT NULL,
    revenue      REAL NOT NULL,
    employees    INTEGER NOT NULL,
    PRIMARY KEY (enterprise, month)
);
