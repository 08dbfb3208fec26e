-- Supervision instructions (督办) with an addressee, a due date and acknowledgements (签收;
-- issue 15 item 3; `store/projection.rs` writes them, `store/supervision_query.rs` lists them).
--
-- A supervision row of `progress` keeps to whom it is addressed (a person, or an org unit),
-- by when (device time, as given), and its first acknowledgement (who, device time). All
-- NULL for instructions given before addressees existed.
ALTER TABLE progress ADD COLUMN to_person TEXT;
ALTER TABLE progress ADD COLUMN to_unit TEXT;
ALTER TABLE progress ADD COLUMN due INTEGER;
ALTER TABLE progress ADD COLUMN acked_by TEXT;
ALTER TABLE progress ADD COLUMN acked_at INTEGER;
CREATE INDEX progress_supervision ON progress (kind, at) WHERE kind = 'supervision';
