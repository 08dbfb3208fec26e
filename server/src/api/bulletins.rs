//! Bulletins (通报): KPI snapshots with town and department rankings, immutable once issued.

use serde::{Deserialize, Serialize};
use shared::model::{OrgUnitId, Timestamp, UserId};

use super::Kpis;

/// The longest title a bulletin may have, in characters (a title is one line of a printed
/// page and one cell of its workbook, whose cells hold at most 32,767).
pub const TITLE_MAX_CHARS: usize = 100;

/// One ranked unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankRow {
    /// 1-based rank.
    pub rank: usize,
    /// The unit.
    pub unit: OrgUnitId,
    /// Its name.
    pub name: String,
    /// Its KPIs.
    pub kpis: Kpis,
}

/// An issued bulletin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    /// Number.
    pub id: i64,
    /// Title, e.g. 2026年11月“万人助万企”活动通报.
    pub title: String,
    /// First instant of the period.
    pub period_from: Timestamp,
    /// First instant after the period.
    pub period_to: Timestamp,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// Who issued it.
    pub issued_by: UserId,
    /// The zone's KPIs.
    pub zone: Kpis,
    /// Towns ranked.
    pub towns: Vec<RankRow>,
    /// Departments ranked.
    pub departments: Vec<RankRow>,
}

/// An issued bulletin as listed: what it is, when and by whom, and its zone headline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulletinSummary {
    /// Number.
    pub id: i64,
    /// Title.
    pub title: String,
    /// First instant of the period.
    pub period_from: Timestamp,
    /// First instant after the period.
    pub period_to: Timestamp,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// Who issued it.
    pub issued_by: UserId,
    /// Their name, if they are still in the directory.
    pub issued_by_name: Option<String>,
    /// Problems in the zone in the period.
    pub problems: u64,
    /// The zone's 问题解决率.
    pub resolution_rate: Option<f64>,
    /// The zone's 企业满意率.
    pub satisfaction_rate: Option<f64>,
}
