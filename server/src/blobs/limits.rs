//! Every bound on blobs and uploads, in one place: the largest blob, each user's daily upload
//! budget, and how long unreferenced blobs and unfinished uploads are kept.

/// Bytes in a megabyte as these limits count them (MiB).
pub const MB: u64 = 1024 * 1024;

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The limits of the blob store and its uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLimits {
    /// The largest blob accepted, in bytes (a phone downscales photos to a few hundred KB).
    pub max_blob_bytes: u64,
    /// Bytes one user may start uploading in any 24 hours (blobs already stored are free).
    pub daily_bytes_per_user: u64,
    /// How long a stored blob no record references is kept, in ms.
    pub keep_unreferenced_ms: i64,
    /// How long an unfinished upload is kept after it was created, in ms.
    pub keep_unfinished_ms: i64,
}

impl Default for BlobLimits {
    fn default() -> Self {
        BlobLimits {
            max_blob_bytes: 10 * MB,
            daily_bytes_per_user: 200 * MB,
            keep_unreferenced_ms: 30 * DAY_MS,
            keep_unfinished_ms: 3 * DAY_MS,
        }
    }
}

impl BlobLimits {
    /// The defaults with a daily budget of `mb` megabytes per user (`serve
    /// --upload-daily-mb`).
    pub fn with_daily_mb(mb: u64) -> BlobLimits {
        BlobLimits {
            daily_bytes_per_user: mb.saturating_mul(MB),
            ..BlobLimits::default()
        }
    }
}

/// The least an upload creation counts against the daily budget, in bytes, even for a file
/// already stored: it bounds how many uploads one person can open in a day.
pub const MIN_CHARGE: u64 = 64 * 1024;

/// How long an upload's request body may send nothing before the server takes the connection
/// for cut: what arrived is kept and the upload's lock is freed for the device's next attempt
/// (a phone that loses its link often leaves a connection open with no one at the other end).
pub const UPLOAD_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a request waits for an upload another server sharing the blob folder holds (a
/// PATCH to it whose link went silent ends after [`UPLOAD_IDLE`]) before answering 423: the
/// device asks again.
pub const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a request waiting for another server's hold on an upload tries again.
pub const TURN_POLL: std::time::Duration = std::time::Duration::from_millis(25);

/// The media types an upload may declare (`filetype` in its metadata): photos and drawn
/// signatures.
pub const ACCEPTED_TYPES: &[&str] = &["image/jpeg", "image/png"];
