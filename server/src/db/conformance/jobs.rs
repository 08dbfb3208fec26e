//! Background jobs run once across servers (`db::JobLocks`): two servers racing for a run of
//! one job, one runs; a run that ends, however it ends, lets the next start. SQLite's two
//! servers are two handles of its one server (the file's lock admits no second process);
//! PostgreSQL's are two [`PgDb`] handles (two pools) on one database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::throwaway::Throwaway;
use crate::db::{Db, Job, JobLocks};
use crate::pg::PgDb;
use crate::store::SqliteDb;

/// How long a released lock may take to be free for another server (PostgreSQL frees it when
/// it notices the closed connection).
const FREED_WITHIN: Duration = Duration::from_secs(5);

/// One server's handle.
#[derive(Clone)]
enum Server {
    Sqlite(Db),
    Postgres(PgDb),
}

impl Server {
    fn locks(&self) -> &dyn JobLocks {
        match self {
            Server::Sqlite(db) => db.jobs(),
            Server::Postgres(db) => db,
        }
    }
}

/// Two servers on one database, and what to clean up.
struct Servers {
    one: Server,
    two: Server,
    /// PostgreSQL: how to open another server on the database.
    config: Option<tokio_postgres::Config>,
    _dir: Option<tempfile::TempDir>,
    _throwaway: Option<Throwaway>,
}

async fn sqlite() -> Servers {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::sqlite(SqliteDb::open(&dir.path().join("jobs.db"), None).expect("open"));
    Servers {
        one: Server::Sqlite(db.clone()),
        two: Server::Sqlite(db),
        config: None,
        _dir: Some(dir),
        _throwaway: None,
    }
}

async fn postgres() -> Servers {
    let (throwaway, config) = Throwaway::create().await;
    let one = PgDb::open(config.clone()).await.expect("open server one");
    let two = PgDb::open(config.clone()).await.expect("open server two");
    Servers {
        one: Server::Postgres(one),
        two: Server::Postgres(two),
        config: Some(config),
        _dir: None,
        _throwaway: Some(throwaway),
    }
}

/// Runs each behaviour on two servers of a fresh SQLite database and of a fresh PostgreSQL
/// database.
macro_rules! on_both_backends_two_servers {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::postgres().await).await;
                }
            )*
        }
    };
}

/// Waits until `server` takes `job`'s lock (and releases it again).
async fn free_for(server: &Server, job: Job) {
    tokio::time::timeout(FREED_WITHIN, async {
        loop {
            if server
                .locks()
                .take(job)
                .await
                .expect("ask for the lock")
                .is_some()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the lock was freed within the bound");
}

async fn two_servers_racing_for_one_run_of_a_job_run_it_once(s: Servers) {
    let ran = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let race = |server: Server, job: Job| {
        let (ran, barrier) = (ran.clone(), barrier.clone());
        async move {
            let run = server.locks().take(job).await.expect("ask for the lock");
            // A run holds on until both servers have asked.
            barrier.wait().await;
            if run.is_some() {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    // A job each round: a run's lock may take a moment to be freed (PostgreSQL's).
    for job in Job::ALL {
        ran.store(0, Ordering::SeqCst);
        let (one, two) = (
            tokio::spawn(race(s.one.clone(), job)),
            tokio::spawn(race(s.two.clone(), job)),
        );
        one.await.expect("server one's attempt");
        two.await.expect("server two's attempt");
        assert_eq!(ran.load(Ordering::SeqCst), 1, "runs of {}", job.name());
    }
}

async fn a_run_that_ends_in_a_panic_lets_another_server_run_the_job(s: Servers) {
    let one = s.one.clone();
    let crashed = tokio::spawn(async move {
        let run = one.locks().take(Job::Monitoring).await.expect("ask");
        assert!(run.is_some(), "server one takes the free job");
        panic!("this run's own panic, on purpose: a job that fails mid-run");
    })
    .await;

    assert!(crashed.is_err(), "the run panicked");
    free_for(&s.two, Job::Monitoring).await;
}

on_both_backends_two_servers!(
    two_servers_racing_for_one_run_of_a_job_run_it_once,
    a_run_that_ends_in_a_panic_lets_another_server_run_the_job,
);

/// PostgreSQL only (SQLite's one server dies with its file lock): a server that dies mid-run,
/// never releasing the lock itself, leaves the job to the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_server_that_dies_mid_run_leaves_the_job_to_the_others() {
    let s = postgres().await;
    let config = s.config.clone().expect("PostgreSQL");
    let (taken, took) = std::sync::mpsc::channel();
    let (die, dies) = std::sync::mpsc::channel::<()>();
    // The dying server: a runtime of its own, dropped with its sockets and tasks, like a
    // process killed; its run is never dropped.
    let dying = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let db = PgDb::open(config).await.expect("open the dying server");
            let run = db.take(Job::ReminderScan).await.expect("ask");
            taken.send(run.is_some()).expect("tell");
            std::mem::forget(run);
            dies.recv().ok();
        });
    });
    assert!(took.recv().expect("told"), "the dying server took the job");
    let held = s.two.locks().take(Job::ReminderScan).await.expect("ask");
    assert!(held.is_none(), "held while the dying server runs it");

    die.send(()).expect("kill");
    dying.join().expect("the dying server's thread");

    free_for(&s.two, Job::ReminderScan).await;
}

/// PostgreSQL only (SQLite's one server paces its runs by its own timer): a periodic job run
/// on one server is not due on another until its period has passed, so each period's run
/// happens once across the servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_periodic_run_on_one_server_is_not_due_on_another_within_its_period() {
    let s = postgres().await;
    let every = Duration::from_secs(2);
    let first = s
        .one
        .locks()
        .take_due(Job::HistoryAudit, every)
        .await
        .expect("ask");
    assert!(first.is_some(), "due at first");
    drop(first);
    free_for(&s.two, Job::HistoryAudit).await;

    let within = s
        .two
        .locks()
        .take_due(Job::HistoryAudit, every)
        .await
        .expect("ask");
    assert!(within.is_none(), "server one ran it within the period");
    tokio::time::sleep(every).await;
    let after = s
        .two
        .locks()
        .take_due(Job::HistoryAudit, every)
        .await
        .expect("ask");
    assert!(after.is_some(), "due again once the period passed");
}
