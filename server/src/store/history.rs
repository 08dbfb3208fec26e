//! Tamper evidence, kept (历史防篡改, migration `0020_history_verdicts`): the verdict on each
//! record's hash-linked history. A commit judges what it brings in its own transaction
//! ([`on_commit`]: every new change must carry the Automerge actor of the device its message
//! names; a history fully checked at the heads this commit builds on stays intact, anything
//! else waits for the audit), and the audit (`crate::history_audit`) checks whole records,
//! a bounded batch at a time, writing what it found only if the record did not change
//! meanwhile. The lists and `GET /api/history/{kind}/{id}` read the verdicts.

use automerge::ChangeHash;
use rusqlite::{Connection, OptionalExtension, params};
use shared::model::{DeviceId, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::server::DocCommit;

use super::{SqliteStore, StoreError};
use crate::api::HistoryVerdict;

/// The Automerge actor (hex) the changes of `device` must carry: the one the server gave it
/// at registration, or the system's for the server's own identities (`crate::writer`).
pub(crate) fn expected_actor(
    conn: &Connection,
    device: DeviceId,
) -> Result<Option<String>, StoreError> {
    if device == crate::writer::system_actor().device || device == crate::writer::card_device() {
        return Ok(Some(crate::writer::system_actor_id().to_hex_string()));
    }
    let actor: Option<String> = conn
        .prepare_cached("SELECT actor_id FROM devices WHERE id = ?1")?
        .query_row([device.to_string()], |r| r.get(0))
        .optional()?;
    Ok(actor.map(|a| a.to_lowercase()))
}

/// Why one change is wrongly attributed, if it is: it names no author, names a device the
/// server does not know, or carries another actor than the named device's.
pub(crate) fn misattributed(
    conn: &Connection,
    hash: &str,
    actor: &str,
    device: Option<DeviceId>,
) -> Result<Option<String>, StoreError> {
    let Some(device) = device else {
        return Ok(Some(format!("change {hash} names no author")));
    };
    Ok(match expected_actor(conn, device)? {
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
/// stays broken; anything else is left to the audit.
pub(super) fn on_commit(
    tx: &Connection,
    doc: &DocCommit,
    now: Timestamp,
) -> Result<(), StoreError> {
    let id = doc.doc.as_str();
    let stored_heads: Option<Vec<u8>> = tx
        .prepare_cached("SELECT heads FROM docs WHERE doc_id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let prior: Option<(Vec<u8>, Option<bool>, Option<String>)> = tx
        .prepare_cached("SELECT heads, intact, broken FROM history_verdicts WHERE doc_id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
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
    tx.prepare_cached(
        "INSERT INTO history_verdicts (doc_id, heads, intact, broken, checked_at, full_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, NULL) ON CONFLICT (doc_id) DO UPDATE SET \
         heads = excluded.heads, intact = excluded.intact, broken = excluded.broken, \
         checked_at = excluded.checked_at",
    )?
    .execute(params![
        id,
        super::sqlite::encode_heads(&doc.heads),
        intact,
        broken,
        now.0
    ])?;
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

/// A record's enterprise and its verdict's columns, as SQLite gives them.
type VerdictRow = (
    String,
    Option<bool>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

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
        let sql = if pending_only {
            "SELECT doc_id FROM history_verdicts WHERE intact IS NULL LIMIT ?1"
        } else {
            "SELECT doc_id FROM history_verdicts ORDER BY full_at LIMIT ?1"
        };
        let ids: Vec<String> = self
            .conn
            .prepare_cached(sql)?
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.iter()
            .map(|id| {
                DocId::parse(id).map_err(|e| StoreError::Corrupt {
                    table: "history_verdicts",
                    detail: e.to_string(),
                })
            })
            .collect()
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
        use shared::sync::server::ServerStore as _;
        if self.doc_heads(&read.doc)?.as_deref() != Some(read.heads.as_slice()) {
            return Ok(None);
        }
        let mut broken = chain;
        if broken.is_none() {
            for (hash, actor, device) in authors {
                broken = misattributed(&self.conn, hash, actor, *device)?;
                if broken.is_some() {
                    break;
                }
            }
        }
        let intact = broken.is_none();
        self.conn
            .prepare_cached(
                "INSERT INTO history_verdicts (doc_id, heads, intact, broken, checked_at, \
                 full_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (doc_id) DO UPDATE SET \
                 heads = excluded.heads, intact = excluded.intact, broken = excluded.broken, \
                 checked_at = excluded.checked_at, full_at = excluded.full_at",
            )?
            .execute(params![
                read.doc.as_str(),
                super::sqlite::encode_heads(&read.heads),
                intact,
                broken,
                now.0
            ])?;
        Ok(Some(HistoryVerdict {
            intact: Some(intact),
            broken,
            checked_at: now.0,
            full_at: Some(now.0),
        }))
    }

    /// The verdict on `doc`'s history, with the record's enterprise (what a read scope is
    /// checked against); `None` when the record is not stored.
    ///
    /// # Errors
    /// When the store fails or holds a bad id.
    pub fn history_verdict(
        &self,
        doc: &DocId,
    ) -> Result<Option<(shared::model::EnterpriseId, HistoryVerdict)>, StoreError> {
        let row: Option<VerdictRow> = self
            .conn
            .prepare_cached(
                "SELECT d.enterprise, h.intact, h.broken, h.checked_at, h.full_at FROM docs d \
                 LEFT JOIN history_verdicts h ON h.doc_id = d.doc_id WHERE d.doc_id = ?1",
            )?
            .query_row([doc.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        row.map(|(enterprise, intact, broken, checked_at, full_at)| {
            let enterprise = shared::model::EnterpriseId::parse(&enterprise).map_err(|e| {
                StoreError::Corrupt {
                    table: "docs",
                    detail: e.to_string(),
                }
            })?;
            Ok((
                enterprise,
                HistoryVerdict {
                    intact,
                    broken,
                    checked_at: checked_at.unwrap_or(0),
                    full_at,
                },
            ))
        })
        .transpose()
    }
}
