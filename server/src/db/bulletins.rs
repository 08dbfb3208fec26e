//! Bulletins: KPI snapshots with their rankings, immutable once issued.

use shared::config::CheckInRules;
use shared::model::{Timestamp, UserId};

use super::DbFuture;
use crate::api::{Bulletin, BulletinSummary};

/// A bulletin to issue.
#[derive(Debug, Clone)]
pub struct NewBulletin {
    /// Its title, trimmed and checked.
    pub title: String,
    /// First instant of the period.
    pub from: Timestamp,
    /// First instant after the period.
    pub to: Timestamp,
    /// When it is issued.
    pub now: Timestamp,
    /// Who issues it.
    pub by: UserId,
    /// Their login, for the audit entry.
    pub login: String,
    /// The district's check-in rules (the evidence KPIs).
    pub check_in: CheckInRules,
}

/// What the HTTP layer needs of bulletins.
pub trait Bulletins: Send + Sync + std::fmt::Debug {
    /// Every issued bulletin, newest first.
    fn list(&self) -> DbFuture<'_, Vec<BulletinSummary>>;

    /// Bulletin `id`, if issued.
    fn get(&self, id: i64) -> DbFuture<'_, Option<Bulletin>>;

    /// Computes and stores a bulletin with its audit entry (`bulletin_issued`).
    fn issue(&self, new: NewBulletin) -> DbFuture<'_, Bulletin>;
}
