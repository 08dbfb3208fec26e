//! The store's epoch (纪元, migration `0017_store_epoch`): 0 when the database is created, a
//! new, larger number each time `lianxin-server restore` puts a backup in its place. Cursors
//! handed to devices carry it (`shared::sync::protocol::EPOCH_SHIFT`): the restored database
//! serves a cursor of the one it replaced from the start of its feed, and the device offers
//! again what the restored database may lack, so nothing written after the backup is skipped.

use rusqlite::params;
use shared::sync::protocol::MAX_EPOCH;

use super::{SqliteStore, StoreError};

impl SqliteStore {
    /// The database's epoch.
    pub fn store_epoch(&self) -> Result<u64, StoreError> {
        let epoch: i64 = self
            .conn
            .prepare_cached("SELECT epoch FROM store_epoch WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        u64::try_from(epoch).map_err(|_| StoreError::Corrupt {
            table: "store_epoch",
            detail: format!("epoch {epoch}"),
        })
    }

    /// Gives the database a new epoch after a restore: above both its own (the backup's) and
    /// `replaced`'s, the epoch of the database it replaces (when that one could be read), by
    /// `jump` more (a random step, so two restores of one backup over a lost database are
    /// unlikely to meet). Returns it.
    pub fn start_epoch(&mut self, replaced: Option<u64>, jump: u64) -> Result<u64, StoreError> {
        let base = self.store_epoch()?.max(replaced.unwrap_or(0));
        let mut epoch = base.saturating_add(1).saturating_add(jump % 1024);
        if epoch > MAX_EPOCH {
            // Past 8 million restores: start again low.
            epoch = 1 + jump % 1024;
        }
        self.conn.execute(
            "UPDATE store_epoch SET epoch = ?1 WHERE id = 1",
            params![i64::try_from(epoch).unwrap_or(1)],
        )?;
        Ok(epoch)
    }
}
