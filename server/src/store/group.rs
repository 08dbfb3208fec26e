//! Group commit: several sync requests' writes in one SQLite transaction, so they share one
//! durable commit (one sync of the write-ahead log) instead of paying several each. Each job
//! runs in its own savepoint, so a job that fails leaves nothing behind and the others commit;
//! the store's write methods open a savepoint instead of a transaction inside a group
//! ([`write_tx`]).

use std::ops::Deref;

use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};

use super::{SqliteStore, StoreError};

/// A write transaction: `BEGIN IMMEDIATE` on its own, a savepoint inside a group commit.
/// Dropped without [`WriteTx::commit`], it rolls back.
pub(super) enum WriteTx<'c> {
    Top(Transaction<'c>),
    Nested(Savepoint<'c>),
}

impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            WriteTx::Top(tx) => tx,
            WriteTx::Nested(sp) => sp,
        }
    }
}

impl WriteTx<'_> {
    /// Commits (at the top level: durably, with WAL and `synchronous=FULL`) or releases the
    /// savepoint into the group's transaction.
    pub(super) fn commit(self) -> rusqlite::Result<()> {
        match self {
            WriteTx::Top(tx) => tx.commit(),
            WriteTx::Nested(sp) => sp.commit(),
        }
    }
}

/// Opens a write transaction on `conn`: an immediate one, or a savepoint when a group's
/// transaction is open.
pub(super) fn write_tx(conn: &mut Connection) -> rusqlite::Result<WriteTx<'_>> {
    if conn.is_autocommit() {
        Ok(WriteTx::Top(conn.transaction_with_behavior(
            TransactionBehavior::Immediate,
        )?))
    } else {
        Ok(WriteTx::Nested(conn.savepoint()?))
    }
}

/// One job of a group commit: a request's writes, returning its result.
pub type GroupJob<'a, T> = Box<dyn FnOnce(&mut SqliteStore) -> Result<T, StoreError> + Send + 'a>;

impl SqliteStore {
    /// Runs `jobs` in one immediate transaction, each in its own savepoint (rolled back when
    /// the job fails), then commits once. Returns each job's result in order; when the commit
    /// itself fails, every job that succeeded gets that failure (nothing was stored).
    pub fn group<T>(&mut self, jobs: Vec<GroupJob<'_, T>>) -> Vec<Result<T, StoreError>> {
        if !self.conn.is_autocommit() {
            // A group that panicked between its BEGIN and COMMIT left its transaction open.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if let Err(e) = self.conn.execute_batch("BEGIN IMMEDIATE") {
            let text = e.to_string();
            return jobs
                .into_iter()
                .map(|_| Err(StoreError::Group(text.clone())))
                .collect();
        }
        let mut results = Vec::with_capacity(jobs.len());
        let mut broken: Option<String> = None;
        for job in jobs {
            if broken.is_some() {
                // The group's transaction is in an unknown state: nothing more runs in it.
                results.push(Err(StoreError::Group("the group commit failed".into())));
                continue;
            }
            let result = match self.conn.execute_batch("SAVEPOINT job") {
                Ok(()) => {
                    // A job that panics (a document Automerge panics on) fails alone.
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(self)))
                        .unwrap_or_else(|_| Err(StoreError::Group("the request panicked".into())));
                    let end = if r.is_ok() {
                        "RELEASE job"
                    } else {
                        "ROLLBACK TO job; RELEASE job"
                    };
                    match self.conn.execute_batch(end) {
                        Ok(()) => r,
                        // A savepoint that cannot be closed would commit a failed job's writes
                        // (or leave it open): the whole group is rolled back below.
                        Err(e) => {
                            broken = Some(e.to_string());
                            Err(e.into())
                        }
                    }
                }
                Err(e) => Err(e.into()),
            };
            results.push(result);
        }
        if let Some(why) = broken {
            let _ = self.conn.execute_batch("ROLLBACK");
            return results
                .into_iter()
                .map(|r| r.and_then(|_| Err(StoreError::Group(why.clone()))))
                .collect();
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => results,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                let text = e.to_string();
                results
                    .into_iter()
                    .map(|r| r.and_then(|_| Err(StoreError::Group(text.clone()))))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::model::DeviceId;
    use shared::sync::server::ServerStore as _;

    use super::*;

    #[test]
    fn a_failing_job_leaves_nothing_and_the_others_commit_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SqliteStore::open(&dir.path().join("g.db")).expect("store");
        let a = DeviceId::from_random_bytes([1; 16]);
        let b = DeviceId::from_random_bytes([2; 16]);
        let jobs: Vec<GroupJob<'_, u64>> = vec![
            Box::new(move |s| s.record_delivery(a, &[])),
            Box::new(move |s| {
                s.record_delivery(b, &[])?;
                Err(StoreError::Group("this job fails after writing".into()))
            }),
            Box::new(move |s| s.record_delivery(a, &[])),
        ];

        let results = store.group(jobs);

        assert_eq!(results[0].as_ref().ok(), Some(&1));
        assert!(results[1].is_err());
        assert_eq!(results[2].as_ref().ok(), Some(&2));
        assert!(
            store.conn.is_autocommit(),
            "the group's transaction is closed"
        );
        // Device b's delivery was rolled back with its job: its counter starts again at 1.
        assert_eq!(store.record_delivery(b, &[]).expect("delivery"), 1);
    }
}
