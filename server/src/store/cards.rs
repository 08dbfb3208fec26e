//! The 连心卡 in SQLite (migration `0009_enterprise_cards`): each enterprise's live card token,
//! found by its SHA-256; replaced and revoked cards kept as hashes so their links answer "no
//! longer valid"; what the card prints (the enterprise, its officers' names and phones); and the
//! enterprise's own problems, bounded, for its public page.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::doc::DocKind;
use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;

use super::{SqliteStore, StoreError};

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

impl SqliteStore {
    /// What the token with this SHA-256 is.
    pub fn card_lookup(&self, hash: &[u8; 32]) -> Result<CardLookup, StoreError> {
        let row: Option<(String, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT enterprise, retired_at FROM enterprise_cards WHERE token_hash = ?1",
            )?
            .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            None => CardLookup::Unknown,
            Some((_, Some(_))) => CardLookup::Retired,
            Some((e, None)) => CardLookup::Live(EnterpriseId::parse(&e).map_err(corrupt)?),
        })
    }

    /// The enterprise's live card, if it has one.
    pub fn live_card(&self, enterprise: EnterpriseId) -> Result<Option<LiveCard>, StoreError> {
        let row: Option<(Option<String>, i64)> = self
            .conn
            .prepare_cached(
                "SELECT token, created_at FROM enterprise_cards \
                 WHERE enterprise = ?1 AND retired_at IS NULL",
            )?
            .query_row([enterprise.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(token, at)| {
            Ok(LiveCard {
                token: token.ok_or_else(|| corrupt("a live card without its token"))?,
                created_at: Timestamp(at),
            })
        })
        .transpose()
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
        let by = by.map(|u| u.to_string());
        retire(&tx, enterprise, by.as_deref(), now)?;
        tx.prepare_cached(
            "INSERT INTO enterprise_cards (token_hash, enterprise, token, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![&hash[..], enterprise.to_string(), token, now.0, by])?;
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
        let n = retire(&tx, enterprise, Some(&by.to_string()), now)?;
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
        let name: Option<String> = self
            .conn
            .prepare_cached("SELECT name FROM enterprises WHERE id = ?1")?
            .query_row([enterprise.to_string()], |r| r.get(0))
            .optional()?;
        let Some(enterprise_name) = name else {
            return Ok(None);
        };
        let officers = self
            .conn
            .prepare_cached(
                "SELECT u.name, u.phone FROM assignments a JOIN users u ON u.id = a.user \
                 WHERE a.enterprise = ?1 AND u.disabled = 0 AND u.role IN ('officer', 'leader') \
                 AND a.valid_from <= ?2 AND (a.valid_to IS NULL OR a.valid_to > ?2) \
                 ORDER BY u.role = 'leader', a.valid_from, a.id LIMIT 8",
            )?
            .query_map(params![enterprise.to_string(), now.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<Vec<(String, Option<String>)>, _>>()?;
        Ok(Some(CardFace {
            enterprise_name,
            officers,
        }))
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
        let ids = self
            .conn
            .prepare_cached(
                "SELECT doc_id FROM docs WHERE enterprise = ?1 AND kind = ?2 \
                 ORDER BY seq DESC LIMIT ?3",
            )?
            .query_map(
                params![
                    enterprise.to_string(),
                    DocKind::Problem.code(),
                    limit as i64
                ],
                |r| r.get::<_, String>(0),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let id = DocId::parse(&id).map_err(corrupt)?;
            if let Some(stored) = self.load_doc(&id)? {
                out.push((id, stored.bytes));
            }
        }
        Ok(out)
    }
}

fn retire(
    tx: &rusqlite::Transaction<'_>,
    enterprise: EnterpriseId,
    by: Option<&str>,
    now: Timestamp,
) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE enterprise_cards SET retired_at = ?2, retired_by = ?3, token = NULL \
             WHERE enterprise = ?1 AND retired_at IS NULL",
        )?
        .execute(params![enterprise.to_string(), now.0, by])?)
}
