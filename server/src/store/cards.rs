//! The 连心卡's rows (SQLite migration `0009_enterprise_cards`, PostgreSQL `0015_enterprise_cards`):
//! each enterprise's live card token, found by its SHA-256; replaced and revoked cards kept as
//! hashes so their links answer "no longer valid"; what the card prints (the enterprise, its
//! officers' names and phones); and the enterprise's own problems, bounded, for its public
//! page. The statements are written once over [`Sql`] for both backends; SQLite's
//! [`crate::db::Cards`] is here, PostgreSQL's in `pg/cards.rs`.

use std::sync::Arc;

use rusqlite::{TransactionBehavior, params};
use shared::doc::DocKind;
use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;

use super::sql::{Lite, Sql, Value};
use super::use_cases::{on_reader, on_writer};
use super::{SqliteDb, SqliteStore, StoreError};
use crate::db::{AuditNote, Cards, DbFuture};

/// What a card token's hash is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardLookup {
    /// The live card of this enterprise.
    Live(EnterpriseId),
    /// A card that was replaced or revoked.
    Retired,
    /// No card ever had this token.
    Unknown,
}

/// An enterprise's live card as its officer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCard {
    /// The token the link carries.
    pub token: String,
    /// When it was made (server clock).
    pub created_at: Timestamp,
}

/// What the printed card names besides its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFace {
    /// The enterprise's registered name.
    pub enterprise_name: String,
    /// Its officers (包联干部) and leaders assigned now, with their phones where recorded.
    pub officers: Vec<(String, Option<String>)>,
}

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "enterprise_cards",
        detail: detail.to_string(),
    }
}

/// What the token with this SHA-256 is.
pub(crate) fn lookup(sql: &dyn Sql, hash: &[u8; 32]) -> Result<CardLookup, StoreError> {
    let row = sql.query_opt(
        "SELECT enterprise, retired_at FROM enterprise_cards WHERE token_hash = ?1",
        &[Value::Blob(hash.to_vec())],
    )?;
    Ok(match row {
        None => CardLookup::Unknown,
        Some(r) if r.opt_int(1)?.is_some() => CardLookup::Retired,
        Some(r) => CardLookup::Live(EnterpriseId::parse(&r.text(0)?).map_err(corrupt)?),
    })
}

/// The enterprise's live card, if it has one.
pub(crate) fn live(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
) -> Result<Option<LiveCard>, StoreError> {
    let row = sql.query_opt(
        "SELECT token, created_at FROM enterprise_cards \
         WHERE enterprise = ?1 AND retired_at IS NULL",
        &[Value::Text(enterprise.to_string())],
    )?;
    row.map(|r| {
        Ok(LiveCard {
            token: r
                .opt_text(0)?
                .ok_or_else(|| corrupt("a live card without its token"))?,
            created_at: Timestamp(r.int(1)?),
        })
    })
    .transpose()
}

/// Makes `token` (whose SHA-256 is `hash`) the enterprise's live card, retiring the one it had
/// (if any) as replaced by `by` at `now`. Run in a transaction.
pub(crate) fn replace(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
    token: &str,
    hash: &[u8; 32],
    by: Option<UserId>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let by = by.map(|u| u.to_string());
    retire(sql, enterprise, by.as_deref(), now)?;
    sql.execute(
        "INSERT INTO enterprise_cards (token_hash, enterprise, token, created_at, created_by) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            Value::Blob(hash.to_vec()),
            Value::Text(enterprise.to_string()),
            Value::Text(token.to_string()),
            Value::Integer(now.0),
            by.map_or(Value::Null, Value::Text),
        ],
    )?;
    Ok(())
}

/// The enterprise's live card, or `minted` (token, SHA-256) made its first one by `by` at
/// `now` when it has none. Run in a transaction.
pub(crate) fn live_or_mint(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
    minted: (String, [u8; 32]),
    by: UserId,
    now: Timestamp,
) -> Result<LiveCard, StoreError> {
    if let Some(card) = live(sql, enterprise)? {
        return Ok(card);
    }
    let (token, hash) = minted;
    replace(sql, enterprise, &token, &hash, Some(by), now)?;
    Ok(LiveCard {
        token,
        created_at: now,
    })
}

/// Retires the enterprise's live card (by `by` at `now`); how many rows it retired (0 or 1).
pub(crate) fn retire(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
    by: Option<&str>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    sql.execute(
        "UPDATE enterprise_cards SET retired_at = ?2, retired_by = ?3, token = NULL \
         WHERE enterprise = ?1 AND retired_at IS NULL",
        &[
            Value::Text(enterprise.to_string()),
            Value::Integer(now.0),
            by.map_or(Value::Null, |b| Value::Text(b.to_string())),
        ],
    )
}

/// What the enterprise's card prints: its name and the officers and leaders assigned to it at
/// `now` (`None` for an enterprise the server does not know).
pub(crate) fn face(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
    now: Timestamp,
) -> Result<Option<CardFace>, StoreError> {
    let id = Value::Text(enterprise.to_string());
    let Some(name) = sql.query_opt(
        "SELECT name FROM enterprises WHERE id = ?1",
        std::slice::from_ref(&id),
    )?
    else {
        return Ok(None);
    };
    let person = sql.dialect().person("a");
    let officers = sql
        .query(
            &format!(
                "SELECT u.name, u.phone FROM assignments a JOIN users u ON u.id = {person} \
                 WHERE a.enterprise = ?1 AND NOT u.disabled AND u.role IN ('officer', 'leader') \
                 AND a.valid_from <= ?2 AND (a.valid_to IS NULL OR a.valid_to > ?2) \
                 ORDER BY u.role = 'leader', a.valid_from, a.id LIMIT 8"
            ),
            &[id, Value::Integer(now.0)],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(CardFace {
        enterprise_name: name.text(0)?,
        officers,
    }))
}

/// The ids of the enterprise's `limit` most recently changed problems, latest first.
pub(crate) fn problem_ids(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
    limit: usize,
) -> Result<Vec<DocId>, StoreError> {
    sql.query(
        "SELECT doc_id FROM docs WHERE enterprise = ?1 AND kind = ?2 ORDER BY seq DESC LIMIT ?3",
        &[
            Value::Text(enterprise.to_string()),
            Value::Text(DocKind::Problem.code().to_string()),
            Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
        ],
    )?
    .iter()
    .map(|r| DocId::parse(&r.text(0)?).map_err(corrupt))
    .collect()
}

/// The officer assigned (包联) to an enterprise at `now`, the longest-standing first: the owner
/// of a problem the enterprise raises through its card.
pub(crate) fn assigned_officer(
    sql: &dyn Sql,
    enterprise: EnterpriseId,
    now: Timestamp,
) -> Result<Option<UserId>, StoreError> {
    let person = sql.dialect().person("a");
    let row = sql.query_opt(
        &format!(
            "SELECT {person} FROM assignments a JOIN users u ON u.id = {person} \
             WHERE a.enterprise = ?1 AND u.role = 'officer' AND NOT u.disabled \
             AND a.valid_from <= ?2 AND (a.valid_to IS NULL OR a.valid_to > ?2) \
             ORDER BY a.valid_from, a.id LIMIT 1"
        ),
        &[Value::Text(enterprise.to_string()), Value::Integer(now.0)],
    )?;
    row.map(|r| {
        UserId::parse(&r.text(0)?).map_err(|e| StoreError::Corrupt {
            table: "assignments",
            detail: e.to_string(),
        })
    })
    .transpose()
}

impl SqliteStore {
    /// What the token with this SHA-256 is.
    pub fn card_lookup(&self, hash: &[u8; 32]) -> Result<CardLookup, StoreError> {
        lookup(&Lite(&self.conn), hash)
    }

    /// Makes `token` (whose SHA-256 is `hash`) the enterprise's live card, retiring the one
    /// it had (if any) as replaced by `by` at `now`, in one transaction.
    pub fn replace_card(
        &mut self,
        enterprise: EnterpriseId,
        token: &str,
        hash: &[u8; 32],
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        replace(&Lite(&tx), enterprise, token, hash, by, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Retires the enterprise's live card (revoked by `by` at `now`); whether it had one.
    pub fn revoke_card(
        &mut self,
        enterprise: EnterpriseId,
        by: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = retire(&Lite(&tx), enterprise, Some(&by.to_string()), now)?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// What the enterprise's card prints: its name and the officers and leaders assigned to
    /// it at `now` (`None` for an enterprise the server does not know).
    pub fn card_face(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> Result<Option<CardFace>, StoreError> {
        face(&Lite(&self.conn), enterprise, now)
    }

    /// Records a user's phone number for the cards (`None` clears it); whether the user exists.
    pub fn set_user_phone(
        &mut self,
        user: UserId,
        phone: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE users SET phone = ?2 WHERE id = ?1")?
            .execute(params![user.to_string(), phone])?;
        Ok(n > 0)
    }

    /// The stored bytes of the enterprise's `limit` most recently changed problems.
    pub fn enterprise_problem_docs(
        &mut self,
        enterprise: EnterpriseId,
        limit: usize,
    ) -> Result<Vec<(DocId, Vec<u8>)>, StoreError> {
        let ids = problem_ids(&Lite(&self.conn), enterprise, limit)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(stored) = self.load_doc(&id)? {
                out.push((id, stored.bytes));
            }
        }
        Ok(out)
    }
}

impl Cards for Arc<SqliteDb> {
    fn card_lookup(&self, hash: [u8; 32]) -> DbFuture<'_, CardLookup> {
        on_reader(self, move |s| s.card_lookup(&hash))
    }

    fn card_face(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> DbFuture<'_, Option<CardFace>> {
        on_reader(self, move |s| s.card_face(enterprise, now))
    }

    fn card_problems(
        &self,
        enterprise: EnterpriseId,
        limit: usize,
    ) -> DbFuture<'_, Vec<(DocId, Vec<u8>)>> {
        on_reader(self, move |s| s.enterprise_problem_docs(enterprise, limit))
    }

    fn live_or_mint(
        &self,
        enterprise: EnterpriseId,
        minted: (String, [u8; 32]),
        by: UserId,
        now: Timestamp,
    ) -> DbFuture<'_, LiveCard> {
        on_writer(self, move |s| {
            let tx = s
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let card = live_or_mint(&Lite(&tx), enterprise, minted, by, now)?;
            tx.commit()?;
            Ok(card)
        })
    }

    fn replace_card(
        &self,
        enterprise: EnterpriseId,
        minted: (String, [u8; 32]),
        by: UserId,
        now: Timestamp,
        audit: AuditNote,
    ) -> DbFuture<'_, ()> {
        on_writer(self, move |s| {
            let (token, hash) = minted;
            s.replace_card(enterprise, &token, &hash, Some(by), now)?;
            s.audit(
                now,
                &audit.actor,
                audit.action,
                &audit.subject,
                &audit.detail,
            )?;
            Ok(())
        })
    }

    fn revoke_card(
        &self,
        enterprise: EnterpriseId,
        by: UserId,
        now: Timestamp,
        audit: AuditNote,
    ) -> DbFuture<'_, bool> {
        on_writer(self, move |s| {
            let had = s.revoke_card(enterprise, by, now)?;
            s.audit(
                now,
                &audit.actor,
                audit.action,
                &audit.subject,
                &audit.detail,
            )?;
            Ok(had)
        })
    }
}
