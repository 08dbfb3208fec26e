//! Durable storage of the server's documents, change feed, device delivery state, query tables
//! and directory (org units, users, assignments, devices, tokens): the SQLite implementation of
//! [`shared::sync::server::ServerStore`] and its migrations.

mod audit;
mod audit_query;
mod blob_refs;
mod breakdown;
mod bulletin;
pub(crate) mod cards;
mod compaction;
mod database;
mod device_sync;
mod directory;
pub(crate) mod enterprise_profiles;
mod epoch;
mod freshness;
mod group;
mod history;
mod hold;
mod kpi;
mod migrate;
mod packed_text;
mod problems_query;
pub(crate) mod projection;
mod published_configs;
mod queries;
mod readers;
pub(crate) mod reminder_outbox;
mod reminders;
pub(crate) mod rescope;
mod snapshot;
pub(crate) mod sql;
mod sqlite;
mod supervision_query;
#[cfg(test)]
pub(crate) mod test_support;
mod timeline;
mod use_cases;
mod visits_query;

pub use audit::{AuditAction, AuditEntry, AuditFilter, AuditVerdict};
pub(crate) use audit::{GENESIS, entry_hash};
pub(crate) use audit_query::{search_audit, verify_audit};
pub(crate) use breakdown::breakdown;
pub use cards::{CardFace, CardLookup, LiveCard};
pub(crate) use compaction::compaction_candidates;
pub use compaction::{CompactionRead, compact_pending};
#[cfg(test)]
pub(crate) use compaction::{compact_pending_with, resave};
pub use database::SqliteDb;
pub(crate) use device_sync::record_sync;
pub(crate) use directory::org_unit_rules;
pub use directory::{
    AdminDevice, AssignmentEntry, CODE_MAX, Device, EnterpriseQuery, EnterpriseRow, FreshTokens,
    ImportedUser, MergeRows, NAME_MAX, NewOrgUnit, NewUser, OrgUnitEdit, OrgUnitEntry,
    OrgUnitImport, OwnDevice, PasswordHash, Rotation, ScopeState, TokenHash, TokenKind,
    TokenLookup, UserRecord,
};
pub(crate) use directory::{
    LOST_PAIR, Presented, disabled_detail, may_be_lost_answer, moved_from, others_than,
    password_changed_detail, period_checked, presented_state, reset_detail, retried_detail,
    reused_detail, revoked_detail, token_hash,
};
pub(crate) use freshness::{officer_freshness, record_unsent};
pub use group::GroupJob;
pub use history::AuditRead;
pub(crate) use history::{audit_batch, audit_judge, audit_keep, history_verdict, on_commit};
pub use hold::StoreHold;
pub(crate) use kpi::kpis;
pub use migrate::SCHEMA_VERSION;
pub(crate) use problems_query::list_problems;
pub(crate) use queries::push_facts;
pub use queries::{LookBackFacts, PushFacts};
pub use readers::Readers;
pub use reminder_outbox::{ClaimedReminder, Outcome, ReminderRow};
pub use reminders::ScanReport;
pub(crate) use reminders::{outbox_started as reminders_started, scan as scan_reminders};
pub use sqlite::{ProblemRow, ProgressRow, SqliteStore, VisitRow};
pub(crate) use sqlite::{
    decode_heads, encode_heads, parse_doc_id, parse_enterprise, to_sql_int, to_u64,
};
pub(crate) use supervision_query::{list_supervision, todo_problems};
pub(crate) use timeline::enterprise_timeline;
pub(crate) use visits_query::list_visits;
/// What `pg/migrate.rs` reads a SQLite row as: a stored snapshot's Automerge bytes, a note's text.
pub(crate) use {packed_text::unpack as unpack_note, snapshot::load as load_snapshot};

/// A PostgreSQL error with the server's own message (tokio-postgres shows only "db error").
fn postgres_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O, locking, constraint, full disk …).
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL failed (connection, constraint, statement …); shown with the server's
    /// message when it sent one (a trigger's refusal, a violated constraint).
    #[error("postgres: {}", postgres_detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool in time.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A schema migration failed; the database stays at the version before it.
    #[error("migration {name} failed: {source}")]
    Migration {
        /// The migration's file name, without `.sql`.
        name: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database holds a migration this build does not carry: it was made by another build
    /// (a newer server, or a branch whose migration of the same number is another).
    #[error(
        "the database holds migration {name}, which this server does not know: it was made by \
         another build (a newer server or a development branch); run that build, or restore a \
         backup made by this version"
    )]
    UnknownMigration {
        /// The migration's name as the database records it.
        name: String,
    },
    /// The database was written by a newer server whose schema this build does not know.
    #[error(
        "the database is at schema version {found} but this server knows only up to {supported}: \
         run a newer server, or restore a backup made by this version"
    )]
    NewerSchema {
        /// The database's `user_version`.
        found: i64,
        /// The last migration this build carries.
        supported: i64,
    },
    /// The database refused write-ahead logging (e.g. an in-memory or read-only file).
    #[error("the database cannot use write-ahead logging (journal mode is {0:?})")]
    JournalMode(String),
    /// A group commit ([`SqliteStore::group`]) could not begin or commit; nothing of it was
    /// stored.
    #[error("group commit: {0}")]
    Group(String),
    /// Nothing of that kind has that key (an unknown login, device or org unit code).
    #[error("no {what} {key:?}")]
    NotFound {
        /// What was looked for: "user", "device", "org unit" …
        what: &'static str,
        /// The key given.
        key: String,
    },
    /// The key is taken already (a login, an org unit code).
    #[error("{what} {key:?} exists already")]
    Duplicate {
        /// What was being added.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// The request contradicts what is stored (e.g. a device id bound to another user).
    #[error("{0}")]
    Conflict(String),
    /// Another server committed to a document between this request's read of it and its
    /// commit (`shared::sync::server::DocCommit::base`); nothing of the commit was stored, and
    /// the request is merged again (`pg/sync_store.rs`).
    #[error("{doc} changed on another server since it was read")]
    Moved {
        /// The document.
        doc: String,
    },
    /// The values given cannot be stored (e.g. an assignment that ends before it starts).
    #[error("{0}")]
    Invalid(String),
    /// The thread that was to run the statement stopped (it panicked, or the server is
    /// stopping); nothing of the call is known to be stored.
    #[error("the database's worker thread stopped")]
    Unavailable,
    /// A stored value is not what this build wrote (bad heads, id or number).
    #[error("corrupt data in {table}: {detail}")]
    Corrupt {
        /// The table holding it.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// What this database does not answer yet (PostgreSQL: a use case of issue 16 not yet
    /// built on it).
    #[error("not yet available on this database: {0}")]
    NotYet(&'static str),
}

#[cfg(test)]
mod tests;
