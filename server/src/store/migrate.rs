//! Schema migrations, embedded in the binary (`migrations/NNNN_name.sql`) and recorded by
//! name in the database (`schema_migrations`), so a database is judged by which migrations it
//! holds, not by how many: one made by another build (a newer server, or a branch whose
//! migration of the same number is another) is refused, naming what this build does not
//! know, instead of being taken for this build's schema. A database from before names were
//! recorded holds this build's first `user_version` migrations.

use rusqlite::{Connection, TransactionBehavior, params};

use super::StoreError;

/// One embedded schema step: `migrations/NNNN_name.sql`, applied once, in order.
struct Migration {
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Its name is recorded in `schema_migrations` when applied; the
/// database's `user_version` counts how many were.
const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        name: "0002_directory",
        sql: include_str!("migrations/0002_directory.sql"),
    },
    Migration {
        name: "0003_bulletins",
        sql: include_str!("migrations/0003_bulletins.sql"),
    },
    Migration {
        name: "0004_compaction",
        sql: include_str!("migrations/0004_compaction.sql"),
    },
    Migration {
        name: "0005_dashboard_indexes",
        sql: include_str!("migrations/0005_dashboard_indexes.sql"),
    },
    Migration {
        name: "0006_device_outbox",
        sql: include_str!("migrations/0006_device_outbox.sql"),
    },
    Migration {
        name: "0007_device_secret",
        sql: include_str!("migrations/0007_device_secret.sql"),
    },
    Migration {
        name: "0008_lean_storage",
        sql: include_str!("migrations/0008_lean_storage.sql"),
    },
    Migration {
        name: "0009_enterprise_cards",
        sql: include_str!("migrations/0009_enterprise_cards.sql"),
    },
    Migration {
        name: "0010_server_time",
        sql: include_str!("migrations/0010_server_time.sql"),
    },
    Migration {
        name: "0011_look_back_owed",
        sql: include_str!("migrations/0011_look_back_owed.sql"),
    },
    Migration {
        name: "0012_settling_window",
        sql: include_str!("migrations/0012_settling_window.sql"),
    },
    Migration {
        name: "0013_audit_log",
        sql: include_str!("migrations/0013_audit_log.sql"),
    },
    Migration {
        name: "0014_reminders",
        sql: include_str!("migrations/0014_reminders.sql"),
    },
    Migration {
        name: "0015_blob_store",
        sql: include_str!("migrations/0015_blob_store.sql"),
    },
    Migration {
        name: "0016_refresh_rotation",
        sql: include_str!("migrations/0016_refresh_rotation.sql"),
    },
    Migration {
        name: "0017_store_epoch",
        sql: include_str!("migrations/0017_store_epoch.sql"),
    },
    Migration {
        name: "0018_lost_refresh_answer",
        sql: include_str!("migrations/0018_lost_refresh_answer.sql"),
    },
    Migration {
        name: "0019_check_in_evidence",
        sql: include_str!("migrations/0019_check_in_evidence.sql"),
    },
    Migration {
        name: "0020_history_verdicts",
        sql: include_str!("migrations/0020_history_verdicts.sql"),
    },
    Migration {
        name: "0022_supervision",
        sql: include_str!("migrations/0022_supervision.sql"),
    },
    Migration {
        name: "0023_slim_rows",
        sql: include_str!("migrations/0023_slim_rows.sql"),
    },
    Migration {
        name: "0024_enterprise_merges",
        sql: include_str!("migrations/0024_enterprise_merges.sql"),
    },
    Migration {
        name: "0025_published_configs",
        sql: include_str!("migrations/0025_published_configs.sql"),
    },
    Migration {
        name: "0026_reminder_text_en",
        sql: include_str!("migrations/0026_reminder_text_en.sql"),
    },
    Migration {
        name: "0027_visit_signature",
        sql: include_str!("migrations/0027_visit_signature.sql"),
    },
];

/// The schema version this build creates and understands (the number of migrations).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies pending migrations in order, each in its own immediate transaction that re-reads
/// what is applied, so two processes opening the same new file cannot both apply a step.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let applied = applied(&tx, found)?;
        if let Some(unknown) = applied
            .iter()
            .find(|name| !MIGRATIONS.iter().any(|m| m.name == name.as_str()))
        {
            return Err(StoreError::UnknownMigration {
                name: unknown.clone(),
            });
        }
        let Some(step) = MIGRATIONS
            .iter()
            .find(|m| !applied.iter().any(|a| a == m.name))
        else {
            tx.commit()?;
            return Ok(());
        };
        let failed = |source| StoreError::Migration {
            name: step.name,
            source,
        };
        tx.execute_batch(step.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?1, ?2)",
            params![step.name, crate::auth::now().0],
        )
        .map_err(failed)?;
        let count = i64::try_from(applied.len() + 1).unwrap_or(i64::MAX);
        tx.pragma_update(None, "user_version", count)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
}

/// The names of the migrations the database holds, in the order applied. A database from
/// before they were recorded (no names, `user_version` > 0) holds this build's first
/// `user_version` ones; they are recorded now (applied at 0: unknown).
fn applied(conn: &Connection, user_version: i64) -> Result<Vec<String>, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    let names = conn
        .prepare("SELECT name FROM schema_migrations ORDER BY rowid")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if !names.is_empty() || user_version == 0 {
        return Ok(names);
    }
    let legacy = usize::try_from(user_version).unwrap_or(0);
    let mut insert =
        conn.prepare("INSERT INTO schema_migrations (name, applied_at) VALUES (?1, 0)")?;
    for m in MIGRATIONS.iter().take(legacy) {
        insert.execute([m.name])?;
    }
    Ok(MIGRATIONS
        .iter()
        .take(legacy)
        .map(|m| m.name.to_string())
        .collect())
}
