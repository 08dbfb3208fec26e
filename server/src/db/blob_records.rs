//! What the database keeps about blobs (photos, signatures) for the upload and read routes
//! (`http/uploads.rs`, `http/blobs.rs`), whichever backend: which records reference a hash
//! (what [`crate::blobs::may_read`] judges with the reader's scope), the rows of tus uploads,
//! and each person's daily upload budget (the rule: [`within_budget`]). The files themselves
//! are the blob store's ([`crate::blobs::BlobService`]), never the database's.

use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;

use super::DbFuture;
use crate::blobs::BlobHash;

/// One tus upload's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    /// Its id (32 hex digits), the last part of its URL.
    pub id: String,
    /// Who created it.
    pub user: UserId,
    /// The SHA-256 its bytes must have.
    pub hash: BlobHash,
    /// How many bytes it will have.
    pub length: u64,
    /// The media type the uploader declared.
    pub filetype: String,
    /// Bytes counted against the uploader's daily budget.
    pub charged: u64,
    /// When it was created, server time.
    pub created_at: Timestamp,
    /// When its bytes were verified and stored, if they were.
    pub finished_at: Option<Timestamp>,
}

/// How opening an upload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// The upload is recorded.
    Opened,
    /// Not recorded: the uploader was charged this many bytes in the window already, and the
    /// new upload's charge would pass the budget.
    OverBudget {
        /// Bytes charged in the window before this upload.
        used: u64,
    },
}

/// The budget rule, one place: an upload charged `charged` bytes may open when `used` bytes
/// were charged in the window already and the sum stays within `budget`.
pub fn within_budget(used: u64, charged: u64, budget: u64) -> bool {
    used.saturating_add(charged) <= budget
}

/// What the upload and read routes need of the database.
pub trait BlobRecords: Send + Sync + std::fmt::Debug {
    /// Every record that references `hash`, with its enterprise: what a read scope is checked
    /// against (`Scope::allows`).
    fn blob_references(&self, hash: BlobHash) -> DbFuture<'_, Vec<(DocId, EnterpriseId)>>;

    /// Records upload `row` unless its uploader's uploads created at or after `since`, with
    /// this one's `charged`, pass `budget` ([`within_budget`]). The count and the record are
    /// one step: two servers opening uploads of one person at once never both pass on the
    /// same room.
    fn open_upload(&self, row: UploadRow, since: Timestamp, budget: u64) -> DbFuture<'_, Opening>;

    /// The upload `id`, if recorded.
    fn upload(&self, id: String) -> DbFuture<'_, Option<UploadRow>>;

    /// Marks upload `id` finished at `at`: its bytes are in the blob store.
    fn finish_upload(&self, id: String, at: Timestamp) -> DbFuture<'_, ()>;

    /// Forgets upload `id` (its bytes did not match its hash).
    fn delete_upload(&self, id: String) -> DbFuture<'_, ()>;
}
