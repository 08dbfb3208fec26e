//! Background compaction (后台压缩): commits append new changes to a document's stored bytes
//! (no re-encoding on the request path); this job re-saves the documents that have appended
//! changes into a compact snapshot. The content and heads do not change, so neither does the
//! change feed.

use automerge::AutoCommit;
use rusqlite::params;

use super::{SqliteStore, StoreError};

impl SqliteStore {
    /// Compacts up to `limit` documents with appended changes, most appended first; returns
    /// how many were compacted. A document committed again meanwhile is left for the next run.
    pub fn compact_pending(&mut self, limit: usize) -> Result<usize, StoreError> {
        let rows: Vec<(String, Vec<u8>, i64)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT doc_id, snapshot, appended FROM docs WHERE appended > 0 ORDER BY appended DESC LIMIT ?1",
            )?;
            stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let mut done = 0;
        for (doc_id, bytes, appended) in rows {
            let mut doc = AutoCommit::load(&bytes).map_err(|e| StoreError::Corrupt {
                table: "docs",
                detail: format!("{doc_id}: {e}"),
            })?;
            // Uncompressed, like the snapshots commits write (see `shared::sync::server`).
            let compact = doc.save_nocompress();
            done += self.conn.execute(
                "UPDATE docs SET snapshot = ?1, appended = 0 WHERE doc_id = ?2 AND appended = ?3",
                params![compact, doc_id, appended],
            )?;
        }
        Ok(done)
    }
}
