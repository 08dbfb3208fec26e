//! The audit log in PostgreSQL: append-only (the table's trigger refuses updates, deletes and
//! truncation) and hash-chained with SQLite's hash (`store/audit.rs`). Appends from several
//! servers take a transaction-scoped advisory lock, so the chain never forks and positions are
//! given in the order the appends commit; read ([`AuditLog`]) with SQLite's statements and
//! walk (`store/audit_query.rs`), each call over one snapshot.

use deadpool_postgres::Transaction;
use shared::model::Timestamp;

use super::PgDb;
use crate::db::{AuditLog, DbFuture};
use crate::store::{
    AuditAction, AuditEntry, AuditFilter, AuditVerdict, GENESIS, StoreError, entry_hash,
};

/// Key of the advisory lock an append holds until its transaction ends.
const AUDIT_LOCK: i64 = 0x6c69_616e_7869_6e02;

/// Appends an entry at the end of the chain inside `tx`; returns its position. The lock is
/// held until `tx` ends, and the last entry is read after it is taken, by a statement of its
/// own: in a `READ COMMITTED` transaction (every one that appends) that statement sees the
/// entry the previous holder committed, so each position is one more than the last committed
/// and a snapshot holds a prefix of the chain.
pub(super) async fn append(
    tx: &Transaction<'_>,
    at: Timestamp,
    actor: &str,
    action: AuditAction,
    subject: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await?;
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    let (seq, prev): (i64, Vec<u8>) = match last {
        Some(row) => (row.get::<_, i64>(0) + 1, row.get(1)),
        None => (1, GENESIS.to_vec()),
    };
    let hash = entry_hash(&prev, seq, at.0, [actor, action.code(), subject, detail]);
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &seq,
            &at.0,
            &actor,
            &action.code(),
            &subject,
            &detail,
            &prev,
            &hash.as_slice(),
        ],
    )
    .await?;
    Ok(seq)
}

impl PgDb {
    /// The entries after position `after`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// PostgreSQL failed.
    pub async fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, at, actor, action, subject, detail, hash FROM audit_log \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| AuditEntry {
                seq: row.get(0),
                at: Timestamp(row.get(1)),
                actor: row.get(2),
                action: row.get(3),
                subject: row.get(4),
                detail: row.get(5),
                hash: crate::auth::token::hex(&row.get::<_, Vec<u8>>(6)),
            })
            .collect())
    }
}

impl AuditLog for PgDb {
    fn search_audit(
        &self,
        filter: AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> DbFuture<'_, Vec<AuditEntry>> {
        self.read(move |db| crate::store::search_audit(db, &filter, before, limit))
    }

    fn verify_audit(&self) -> DbFuture<'_, AuditVerdict> {
        self.read(crate::store::verify_audit)
    }
}
