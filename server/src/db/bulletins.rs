//! Bulletins: KPI snapshots with their rankings, immutable once issued. What a bulletin says
//! is computed from [`super::Queries`] over [`super::Directory`]'s units ([`compose`]); the
//! backend stores it as issued and never changes it ([`Bulletins`]).

use shared::config::CheckInRules;
use shared::model::{OrgUnitId, OrgUnitKind, Timestamp, UserId};

use super::{DbFuture, Directory, Queries};
use crate::api::{Bulletin, BulletinSummary, Kpis, RankRow, Unit};
use crate::store::StoreError;

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

    /// Stores `bulletin` (its `id` is the backend's to give) as issued by `login`, with its
    /// audit entry (`bulletin_issued`); the bulletin as stored, numbered. The database refuses
    /// any later update or delete of it.
    fn issue(&self, bulletin: Bulletin, login: String) -> DbFuture<'_, Bulletin>;
}

/// Higher resolution rate first, then satisfaction, then on-time rate, then name; a unit with
/// no problems ranks after those with some.
pub(crate) fn rank(mut rows: Vec<(OrgUnitId, String, Kpis)>) -> Vec<RankRow> {
    let key = |r: Option<f64>| r.unwrap_or(-1.0);
    rows.sort_by(|a, b| {
        key(b.2.resolution_rate)
            .total_cmp(&key(a.2.resolution_rate))
            .then(key(b.2.satisfaction_rate).total_cmp(&key(a.2.satisfaction_rate)))
            .then(key(b.2.on_time_rate).total_cmp(&key(a.2.on_time_rate)))
            .then(a.1.cmp(&b.1))
    });
    rows.into_iter()
        .enumerate()
        .map(|(i, (unit, name, kpis))| RankRow {
            rank: i + 1,
            unit,
            name,
            kpis,
        })
        .collect()
}

/// The bulletin `new` asks for: the zone's KPIs over the period, and its towns and
/// departments ranked by theirs (not yet numbered).
///
/// # Errors
/// The database failed.
pub async fn compose(
    queries: &dyn Queries,
    directory: &dyn Directory,
    new: &NewBulletin,
) -> Result<Bulletin, StoreError> {
    let kpis = |unit| queries.kpis(unit, new.from, new.to, new.now, new.check_in.clone());
    let zone = kpis(Unit::Zone).await?;
    let (units, _) = directory.listing().await?;
    let (mut towns, mut departments) = (Vec::new(), Vec::new());
    for entry in units {
        let u = entry.unit;
        match u.kind {
            OrgUnitKind::Town => towns.push((u.id, u.name, kpis(Unit::Town(u.id)).await?)),
            OrgUnitKind::Department => {
                departments.push((u.id, u.name, kpis(Unit::Department(u.id)).await?));
            }
            OrgUnitKind::Zone => {}
        }
    }
    Ok(Bulletin {
        id: 0,
        title: new.title.clone(),
        period_from: new.from,
        period_to: new.to,
        issued_at: new.now,
        issued_by: new.by,
        zone,
        towns: rank(towns),
        departments: rank(departments),
    })
}
