//! The storage boundary: [`Db`], the handle to the server's database that the app state holds
//! beside (not inside) the sync service, and the use-case traits the HTTP layer reads and
//! writes through — [`Directory`] and [`Tokens`] (directory and tokens), [`Enterprises`] (the
//! administrator's enterprise profiles and the server's own writes), [`Queries`] (queries
//! and KPIs), [`AuditLog`] (the audit log read and its chain verified), [`Bulletins`],
//! [`Cards`] (the 连心卡), [`BlobRecords`] (what uploads and photo reads need: references,
//! upload rows, the daily budget), [`Reminders`] (the reminders' scan, the delivery loop's
//! claims and a person's in-app reminders); and what several servers on one database share: the push
//! [`Notices`], the background [`Job`]s' locks ([`JobLocks`]) and the login throttle's count
//! ([`LoginThrottle`]); and the steps of the background jobs that rework stored documents,
//! the history audit and compaction ([`Maintenance`], run by [`Db::maintain`]). The sync
//! store is the engine's own trait (`shared::sync::server::ServerStore`) and the blob files
//! are [`crate::blobs::BlobStore`]'s.
//!
//! Two backends. A SQLite database ([`Db::sqlite`], [`crate::store::SqliteDb`]: one writer,
//! several readers) implements every use case; what no trait covers yet reaches it through
//! [`Db::write`], [`Db::read`] and [`Db::holds`]. A PostgreSQL database ([`Db::postgres`],
//! [`crate::pg::PgDb`]) implements the traits (directory, tokens, queries so far, the audit
//! log, bulletins, blob records, reminders),
//! the sync store (`PgSyncStore`, which the sync service runs), the notices (`LISTEN`/`NOTIFY`),
//! the jobs' locks and the shared login throttle; it has no SQLite behind it, so
//! [`Db::write`], [`Db::read`] and [`Db::holds`] answer `None` there (logged) and the HTTP layer
//! answers every route that needs them 503 before reaching them (`http::postgres_gate`).
//!
//! **Invariant:** a `Db` on PostgreSQL never opens a SQLite file.

mod audit_log;
mod blob_records;
mod bulletins;
mod cards;
#[cfg(test)]
mod conformance;
mod directory;
mod enterprises;
mod jobs;
mod maintenance;
mod notices;
mod queries;
mod reminders;
mod throttle;
mod tokens;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub use audit_log::AuditLog;
pub use blob_records::{BlobRecords, Opening, UploadRow, within_budget};
pub(crate) use bulletins::rank;
pub use bulletins::{Bulletins, NewBulletin, compose};
pub use cards::Cards;
pub use directory::Directory;
pub use enterprises::{AuditNote, Enterprises, ServerWrite, StoredProfile, WriteCheck};
pub use jobs::{Job, JobLocks, JobRun, LocalJobLocks};
pub use maintenance::{Authors, Compactions, HistoryAudits, Maintenance};
pub use notices::{LocalNotices, Notice, Notices};
pub use queries::Queries;
pub use reminders::Reminders;
pub use throttle::LoginThrottle;
pub use tokens::Tokens;

use crate::api::Bulletin;
use crate::pg::PgDb;
use crate::store::{SqliteDb, SqliteStore, StoreError};

/// What a use-case trait's method returns: a future of its answer (object-safe, so the app
/// state holds the traits as `dyn`).
pub type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The server's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    backend: Backend,
    directory: Arc<dyn Directory>,
    enterprises: Arc<dyn Enterprises>,
    tokens: Arc<dyn Tokens>,
    queries: Arc<dyn Queries>,
    audit_log: Arc<dyn AuditLog>,
    bulletins: Arc<dyn Bulletins>,
    cards: Arc<dyn Cards>,
    blob_records: Arc<dyn BlobRecords>,
    reminders: Arc<dyn Reminders>,
    notices: Arc<dyn Notices>,
    jobs: Arc<dyn JobLocks>,
}

impl Db {
    /// The handle to an open SQLite database, which implements every use case.
    pub fn sqlite(db: SqliteDb) -> Db {
        let sqlite = Arc::new(db);
        Db {
            directory: Arc::new(sqlite.clone()),
            enterprises: Arc::new(sqlite.clone()),
            tokens: Arc::new(sqlite.clone()),
            queries: Arc::new(sqlite.clone()),
            audit_log: Arc::new(sqlite.clone()),
            bulletins: Arc::new(sqlite.clone()),
            cards: Arc::new(sqlite.clone()),
            blob_records: Arc::new(sqlite.clone()),
            reminders: Arc::new(sqlite.clone()),
            // The file's lock means one server: it tells its own subscribers.
            notices: Arc::new(LocalNotices::default()),
            jobs: Arc::new(LocalJobLocks::default()),
            backend: Backend::Sqlite(sqlite),
        }
    }

    /// The handle to a PostgreSQL database (migrated: [`PgDb::connect`]): its use cases, its
    /// push notices (this server's `LISTEN` connection, started here on the current tokio
    /// runtime) and its jobs' locks (advisory locks). The login throttle's shared count is
    /// [`PgDb::login_throttle`], which the app state takes ([`Db::postgres_db`]).
    ///
    /// # Errors
    /// The store's epoch could not be read.
    pub async fn postgres(db: PgDb) -> Result<Db, StoreError> {
        let epoch = db.epoch().await?;
        Ok(Db {
            directory: Arc::new(db.clone()),
            enterprises: Arc::new(db.clone()),
            tokens: Arc::new(db.clone()),
            queries: Arc::new(db.clone()),
            audit_log: Arc::new(db.clone()),
            bulletins: Arc::new(db.clone()),
            cards: Arc::new(db.clone()),
            blob_records: Arc::new(db.clone()),
            reminders: Arc::new(db.clone()),
            notices: Arc::new(db.notices()),
            jobs: Arc::new(db.clone()),
            backend: Backend::Postgres { db, epoch },
        })
    }

    /// The PostgreSQL database, when this is one.
    pub fn postgres_db(&self) -> Option<&PgDb> {
        match &self.backend {
            Backend::Postgres { db, .. } => Some(db),
            Backend::Sqlite(_) => None,
        }
    }

    /// Whether this is a PostgreSQL database (what is not built on it yet answers 503).
    pub fn is_postgres(&self) -> bool {
        self.postgres_db().is_some()
    }

    /// Directory and tokens.
    pub fn directory(&self) -> &dyn Directory {
        &*self.directory
    }

    /// Enterprise profiles for the administrator.
    pub fn enterprises(&self) -> &dyn Enterprises {
        &*self.enterprises
    }

    /// Session tokens.
    pub fn tokens(&self) -> &dyn Tokens {
        &*self.tokens
    }

    /// Queries and KPIs.
    pub fn queries(&self) -> &dyn Queries {
        &*self.queries
    }

    /// The audit log: a page by filter, the chain verified.
    pub fn audit_log(&self) -> &dyn AuditLog {
        &*self.audit_log
    }

    /// Bulletins.
    pub fn bulletins(&self) -> &dyn Bulletins {
        &*self.bulletins
    }

    /// The 连心卡: tokens, faces, the public page's problems, the officers' changes.
    pub fn cards(&self) -> &dyn Cards {
        &*self.cards
    }

    /// What uploads and photo reads need: references, upload rows, the daily budget.
    pub fn blob_records(&self) -> &dyn BlobRecords {
        &*self.blob_records
    }

    /// The reminders' outbox: the scan, the delivery loop's claims, in-app reminders.
    pub fn reminders(&self) -> &dyn Reminders {
        &*self.reminders
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

    /// Takes `job`'s lock for a periodic run due every `every` ([`JobLocks::take_due`]):
    /// `None`, so this run is skipped, while another run holds the lock, when a server sharing
    /// the database ran it within `every`, or when the lock could not be asked for (logged).
    pub async fn job_run_due(&self, job: Job, every: std::time::Duration) -> Option<JobRun> {
        match self.jobs.take_due(job, every).await {
            Ok(run) => {
                if run.is_none() {
                    tracing::debug!(job = job.name(), "not due or held elsewhere: skipped");
                }
                run
            }
            Err(error) => {
                tracing::warn!(%error, job = job.name(), "the job's lock could not be taken: this run skipped");
                None
            }
        }
    }

    /// Runs background job `f` on a blocking thread over the steps of the jobs that rework
    /// stored documents ([`Maintenance`]): SQLite's writer taken in short holds, PostgreSQL's
    /// pool a connection per step. `None` if the thread failed.
    pub async fn maintain<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Maintenance) -> T + Send + 'static,
    ) -> Option<T> {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.holds(move |mut writer| f(&mut writer)).await,
            Backend::Postgres { db, .. } => {
                let mut steps = db.maintenance();
                tokio::task::spawn_blocking(move || f(&mut steps))
                    .await
                    .ok()
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

    /// The SQLite database itself (the sync engine's store and what is not yet behind a
    /// use-case trait); `None` on PostgreSQL.
    pub fn sqlite_db(&self) -> Option<&Arc<SqliteDb>> {
        match &self.backend {
            Backend::Sqlite(sqlite) => Some(sqlite),
            Backend::Postgres { .. } => None,
        }
    }

    /// The database file (its blobs and backups are named after it). On PostgreSQL, where
    /// backups are not built yet (their routes answer 503, their jobs do not start) and blobs
    /// live in the folder `serve --blobs` names (`AppState::with_blob_folder`),
    /// [`POSTGRES_FILES`] in the working directory.
    pub fn path(&self) -> &Path {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.path(),
            Backend::Postgres { .. } => Path::new(POSTGRES_FILES),
        }
    }

    /// The database's epoch as opened (`protocol::EPOCH_SHIFT`).
    pub fn epoch(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.epoch(),
            Backend::Postgres { epoch, .. } => *epoch,
        }
    }

    /// Runs `f` with the writer on a blocking thread ([`SqliteDb::write`]); `None` on
    /// PostgreSQL (logged: a route that needs this answers 503 before it gets here).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        self.sqlite_or_log()?.write(f).await
    }

    /// Runs `f` with a read-only connection on a blocking thread ([`SqliteDb::read`]); `None`
    /// on PostgreSQL (logged).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        self.sqlite_or_log()?.read(f).await
    }

    /// Runs background work `f` that takes the writer in short holds ([`SqliteDb::holds`]);
    /// `None` on PostgreSQL (logged).
    pub async fn holds<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Mutex<SqliteStore>) -> T + Send + 'static,
    ) -> Option<T> {
        self.sqlite_or_log()?.holds(f).await
    }

    /// The SQLite database, or `None` with an error logged: code that only SQLite runs was
    /// reached on PostgreSQL.
    fn sqlite_or_log(&self) -> Option<&Arc<SqliteDb>> {
        let sqlite = self.sqlite_db();
        if sqlite.is_none() {
            tracing::error!(
                "code that needs SQLite was reached on PostgreSQL: answered as unavailable"
            );
        }
        sqlite
    }
}

/// What [`Db::path`] names on PostgreSQL: nothing is written there yet.
pub const POSTGRES_FILES: &str = "lianxin-postgres-files";

/// Which database a [`Db`] is.
#[derive(Debug, Clone)]
enum Backend {
    /// A SQLite file.
    Sqlite(Arc<SqliteDb>),
    /// A PostgreSQL database, with its epoch as read at start.
    Postgres {
        /// Its pool.
        db: PgDb,
        /// `store_epoch` when the server started.
        epoch: u64,
    },
}
