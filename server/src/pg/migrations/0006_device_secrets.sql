-- A device's secret (its SHA-256), as SQLite's devices keep it (store migration 0020): a login
-- presenting a device id bound to another phone's secret gets a fresh id, so two phones never
-- share an actor (`auth::session::register`).
ALTER TABLE devices ADD COLUMN secret_hash BYTEA;
