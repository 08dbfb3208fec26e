-- The login throttle's count shared by every server on the database (issue 16 item 4): one row
-- per attempt counted under a key (`login:…` an account, `addr:…` a client address), kept while
-- it is within the window. How attempts are counted without two servers slipping under the
-- limit together: `pg/throttle.rs`.
CREATE TABLE login_attempts (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL                             -- server clock, ms
);
CREATE INDEX login_attempts_key_at ON login_attempts (key, at);
CREATE INDEX login_attempts_at ON login_attempts (at);
