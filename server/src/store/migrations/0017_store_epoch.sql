-- The store's epoch (纪元): 0 at creation, a new number at each restore from a backup.
-- Cursors handed to devices carry it (shared::sync::protocol::EPOCH_SHIFT), so a restored
-- database knows a cursor of the database it replaced and serves that device from the start.
CREATE TABLE store_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL CHECK (epoch >= 0)
);
INSERT INTO store_epoch (id, epoch) VALUES (1, 0);
