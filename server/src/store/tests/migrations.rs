//! Migrations recorded by name: a database is judged by which migrations it holds, so one made
//! by another build is refused instead of taken for this build's schema.

use super::*;

fn names(path: &Path) -> Vec<String> {
    raw(path)
        .prepare("SELECT name FROM schema_migrations ORDER BY rowid")
        .expect("the table")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("names")
}

const ALL: [&str; 26] = [
    "0001_initial",
    "0002_directory",
    "0003_bulletins",
    "0004_compaction",
    "0005_dashboard_indexes",
    "0006_device_outbox",
    "0007_device_secret",
    "0008_lean_storage",
    "0009_enterprise_cards",
    "0010_server_time",
    "0011_look_back_owed",
    "0012_settling_window",
    "0013_audit_log",
    "0014_reminders",
    "0015_blob_store",
    "0016_refresh_rotation",
    "0017_store_epoch",
    "0018_lost_refresh_answer",
    "0019_check_in_evidence",
    "0020_history_verdicts",
    "0022_supervision",
    "0023_slim_rows",
    "0024_enterprise_merges",
    "0025_published_configs",
    "0026_reminder_text_en",
    "0027_visit_signature",
];

#[test]
fn a_fresh_database_records_every_migration_by_name_in_order() {
    let (dir, store) = fresh();
    drop(store);
    assert_eq!(names(&db_path(&dir)), ALL);
    assert_eq!(SCHEMA_VERSION, ALL.len() as i64);
}

#[test]
fn a_database_holding_a_migration_this_build_does_not_know_is_refused_naming_it() {
    let (dir, store) = fresh();
    drop(store);
    // A branch build's twelfth migration was another one: same count, other name.
    raw(&db_path(&dir))
        .execute_batch(
            "DELETE FROM schema_migrations WHERE name = '0012_settling_window'; \
             INSERT INTO schema_migrations (name, applied_at) VALUES ('0012_from_a_branch', 1);",
        )
        .expect("rewritten");
    let err = SqliteStore::open(&db_path(&dir)).expect_err("refused");
    assert!(
        matches!(&err, StoreError::UnknownMigration { name } if name == "0012_from_a_branch"),
        "{err:?}"
    );
    assert!(err.to_string().contains("another build"), "{err}");
}

#[test]
fn a_database_from_before_names_were_recorded_keeps_what_it_has_and_gains_the_rest() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = db_path(&dir);
    let conn = raw(&path);
    for sql in [
        include_str!("../migrations/0001_initial.sql"),
        include_str!("../migrations/0002_directory.sql"),
        include_str!("../migrations/0003_bulletins.sql"),
        include_str!("../migrations/0004_compaction.sql"),
        include_str!("../migrations/0005_dashboard_indexes.sql"),
        include_str!("../migrations/0006_device_outbox.sql"),
        include_str!("../migrations/0007_device_secret.sql"),
        include_str!("../migrations/0008_lean_storage.sql"),
        include_str!("../migrations/0009_enterprise_cards.sql"),
        include_str!("../migrations/0010_server_time.sql"),
        include_str!("../migrations/0011_look_back_owed.sql"),
    ] {
        conn.execute_batch(sql).expect("an old migration");
    }
    conn.pragma_update(None, "user_version", 11)
        .expect("version");
    drop(conn);

    let store = SqliteStore::open(&path).expect("opens");
    drop(store);
    assert_eq!(names(&path), ALL);
    let version: i64 = raw(&path)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    raw(&path)
        .execute_batch("SELECT unsettled_since FROM device_sync")
        .expect("the twelfth migration ran");
}
