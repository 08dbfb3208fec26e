//! Background jobs once across servers on one PostgreSQL ([`crate::db::JobLocks`]): a run
//! takes its job's session-level advisory lock, `pg_try_advisory_lock(JOB_LOCKS,
//! hashtext(name))`, on a connection of its own opened for the run (outside the pool, named
//! `lianxin-job NAME` in `pg_stat_activity`), and holds it until the run is dropped, which
//! closes that connection and so releases the lock.
//!
//! **Why a session lock on a connection of its own, not a transaction-level lock:** a run spans
//! many short transactions (compaction and the audits take the writer in short holds; the
//! reminders' outbox sends messages between its writes), so a lock held by one transaction
//! would either cover one step of the run or keep a transaction open across the run's network
//! waits. A session lock taken on a pooled connection would go back to the pool still held when
//! a run ends by a panic, and the next user of that connection would hold it unknowingly. On a
//! connection of its own the lock lives exactly as long as the run: the run's end closes it,
//! and a server that dies closes its sockets, which PostgreSQL notices at once and releases
//! every lock of those sessions. One connection per run costs a connect (milliseconds) per run
//! of jobs that run at most every few seconds.
//!
//! **Once per period across servers.** Every server runs the periodic jobs on its own timer;
//! [`JobLocks::take_due`] records each run's start in `job_runs` (migration `0009_jobs`) under
//! the lock, and a server whose timer fires within the period of another's start skips it.
//!
//! What this does not guard: a run whose lock connection is cut mid-run (the database
//! restarted) goes on while another server may start the same job; the jobs' writes are
//! idempotent or merge (each is a commit of documents or a conditional update), so an overlap
//! costs work, not data.

use std::time::Duration;

use tokio_postgres::NoTls;

use super::PgDb;
use crate::db::{DbFuture, Job, JobLocks, JobRun};
use crate::store::StoreError;

/// The first key of every job's advisory lock (the second is the hash of its name): "lxjb".
/// Two-key advisory locks never collide with one-key ones (the migrations' lock).
const JOB_LOCKS: i32 = 0x6c78_6a62;

impl PgDb {
    /// Asks for `job`'s advisory lock on a connection of its own: the connection holding it,
    /// or `None` when another session holds it.
    async fn job_lock(&self, job: Job) -> Result<Option<tokio_postgres::Client>, StoreError> {
        let mut config = (*self.config).clone();
        config
            .application_name(format!("lianxin-job {}", job.name()))
            .connect_timeout(super::WAIT);
        let (client, connection) = config.connect(NoTls).await?;
        // Ends by itself once the client is dropped (after telling the server goodbye).
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, job = job.name(), "a job lock's connection failed");
            }
        });
        let taken: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&JOB_LOCKS, &job.name()],
            )
            .await?
            .get(0);
        Ok(taken.then_some(client))
    }
}

impl JobLocks for PgDb {
    fn take(&self, job: Job) -> DbFuture<'_, Option<JobRun>> {
        Box::pin(async move { Ok(self.job_lock(job).await?.map(JobRun::holding)) })
    }

    /// Under the lock, records the run's start in `job_runs` unless a run started less than
    /// nine tenths of `every` ago by the database's clock (the tenth is slack, so timers that
    /// drift never skip a whole period); a run not due releases the lock at once.
    fn take_due(&self, job: Job, every: Duration) -> DbFuture<'_, Option<JobRun>> {
        Box::pin(async move {
            let Some(client) = self.job_lock(job).await? else {
                return Ok(None);
            };
            let since = i64::try_from((every - every / 10).as_millis()).unwrap_or(i64::MAX);
            let due = client
                .query_opt(
                    "INSERT INTO job_runs (job, started_at) \
                     VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) \
                     ON CONFLICT (job) DO UPDATE SET started_at = excluded.started_at \
                     WHERE job_runs.started_at <= excluded.started_at - $2 \
                     RETURNING started_at",
                    &[&job.name(), &since],
                )
                .await?;
            Ok(due.map(|_| JobRun::holding(client)))
        })
    }
}
