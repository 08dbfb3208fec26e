//! The dashboard's answers and questions: campaign KPIs of a unit and period, their
//! breakdowns for the charts, and data freshness per officer and device.

use serde::{Deserialize, Serialize};
use shared::model::{OrgUnitId, Timestamp};

/// Which problems and visits a KPI query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The whole zone.
    Zone,
    /// One town/street/park: its enterprises.
    Town(OrgUnitId),
    /// One department: the problems handed to it (visit KPIs do not apply).
    Department(OrgUnitId),
}

/// KPIs of one period and unit. Rates are `None` when their denominator is zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// Problems created in the period (withdrawn and merged duplicates excluded).
    pub problems: u64,
    /// Of those, signed off (with or without a passed look-back).
    pub resolved: u64,
    /// 问题解决率: resolved / problems.
    pub resolution_rate: Option<f64>,
    /// Of those, answered (responded or resolved on site).
    pub answered: u64,
    /// Of the answered, answered by their effective deadline.
    pub on_time: u64,
    /// 按时办结率: on_time / answered.
    pub on_time_rate: Option<f64>,
    /// Still awaiting their result past the effective deadline, at `now`.
    pub overdue: u64,
    /// Rated by the enterprise.
    pub rated: u64,
    /// Rated 3 (fairly satisfied) or better.
    pub satisfied: u64,
    /// 企业满意率: satisfied / rated.
    pub satisfaction_rate: Option<f64>,
    /// Look-backs passed in the period.
    pub look_backs_passed: u64,
    /// Look-backs that reopened a problem in the period.
    pub look_backs_reopened: u64,
    /// 回头看通过率.
    pub look_back_pass_rate: Option<f64>,
    /// Enterprises assigned (包联) during the period.
    pub assigned_enterprises: u64,
    /// Of those, visited in the period.
    pub visited_enterprises: u64,
    /// 走访覆盖率: visited / assigned.
    pub visit_coverage: Option<f64>,
    /// Visits in the period.
    pub visits: u64,
    /// Officers with an assignment in the period.
    pub officers: u64,
    /// visits / officers.
    pub visits_per_officer: Option<f64>,
    /// Of the period's visits, those with on-site evidence (现场佐证): on site, with a photo
    /// and a check-in within the configured radius of the enterprise's registered position.
    #[serde(default)]
    pub visits_with_evidence: u64,
    /// visits_with_evidence / visits.
    #[serde(default)]
    pub evidence_rate: Option<f64>,
    /// Hours from submission to the first answer: median and 90th percentile.
    pub first_response_hours: Option<(f64, f64)>,
    /// Hours from submission to sign-off: median and 90th percentile.
    pub sign_off_hours: Option<(f64, f64)>,
    /// Of the times these KPIs read (the period's problems' creation, workflow events and
    /// ratings, and its visits), how many a device claimed outside what the server saw and
    /// are counted at the server's bound instead (`shared::server_time::kpi_time`).
    #[serde(default)]
    pub clamped: u64,
    /// The period's ratings by the channel they came through (满意率 by who spoke).
    #[serde(default)]
    pub rated_by_channel: RatedByChannel,
}

/// Ratings and satisfied ratings of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCount {
    /// Rated through this channel.
    pub rated: u64,
    /// Of those, rated 3 (fairly satisfied) or better.
    pub satisfied: u64,
}

/// The ratings of [`Kpis::rated`] split by `RatingChannel`: the enterprise itself (its
/// 连心卡 page), the officer with the enterprise's signature, and the officer alone (and
/// ratings recorded before channels were kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedByChannel {
    /// 企业自评.
    pub enterprise: ChannelCount,
    /// 干部代录（企业签字）.
    pub officer_signed: ChannelCount,
    /// 干部代录.
    pub officer: ChannelCount,
}

/// What a breakdown groups the period's problems by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// The problem's category (config order).
    Category,
    /// The effective tier (当场办, 部门办, 市领导办).
    Tier,
    /// The enterprise's town.
    Town,
    /// Each department the problem was handed to (a problem handed to two counts in both).
    Department,
    /// The month it was raised in, in the caller's time zone: the monthly trend.
    Month,
}

impl Breakdown {
    /// Every grouping.
    pub const ALL: [Breakdown; 5] = [
        Breakdown::Category,
        Breakdown::Tier,
        Breakdown::Town,
        Breakdown::Department,
        Breakdown::Month,
    ];

    /// The query parameter's code (also its JSON form).
    pub fn code(self) -> &'static str {
        match self {
            Breakdown::Category => "category",
            Breakdown::Tier => "tier",
            Breakdown::Town => "town",
            Breakdown::Department => "department",
            Breakdown::Month => "month",
        }
    }

    /// The one with `code`.
    pub fn from_code(code: &str) -> Option<Breakdown> {
        Self::ALL.into_iter().find(|b| b.code() == code)
    }
}

/// One bar of a breakdown: of the problems counted by `Kpis::problems`, those with this key,
/// how many of them are resolved and how many overdue (the same rules as the KPIs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakdownRow {
    /// Category or tier code, org unit id, or `YYYY-MM`; empty for problems whose enterprise
    /// has no town on record.
    pub key: String,
    /// Name in Simplified Chinese (category and tier names from the config, org unit names
    /// from the directory, `2026年11月`).
    pub label: String,
    /// Name in English (org units have one name, used for both).
    pub label_en: String,
    /// Problems raised (withdrawn and merged duplicates excluded).
    pub problems: u64,
    /// Of those, signed off.
    pub resolved: u64,
    /// Of those, overdue at `now`.
    pub overdue: u64,
    /// First instant of the problems' creation period: the query's, or the month's start.
    pub from: i64,
    /// First instant after it: the query's end, or the month's end, within the query's period.
    pub to: i64,
}

/// A breakdown request: the same period and unit as [`SqliteStore::kpis`], a grouping, and
/// the time zone that months are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakdownQuery {
    /// Problems of this unit.
    pub unit: Unit,
    /// Grouped by.
    pub by: Breakdown,
    /// Created at or after.
    pub from: Timestamp,
    /// Created before.
    pub to: Timestamp,
    /// Minutes east of UTC that month boundaries are taken in (480 in China).
    pub utc_offset_minutes: i32,
}

/// How fresh one officer's data is on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficerFreshness {
    /// User id.
    pub user: String,
    /// Name.
    pub name: String,
    /// Their org unit.
    pub org_unit: String,
    /// Devices not revoked.
    pub devices: u32,
    /// Server time of the last successful sync, any device (`device_sync.last_seen`).
    pub last_sync: Option<i64>,
    /// Server time of the last authenticated call, any device (`devices.last_seen`).
    pub last_seen: Option<i64>,
    /// On the device of `last_sync`: server clock − device clock, ms (positive: the device
    /// is behind).
    pub clock_skew_ms: Option<i64>,
    /// Documents still on the officer's devices unsent, as each device last reported
    /// (`SyncRequest::unsent`), summed over the devices that reported; `None` when none did.
    pub unsent: Option<u64>,
    /// Devices whose number is unknown: their app is older than sync protocol version 2, or
    /// they have not synced since the server learnt to record it.
    pub unsent_unknown: u32,
    /// The same per device, most recently seen first.
    pub device_detail: Vec<DeviceFreshness>,
}

/// How fresh one device's data is on the server (a row of [`OfficerFreshness`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceFreshness {
    /// Device id.
    pub device: String,
    /// The name it gave at login.
    pub name: String,
    /// Server time of its last successful sync (kept to the minute).
    pub last_sync: Option<i64>,
    /// Server time of its last authenticated call.
    pub last_seen: Option<i64>,
    /// Server clock − device clock at `last_sync`, ms.
    pub clock_skew_ms: Option<i64>,
    /// Documents it last reported holding unsent; `None`: unknown (an older app, or no sync
    /// since the server records it).
    pub unsent: Option<u32>,
}
