//! The audit log read on either backend, written once over [`Sql`]: a page of entries by
//! filter ([`search_audit`]) and the hash chain walked whole ([`verify_audit`]); SQLite's
//! [`AuditLog`] and the command line's reads run them on a SQLite connection, PostgreSQL's
//! (`pg/audit.rs`) on one snapshot of its pool.

use std::sync::Arc;

use shared::model::Timestamp;

use super::audit::{GENESIS, entry_hash};
use super::sql::{Lite, Sql, SqlRow, Value};
use super::use_cases::on_reader;
use super::{AuditEntry, AuditFilter, AuditVerdict, SqliteDb, SqliteStore, StoreError};
use crate::db::{AuditLog, DbFuture};

/// Entries the walk reads at a time: three in this crate's tests, so every test's walk goes
/// from page to page.
const WALK_PAGE: i64 = if cfg!(test) { 3 } else { 1_000 };

const COLUMNS: &str = "seq, at, actor, action, subject, detail, prev_hash, hash";

/// An entry as stored: its fields, the hash it links to and its own.
struct Stored {
    entry: AuditEntry,
    prev: Vec<u8>,
    hash: Vec<u8>,
}

fn stored(row: &SqlRow) -> Result<Stored, StoreError> {
    let hash = row.blob(7)?;
    Ok(Stored {
        entry: AuditEntry {
            seq: row.int(0)?,
            at: Timestamp(row.int(1)?),
            actor: row.text(2)?,
            action: row.text(3)?,
            subject: row.text(4)?,
            detail: row.text(5)?,
            hash: crate::auth::token::hex(&hash),
        },
        prev: row.blob(6)?,
        hash,
    })
}

/// The entries `filter` keeps before position `before` (none: from the newest), newest first,
/// at most `limit`: a page of the log as the audit screen shows it. Text is matched as it is
/// stored (case and all), by its characters.
pub(crate) fn search_audit(
    db: &dyn Sql,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let dialect = db.dialect();
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(action) = &filter.action {
        conditions.push("action = ?".into());
        values.push(Value::Text(action.clone()));
    }
    if let Some(actor) = &filter.actor {
        conditions.push("actor = ?".into());
        values.push(Value::Text(actor.clone()));
    }
    if let Some(text) = &filter.text {
        let within: Vec<String> = ["actor", "subject", "detail"]
            .iter()
            .map(|column| dialect.contains(column))
            .collect();
        conditions.push(format!("({})", within.join(" OR ")));
        values.extend(std::iter::repeat_n(Value::Text(text.clone()), 3));
    }
    if let Some(from) = filter.from {
        conditions.push("at >= ?".into());
        values.push(Value::Integer(from.0));
    }
    if let Some(to) = filter.to {
        conditions.push("at < ?".into());
        values.push(Value::Integer(to.0));
    }
    if let Some(before) = before {
        conditions.push("seq < ?".into());
        values.push(Value::Integer(before));
    }
    let kept = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {} ", conditions.join(" AND "))
    };
    values.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    db.query(
        &format!("SELECT {COLUMNS} FROM audit_log {kept}ORDER BY seq DESC LIMIT ?"),
        &values,
    )?
    .iter()
    .map(|row| Ok(stored(row)?.entry))
    .collect()
}

/// Walks the whole chain in its order, by position: every entry's hash must cover its fields
/// and the entry before it, and positions must run 1, 2, 3 … without a gap. Read a page at a
/// time; run it over one snapshot, so entries appended meanwhile are either all seen or not.
pub(crate) fn verify_audit(db: &dyn Sql) -> Result<AuditVerdict, StoreError> {
    let mut expected_prev = GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut after: Option<i64> = None;
    loop {
        let page = match after {
            None => db.query(
                &format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq LIMIT ?"),
                &[Value::Integer(WALK_PAGE)],
            )?,
            Some(after) => db.query(
                &format!("SELECT {COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"),
                &[Value::Integer(after), Value::Integer(WALK_PAGE)],
            )?,
        };
        for row in &page {
            let Stored { entry, prev, hash } = stored(row)?;
            let seq = entry.seq;
            if seq != expected_seq {
                return Ok(AuditVerdict::Broken {
                    seq: expected_seq,
                    reason: format!("entry {expected_seq} is missing (next is {seq})"),
                });
            }
            let broken = |reason: &str| AuditVerdict::Broken {
                seq,
                reason: reason.to_string(),
            };
            if prev != expected_prev {
                return Ok(broken("it does not link to the entry before it"));
            }
            let fields = [
                entry.actor.as_str(),
                &entry.action,
                &entry.subject,
                &entry.detail,
            ];
            if entry_hash(&prev, seq, entry.at.0, fields).as_slice() != hash.as_slice() {
                return Ok(broken("its contents do not match its hash"));
            }
            expected_prev = hash;
            expected_seq += 1;
            after = Some(seq);
        }
        if page.len() < WALK_PAGE as usize {
            return Ok(AuditVerdict::Intact {
                entries: expected_seq - 1,
            });
        }
    }
}

impl SqliteStore {
    /// The entries `filter` keeps before position `before`, newest first, at most `limit`
    /// ([`search_audit`]).
    pub fn audit_search(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        search_audit(&Lite(&self.conn), filter, before, limit)
    }

    /// Walks the whole chain ([`verify_audit`]) in one read transaction, when none is open.
    pub fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        if !self.conn.is_autocommit() {
            return verify_audit(&Lite(&self.conn));
        }
        let tx = self.conn.unchecked_transaction()?;
        let verdict = verify_audit(&Lite(&tx))?;
        tx.commit()?;
        Ok(verdict)
    }
}

impl AuditLog for Arc<SqliteDb> {
    fn search_audit(
        &self,
        filter: AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> DbFuture<'_, Vec<AuditEntry>> {
        on_reader(self, move |s| s.audit_search(&filter, before, limit))
    }

    fn verify_audit(&self) -> DbFuture<'_, AuditVerdict> {
        on_reader(self, |s| s.verify_audit())
    }
}
