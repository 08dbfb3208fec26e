//! Short holds of the store for background work: [`StoreHold`] is how a job reaches the store
//! one brief hold at a time, so its long work (loading and re-saving documents, running rules)
//! happens between holds while requests take the lock.

use std::sync::Mutex;

use super::SqliteStore;

/// Access to the store one short hold at a time. The server's is its store mutex (each
/// [`hold`](StoreHold::hold) takes and releases the lock); a store owned outright (admin
/// commands, tests) is held without a lock.
pub trait StoreHold {
    /// Runs `f` with the store held; the hold ends when `f` returns.
    fn hold<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> T) -> T;
}

impl StoreHold for &Mutex<SqliteStore> {
    fn hold<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        let mut store = self.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut store)
    }
}

impl StoreHold for SqliteStore {
    fn hold<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        f(self)
    }
}

impl<S: StoreHold + ?Sized> StoreHold for &mut S {
    fn hold<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        (**self).hold(f)
    }
}
