-- A refresh answer lost on a weak link is forgiven once: a used refresh token presented again
-- soon after its rotation, while the pair issued for it was never used, gets that pair
-- revoked and a new one (see store/directory/sessions.rs). To tell it from a stolen copy the
-- used token remembers the pair issued for it, an access token when it first authenticated a
-- request (set once, by the bearer check), and a used token when a lost answer was forgiven.

ALTER TABLE tokens ADD COLUMN successor_refresh BLOB;
ALTER TABLE tokens ADD COLUMN successor_access BLOB;
ALTER TABLE tokens ADD COLUMN used_at INTEGER;
ALTER TABLE tokens ADD COLUMN retried_at INTEGER;
