//! The storage boundary: [`Db`], the handle to the server's database that the app state holds
//! beside (not inside) the sync service, and the use-case traits the HTTP layer reads and
//! writes through — [`Directory`] and [`Tokens`] (directory and tokens), [`Queries`] (queries
//! and KPIs), [`Bulletins`]; and what several servers on one database share: the push
//! [`Notices`], the background [`Job`]s' locks ([`JobLocks`]) and the login throttle's count
//! ([`LoginThrottle`]). The sync store is the engine's own trait
//! (`shared::sync::server::ServerStore`) and blobs are [`crate::blobs::BlobStore`]. Today one
//! SQLite database ([`crate::store::SqliteDb`]: one writer, several readers) implements them
//! all; what no trait covers yet reaches it through [`Db::write`], [`Db::read`] and
//! [`Db::holds`].

mod bulletins;
#[cfg(test)]
mod conformance;
mod directory;
mod jobs;
mod notices;
mod queries;
mod throttle;
mod tokens;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub(crate) use bulletins::rank;
pub use bulletins::{Bulletins, NewBulletin, compose};
pub use directory::Directory;
pub use jobs::{Job, JobLocks, JobRun, LocalJobLocks};
pub use notices::{LocalNotices, Notice, Notices};
pub use queries::Queries;
pub use throttle::LoginThrottle;
pub use tokens::Tokens;

use crate::api::Bulletin;
use crate::store::{SqliteDb, SqliteStore, StoreError};

/// What a use-case trait's method returns: a future of its answer (object-safe, so the app
/// state holds the traits as `dyn`).
pub type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The server's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    sqlite: Arc<SqliteDb>,
    directory: Arc<dyn Directory>,
    tokens: Arc<dyn Tokens>,
    queries: Arc<dyn Queries>,
    bulletins: Arc<dyn Bulletins>,
    notices: Arc<dyn Notices>,
    jobs: Arc<dyn JobLocks>,
}

impl Db {
    /// The handle to an open SQLite database, which implements every use case.
    pub fn sqlite(db: SqliteDb) -> Db {
        let sqlite = Arc::new(db);
        Db {
            directory: Arc::new(sqlite.clone()),
            tokens: Arc::new(sqlite.clone()),
            queries: Arc::new(sqlite.clone()),
            bulletins: Arc::new(sqlite.clone()),
            // The file's lock means one server: it tells its own subscribers.
            notices: Arc::new(LocalNotices::default()),
            jobs: Arc::new(LocalJobLocks::default()),
            sqlite,
        }
    }

    /// Directory and tokens.
    pub fn directory(&self) -> &dyn Directory {
        &*self.directory
    }

    /// Session tokens.
    pub fn tokens(&self) -> &dyn Tokens {
        &*self.tokens
    }

    /// Queries and KPIs.
    pub fn queries(&self) -> &dyn Queries {
        &*self.queries
    }

    /// Bulletins.
    pub fn bulletins(&self) -> &dyn Bulletins {
        &*self.bulletins
    }

    /// Push notices: what this server tells after its commits, and hears of every server's.
    pub fn notices(&self) -> &dyn Notices {
        &*self.notices
    }

    /// The background jobs' locks.
    pub fn jobs(&self) -> &dyn JobLocks {
        &*self.jobs
    }

    /// Takes `job`'s lock for one run ([`JobLocks::take`]): `None`, so this run is skipped,
    /// while another run of it holds the lock (on any server) or when the lock could not be
    /// asked for (logged).
    pub async fn job_run(&self, job: Job) -> Option<JobRun> {
        match self.jobs.take(job).await {
            Ok(Some(run)) => Some(run),
            Ok(None) => {
                tracing::debug!(
                    job = job.name(),
                    "another run holds the job: this one skipped"
                );
                None
            }
            Err(error) => {
                tracing::warn!(%error, job = job.name(), "the job's lock could not be taken: this run skipped");
                None
            }
        }
    }

    /// Computes the bulletin `new` asks for ([`compose`]) and issues it.
    ///
    /// # Errors
    /// The database failed.
    pub async fn issue_bulletin(&self, new: NewBulletin) -> Result<Bulletin, StoreError> {
        let bulletin = compose(self.queries(), self.directory(), &new).await?;
        self.bulletins().issue(bulletin, new.login).await
    }

    /// The SQLite database itself: the sync engine's store and what is not yet behind a
    /// use-case trait.
    pub fn sqlite_db(&self) -> &Arc<SqliteDb> {
        &self.sqlite
    }

    /// The database file (its blobs and backups are named after it).
    pub fn path(&self) -> &Path {
        self.sqlite.path()
    }

    /// The database's epoch as opened (`protocol::EPOCH_SHIFT`).
    pub fn epoch(&self) -> u64 {
        self.sqlite.epoch()
    }

    /// Runs `f` with the writer on a blocking thread ([`SqliteDb::write`]).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        self.sqlite.write(f).await
    }

    /// Runs `f` with a read-only connection on a blocking thread ([`SqliteDb::read`]).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        self.sqlite.read(f).await
    }

    /// Runs background work `f` that takes the writer in short holds ([`SqliteDb::holds`]).
    pub async fn holds<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Mutex<SqliteStore>) -> T + Send + 'static,
    ) -> Option<T> {
        self.sqlite.holds(f).await
    }
}
