//! What the background jobs that rework stored documents need from storage, one step at a time:
//! the history audit ([`HistoryAudits`], the job `crate::history_audit`) and compaction
//! ([`Compactions`], the job `store::compact_pending`). Each job is written once over its trait
//! and runs on both backends: SQLite's writer in short holds (every `store::StoreHold`
//! implements both, `store/history.rs` and `store/compaction.rs`), PostgreSQL's pool a
//! connection per step (`pg/maintenance.rs`).
//!
//! The traits are synchronous, like the sync store's: a job runs on a blocking thread
//! ([`super::Db::maintain`]), and its long work (loading, checking and re-saving a document)
//! runs between steps, holding nothing.
//!
//! **Invariant:** a step that writes back what an earlier step read writes only if the record
//! is still at the heads read (a conditional write, under a lock a commit also takes on
//! PostgreSQL), so a job never overwrites a commit made meanwhile, on any server; the record
//! is left for the job's next run.

use shared::model::{DeviceId, Timestamp};
use shared::sync::protocol::DocId;

use crate::api::HistoryVerdict;
use crate::store::{AuditRead, CompactionRead, StoreError};

/// Who made each change of a record: change hash, actor (hex), the device its message names.
pub type Authors = [(String, String, Option<DeviceId>)];

/// The history audit's steps.
pub trait HistoryAudits {
    /// Records to check next, at most `limit`: the pending ones (changes since their last full
    /// check) when `pending_only`, else those never checked in full, then those checked
    /// longest ago.
    ///
    /// # Errors
    /// When the store fails or holds a bad id.
    fn audit_batch(&mut self, limit: usize, pending_only: bool) -> Result<Vec<DocId>, StoreError>;

    /// A record as the audit checks it, read at one instant (bytes, heads and the changes the
    /// change table recorded agree); `None` when it is not stored.
    ///
    /// # Errors
    /// When the store fails.
    fn audit_read(&mut self, doc: &DocId) -> Result<Option<AuditRead>, StoreError>;

    /// Keeps the verdict on `read`'s record: broken by `chain` (what checking its bytes found)
    /// or by a change of `authors` wrongly attributed, else intact; written only if the record
    /// is still at the heads read. Returns the verdict written, if any.
    ///
    /// # Errors
    /// When the store fails.
    fn audit_write(
        &mut self,
        read: &AuditRead,
        chain: Option<String>,
        authors: &Authors,
        now: Timestamp,
    ) -> Result<Option<HistoryVerdict>, StoreError>;
}

/// Compaction's steps.
pub trait Compactions {
    /// Up to `limit` documents with appended changes, most appended first.
    ///
    /// # Errors
    /// When the store fails.
    fn compaction_candidates(&mut self, limit: usize) -> Result<Vec<String>, StoreError>;

    /// A candidate's bytes and heads; `None` when it is gone or was compacted meanwhile.
    ///
    /// # Errors
    /// When the store fails or its bytes do not inflate.
    fn compaction_read(&mut self, doc_id: &str) -> Result<Option<CompactionRead>, StoreError>;

    /// Writes `compact` as the document's bytes if its heads are still those `read` saw;
    /// returns whether it did.
    ///
    /// # Errors
    /// When the store fails.
    fn compaction_write(
        &mut self,
        read: &CompactionRead,
        compact: &[u8],
    ) -> Result<bool, StoreError>;
}

/// Both jobs' steps: what [`super::Db::maintain`] hands a job.
pub trait Maintenance: HistoryAudits + Compactions {}

impl<S: HistoryAudits + Compactions> Maintenance for S {}
