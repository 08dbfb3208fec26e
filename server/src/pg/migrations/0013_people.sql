-- The administrator's people in PostgreSQL (issue 16): a person's phone number, which the
-- 连心卡 prints for the enterprises they are assigned (SQLite's store/migrations/
-- 0009_enterprise_cards.sql; NULL: none recorded). Written when a person is added
-- (`POST /api/admin/users`, `POST /api/admin/imports/users`) and copied by `migrate`.
ALTER TABLE users ADD COLUMN phone TEXT;
