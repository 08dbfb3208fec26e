-- 连心卡 in PostgreSQL (issue 16): SQLite's store/migrations/0009_enterprise_cards.sql with
-- BYTEA hashes and BIGINT ms. Each enterprise's card link carries a random token; requests are
-- matched by the token's SHA-256 (the key). The live row keeps the token so the officer can
-- show the card again; replacing or revoking retires the row and forgets the token, keeping
-- the hash so the old link answers "no longer valid" (410). Copied by `migrate`.
CREATE TABLE enterprise_cards (
    token_hash  BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    enterprise  TEXT NOT NULL,
    token       TEXT,                                -- NULL once retired
    created_at  BIGINT NOT NULL,                     -- server clock, ms
    created_by  TEXT,                                -- UserId; NULL: minted on first use
    retired_at  BIGINT,
    retired_by  TEXT,                                -- UserId of who replaced or revoked it
    CHECK ((retired_at IS NULL) = (token IS NOT NULL))
);
-- At most one live card per enterprise.
CREATE UNIQUE INDEX enterprise_cards_live ON enterprise_cards (enterprise) WHERE retired_at IS NULL;
