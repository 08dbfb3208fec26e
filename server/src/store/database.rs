//! One SQLite database as the running server holds it: the one writer behind its lock and the
//! read-only connections beside it ([`Readers`]), the file's lock and its epoch. The async
//! calls ([`SqliteDb::write`], [`SqliteDb::read`], [`SqliteDb::holds`]) run their closure on a
//! blocking thread; the sync service's group commit takes the writer with
//! [`SqliteDb::lock_writer`] on its own blocking thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use shared::sync::server::ServerStore as _;

use super::{Readers, SqliteStore, StoreError};

/// Read-only connections beside the writer: enough for the blocking threads that read at once
/// on a district's server (a token check is short; a dashboard query is the long one).
const READERS: usize = 4;

/// The database file, its writer and its readers.
pub struct SqliteDb {
    /// The one writer: merges, commits, the directory's changes, background jobs.
    writer: Mutex<SqliteStore>,
    /// Read-only connections for what only reads (token checks, dashboards, lists), so it
    /// never waits behind the writer.
    readers: Readers,
    /// Tells `lianxin-server restore` that a server is using the file.
    _lock: Option<crate::admin::DbLock>,
    /// The database file (its blobs are beside it, `crate::blobs::blob_dir`).
    path: PathBuf,
    /// The database's epoch (a restore changes it, with no server running).
    epoch: u64,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (creating and migrating) the database file with its readers, holding `lock` (the
    /// file's lock, if taken) for as long as it is open.
    pub fn open(path: &Path, lock: Option<crate::admin::DbLock>) -> Result<SqliteDb, StoreError> {
        let mut writer = SqliteStore::open(path)?;
        let epoch = writer.epoch()?;
        let readers = Readers::open(path, READERS)?;
        Ok(SqliteDb {
            writer: Mutex::new(writer),
            readers,
            _lock: lock,
            path: path.to_path_buf(),
            epoch,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database's epoch as it was opened (`protocol::EPOCH_SHIFT`).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The writer, taken on the calling thread (blocking: call it from a blocking thread).
    pub fn lock_writer(&self) -> MutexGuard<'_, SqliteStore> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer's lock itself, for work that takes it in short holds
    /// ([`super::StoreHold`]).
    pub fn writer(&self) -> &Mutex<SqliteStore> {
        &self.writer
    }

    /// Runs `f` with a read-only connection on the calling thread (blocking).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        self.readers.with(f)
    }

    /// Runs `f` with the writer on a blocking thread; `None` if the thread failed.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&mut this.lock_writer()))
            .await
            .ok()
    }

    /// Runs `f` on a blocking thread with a read-only connection: it sees every committed
    /// write and never waits for the writer's lock. Anything that writes must use
    /// [`SqliteDb::write`]; a write here fails.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.readers.with(f))
            .await
            .ok()
    }

    /// Runs background work `f` on a blocking thread with the writer's lock, which `f` takes
    /// in short holds ([`super::StoreHold`]) around its long work, never across it.
    pub async fn holds<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Mutex<SqliteStore>) -> T + Send + 'static,
    ) -> Option<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this.writer))
            .await
            .ok()
    }
}
