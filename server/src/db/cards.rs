//! The 连心卡 (the enterprise's card) in the database: a token's card, the card's face, its
//! enterprise's latest problems for the public page, and the officers' changes (made on first
//! use, replaced, revoked) with their audit entry. What the enterprise writes through its card
//! is committed through the backend's sync store (`crate::card`); the rules are there, once.

use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;

use super::{AuditNote, DbFuture};
use crate::store::{CardFace, CardLookup, LiveCard};

/// What the card's routes need from the database.
pub trait Cards: Send + Sync + std::fmt::Debug {
    /// What the token whose SHA-256 is `hash` is: a live card, a retired one, or none.
    fn card_lookup(&self, hash: [u8; 32]) -> DbFuture<'_, CardLookup>;

    /// What the enterprise's card prints at `now`; `None` for an enterprise not stored.
    fn card_face(&self, enterprise: EnterpriseId, now: Timestamp)
    -> DbFuture<'_, Option<CardFace>>;

    /// The stored bytes of the enterprise's `limit` most recently changed problems, latest
    /// first.
    fn card_problems(
        &self,
        enterprise: EnterpriseId,
        limit: usize,
    ) -> DbFuture<'_, Vec<(DocId, Vec<u8>)>>;

    /// The enterprise's live card, or `minted` (a token and its SHA-256) made it by `by` at
    /// `now` when it has none. Two at once (on any server) leave one live card, which both
    /// answer.
    fn live_or_mint(
        &self,
        enterprise: EnterpriseId,
        minted: (String, [u8; 32]),
        by: UserId,
        now: Timestamp,
    ) -> DbFuture<'_, LiveCard>;

    /// Makes `minted` the enterprise's live card, retiring the one it had as replaced by `by`
    /// at `now`, with `audit`.
    fn replace_card(
        &self,
        enterprise: EnterpriseId,
        minted: (String, [u8; 32]),
        by: UserId,
        now: Timestamp,
        audit: AuditNote,
    ) -> DbFuture<'_, ()>;

    /// Retires the enterprise's live card (revoked by `by` at `now`), with `audit`; whether it
    /// had one.
    fn revoke_card(
        &self,
        enterprise: EnterpriseId,
        by: UserId,
        now: Timestamp,
        audit: AuditNote,
    ) -> DbFuture<'_, bool>;
}
