//! The PostgreSQL backend (issue 16 item 2): a pool of connections (deadpool-postgres over
//! tokio-postgres, no ORM), its own migrations (`pg/migrations/`, recorded by name like
//! SQLite's and refused when the database holds one this build does not carry), and the use
//! cases implemented so far: session tokens ([`crate::db::Tokens`], `pg/tokens.rs`, with a
//! refresh token's rotation and a password change in `pg/sessions.rs`), the administrator's
//! changes to people and devices (`pg/accounts.rs`), the
//! directory ([`crate::db::Directory`], `pg/directory.rs`, with the facts a person's access is
//! judged on in `pg/access.rs`), bulletins ([`crate::db::Bulletins`], `pg/bulletins.rs`) and
//! the hash-chained audit log their writes append to (`pg/audit.rs`), the sync store
//! ([`PgSyncStore`], the engine's `ServerStore`, `pg/sync_store.rs`: documents, changes and a
//! change feed several servers commit to without gaps or lost changes, and the query tables
//! each commit projects and the history verdicts it judges), queries and KPIs
//! ([`crate::db::Queries`], `pg/queries.rs`: every one of them, the statements SQLite runs,
//! written once over `store/sql.rs` and run here by `pg/sql.rs`), and what lets several servers share the
//! database: push notices through `LISTEN`/`NOTIFY` ([`PgNotices`], `pg/notices.rs`),
//! background jobs run once across them (advisory locks, `pg/jobs.rs`) and the login
//! throttle's shared count (`pg/throttle.rs`); what a login writes (`pg/login.rs`); what
//! uploads and photo reads need ([`crate::db::BlobRecords`], `pg/blob_records.rs`: references,
//! upload rows, the daily budget counted under a lock per person); the reminders' outbox
//! ([`crate::db::Reminders`], `pg/reminders.rs`: the scan, claims several servers make at once,
//! in-app reminders); the administrator's enterprise profiles ([`crate::db::Enterprises`],
//! `pg/enterprises.rs`: the list, a profile, the server's own writes committed through the sync
//! store with their audit entry); the 连心卡 ([`crate::db::Cards`], `pg/cards.rs`, with what the
//! enterprise writes through it, committed through the sync store); and the steps of the history audit and compaction ([`crate::db::Maintenance`],
//! `pg/maintenance.rs`).
//! `lianxin-server serve --db postgres://…` runs on it (`db::Db::postgres`); what is not built
//! on it yet answers 503 (`http::postgres_gate`).

mod access;
mod accounts;
mod assignments;
mod audit;
mod blob_records;
mod bulletins;
mod cards;
mod demo;
mod directory;
mod enterprises;
mod jobs;
mod login;
mod maintenance;
pub mod migrate;
mod notices;
mod org_units;
mod queries;
mod reminders;
mod sessions;
pub(crate) mod sql;
mod sync_commit;
mod sync_store;
mod throttle;
mod tokens;

pub use login::{NewDevice, NewToken};
pub use maintenance::PgMaintenance;
pub use notices::{APPLICATION as NOTICES_APPLICATION, PgNotices};
pub use sync_store::{PgSyncStore, handle_sync};
pub use throttle::PgLoginThrottle;

use std::sync::Arc;

use deadpool_postgres::{ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::store::StoreError;

/// Connections the pool keeps at most.
const POOL_SIZE: usize = 16;

/// How long a call waits for a connection (from the pool, or a new one) before failing.
const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The embedded migrations, in order: (name, SQL).
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_directory",
        include_str!("migrations/0001_directory.sql"),
    ),
    (
        "0002_directory_bulletins",
        include_str!("migrations/0002_directory_bulletins.sql"),
    ),
    (
        "0003_sync_store",
        include_str!("migrations/0003_sync_store.sql"),
    ),
    (
        "0004_query_tables",
        include_str!("migrations/0004_query_tables.sql"),
    ),
    (
        "0005_login_throttle",
        include_str!("migrations/0005_login_throttle.sql"),
    ),
    (
        "0006_device_secrets",
        include_str!("migrations/0006_device_secrets.sql"),
    ),
    (
        "0008_device_outbox",
        include_str!("migrations/0008_device_outbox.sql"),
    ),
    ("0009_jobs", include_str!("migrations/0009_jobs.sql")),
    (
        "0010_token_rotation",
        include_str!("migrations/0010_token_rotation.sql"),
    ),
    ("0011_uploads", include_str!("migrations/0011_uploads.sql")),
    (
        "0012_reminders",
        include_str!("migrations/0012_reminders.sql"),
    ),
    ("0013_people", include_str!("migrations/0013_people.sql")),
    (
        "0014_scope_marks",
        include_str!("migrations/0014_scope_marks.sql"),
    ),
    (
        "0015_enterprise_cards",
        include_str!("migrations/0015_enterprise_cards.sql"),
    ),
    (
        "0016_published_configs",
        include_str!("migrations/0016_published_configs.sql"),
    ),
];

/// Key of the advisory lock that migrating servers take, so two starting at once migrate once.
const MIGRATION_LOCK: i64 = 0x6c69_616e_7869_6e01;

/// A PostgreSQL database as the server uses it: a pool of connections. Cheap to clone.
#[derive(Clone)]
pub struct PgDb {
    pool: Pool,
    /// How to connect, for the connections kept outside the pool (the notices' listener, the
    /// job locks).
    config: Arc<tokio_postgres::Config>,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: not shown.
        f.debug_struct("PgDb").finish_non_exhaustive()
    }
}

impl PgDb {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) and applies the
    /// migrations it lacks.
    ///
    /// # Errors
    /// As [`PgDb::open`], or the URL is not one.
    pub async fn connect(url: &str) -> Result<PgDb, StoreError> {
        PgDb::open(url.parse()?).await
    }

    /// Opens a pool of connections as `config` says and applies the migrations the database
    /// lacks.
    ///
    /// # Errors
    /// The database is unreachable, refuses the login, holds a migration this build does not
    /// know, or a migration fails.
    pub async fn open(config: tokio_postgres::Config) -> Result<PgDb, StoreError> {
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let db = PgDb {
            pool,
            config: Arc::new(config),
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Runs `sql` as it is; how many rows it changed (a conformance test's seed of the query
    /// tables, or its attempt at what the database must refuse).
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(self.client().await?.execute(sql, &[]).await?)
    }

    /// The rows of `sql` as it is, as values (a conformance test's read of the query tables).
    #[cfg(test)]
    pub(crate) async fn query_raw(
        &self,
        sql: &str,
    ) -> Result<Vec<crate::store::sql::SqlRow>, StoreError> {
        let client = self.client().await?;
        let rows = client.query(sql, &[]).await?;
        rows.iter().map(sql::row).collect()
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// Applies the migrations the database lacks, each in its own transaction under the
    /// migration lock; refuses a database holding a migration this build does not carry.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // "relation already exists, skipping" is PostgreSQL's NOTICE on every start after the
        // first; the driver would log it as news.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                 name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: Vec<String> = tx
            .query("SELECT name FROM schema_migrations ORDER BY name", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(unknown) = applied
            .iter()
            .find(|name| !MIGRATIONS.iter().any(|(known, _)| known == name))
        {
            return Err(StoreError::UnknownMigration {
                name: unknown.clone(),
            });
        }
        for (name, sql) in MIGRATIONS {
            if applied.iter().any(|a| a == name) {
                continue;
            }
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                &[name, &crate::auth::now().0],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
