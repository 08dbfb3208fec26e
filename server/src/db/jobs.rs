//! Background jobs run once across servers (issue 16 item 4): each run of a job (compaction,
//! monitoring, the reminders, the history audit, the blobs' collection …) first takes its
//! [`Job`]'s lock, and a server that cannot take it skips that run (another server is running
//! it). On SQLite the file's lock already means one server, so the lock only keeps one run of a
//! job at a time inside it ([`LocalJobLocks`]); on PostgreSQL it is an advisory lock every
//! server sees (`pg/jobs.rs`).
//!
//! A job that every server runs on a timer (the history audit's round, compaction) asks with
//! [`JobLocks::take_due`]: on PostgreSQL it also records when the job last started, so each
//! period's run happens on one server, not once per server.
//!
//! **Invariant:** while a [`JobRun`] lives, no other run of its job starts on any server;
//! dropping it — the run ended, its task panicked, its server died — lets the next one start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::DbFuture;

/// A background job whose runs must not overlap across servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// Compaction of documents with appended changes.
    Compaction,
    /// The blobs' garbage collection.
    BlobCollection,
    /// The hourly monitoring rules.
    Monitoring,
    /// Monitoring documents of new key enterprises, after a burst of commits.
    MonitoringDocuments,
    /// Re-pointing records pushed for a merged enterprise, after a burst of commits.
    EnterpriseMerges,
    /// The history audit.
    HistoryAudit,
    /// The reminders' scan, which records what falls due. (Their delivery takes no job lock:
    /// every server's delivery loop claims at once, each claim skipping the reminders another
    /// holds, `db/reminders.rs`.)
    ReminderScan,
}

impl Job {
    /// Every job.
    pub const ALL: [Job; 7] = [
        Job::Compaction,
        Job::BlobCollection,
        Job::Monitoring,
        Job::MonitoringDocuments,
        Job::EnterpriseMerges,
        Job::HistoryAudit,
        Job::ReminderScan,
    ];

    /// The job's name: what its lock is keyed by (stable across versions: servers of two
    /// versions running side by side during an upgrade must take the same lock).
    pub fn name(self) -> &'static str {
        match self {
            Job::Compaction => "compaction",
            Job::BlobCollection => "blob-collection",
            Job::Monitoring => "monitoring",
            Job::MonitoringDocuments => "monitoring-documents",
            Job::EnterpriseMerges => "enterprise-merges",
            Job::HistoryAudit => "history-audit",
            Job::ReminderScan => "reminder-scan",
        }
    }
}

/// One run's hold on its job's lock, released when dropped.
pub struct JobRun {
    _held: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for JobRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRun").finish_non_exhaustive()
    }
}

impl JobRun {
    /// A run holding `held`, whose drop releases the lock.
    pub fn holding(held: impl Send + Sync + 'static) -> JobRun {
        JobRun {
            _held: Box::new(held),
        }
    }
}

/// Where the jobs' locks are taken.
pub trait JobLocks: Send + Sync + std::fmt::Debug {
    /// Takes `job`'s lock for one run; `None` while another run of it holds the lock.
    fn take(&self, job: Job) -> DbFuture<'_, Option<JobRun>>;

    /// Takes `job`'s lock for one run of a job that runs every `every` on each server: `None`
    /// while another run holds the lock, or when a run of it started within `every` on any
    /// server sharing the database, so the period's run happens once across them. By default
    /// [`JobLocks::take`]: one server's own timer already paces its runs.
    fn take_due(&self, job: Job, every: std::time::Duration) -> DbFuture<'_, Option<JobRun>> {
        let _ = every;
        self.take(job)
    }
}

/// The jobs' locks of one server process (SQLite: the file's lock means one server).
#[derive(Debug, Default, Clone)]
pub struct LocalJobLocks {
    held: Arc<Mutex<HashSet<Job>>>,
}

/// A run's place in [`LocalJobLocks`].
struct LocalRun {
    held: Arc<Mutex<HashSet<Job>>>,
    job: Job,
}

impl Drop for LocalRun {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.job);
    }
}

impl JobLocks for LocalJobLocks {
    fn take(&self, job: Job) -> DbFuture<'_, Option<JobRun>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let run = held.insert(job).then(|| {
            JobRun::holding(LocalRun {
                held: self.held.clone(),
                job,
            })
        });
        Box::pin(std::future::ready(Ok(run)))
    }
}
