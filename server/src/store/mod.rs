//! Durable storage of the server's documents, change feed, device delivery state and query
//! tables: the SQLite implementation of [`shared::sync::server::ServerStore`] and its migrations.

mod sqlite;

pub use sqlite::{ProblemRow, ProgressRow, SCHEMA_VERSION, SqliteStore, VisitRow};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O, locking, constraint, full disk …).
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// A schema migration failed; the database stays at the version before it.
    #[error("migration {name} failed: {source}")]
    Migration {
        /// The migration's file name, without `.sql`.
        name: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
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
    /// A stored value is not what this build wrote (bad heads, id or number).
    #[error("corrupt data in {table}: {detail}")]
    Corrupt {
        /// The table holding it.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
}

#[cfg(test)]
mod tests;
