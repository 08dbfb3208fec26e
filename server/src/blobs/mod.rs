//! Files by SHA-256 (photos, signatures): the blob store ([`store`]: the [`BlobStore`] trait
//! and its filesystem implementation under `<db>.blobs/` on SQLite, or on PostgreSQL under the
//! folder every server of the database shares, `serve --blobs DIR`), the limits on what may be uploaded
//! ([`limits`], one place), partial tus uploads kept durable across restarts ([`uploads`]),
//! server-made thumbnails ([`thumb`]) and garbage collection ([`gc`], SQLite only so far).
//! Which blobs records reference, the uploads' rows and the daily budget are the database's
//! ([`crate::db::BlobRecords`], on either backend); the HTTP routes are
//! `http/uploads.rs` (tus 1.0) and `http/blobs.rs` (`GET /api/blobs/{hash}`).

pub mod backup;
pub mod gc;
pub mod limits;
pub mod store;
pub mod thumb;
pub mod uploads;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use limits::BlobLimits;
pub use store::{BlobError, BlobName, BlobStore, FsBlobStore, Variant};

/// A blob's name: the SHA-256 of its bytes as 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobHash(String);

impl BlobHash {
    /// The hash in `text`, which must be exactly 64 hex digits (upper case is taken as lower).
    pub fn parse(text: &str) -> Option<BlobHash> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| BlobHash(text.to_ascii_lowercase()))
    }

    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobHash {
        use sha2::Digest as _;
        BlobHash(crate::auth::token::hex(&sha2::Sha256::digest(bytes)))
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The code of the 503 that uploads and photo reads answer on a server with no blob folder
/// (PostgreSQL started without `--blobs`).
pub const NO_FOLDER_CODE: &str = "no_blob_folder";

/// Its message: what the operator does.
pub const NO_FOLDER: &str = "photos are not served: this server runs on PostgreSQL without a \
    blob folder; start every server of the database with --blobs DIR (LIANXIN_BLOBS, or \
    `blobs` in the [server] section), one folder they all share";

/// The folder of a database file's blobs: `<db>.blobs` beside it (like its `<db>.lock`), so a
/// backup `X` keeps its blobs in `X.blobs`.
pub fn blob_dir(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".blobs");
    PathBuf::from(name)
}

/// What the HTTP routes and the background job share: the store, where partial uploads are
/// kept, the limits, and one turn per upload so two requests never append to it at once.
#[derive(Debug, Clone)]
pub struct BlobService {
    /// Finished blobs and thumbnails.
    pub store: Arc<dyn BlobStore>,
    /// Partial uploads and temporary files (on the store's file system, so a finished
    /// upload is renamed into the store, never copied).
    pub uploads: uploads::UploadFiles,
    /// Sizes, budget and ages.
    pub limits: BlobLimits,
    turns: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

/// One upload's slot: the lock that appending and settling hold, and a count of the requests
/// that asked for a turn (each new one tells the holder to stop).
#[derive(Debug)]
struct Slot {
    lock: Arc<tokio::sync::Mutex<()>>,
    asked: tokio::sync::watch::Sender<u64>,
}

/// A request's turn on an upload ([`BlobService::take_turn`]): no other request, on this
/// server or another sharing the folder, appends to it or finishes it while this is held.
#[derive(Debug)]
pub struct Turn {
    // Dropped first: the other servers' turn before this server's next request's.
    _file: uploads::UploadHold,
    _held: tokio::sync::OwnedMutexGuard<()>,
    asked: tokio::sync::watch::Receiver<u64>,
    _slot: Arc<Slot>,
}

/// Why a request got no turn on an upload.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// Another server sharing the folder held the upload for all of
    /// [`limits::TURN_WAIT`].
    #[error("another server is receiving this upload")]
    Busy,
    /// The upload's lock file could not be opened or locked.
    #[error("upload lock: {0}")]
    Io(#[from] std::io::Error),
}

impl Turn {
    /// Resolves once a newer request for the same upload has asked for a turn: at once if one
    /// asked while this one waited.
    pub async fn superseded(&mut self) {
        if self.asked.changed().await.is_err() {
            // The slot outlives the turn (`_slot`), so its sender is never dropped before.
            std::future::pending::<()>().await;
        }
    }
}

impl BlobService {
    /// The blobs of database file `db`, in [`blob_dir`]; folders are made when first written.
    pub fn for_db(db: &Path, limits: BlobLimits) -> BlobService {
        BlobService::in_folder(&blob_dir(db), limits)
    }

    /// The blobs in folder `root` (`serve --blobs DIR` on PostgreSQL: one folder every server
    /// of the database shares); folders are made when first written.
    pub fn in_folder(root: &Path, limits: BlobLimits) -> BlobService {
        BlobService {
            store: Arc::new(FsBlobStore::new(root)),
            uploads: uploads::UploadFiles::new(root),
            limits,
            turns: Arc::default(),
        }
    }

    /// The same service with other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: BlobLimits) -> BlobService {
        self.limits = limits;
        self
    }

    /// Waits for upload `id`'s turn, which the request holds while it appends to the upload
    /// or finishes it. On this server the newest request wins: asking tells the request
    /// holding the turn (a PATCH whose link went silent, or one a client gave up on and
    /// resent) to stop, keeping and fsyncing what it received, so the wait is that fsync, not
    /// [`limits::UPLOAD_IDLE`]. Then the upload's lock in the folder, which another server
    /// sharing it may hold (a PATCH to it the device gave up on): waited for
    /// [`limits::TURN_WAIT`] at most.
    ///
    /// # Errors
    /// [`TurnError::Busy`] when another server kept the upload that long; the lock file failed.
    pub async fn take_turn(&self, id: &str) -> Result<Turn, TurnError> {
        let slot = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            // Slots no request holds or waits for are dropped, so the map stays small.
            turns.retain(|_, s| Arc::strong_count(s) > 1);
            turns
                .entry(id.to_string())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        lock: Arc::default(),
                        asked: tokio::sync::watch::channel(0).0,
                    })
                })
                .clone()
        };
        let mut asked = slot.asked.subscribe();
        slot.asked.send_modify(|n| *n += 1);
        asked.borrow_and_update();
        let held = slot.lock.clone().lock_owned().await;
        let deadline = tokio::time::Instant::now() + limits::TURN_WAIT;
        let file = loop {
            let (files, key) = (self.uploads.clone(), id.to_string());
            let tried = tokio::task::spawn_blocking(move || files.try_hold(&key))
                .await
                .map_err(std::io::Error::other)??;
            if let Some(file) = tried {
                break file;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TurnError::Busy);
            }
            tokio::time::sleep(limits::TURN_POLL).await;
        };
        Ok(Turn {
            _file: file,
            _held: held,
            asked,
            _slot: slot,
        })
    }
}

/// Whether `who` may read blob `hash`: a record referencing it is in their read scope, the one
/// sync uses (`auth::access_for`). One lookup by hash first; the scope only when referenced.
/// The same rule on either backend ([`crate::db::BlobRecords`], [`crate::db::Directory`]).
///
/// # Errors
/// When the database fails.
pub async fn may_read(
    db: &crate::db::Db,
    who: &crate::auth::Authenticated,
    hash: &BlobHash,
    now: shared::model::Timestamp,
) -> Result<bool, crate::store::StoreError> {
    let references = db.blob_records().blob_references(hash.clone()).await?;
    if references.is_empty() {
        return Ok(false);
    }
    let access = db
        .directory()
        .access(who.user.clone(), who.device.clone(), now)
        .await?;
    Ok(references
        .iter()
        .any(|(doc, enterprise)| access.read.allows(doc, enterprise)))
}
