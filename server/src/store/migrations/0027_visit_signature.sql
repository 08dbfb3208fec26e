-- The enterprise's signature on a visit (issue 14 item 4): who signed for the enterprise, when
-- (the device's claim, as the confirmation holds it) and the PNG's SHA-256, for the visit list.
-- NULL: not signed (confirmed by name only, or not confirmed); rows from before have none,
-- as no record held a signature then.
ALTER TABLE visits ADD COLUMN signed_by TEXT;
ALTER TABLE visits ADD COLUMN signed_at INTEGER;
ALTER TABLE visits ADD COLUMN signature TEXT;
