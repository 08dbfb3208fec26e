//! Readers beside the one writer (读写分离): a few read-only connections to the same WAL file,
//! so a token check, a dashboard figure or a list never waits behind a sync's merge, a group
//! commit or a bulk import holding the writer.
//!
//! SQLite in WAL mode lets any number of readers work while one connection writes; each
//! reader's statement sees the last committed state when it starts. The writer stays the one
//! [`SqliteStore`] behind the sync service's lock (it also owns migrations and the feed); a
//! reader is a [`SqliteStore`] opened read-only ([`SqliteStore::open_reader`]), so a write
//! slipped into a read path fails loudly ("attempt to write a readonly database") instead of
//! racing the writer.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{SqliteStore, StoreError};

/// Read-only connections to one database file, handed out one request at a time.
#[derive(Debug)]
pub struct Readers {
    conns: Vec<Mutex<SqliteStore>>,
    /// Where the next look for a free connection starts (spreads waiting over the pool).
    next: AtomicUsize,
}

impl Readers {
    /// Opens `count` read-only connections (at least one) to the database at `path`, which a
    /// writer has already opened and migrated.
    pub fn open(path: &Path, count: usize) -> Result<Readers, StoreError> {
        let conns = (0..count.max(1))
            .map(|_| SqliteStore::open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// How many connections the pool holds.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether the pool is empty (never: [`Readers::open`] opens at least one).
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Runs `f` on a free reader, or waits for the one whose turn it is when all are busy.
    /// Blocking: call it from a blocking thread.
    pub fn with<T>(&self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        let mut guard = self.take();
        f(&mut guard)
    }

    fn take(&self) -> MutexGuard<'_, SqliteStore> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(guard) = self.conns[(start + i) % n].try_lock() {
                return guard;
            }
        }
        self.conns[start]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &tempfile::TempDir) -> (std::path::PathBuf, SqliteStore) {
        let path = dir.path().join("readers.db");
        let store = SqliteStore::open(&path).expect("open the writer");
        (path, store)
    }

    #[test]
    fn a_reader_answers_while_the_writer_holds_an_open_write_transaction() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, store) = writer(&dir);
        let readers = Readers::open(&path, 2).expect("open readers");
        let before = readers.with(|r| r.doc_count()).expect("count");
        store
            .conn
            .execute_batch("BEGIN IMMEDIATE; DELETE FROM docs;")
            .expect("hold the write lock");
        // The reader neither waits for the writer (its busy timeout is 5 s) nor sees what is
        // not committed.
        let started = std::time::Instant::now();
        let during = readers.with(|r| r.doc_count()).expect("count during");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(during, before);
        store.conn.execute_batch("ROLLBACK").expect("rollback");
    }

    #[test]
    fn a_reader_refuses_to_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _store) = writer(&dir);
        let readers = Readers::open(&path, 1).expect("open readers");
        let wrote = readers.with(|r| {
            r.conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES ('x', 0)",
                [],
            )
        });
        assert!(wrote.is_err(), "a reader wrote: {wrote:?}");
    }

    #[test]
    fn a_busy_pool_hands_out_the_free_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _store) = writer(&dir);
        let readers = Readers::open(&path, 2).expect("open readers");
        let held = readers.take();
        // With one connection held, every other call gets the free one at once.
        for _ in 0..4 {
            readers.with(|r| r.doc_count()).expect("count");
        }
        drop(held);
        assert_eq!(readers.len(), 2);
    }
}
