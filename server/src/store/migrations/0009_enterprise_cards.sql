-- 连心卡: each enterprise's card link is a capability URL carrying a random token (20 bytes
-- from the OS's CSPRNG). Requests are matched by the token's SHA-256 (the key), never by the
-- token. The active row also keeps the token itself so the officer can show and print the card
-- again; replacing or revoking a card retires its row (`retired_at`, `retired_by`) and forgets
-- the token, keeping the hash so the old link answers "no longer valid" (410), not unknown.
CREATE TABLE enterprise_cards (
    token_hash  BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    enterprise  TEXT NOT NULL,
    token       TEXT,                                -- NULL once retired
    created_at  INTEGER NOT NULL,                    -- server clock, ms
    created_by  TEXT,                                -- UserId; NULL: minted on first use
    retired_at  INTEGER,
    retired_by  TEXT,                                -- UserId of who replaced or revoked it
    CHECK ((retired_at IS NULL) = (token IS NOT NULL))
) WITHOUT ROWID;
-- At most one live card per enterprise.
CREATE UNIQUE INDEX enterprise_cards_live ON enterprise_cards (enterprise) WHERE retired_at IS NULL;

-- The card prints its officers' phone numbers (NULL: none recorded).
ALTER TABLE users ADD COLUMN phone TEXT;
