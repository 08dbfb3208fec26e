//! Tamper evidence, kept (历史防篡改, migration `0020_history_verdicts`): the verdict on each
//! record's hash-linked history. A commit judges what it brings in its own transaction
//! ([`on_commit`]: every new change must carry the Automerge actor of the device its message
//! names; a history fully checked at the heads this commit builds on stays intact, anything
//! else waits for the audit), and the audit (`crate::history_audit`, over
//! [`crate::db::HistoryAudits`]) checks whole records, a bounded batch at a time, writing what
//! it found only if the record did not change meanwhile. The lists and
//! `GET /api/history/{kind}/{id}` read the verdicts. The commit's judgement, the audit's
//! batch, judgement and write, and the verdict's read are written once over [`Sql`] and run on
//! both backends (PostgreSQL's commit, `pg/sync_store.rs`, its audit steps,
//! `pg/maintenance.rs`, and its `Queries`); reading a record for the audit is each backend's
//! own (SQLite inflates its snapshots).
//!
//! **A verdict is never written over a commit it did not see.** On PostgreSQL several servers
//! commit while another audits: the commit reads the prior verdict under the verdict row's
//! lock (`Dialect::for_update`) and the audit's write takes that lock before it compares the
//! record's heads, so either the commit waits and reads the audit's verdict, or the audit
//! waits and finds the heads moved (and leaves the record for its next run). SQLite's one
//! writer does both in turn.

use automerge::ChangeHash;
use shared::model::{DeviceId, EnterpriseId, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::server::DocCommit;

use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError, StoreHold};
use crate::api::HistoryVerdict;
use crate::db::{Authors, HistoryAudits};

/// The Automerge actor (hex) the changes of `device` must carry: the one the server gave it
/// at registration, or the system's for the server's own identities (`crate::writer`).
pub(crate) fn expected_actor(db: &dyn Sql, device: DeviceId) -> Result<Option<String>, StoreError> {
    if device == crate::writer::system_actor().device || device == crate::writer::card_device() {
        return Ok(Some(crate::writer::system_actor_id().to_hex_string()));
    }
    db.query_opt(
        "SELECT actor_id FROM devices WHERE id = ?",
        &[Value::Text(device.to_string())],
    )?
    .map(|r| Ok(r.text(0)?.to_lowercase()))
    .transpose()
}

/// Why one change is wrongly attributed, if it is: it names no author, names a device the
/// server does not know, or carries another actor than the named device's.
pub(crate) fn misattributed(
    db: &dyn Sql,
    hash: &str,
    actor: &str,
    device: Option<DeviceId>,
) -> Result<Option<String>, StoreError> {
    let Some(device) = device else {
        return Ok(Some(format!("change {hash} names no author")));
    };
    Ok(match expected_actor(db, device)? {
        Some(expected) if expected == actor => None,
        Some(expected) => Some(format!(
            "change {hash} names device {device} but carries actor {actor}, not that \
             device's {expected}"
        )),
        None => Some(format!(
            "change {hash} names device {device}, which the server never registered"
        )),
    })
}

/// Judges a commit's document in the commit's transaction, before its row is rewritten: a new
/// change wrongly attributed breaks the history; otherwise a history fully checked at the
/// heads this commit merged into (or a new record, all of whose changes this commit brings,
/// each hashed and its dependencies present, as the merge requires) stays intact; a broken one
/// stays broken; anything else is left to the audit. The one definition, run by both
/// backends' commits.
pub(crate) fn on_commit(tx: &dyn Sql, doc: &DocCommit, now: Timestamp) -> Result<(), StoreError> {
    let id = Value::Text(doc.doc.as_str().to_string());
    let stored_heads = tx
        .query_opt(
            "SELECT heads FROM docs WHERE doc_id = ?",
            std::slice::from_ref(&id),
        )?
        .map(|r| r.blob(0))
        .transpose()?;
    let prior = tx
        .query_opt(
            &format!(
                "SELECT heads, intact, broken FROM history_verdicts WHERE doc_id = ?{}",
                tx.dialect().for_update()
            ),
            std::slice::from_ref(&id),
        )?
        .map(|r| Ok::<_, StoreError>((r.blob(0)?, r.opt_flag(1)?, r.opt_text(2)?)))
        .transpose()?;
    let mut found = None;
    for c in &doc.changes {
        found = misattributed(
            tx,
            &c.hash.to_string(),
            &c.actor,
            c.author.as_ref().map(|a| a.device),
        )?;
        if found.is_some() {
            break;
        }
    }
    let (intact, broken) = match (found, stored_heads, prior) {
        (Some(why), _, _) => (Some(false), Some(why)),
        (None, _, Some((_, Some(false), why))) => (Some(false), why),
        (None, None, _) => (Some(true), None),
        (None, Some(stored), Some((heads, Some(true), _))) if stored == heads => (Some(true), None),
        (None, _, _) => (None, None),
    };
    tx.execute(
        "INSERT INTO history_verdicts (doc_id, heads, intact, broken, checked_at, full_at) \
         VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (doc_id) DO UPDATE SET \
         heads = excluded.heads, intact = excluded.intact, broken = excluded.broken, \
         checked_at = excluded.checked_at",
        &[
            id,
            Value::Blob(super::encode_heads(&doc.heads)),
            Value::from(intact),
            Value::from(broken),
            Value::Integer(now.0),
        ],
    )?;
    Ok(())
}

/// What the audit reads of one record in one hold: its bytes, heads and the changes the change
/// table recorded for it.
#[derive(Debug, Clone)]
pub struct AuditRead {
    /// The record.
    pub doc: DocId,
    /// Loadable bytes.
    pub bytes: Vec<u8>,
    /// Heads as stored.
    pub heads: Vec<ChangeHash>,
    /// Every change the table recorded for it.
    pub recorded: Vec<ChangeHash>,
}

impl SqliteStore {
    /// Records the audit should look at next, at most `limit`: pending ones (changes since
    /// the last full check) when `pending_only`, else those never fully checked, then those
    /// checked longest ago.
    ///
    /// # Errors
    /// When the store fails or holds a bad id.
    pub fn history_audit_batch(
        &self,
        limit: usize,
        pending_only: bool,
    ) -> Result<Vec<DocId>, StoreError> {
        audit_batch(&Lite(&self.conn), limit, pending_only)
    }

    /// A record as the audit reads it (`None`: no longer stored).
    ///
    /// # Errors
    /// When the store fails.
    pub fn history_audit_read(&mut self, doc: &DocId) -> Result<Option<AuditRead>, StoreError> {
        use shared::sync::server::ServerStore as _;
        let Some(stored) = self.load_doc(doc)? else {
            return Ok(None);
        };
        let recorded: Vec<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hash FROM changes WHERE doc_id = ?1")?
            .query_map([doc.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let recorded = recorded
            .iter()
            .map(|h| {
                ChangeHash::try_from(h.as_slice()).map_err(|e| StoreError::Corrupt {
                    table: "changes",
                    detail: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(AuditRead {
            doc: doc.clone(),
            bytes: stored.bytes,
            heads: stored.heads,
            recorded,
        }))
    }

    /// Writes the audit's verdict on `read`'s record, after checking who made each change
    /// (`authors`: change hash, actor hex, the device its message names): only if the record
    /// is still at the heads read (else the next audit looks again). Returns the verdict
    /// written, if any.
    ///
    /// # Errors
    /// When the store fails.
    pub fn history_audit_write(
        &mut self,
        read: &AuditRead,
        chain: Option<String>,
        authors: &[(String, String, Option<DeviceId>)],
        now: Timestamp,
    ) -> Result<Option<HistoryVerdict>, StoreError> {
        let db = Lite(&self.conn);
        let broken = audit_judge(&db, chain, authors)?;
        audit_keep(&db, read, broken, now)
    }

    /// The verdict on `doc`'s history, with the record's enterprise ([`history_verdict`]).
    ///
    /// # Errors
    /// When the store fails or holds a bad id.
    pub fn history_verdict(
        &self,
        doc: &DocId,
    ) -> Result<Option<(EnterpriseId, HistoryVerdict)>, StoreError> {
        history_verdict(&Lite(&self.conn), doc)
    }
}

/// The verdict on `doc`'s history, with the record's enterprise (what a read scope is checked
/// against); `None` when the record is not stored: the one definition, run on either backend.
///
/// # Errors
/// When the store fails or holds a bad id.
pub(crate) fn history_verdict(
    db: &dyn Sql,
    doc: &DocId,
) -> Result<Option<(EnterpriseId, HistoryVerdict)>, StoreError> {
    let Some(r) = db.query_opt(
        "SELECT d.enterprise, h.intact, h.broken, h.checked_at, h.full_at FROM docs d \
         LEFT JOIN history_verdicts h ON h.doc_id = d.doc_id WHERE d.doc_id = ?",
        &[Value::Text(doc.as_str().to_string())],
    )?
    else {
        return Ok(None);
    };
    let enterprise = EnterpriseId::parse(&r.text(0)?).map_err(|e| StoreError::Corrupt {
        table: "docs",
        detail: e.to_string(),
    })?;
    Ok(Some((
        enterprise,
        HistoryVerdict {
            intact: r.opt_flag(1)?,
            broken: r.opt_text(2)?,
            checked_at: r.opt_int(3)?.unwrap_or(0),
            full_at: r.opt_int(4)?,
        },
    )))
}

/// Records the audit should look at next, at most `limit` ([`HistoryAudits::audit_batch`]):
/// the one definition, run on either backend.
///
/// # Errors
/// When the store fails or holds a bad id.
pub(crate) fn audit_batch(
    db: &dyn Sql,
    limit: usize,
    pending_only: bool,
) -> Result<Vec<DocId>, StoreError> {
    // Never checked in full (NULL) first on both databases, then by id's bytes: one order
    // everywhere (PostgreSQL's indexes, `pg/migrations/0009_jobs.sql`, are in this order).
    let id = db.dialect().bytewise("doc_id");
    let sql = if pending_only {
        format!("SELECT doc_id FROM history_verdicts WHERE intact IS NULL ORDER BY {id} LIMIT ?")
    } else {
        format!("SELECT doc_id FROM history_verdicts ORDER BY full_at NULLS FIRST, {id} LIMIT ?")
    };
    db.query(
        &sql,
        &[Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX))],
    )?
    .iter()
    .map(|r| {
        DocId::parse(&r.text(0)?).map_err(|e| StoreError::Corrupt {
            table: "history_verdicts",
            detail: e.to_string(),
        })
    })
    .collect()
}

/// What breaks a record's history, given what checking its bytes found (`chain`) and who made
/// each of its changes (`authors`): the chain's break, else the first change wrongly
/// attributed ([`misattributed`]), else nothing. Reads only the devices (whose actors never
/// change), so it needs no lock.
///
/// # Errors
/// When the store fails.
pub(crate) fn audit_judge(
    db: &dyn Sql,
    chain: Option<String>,
    authors: &[(String, String, Option<DeviceId>)],
) -> Result<Option<String>, StoreError> {
    if chain.is_some() {
        return Ok(chain);
    }
    for (hash, actor, device) in authors {
        if let Some(why) = misattributed(db, hash, actor, *device)? {
            return Ok(Some(why));
        }
    }
    Ok(None)
}

/// Writes the audit's verdict on `read`'s record (`broken`: what breaks it, `None` intact),
/// in the caller's transaction, only if the record is still at the heads read: first the
/// verdict row's lock (module doc), then the heads. Returns the verdict written, if any.
///
/// # Errors
/// When the store fails.
pub(crate) fn audit_keep(
    tx: &dyn Sql,
    read: &AuditRead,
    broken: Option<String>,
    now: Timestamp,
) -> Result<Option<HistoryVerdict>, StoreError> {
    let id = Value::Text(read.doc.as_str().to_string());
    tx.query_opt(
        &format!(
            "SELECT doc_id FROM history_verdicts WHERE doc_id = ?{}",
            tx.dialect().for_update()
        ),
        std::slice::from_ref(&id),
    )?;
    let heads = super::encode_heads(&read.heads);
    let current = tx
        .query_opt(
            "SELECT heads FROM docs WHERE doc_id = ?",
            std::slice::from_ref(&id),
        )?
        .map(|r| r.blob(0))
        .transpose()?;
    if current.as_ref() != Some(&heads) {
        return Ok(None);
    }
    let intact = broken.is_none();
    tx.execute(
        "INSERT INTO history_verdicts (doc_id, heads, intact, broken, checked_at, full_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (doc_id) DO UPDATE SET \
         heads = excluded.heads, intact = excluded.intact, broken = excluded.broken, \
         checked_at = excluded.checked_at, full_at = excluded.full_at",
        &[
            id,
            Value::Blob(heads),
            Value::from(intact),
            Value::from(broken.clone()),
            Value::Integer(now.0),
        ],
    )?;
    Ok(Some(HistoryVerdict {
        intact: Some(intact),
        broken,
        checked_at: now.0,
        full_at: Some(now.0),
    }))
}

/// SQLite's audit steps: each a short hold of the store ([`StoreHold`]).
impl<S: StoreHold> HistoryAudits for S {
    fn audit_batch(&mut self, limit: usize, pending_only: bool) -> Result<Vec<DocId>, StoreError> {
        self.hold(|s| s.history_audit_batch(limit, pending_only))
    }

    fn audit_read(&mut self, doc: &DocId) -> Result<Option<AuditRead>, StoreError> {
        self.hold(|s| s.history_audit_read(doc))
    }

    fn audit_write(
        &mut self,
        read: &AuditRead,
        chain: Option<String>,
        authors: &Authors,
        now: Timestamp,
    ) -> Result<Option<HistoryVerdict>, StoreError> {
        self.hold(|s| s.history_audit_write(read, chain, authors, now))
    }
}
