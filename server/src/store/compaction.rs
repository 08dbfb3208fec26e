//! Background compaction (后台压缩): commits append new changes to a document's stored bytes
//! (no re-encoding on the request path); this job re-saves the documents that have appended
//! changes into a compact snapshot. The content and heads do not change, so neither does the
//! change feed. The job ([`compact_pending`]) is written once over [`Compactions`] and runs on
//! both backends; SQLite's steps are here (every [`StoreHold`]), PostgreSQL's in
//! `pg/maintenance.rs`.
//!
//! **Invariant:** the store is held only to list the documents, to read one document's bytes
//! and heads, and to write its compacted bytes back; loading and re-saving (seconds for a large
//! document) run between holds, so requests are not held up. The write happens only when the
//! document's heads are still those read (a conditional update; on PostgreSQL it waits for a
//! commit holding the row and then compares the heads that commit wrote); a document committed
//! meanwhile, on any server, is left for the next run.

use automerge::AutoCommit;
use rusqlite::{OptionalExtension as _, params};
use shared::sync::protocol::DocId;

use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError, StoreHold, snapshot};
use crate::db::Compactions;

/// A document's stored bytes and heads as compaction read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionRead {
    /// The document's id (`kind/id`).
    pub doc_id: String,
    /// Its stored bytes.
    pub bytes: Vec<u8>,
    /// Its heads, as stored (the write-back's guard).
    pub(crate) heads: Vec<u8>,
}

impl SqliteStore {
    /// Up to `limit` documents with appended changes, most appended first.
    pub fn compaction_candidates(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        compaction_candidates(&Lite(&self.conn), limit)
    }

    /// A candidate's bytes and heads; `None` when it is gone or was compacted meanwhile.
    pub fn compaction_read(&self, doc_id: &str) -> Result<Option<CompactionRead>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT snapshot, heads, inflated_size, dictionary FROM docs \
                 WHERE doc_id = ?1 AND appended > 0",
            )?
            .query_row([doc_id], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .optional()?;
        let Some((bytes, heads, inflated_size, dictionary)) = row else {
            return Ok(None);
        };
        Ok(Some(CompactionRead {
            doc_id: doc_id.to_string(),
            bytes: snapshot::load(bytes, inflated_size, dictionary, doc_id)?,
            heads,
        }))
    }

    /// Writes `compact` as the document's bytes if its heads are still those `read` saw;
    /// returns whether it did.
    pub fn compaction_write(
        &mut self,
        read: &CompactionRead,
        compact: &[u8],
    ) -> Result<bool, StoreError> {
        let kind = DocId::parse(&read.doc_id)
            .map_err(|e| StoreError::Corrupt {
                table: "docs",
                detail: e.to_string(),
            })?
            .kind();
        let stored = snapshot::store_with(&mut self.deflater, kind, compact);
        let n = self
            .conn
            .prepare_cached(
                "UPDATE docs SET snapshot = ?1, inflated_size = ?4, dictionary = ?5, \
                 appended = 0 WHERE doc_id = ?2 AND heads = ?3",
            )?
            .execute(params![
                stored.bytes,
                read.doc_id,
                read.heads,
                stored.inflated_size,
                stored.dictionary
            ])?;
        Ok(n > 0)
    }

    /// Compacts up to `limit` documents with appended changes (see [`compact_pending`]), the
    /// store held throughout: for admin commands and tests that own the store.
    pub fn compact_pending(&mut self, limit: usize) -> Result<usize, StoreError> {
        compact_pending(self, limit)
    }
}

/// Up to `limit` documents with appended changes, most appended first (then by id): the one
/// definition, run on either backend.
///
/// # Errors
/// When the store fails.
pub(crate) fn compaction_candidates(db: &dyn Sql, limit: usize) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT doc_id FROM docs WHERE appended > 0 ORDER BY appended DESC, doc_id LIMIT ?",
        &[Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX))],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// SQLite's compaction steps: each a short hold of the store ([`StoreHold`]), running the
/// store's own method of that name (named in full: the trait's would call itself).
impl<S: StoreHold> Compactions for S {
    fn compaction_candidates(&mut self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.hold(|s| SqliteStore::compaction_candidates(s, limit))
    }

    fn compaction_read(&mut self, doc_id: &str) -> Result<Option<CompactionRead>, StoreError> {
        self.hold(|s| SqliteStore::compaction_read(s, doc_id))
    }

    fn compaction_write(
        &mut self,
        read: &CompactionRead,
        compact: &[u8],
    ) -> Result<bool, StoreError> {
        self.hold(|s| SqliteStore::compaction_write(s, read, compact))
    }
}

/// Compacts up to `limit` documents with appended changes, most appended first, holding the
/// store only to list them, to read each one and to write it back (see the module's
/// invariant); returns how many were compacted.
///
/// # Errors
/// When the store fails (a document that does not load is skipped and logged).
pub fn compact_pending<S: Compactions + ?Sized>(
    store: &mut S,
    limit: usize,
) -> Result<usize, StoreError> {
    compact_pending_with(store, limit, resave)
}

/// [`compact_pending`] with the re-save step given (tests observe what it runs beside).
pub(crate) fn compact_pending_with<S: Compactions + ?Sized>(
    store: &mut S,
    limit: usize,
    mut compact: impl FnMut(&CompactionRead) -> Result<Vec<u8>, StoreError>,
) -> Result<usize, StoreError> {
    let candidates = store.compaction_candidates(limit)?;
    let mut done = 0;
    for doc_id in candidates {
        let Some(read) = store.compaction_read(&doc_id)? else {
            continue;
        };
        // One document that does not load (or makes Automerge panic) is left as it is and
        // logged; the others are still compacted.
        let compacted =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compact(&read))) {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(error)) => {
                    tracing::warn!(%error, doc = %doc_id, "not compacted");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(doc = %doc_id, "not compacted: its bytes could not be decoded");
                    continue;
                }
            };
        if store.compaction_write(&read, &compacted)? {
            done += 1;
        }
    }
    Ok(done)
}

/// Loads a document and saves it compactly: uncompressed, like the snapshots commits write
/// (see `shared::sync::server`).
pub(crate) fn resave(read: &CompactionRead) -> Result<Vec<u8>, StoreError> {
    let mut doc = AutoCommit::load(&read.bytes).map_err(|e| StoreError::Corrupt {
        table: "docs",
        detail: format!("{}: {e}", read.doc_id),
    })?;
    Ok(doc.save_nocompress())
}
