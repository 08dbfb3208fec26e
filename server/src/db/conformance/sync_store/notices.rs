//! Push notices across servers (`db::Notices`, `pg/notices.rs`), PostgreSQL only: SQLite's
//! file lock means one server, whose notices never leave its process. Two servers are two
//! [`PgDb`] handles (two pools, two listeners) on one database.

use std::time::Duration;

use tokio::sync::broadcast;

use super::{commit_of, doc_commit, visit};
use crate::db::conformance::throwaway::{Throwaway, admin};
use crate::db::{Notice, Notices as _};
use crate::pg::{PgDb, PgNotices};
use crate::store::StoreError;
use shared::sync::server::{Commit, ServerStore as _};

/// How long a notice may take from one server's commit to another's subscribers.
const HEARD_WITHIN: Duration = Duration::from_secs(5);

/// How long the test waits to be sure that no notice comes.
const SILENCE: Duration = Duration::from_secs(1);

/// Two servers on one fresh database.
async fn two_servers() -> (PgDb, PgDb, Throwaway) {
    let (throwaway, config) = Throwaway::create().await;
    let one = PgDb::open(config.clone()).await.expect("open server one");
    let two = PgDb::open(config).await.expect("open server two");
    (one, two, throwaway)
}

/// `db`'s notices, once its listener listens.
async fn listening(db: &PgDb) -> PgNotices {
    let notices = db.notices();
    wait_listening(&notices, None).await;
    notices
}

/// Waits until `notices`' listener is connected to a backend other than `not`.
async fn wait_listening(notices: &PgNotices, not: Option<i32>) -> i32 {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match notices.backend_pid() {
                Some(pid) if Some(pid) != not => return pid,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("the listener listens within 10 s")
}

/// Commits `commit` through `db`'s sync store, as a server does (on a blocking thread).
async fn commit_through(db: &PgDb, commit: Commit) -> Result<(), StoreError> {
    let mut store = db.sync_store().await.expect("a connection from the pool");
    tokio::task::spawn_blocking(move || store.commit(&commit))
        .await
        .expect("the commit's thread")
}

/// The next notice within [`HEARD_WITHIN`].
async fn heard(notices: &mut broadcast::Receiver<Notice>) -> Notice {
    tokio::time::timeout(HEARD_WITHIN, notices.recv())
        .await
        .expect("a notice within the bound")
        .expect("the notices' channel is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_commit_on_one_server_is_heard_by_every_server() {
    let (one, two, _throwaway) = two_servers().await;
    let (notices_one, notices_two) = (listening(&one).await, listening(&two).await);
    let (mut on_one, mut on_two) = (notices_one.subscribe(), notices_two.subscribe());

    let mut first = visit(1, 1);
    commit_through(&one, commit_of(vec![doc_commit(first.record(), None)]))
        .await
        .expect("committed on server one");

    assert_eq!(
        heard(&mut on_two).await,
        Notice::Feed(1),
        "the other server"
    );
    assert_eq!(
        heard(&mut on_one).await,
        Notice::Feed(1),
        "the committing server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_commit_rolled_back_at_its_end_notifies_no_server() {
    let (one, two, _throwaway) = two_servers().await;
    let notices = listening(&two).await;
    let mut on_two = notices.subscribe();
    // Refused when the transaction commits, after everything else it does (its notice too).
    let (mut refused, mut other) = (visit(1, 1), visit(2, 1));
    let refused = doc_commit(refused.record(), None);
    one.execute_raw(&format!(
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.doc_id = '{}' THEN RAISE EXCEPTION 'refused by the test'; \
         END IF; RETURN NEW; END $$",
        refused.doc.as_str()
    ))
    .await
    .expect("the refusing function");
    one.execute_raw(
        "CREATE CONSTRAINT TRIGGER refuse_one AFTER INSERT ON changes \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_one()",
    )
    .await
    .expect("the deferred trigger");

    let failed = commit_through(
        &one,
        commit_of(vec![doc_commit(other.record(), None), refused]),
    )
    .await;

    assert!(
        failed.is_err(),
        "the database refused the commit at its end"
    );
    let silent = tokio::time::timeout(SILENCE, on_two.recv()).await;
    assert!(
        silent.is_err(),
        "a rolled-back commit was noticed: {silent:?}"
    );
    let mut third = visit(3, 1);
    commit_through(&one, commit_of(vec![doc_commit(third.record(), None)]))
        .await
        .expect("a commit that lands");
    assert_eq!(
        heard(&mut on_two).await,
        Notice::Feed(1),
        "the first notice is the commit that landed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_listener_whose_connection_is_killed_listens_again_and_tells_to_resync() {
    let (one, two, _throwaway) = two_servers().await;
    let notices = listening(&two).await;
    let mut on_two = notices.subscribe();
    let killed = notices.backend_pid().expect("listening");

    let terminated: bool = admin()
        .await
        .query_one("SELECT pg_terminate_backend($1)", &[&killed])
        .await
        .expect("terminate the listener's backend")
        .get(0);

    assert!(terminated, "the listener's backend was terminated");
    assert_eq!(
        heard(&mut on_two).await,
        Notice::Missed,
        "reconnected, the listener says notices may have been missed"
    );
    wait_listening(&notices, Some(killed)).await;
    let mut first = visit(1, 1);
    commit_through(&one, commit_of(vec![doc_commit(first.record(), None)]))
        .await
        .expect("committed on server one");
    assert_eq!(
        heard(&mut on_two).await,
        Notice::Feed(1),
        "commits are heard again"
    );
}
