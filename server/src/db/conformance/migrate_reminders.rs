//! `lianxin-server migrate` and the reminders' outbox (`pg/migrate.rs`): the demo district's
//! SQLite file after its reminder job ran (every reminder recorded, a few sent, some in-app
//! ones seen), copied into a throwaway PostgreSQL database. Then the outbox's tables hold the
//! same rows on both; the reminder job on PostgreSQL records nothing SQLite already recorded
//! and sends nothing already sent, and later goes on as SQLite does; each person's in-app
//! reminders read the same; a copy whose reminder row is altered before its verification is
//! refused.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use shared::config::Config;
use shared::model::{DAY_MS, Timestamp};

use super::migrate::{NOW, copy, demo_file, empty_target};
use super::throwaway::Throwaway;
use crate::db::{Directory, Reminders};
use crate::pg::PgDb;
use crate::pg::migrate::MigrateError;
use crate::remind::Settings;
use crate::store::SqliteDb;
use crate::store::sql::{SqlRow, Value};
use crate::store::test_support::{execute_raw, query_raw};

/// The outbox's tables.
const TABLES: [&str; 4] = [
    "reminders",
    "reminder_occasions",
    "reminder_watch",
    "reminder_meta",
];

/// Log and in-app.
fn settings() -> Arc<Settings> {
    Arc::new(serde_json::from_str(r#"{"channels": ["log", "in_app"]}"#).expect("settings"))
}

/// Scan steps at `at` until none is left; the reminder rows they created.
async fn scan_all(db: &impl Reminders, at: Timestamp) -> usize {
    let mut created = 0;
    loop {
        let step = db
            .scan_reminders(at, settings(), Arc::new(Config::demo()))
            .await
            .expect("scan");
        created += step.created;
        if !step.more {
            return created;
        }
    }
}

/// What the reminder job on SQLite left behind in the demo district at [`NOW`], and the
/// PostgreSQL database it was then migrated into.
struct Migrated {
    _dir: tempfile::TempDir,
    file: PathBuf,
    lite: Arc<SqliteDb>,
    _throwaway: Throwaway,
    pg: PgDb,
}

/// The demo district whose outbox counts from the file's start (as one from before
/// migrations were recorded does: `0014_reminders` applied at 0, so the demo's hand-outs,
/// bad ratings and supervision remind too), its reminder job run at [`NOW`] on SQLite: every
/// reminder recorded, the first ten of the log channel sent, the first half of the in-app
/// ones of the person with the most seen. Then migrated.
async fn reminded_and_migrated() -> Migrated {
    let dir = tempfile::tempdir().expect("temp dir");
    let file: PathBuf = demo_file(dir.path()).await;
    let lite = Arc::new(SqliteDb::open(&file, None).expect("open"));
    lite.write(|s| {
        execute_raw(
            s,
            "UPDATE schema_migrations SET applied_at = 0 WHERE name = '0014_reminders'",
        )
    })
    .await
    .expect("writer")
    .expect("the outbox's start");
    let created = scan_all(&lite, NOW).await;
    assert!(created > 0, "the demo district owes reminders");
    let sent = lite
        .claim_reminders(NOW, settings(), 10)
        .await
        .expect("claim");
    assert_eq!(sent.len(), 10);
    let ids = sent.iter().map(|r| r.id).collect();
    lite.finish_reminders(ids, Ok(()), NOW, settings())
        .await
        .expect("sent");
    let mut busiest = (String::new(), Vec::new());
    for person in people(&lite).await {
        let unseen = lite
            .unseen_notifications(person.clone(), 100)
            .await
            .expect("unseen");
        if unseen.len() > busiest.1.len() {
            busiest = (person, unseen);
        }
    }
    let (person, unseen) = busiest;
    assert!(unseen.len() >= 2, "someone has in-app reminders");
    let seen: Vec<i64> = unseen.iter().take(unseen.len() / 2).map(|n| n.id).collect();
    let marked = lite
        .mark_notifications_seen(person, seen.clone(), NOW)
        .await
        .expect("seen");
    assert_eq!(marked, seen.len());
    drop(lite);
    let (throwaway, pg) = empty_target().await;
    copy(&file, &pg, None).await.expect("migrated");
    Migrated {
        lite: Arc::new(SqliteDb::open(&file, None).expect("open")),
        file,
        _dir: dir,
        _throwaway: throwaway,
        pg,
    }
}

/// Every person's user id.
async fn people(db: &impl Directory) -> Vec<String> {
    let (_, people) = db.listing().await.expect("listing");
    people.iter().map(|p| p.user.id.to_string()).collect()
}

/// Rows as their values (for comparing).
fn values(rows: Vec<SqlRow>) -> Vec<Vec<Value>> {
    rows.into_iter().map(|r| r.0).collect()
}

async fn on_lite(lite: &Arc<SqliteDb>, sql: &str) -> Vec<SqlRow> {
    let sql = sql.to_string();
    lite.read(move |s| query_raw(s, &sql))
        .await
        .expect("reader")
        .expect("SQLite's rows")
}

async fn on_pg(pg: &PgDb, sql: &str) -> Vec<SqlRow> {
    pg.query_raw(sql).await.expect("PostgreSQL's rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminders_tables_hold_the_same_rows_after_the_migration() {
    let m = reminded_and_migrated().await;
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let want = on_lite(&m.lite, &sql).await[0].count(0).expect("count");
        let got = on_pg(&m.pg, &sql).await[0].count(0).expect("count");
        let meta = u64::from(table == "reminder_meta");
        assert!(want > 0, "{table} is filled on SQLite");
        // PostgreSQL keeps the outbox's start as a row of `reminder_meta` too.
        assert_eq!(got, want + meta, "{table}'s rows");
    }
    // The scan's cursor, and the outbox's start (SQLite's `0014_reminders`).
    let cursor = "SELECT value FROM reminder_meta WHERE key = 'cursor'";
    assert_eq!(
        values(on_pg(&m.pg, cursor).await),
        values(on_lite(&m.lite, cursor).await),
        "the scan's cursor"
    );
    let since = on_pg(&m.pg, "SELECT value FROM reminder_meta WHERE key = 'since'").await;
    assert_eq!(since[0].int(0).expect("since"), 0, "the outbox's start");
    // Each reminder as it stood: who, what, when, how often tried, sent or seen.
    let rows = "SELECT id, recipient, via_unit, kind, problem, occasion, due_at, created_at, \
                channel, text, text_en, attempts, next_attempt_at, delivered_at, last_error \
                FROM reminders ORDER BY id";
    assert_eq!(
        values(on_pg(&m.pg, rows).await),
        values(on_lite(&m.lite, rows).await)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminder_job_on_postgres_owes_and_sends_nothing_already_reminded() {
    let m = reminded_and_migrated().await;
    assert_eq!(
        scan_all(&m.pg, NOW).await,
        0,
        "PostgreSQL's scan records no reminder SQLite's recorded"
    );
    assert_eq!(scan_all(&m.lite, NOW).await, 0, "nor does SQLite's again");
    // The delivery loop: what is left to send, and only that, on both.
    let (lite_next, pg_next) = (
        m.lite.next_reminder_at(settings()).await.expect("next"),
        m.pg.next_reminder_at(settings()).await.expect("next"),
    );
    assert_eq!(pg_next, lite_next);
    let claimed = |c: Vec<crate::store::ClaimedReminder>| {
        c.into_iter()
            .map(|r| (r.id, r.recipient, r.text))
            .collect::<BTreeSet<_>>()
    };
    let lite_claim = claimed(
        m.lite
            .claim_reminders(NOW, settings(), 1_000)
            .await
            .expect("claim"),
    );
    let pg_claim = claimed(
        m.pg.claim_reminders(NOW, settings(), 1_000)
            .await
            .expect("claim"),
    );
    assert!(!lite_claim.is_empty(), "reminders left to send");
    assert_eq!(
        pg_claim, lite_claim,
        "PostgreSQL sends what SQLite had left"
    );
    // Later, deadlines and look-backs falling due remind alike on both (new rows numbered
    // after the copied ones).
    let later = Timestamp(NOW.0 + 40 * DAY_MS);
    let created = (scan_all(&m.lite, later).await, scan_all(&m.pg, later).await);
    assert!(created.0 > 0, "reminders fall due later");
    assert_eq!(created.1, created.0);
    let keys = "SELECT recipient, kind, problem, occasion, channel FROM reminders";
    let (want, got) = (on_lite(&m.lite, keys).await, on_pg(&m.pg, keys).await);
    let set = |rows: Vec<SqlRow>| {
        rows.iter()
            .map(|r| (0..5).map(|i| r.text(i).expect("text")).collect::<Vec<_>>())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(set(got), set(want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_persons_in_app_reminders_read_the_same_after_the_migration() {
    let m = reminded_and_migrated().await;
    let mut listed = 0;
    for person in people(&m.lite).await {
        let want = m
            .lite
            .unseen_notifications(person.clone(), 100)
            .await
            .expect("SQLite's");
        let got =
            m.pg.unseen_notifications(person.clone(), 100)
                .await
                .expect("PostgreSQL's");
        assert_eq!(got, want, "{person}'s reminders");
        listed += want.len();
    }
    assert!(listed > 0, "in-app reminders were compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_reminder_is_altered_is_refused() {
    let m = reminded_and_migrated().await;
    drop(m.pg);
    let (_throwaway, pg) = empty_target().await;
    let broken = copy(
        &m.file,
        &pg,
        Some(
            "UPDATE reminders SET delivered_at = NULL \
             WHERE id = (SELECT MIN(id) FROM reminders WHERE delivered_at IS NOT NULL)",
        ),
    )
    .await;
    match broken {
        Err(MigrateError::Mismatch(why)) => assert!(why.starts_with("reminders:"), "{why}"),
        other => panic!("the altered copy was accepted: {other:?}"),
    }
}
