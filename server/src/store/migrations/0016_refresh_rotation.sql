-- Refresh tokens rotate: each refresh marks the token it was given as used (rotated_at) and
-- issues a new one. A used token presented again is a stolen copy or its thief's, and ends
-- the device's session (reuse detection). Used tokens are kept until they expire so that a
-- late copy is still recognised.

ALTER TABLE tokens ADD COLUMN rotated_at INTEGER;
