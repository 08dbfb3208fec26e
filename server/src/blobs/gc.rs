//! Garbage collection of blobs, run by `serve` at start-up and then hourly: a stored blob that
//! no record has referenced for [`BlobLimits::keep_unreferenced_ms`] (30 days) is removed with
//! its thumbnail; an upload created more than [`BlobLimits::keep_unfinished_ms`] ago is
//! forgotten with its partial file (a finished one has nothing left but its row, kept that long
//! for the daily budget). Each step is a short hold of the store.
//!
//! [`BlobLimits::keep_unreferenced_ms`]: super::BlobLimits
//! [`BlobLimits::keep_unfinished_ms`]: super::BlobLimits

use std::time::{Duration, SystemTime};

use shared::model::Timestamp;

use super::{BlobError, BlobName, BlobService};
use crate::store::{StoreError, StoreHold};

/// How often garbage collection runs.
pub const GC_EVERY: Duration = Duration::from_secs(3600);

/// What one run removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs removed (unreferenced for long enough).
    pub blobs: usize,
    /// Uploads forgotten (older than kept).
    pub uploads: usize,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blob store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The uploads folder failed.
    #[error("uploads folder: {0}")]
    Io(#[from] std::io::Error),
}

/// One run at `now`.
///
/// # Errors
/// When the store or the file system fails; what was removed before stays removed.
pub fn run(
    mut store: impl StoreHold,
    blobs: &BlobService,
    now: Timestamp,
) -> Result<GcReport, GcError> {
    let mut report = GcReport::default();
    let stored: Vec<_> = blobs.store.list()?.into_iter().map(|(h, _)| h).collect();
    let keep = blobs.limits.keep_unreferenced_ms;
    // Judged and removed in one hold, so no commit references a blob between the two.
    report.blobs = store.hold(|s| -> Result<usize, GcError> {
        let expired = s.blob_orphans_past(&stored, now, keep)?;
        for hash in &expired {
            blobs.store.delete(&BlobName::thumb(hash))?;
            blobs.store.delete(&BlobName::original(hash))?;
        }
        s.forget_orphans(&expired)?;
        Ok(expired.len())
    })?;
    let before = Timestamp(now.0.saturating_sub(blobs.limits.keep_unfinished_ms));
    let old = store.hold(|s| s.uploads_created_before(before))?;
    for id in &old {
        blobs.uploads.remove(id)?;
        store.hold(|s| s.delete_upload(id))?;
    }
    report.uploads = old.len();
    // Files whose row is gone (a crash between the two removals above).
    let cutoff =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(before.0).unwrap_or(0));
    for (id, modified) in blobs.uploads.list()? {
        if modified < cutoff && store.hold(|s| s.upload(&id))?.is_none() {
            blobs.uploads.remove(&id)?;
        }
    }
    Ok(report)
}
