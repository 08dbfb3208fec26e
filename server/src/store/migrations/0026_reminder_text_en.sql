-- Reminders in the person's language (issue 15, item 4): the in-app list shows `text_en` after
-- the English switch. NULL for rows recorded before this migration (the list shows `text`).
ALTER TABLE reminders ADD COLUMN text_en TEXT;
