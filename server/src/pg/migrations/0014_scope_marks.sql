-- Re-scoping a device whose read scope changed (store/rescope.rs, the same rule on both
-- backends): the fingerprint of the scope the device's cursor counts in, and a new scope
-- served from cursor 0 with the delivery that served it, confirmed once the device
-- acknowledges that delivery — as SQLite's devices (store/migrations/0002_directory.sql).
ALTER TABLE devices ADD COLUMN scope_confirmed TEXT;
ALTER TABLE devices ADD COLUMN scope_pending TEXT;
ALTER TABLE devices ADD COLUMN scope_pending_since BIGINT;
