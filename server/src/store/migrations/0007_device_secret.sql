-- A device id is bound to the phone that registered it: the phone makes a random secret, keeps
-- it beside the id and sends it at login; the server keeps only its SHA-256. A login with the
-- id but without the matching secret gets a fresh device (and actor). NULL: registered before
-- secrets (or by an app that sends none); the first login with a secret binds it.
ALTER TABLE devices ADD COLUMN secret_hash BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32);
