-- The query tables (查询表) in PostgreSQL (issue 16 item 2): the same rows as SQLite's
-- (store/migrations 0001, 0005, 0010, 0011, 0015, 0019, 0020, 0022, 0027), which a commit
-- rewrites from each document's projection in its transaction with the same statements on
-- both backends (`store/projection.rs` over `store/sql.rs`). Column types follow SQLite's so
-- the shared statements mean the same on both: times are BIGINT milliseconds, flags INTEGER
-- 0/1, measures DOUBLE PRECISION. 0002 made the columns access reads; the rest come here
-- (no PostgreSQL database has query rows before this: nothing wrote them).

ALTER TABLE enterprises
    ADD COLUMN credit_code    TEXT NOT NULL,
    ADD COLUMN name           TEXT NOT NULL,
    ADD COLUMN address        TEXT NOT NULL,
    ADD COLUMN industry       TEXT NOT NULL,
    ADD COLUMN size           TEXT NOT NULL,
    ADD COLUMN key_enterprise INTEGER NOT NULL,
    ADD COLUMN lat            DOUBLE PRECISION,
    ADD COLUMN lon            DOUBLE PRECISION;
CREATE INDEX enterprises_credit_code ON enterprises (credit_code);

ALTER TABLE problems
    ADD COLUMN visit              TEXT,
    ADD COLUMN source             TEXT NOT NULL,
    ADD COLUMN category           TEXT NOT NULL,
    ADD COLUMN class              TEXT NOT NULL,
    ADD COLUMN tier               TEXT NOT NULL,    -- effective (workflow outcome)
    ADD COLUMN set_tier           TEXT NOT NULL,    -- as set by people
    ADD COLUMN leader             TEXT,
    ADD COLUMN deadline           BIGINT NOT NULL,  -- effective, on the server's clock
    ADD COLUMN state              TEXT NOT NULL,
    ADD COLUMN description        TEXT NOT NULL,
    ADD COLUMN expectation        TEXT NOT NULL,
    ADD COLUMN response           TEXT NOT NULL,
    ADD COLUMN rating             INTEGER,          -- level 1..5
    ADD COLUMN created_at         BIGINT NOT NULL,  -- counted (server clock)
    ADD COLUMN superseded_events  INTEGER NOT NULL,
    ADD COLUMN claimed_created_at BIGINT,
    ADD COLUMN clamped            INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN rating_channel     TEXT,
    ADD COLUMN look_back_owed     INTEGER NOT NULL DEFAULT 0;
CREATE INDEX problems_period
    ON problems (created_at, state, deadline, rating, rating_channel, clamped, enterprise, id);
CREATE INDEX problems_deadline ON problems (deadline, id, state, rating, enterprise, created_at);
CREATE INDEX problems_state_deadline ON problems (state, deadline);

CREATE TABLE visits (
    id               TEXT PRIMARY KEY,
    enterprise       TEXT NOT NULL,
    method           TEXT NOT NULL,
    operating_status TEXT NOT NULL,
    notes            TEXT NOT NULL,
    device_time      BIGINT NOT NULL,               -- counted (server clock)
    created_by       TEXT NOT NULL,
    created_device   TEXT NOT NULL,
    check_in_outcome TEXT,                          -- fixed | permission_refused | unavailable
    lat              DOUBLE PRECISION,
    lon              DOUBLE PRECISION,
    accuracy_m       DOUBLE PRECISION,
    confirmed        INTEGER NOT NULL,
    claimed_time     BIGINT,
    distance_m       DOUBLE PRECISION,              -- from the registered position
    photos           INTEGER NOT NULL DEFAULT 0,
    signed_by        TEXT,
    signed_at        BIGINT,
    signature        TEXT
);
CREATE INDEX visits_enterprise ON visits (enterprise);
CREATE INDEX visits_device_time ON visits (device_time, enterprise, claimed_time);

CREATE TABLE visit_officers (
    visit   TEXT NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    officer TEXT NOT NULL,
    PRIMARY KEY (visit, officer)
);
CREATE INDEX visit_officers_officer ON visit_officers (officer);

CREATE TABLE progress (
    id        TEXT NOT NULL,
    problem   TEXT NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('progress', 'supervision')),
    text      TEXT NOT NULL,
    "by"      TEXT NOT NULL,
    device    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    to_person TEXT,
    to_unit   TEXT,
    due       BIGINT,
    acked_by  TEXT,
    acked_at  BIGINT,
    PRIMARY KEY (problem, kind, id)
);
CREATE INDEX progress_supervision ON progress (kind, at) WHERE kind = 'supervision';

CREATE TABLE problem_events (
    id         TEXT NOT NULL,
    problem    TEXT NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    "by"       TEXT NOT NULL,
    device     TEXT NOT NULL,
    role       TEXT NOT NULL,
    at         BIGINT NOT NULL,                     -- counted (server clock)
    reason     TEXT NOT NULL,
    applied    INTEGER NOT NULL,
    claimed_at BIGINT,
    unit       TEXT,
    PRIMARY KEY (problem, id)
);
CREATE INDEX problem_events_kpi ON problem_events (action, applied, problem, at);

CREATE TABLE ratings (
    problem    TEXT PRIMARY KEY REFERENCES problems (id) ON DELETE CASCADE,
    level      INTEGER NOT NULL,
    comment    TEXT NOT NULL,
    "by"       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    claimed_at BIGINT
);

CREATE TABLE monitoring_power (
    enterprise TEXT NOT NULL,
    day        TEXT NOT NULL,                       -- YYYY-MM-DD
    kwh        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (enterprise, day)
);

CREATE TABLE monitoring_prices (
    enterprise TEXT NOT NULL,
    week       TEXT NOT NULL,                       -- YYYY-Www
    product    TEXT NOT NULL,
    price      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (enterprise, week, product)
);

CREATE TABLE monitoring_operation (
    enterprise   TEXT NOT NULL,
    month        TEXT NOT NULL,                     -- YYYY-MM
    output_value DOUBLE PRECISION NOT NULL,
    revenue      DOUBLE PRECISION NOT NULL,
    employees    BIGINT NOT NULL,
    PRIMARY KEY (enterprise, month)
);

-- The position a visit's check-in is measured from: the profile's, else the first check-in's.
CREATE TABLE enterprise_positions (
    enterprise TEXT PRIMARY KEY,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION,
    source     TEXT NOT NULL,                       -- profile | visit
    visit      TEXT
);

-- Which blobs (photos, signatures) each record references.
CREATE TABLE blob_refs (
    hash       TEXT NOT NULL,
    doc        TEXT NOT NULL,
    enterprise TEXT NOT NULL,
    PRIMARY KEY (hash, doc)
);
CREATE INDEX blob_refs_doc ON blob_refs (doc);

-- A record's history verdict, which the lists show beside each row. Nothing on PostgreSQL
-- judges history on commit yet (`store/history.rs` is SQLite's): every row reads "not
-- checked" (no row) until it does.
CREATE TABLE history_verdicts (
    doc_id     TEXT PRIMARY KEY,
    heads      BYTEA NOT NULL,
    intact     INTEGER,
    broken     TEXT,
    checked_at BIGINT NOT NULL,
    full_at    BIGINT
);
