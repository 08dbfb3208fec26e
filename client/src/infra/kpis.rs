//! The campaign KPIs as the server sends them (`GET /api/dashboard/kpis`, and inside an issued
//! bulletin), typed: the dashboard and the bulletin page read these, never the JSON.

use js_sys::Array;
use shared::model::OrgUnitId;
use wasm_bindgen::JsValue;

use super::api::{self, ApiError, Session, get};

/// Ratings and satisfied ratings of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelCount {
    /// Rated through the channel.
    pub rated: u64,
    /// Of those, rated 3 or better.
    pub satisfied: u64,
}

/// 满意率 by who spoke (`server::store::RatedByChannel`): the enterprise itself, the officer
/// with the enterprise's signature, the officer alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatedByChannel {
    /// 企业自评.
    pub enterprise: ChannelCount,
    /// 干部代录（企业签字）.
    pub officer_signed: ChannelCount,
    /// 干部代录.
    pub officer: ChannelCount,
}

/// The KPIs (`server::store::Kpis`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kpis {
    pub problems: u64,
    pub resolved: u64,
    pub resolution_rate: Option<f64>,
    pub answered: u64,
    pub on_time: u64,
    pub on_time_rate: Option<f64>,
    pub overdue: u64,
    pub rated: u64,
    pub satisfied: u64,
    pub satisfaction_rate: Option<f64>,
    pub look_backs_passed: u64,
    pub look_backs_reopened: u64,
    pub look_back_pass_rate: Option<f64>,
    pub assigned_enterprises: u64,
    pub visited_enterprises: u64,
    pub visit_coverage: Option<f64>,
    pub visits: u64,
    pub officers: u64,
    pub visits_per_officer: Option<f64>,
    /// On-site visits with a photo and a check-in within the radius (现场佐证).
    pub visits_with_evidence: u64,
    /// visits_with_evidence / visits.
    pub evidence_rate: Option<f64>,
    pub first_response_hours: Option<(f64, f64)>,
    pub sign_off_hours: Option<(f64, f64)>,
    /// Times a device claimed outside what the server saw, counted at the server's bound.
    pub clamped: u64,
    /// The ratings by channel.
    pub rated_by_channel: RatedByChannel,
}

fn count(v: &JsValue, key: &str) -> u64 {
    get(v, key).as_f64().map_or(0, |n| n.max(0.0) as u64)
}

fn ratio(v: &JsValue, key: &str) -> Option<f64> {
    get(v, key).as_f64()
}

fn median_p90(v: &JsValue, key: &str) -> Option<(f64, f64)> {
    let pair = get(v, key);
    if !Array::is_array(&pair) {
        return None;
    }
    let pair = Array::from(&pair);
    Some((pair.get(0).as_f64()?, pair.get(1).as_f64()?))
}

/// The channel split of a KPI object (zeros when absent: a bulletin issued before channels
/// were counted).
pub fn rated_by_channel(kpis: &JsValue) -> RatedByChannel {
    let by = get(kpis, "rated_by_channel");
    let channel = |key: &str| {
        let c = get(&by, key);
        ChannelCount {
            rated: count(&c, "rated"),
            satisfied: count(&c, "satisfied"),
        }
    };
    RatedByChannel {
        enterprise: channel("enterprise"),
        officer_signed: channel("officer_signed"),
        officer: channel("officer"),
    }
}

/// A KPI object; `None` when it is not one (`problems` is always there).
pub fn parse(v: &JsValue) -> Option<Kpis> {
    get(v, "problems").as_f64()?;
    Some(Kpis {
        problems: count(v, "problems"),
        resolved: count(v, "resolved"),
        resolution_rate: ratio(v, "resolution_rate"),
        answered: count(v, "answered"),
        on_time: count(v, "on_time"),
        on_time_rate: ratio(v, "on_time_rate"),
        overdue: count(v, "overdue"),
        rated: count(v, "rated"),
        satisfied: count(v, "satisfied"),
        satisfaction_rate: ratio(v, "satisfaction_rate"),
        look_backs_passed: count(v, "look_backs_passed"),
        look_backs_reopened: count(v, "look_backs_reopened"),
        look_back_pass_rate: ratio(v, "look_back_pass_rate"),
        assigned_enterprises: count(v, "assigned_enterprises"),
        visited_enterprises: count(v, "visited_enterprises"),
        visit_coverage: ratio(v, "visit_coverage"),
        visits: count(v, "visits"),
        officers: count(v, "officers"),
        visits_per_officer: ratio(v, "visits_per_officer"),
        visits_with_evidence: count(v, "visits_with_evidence"),
        evidence_rate: ratio(v, "evidence_rate"),
        first_response_hours: median_p90(v, "first_response_hours"),
        sign_off_hours: median_p90(v, "sign_off_hours"),
        clamped: count(v, "clamped"),
        rated_by_channel: rated_by_channel(v),
    })
}

/// `GET /api/dashboard/kpis` of `[from, to)` for `unit` (none: the caller's whole zone).
pub async fn fetch(
    session: &Session,
    from: i64,
    to: i64,
    unit: Option<OrgUnitId>,
) -> Result<Kpis, ApiError> {
    let unit_q = unit.map(|u| format!("&unit={u}")).unwrap_or_default();
    let answer = api::get_json(
        session,
        &format!("/api/dashboard/kpis?from={from}&to={to}{unit_q}"),
    )
    .await?;
    parse(&answer).ok_or(ApiError::BadBody)
}
