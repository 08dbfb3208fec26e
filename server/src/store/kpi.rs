//! Campaign KPIs (考核指标) for a period and an org unit, computed in SQL over the projection
//! tables: resolution, on-time and satisfaction rates, overdue count, look-back pass and reopen
//! rates, visit coverage and visits per officer, and times to first response and sign-off; and
//! the breakdowns the dashboard's charts draw (the period's problems by category, tier, town,
//! department and month).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use shared::config::Config;
use shared::model::{OrgUnitId, OrgUnitKind, Tier, Timestamp};

use super::problems_query::{ANSWER_ACTIONS, LookBack, SATISFIED_SQL, SIGN_OFF_ACTIONS};
use super::{SqliteStore, StoreError};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Hours from submission to the first answer: median and 90th percentile.
    pub first_response_hours: Option<(f64, f64)>,
    /// Hours from submission to sign-off: median and 90th percentile.
    pub sign_off_hours: Option<(f64, f64)>,
}

fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Median and 90th percentile (nearest rank) of hours.
fn percentiles(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Some((rank(0.5), rank(0.9)))
}

const AWAITING: &str =
    "'submitted','triaged','assigned','accepted','in_progress','returned','disputed','reopened'";

/// The problems of `unit`, as an SQL condition on table alias `p` and its parameter.
fn problems_of(unit: Unit) -> (&'static str, Option<String>) {
    match unit {
        Unit::Zone => ("1 = 1", None),
        Unit::Town(t) => (
            "p.enterprise IN (SELECT id FROM enterprises WHERE town = ?)",
            Some(t.to_string()),
        ),
        Unit::Department(d) => (
            "p.id IN (SELECT problem FROM problem_units WHERE unit = ?)",
            Some(d.to_string()),
        ),
    }
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

/// One bar of a breakdown: of the problems counted by [`Kpis::problems`], those with this key,
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

/// Periods longer than this many months list only the months that have problems.
const MAX_LISTED_MONTHS: usize = 120;

/// The month (`YYYY`, `MM`) an instant falls in, `offset_ms` east of UTC.
fn month_of(t: i64, offset_ms: i64) -> Option<(i32, u32)> {
    let d = Timestamp(t.saturating_add(offset_ms)).day()?;
    Some((d.year(), d.month()))
}

/// The first instant of a month, `offset_ms` east of UTC.
fn month_start(year: i32, month: u32, offset_ms: i64) -> Option<i64> {
    let day = NaiveDate::from_ymd_opt(year, month, 1)?;
    let utc = day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(utc - offset_ms)
}

fn next_month((year, month): (i32, u32)) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

impl SqliteStore {
    /// KPIs of problems created and visits made in `[from, to)`, for `unit`, with overdue
    /// status as of `now`.
    pub fn kpis(
        &self,
        unit: Unit,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<Kpis, StoreError> {
        let (unit_sql, unit_param) = problems_of(unit);
        let base = format!(
            "FROM problems p WHERE {unit_sql} AND p.created_at >= ? AND p.created_at < ? \
             AND p.state NOT IN ('withdrawn', 'merged_duplicate')"
        );
        let params = |extra: &[Value]| -> Vec<Value> {
            let mut v: Vec<Value> = unit_param.iter().map(|u| Value::Text(u.clone())).collect();
            v.push(Value::Integer(from.0));
            v.push(Value::Integer(to.0));
            v.extend_from_slice(extra);
            v
        };
        // Every count over the period's problems in one pass of the covering index.
        let mut counts = vec![Value::Integer(now.0)];
        counts.extend(params(&[]));
        let (problems, resolved, overdue, rated, satisfied) = self.conn.query_row(
            &format!(
                "SELECT COUNT(*), \
                 SUM(CASE WHEN p.state IN ('signed_off', 'look_back_passed') THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN p.state IN ({AWAITING}) AND p.deadline < ? THEN 1 ELSE 0 END), \
                 COUNT(p.rating), SUM(CASE WHEN {SATISFIED_SQL} THEN 1 ELSE 0 END) {base}"
            ),
            params_from_iter(counts),
            |r| {
                let n = |i: usize| -> Result<u64, rusqlite::Error> {
                    Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
                };
                Ok((n(0)?, n(1)?, n(2)?, n(3)?, n(4)?))
            },
        )?;

        // First answer and sign-off per problem, from applied workflow events, read through
        // the event index (action, applied, problem, at).
        let first_at = |actions: &str| -> Result<Vec<(i64, i64, i64)>, StoreError> {
            let sql = format!(
                "SELECT p.created_at, p.deadline, MIN(e.at) FROM problem_events e \
                 JOIN problems p ON p.id = e.problem WHERE {unit_sql} AND p.created_at >= ? \
                 AND p.created_at < ? AND p.state NOT IN ('withdrawn', 'merged_duplicate') \
                 AND e.applied = 1 AND e.action IN ({actions}) GROUP BY e.problem"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(params_from_iter(params(&[])), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        };
        let answers = first_at(ANSWER_ACTIONS)?;
        let sign_offs = first_at(SIGN_OFF_ACTIONS)?;
        let hours = |rows: &[(i64, i64, i64)]| {
            rows.iter()
                .map(|(c, _, at)| (at - c) as f64 / 3_600_000.0)
                .collect::<Vec<_>>()
        };
        let answered = answers.len() as u64;
        let on_time = answers
            .iter()
            .filter(|(_, deadline, at)| at <= deadline)
            .count() as u64;

        // Look-backs in the period, by when they happened.
        let look_back = |action: &str| -> Result<u64, StoreError> {
            let sql = format!(
                "SELECT COUNT(*) FROM problem_events e JOIN problems p ON p.id = e.problem \
                 WHERE {unit_sql} AND e.applied = 1 AND e.action = '{action}' AND e.at >= ? AND e.at < ?"
            );
            let mut v: Vec<Value> = unit_param.iter().map(|u| Value::Text(u.clone())).collect();
            v.push(Value::Integer(from.0));
            v.push(Value::Integer(to.0));
            let n: i64 = self
                .conn
                .query_row(&sql, params_from_iter(v), |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        let look_backs_passed = look_back(LookBack::Passed.action())?;
        let look_backs_reopened = look_back(LookBack::Reopened.action())?;

        // Visits and coverage: enterprises assigned during the period within the unit.
        let (ent_sql, ent_param): (&str, Option<String>) = match unit {
            Unit::Zone => ("1 = 1", None),
            Unit::Town(t) => (
                "a.enterprise IN (SELECT id FROM enterprises WHERE town = ?)",
                Some(t.to_string()),
            ),
            Unit::Department(_) => ("0 = 1", None),
        };
        let assigned_where = format!(
            "{ent_sql} AND a.valid_from < ? AND (a.valid_to IS NULL OR a.valid_to > ?) \
             AND a.user IN (SELECT id FROM users WHERE role = 'officer')"
        );
        let vparams = |extra: &[Value]| -> Vec<Value> {
            let mut v: Vec<Value> = ent_param.iter().map(|u| Value::Text(u.clone())).collect();
            v.push(Value::Integer(to.0));
            v.push(Value::Integer(from.0));
            v.extend_from_slice(extra);
            v
        };
        let vcount = |sql: String, extra: &[Value]| -> Result<u64, StoreError> {
            let n: i64 = self
                .conn
                .query_row(&sql, params_from_iter(vparams(extra)), |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        let assigned_enterprises = vcount(
            format!(
                "SELECT COUNT(DISTINCT a.enterprise) FROM assignments a WHERE {assigned_where}"
            ),
            &[],
        )?;
        let officers = vcount(
            format!("SELECT COUNT(DISTINCT a.user) FROM assignments a WHERE {assigned_where}"),
            &[],
        )?;
        // Visits in the period to assigned enterprises, and how many enterprises they reached,
        // read from the period's range of the visit time index (`+` keeps the planner off the
        // per-enterprise index, which would read every visit ever made).
        let (visits, visited_enterprises) = self.conn.query_row(
            &format!(
                "SELECT COUNT(*), COUNT(DISTINCT v.enterprise) FROM visits v \
                 WHERE +v.enterprise IN (SELECT a.enterprise FROM assignments a WHERE {assigned_where}) \
                 AND v.device_time >= ? AND v.device_time < ?"
            ),
            params_from_iter(vparams(&[Value::Integer(from.0), Value::Integer(to.0)])),
            |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, i64>(1)?.max(0) as u64)),
        )?;

        Ok(Kpis {
            problems,
            resolved,
            resolution_rate: rate(resolved, problems),
            answered,
            on_time,
            on_time_rate: rate(on_time, answered),
            overdue,
            rated,
            satisfied,
            satisfaction_rate: rate(satisfied, rated),
            look_backs_passed,
            look_backs_reopened,
            look_back_pass_rate: rate(look_backs_passed, look_backs_passed + look_backs_reopened),
            assigned_enterprises,
            visited_enterprises,
            visit_coverage: rate(visited_enterprises, assigned_enterprises),
            visits,
            officers,
            visits_per_officer: rate(visits, officers),
            first_response_hours: percentiles(hours(&answers)),
            sign_off_hours: percentiles(hours(&sign_offs)),
        })
    }
}

impl SqliteStore {
    /// The problems of `q.unit` created in `[q.from, q.to)` (as [`Kpis::problems`] counts
    /// them) grouped by `q.by`, each group with its resolved and overdue (at `now`) counts.
    /// Every known key is listed, even with no problems — the config's categories and tiers,
    /// the zone's towns, the departments, each month of the period — in display order, then
    /// any other key found in the data.
    pub fn breakdown(
        &self,
        q: BreakdownQuery,
        now: Timestamp,
        config: &Config,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        let offset_ms = i64::from(q.utc_offset_minutes) * 60_000;
        let (unit_sql, unit_param) = problems_of(q.unit);
        let (key_sql, join, key_params): (&str, &str, Vec<Value>) = match q.by {
            Breakdown::Category => ("p.category", "", vec![]),
            Breakdown::Tier => ("p.tier", "", vec![]),
            Breakdown::Town => (
                "coalesce(e.town, '')",
                "LEFT JOIN enterprises e ON e.id = p.enterprise",
                vec![],
            ),
            Breakdown::Department => (
                "pu.unit",
                "JOIN problem_units pu ON pu.problem = p.id",
                vec![],
            ),
            Breakdown::Month => (
                "strftime('%Y-%m', (p.created_at + ?) / 1000, 'unixepoch')",
                "",
                vec![Value::Integer(offset_ms)],
            ),
        };
        let sql = format!(
            "SELECT {key_sql}, COUNT(*), \
             SUM(CASE WHEN p.state IN ('signed_off', 'look_back_passed') THEN 1 ELSE 0 END), \
             SUM(CASE WHEN p.state IN ({AWAITING}) AND p.deadline < ? THEN 1 ELSE 0 END) \
             FROM problems p {join} WHERE {unit_sql} AND p.created_at >= ? AND p.created_at < ? \
             AND p.state NOT IN ('withdrawn', 'merged_duplicate') GROUP BY 1"
        );
        let mut params = key_params;
        params.push(Value::Integer(now.0));
        params.extend(unit_param.map(Value::Text));
        params.push(Value::Integer(q.from.0));
        params.push(Value::Integer(q.to.0));
        let mut counts: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let key: Option<String> = r.get(0)?;
            let n = |i: usize| -> Result<u64, rusqlite::Error> {
                Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
            };
            counts.insert(key.unwrap_or_default(), (n(1)?, n(2)?, n(3)?));
        }

        // The keys to list, in display order, with their names.
        let mut listed: Vec<(String, String, String)> = Vec::new();
        let mut unit_names: BTreeMap<String, String> = BTreeMap::new();
        match q.by {
            Breakdown::Category => {
                for c in &config.categories {
                    listed.push((c.code.clone(), c.zh.clone(), c.en.clone()));
                }
            }
            Breakdown::Tier => {
                for t in Tier::ALL {
                    let name = config.tiers.of(*t);
                    listed.push((t.code().into(), name.zh.clone(), name.en.clone()));
                }
            }
            Breakdown::Town | Breakdown::Department => {
                let kind = if q.by == Breakdown::Town {
                    OrgUnitKind::Town
                } else {
                    OrgUnitKind::Department
                };
                for o in self.list_org_units()? {
                    let id = o.unit.id.to_string();
                    let list_it = o.unit.kind == kind
                        && match q.unit {
                            Unit::Zone => true,
                            Unit::Town(t) => kind == OrgUnitKind::Department || o.unit.id == t,
                            Unit::Department(d) => o.unit.id == d,
                        };
                    if list_it {
                        listed.push((id.clone(), o.unit.name.clone(), o.unit.name.clone()));
                    }
                    unit_names.insert(id, o.unit.name);
                }
            }
            Breakdown::Month => {
                let first = month_of(q.from.0, offset_ms);
                let last = month_of(q.to.0.saturating_sub(1), offset_ms);
                if let (Some(mut m), Some(last)) = (first, last) {
                    while m <= last && listed.len() < MAX_LISTED_MONTHS {
                        listed.push((
                            format!("{:04}-{:02}", m.0, m.1),
                            String::new(),
                            String::new(),
                        ));
                        m = next_month(m);
                    }
                    if m <= last {
                        // Too long to list every month: only those with problems.
                        listed.clear();
                    }
                }
            }
        }
        let known: std::collections::BTreeSet<String> =
            listed.iter().map(|(k, _, _)| k.clone()).collect();
        for key in counts.keys().filter(|k| !known.contains(*k)) {
            let (zh, en) = match (q.by, unit_names.get(key)) {
                (_, Some(name)) => (name.clone(), name.clone()),
                (Breakdown::Town, None) if key.is_empty() => {
                    ("未知镇街".to_string(), "Unknown town".to_string())
                }
                _ => (key.clone(), key.clone()),
            };
            listed.push((key.clone(), zh, en));
        }

        let mut out = Vec::with_capacity(listed.len());
        for (key, mut label, mut label_en) in listed {
            let (mut from, mut to) = (q.from.0, q.to.0);
            if q.by == Breakdown::Month {
                let parsed = key
                    .split_once('-')
                    .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)));
                if let Some((year, month)) = parsed {
                    if let Some(start) = month_start(year, month, offset_ms) {
                        from = from.max(start);
                    }
                    let (ny, nm) = next_month((year, month));
                    if let Some(end) = month_start(ny, nm, offset_ms) {
                        to = to.min(end);
                    }
                    label = format!("{year}年{month}月");
                    label_en = format!("{year}-{month:02}");
                }
            }
            let (problems, resolved, overdue) = counts.get(&key).copied().unwrap_or_default();
            out.push(BreakdownRow {
                key,
                label,
                label_en,
                problems,
                resolved,
                overdue,
                from,
                to,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::derive::awaiting_result;
    use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc, VisitDoc};
    use shared::model::{DAY_MS, EnterpriseId, ProblemState, Role};
    use shared::workflow::{Action, replay};

    use super::*;
    use crate::demo;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    /// The same KPIs computed in Rust straight from the documents, independently of SQL.
    fn expected(
        district: &demo::DemoDistrict,
        town: Option<shared::model::OrgUnitId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Kpis {
        let mut towns: BTreeMap<EnterpriseId, shared::model::OrgUnitId> = BTreeMap::new();
        for (id, doc) in &district.documents {
            if id.kind() == DocKind::Enterprise {
                let e = EnterpriseDoc::from_record(doc.clone())
                    .expect("enterprise")
                    .read()
                    .expect("reads");
                towns.insert(e.id, e.town);
            }
        }
        let in_unit = |e: &EnterpriseId| town.is_none_or(|t| towns.get(e) == Some(&t));
        let (
            mut problems,
            mut resolved,
            mut answered,
            mut on_time,
            mut overdue,
            mut rated,
            mut satisfied,
        ) = (0, 0, 0, 0, 0, 0, 0);
        let (mut passed, mut reopened) = (0, 0);
        let (mut answer_hours, mut sign_off_hours) = (Vec::new(), Vec::new());
        for (id, doc) in &district.documents {
            if id.kind() != DocKind::Problem {
                continue;
            }
            let p = ProblemDoc::from_record(doc.clone())
                .expect("problem")
                .read()
                .expect("reads");
            if !in_unit(&p.enterprise) {
                continue;
            }
            let outcome = replay(&p);
            let applied: Vec<&shared::workflow::Event> = p
                .events
                .iter()
                .filter(|e| outcome.applied.contains(&e.id))
                .collect();
            for e in &applied {
                let in_period = e.stamp.at >= from && e.stamp.at < to;
                match e.action {
                    Action::LookBackPass if in_period => passed += 1,
                    Action::LookBackReopen if in_period => reopened += 1,
                    _ => {}
                }
            }
            let created = p.created.at;
            if created < from
                || created >= to
                || matches!(
                    outcome.state,
                    ProblemState::Withdrawn | ProblemState::MergedDuplicate
                )
            {
                continue;
            }
            problems += 1;
            if outcome.state.is_resolved() {
                resolved += 1;
            }
            if awaiting_result(outcome.state) && outcome.deadline < NOW {
                overdue += 1;
            }
            if let Some(r) = &p.rating {
                rated += 1;
                if r.rating.is_satisfied() {
                    satisfied += 1;
                }
            }
            let first = |f: &dyn Fn(&Action) -> bool| {
                applied
                    .iter()
                    .filter(|e| f(&e.action))
                    .map(|e| e.stamp.at)
                    .min()
            };
            if let Some(at) = first(&|a| matches!(a, Action::Respond | Action::ResolveOnSite)) {
                answered += 1;
                if at <= outcome.deadline {
                    on_time += 1;
                }
                answer_hours.push((at.0 - created.0) as f64 / 3_600_000.0);
            }
            if let Some(at) = first(&|a| matches!(a, Action::SignOff { .. })) {
                sign_off_hours.push((at.0 - created.0) as f64 / 3_600_000.0);
            }
        }
        // Visits and coverage from the assignments and visit documents.
        let officers: std::collections::BTreeSet<_> = district
            .users
            .iter()
            .filter(|u| u.user.role == Role::Officer)
            .map(|u| u.user.id)
            .collect();
        let active: Vec<_> = district
            .assignments
            .iter()
            .filter(|a| {
                officers.contains(&a.user)
                    && a.valid_from < to
                    && a.valid_to.is_none_or(|t| t > from)
                    && in_unit(&a.enterprise)
            })
            .collect();
        let assigned: std::collections::BTreeSet<_> = active.iter().map(|a| a.enterprise).collect();
        let officer_count = active
            .iter()
            .map(|a| a.user)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        let mut visits = 0u64;
        let mut visited = std::collections::BTreeSet::new();
        for (id, doc) in &district.documents {
            if id.kind() == DocKind::Visit {
                let v = VisitDoc::from_record(doc.clone())
                    .expect("visit")
                    .read()
                    .expect("reads");
                if v.created.at >= from && v.created.at < to && assigned.contains(&v.enterprise) {
                    visits += 1;
                    visited.insert(v.enterprise);
                }
            }
        }
        Kpis {
            problems,
            resolved,
            resolution_rate: rate(resolved, problems),
            answered,
            on_time,
            on_time_rate: rate(on_time, answered),
            overdue,
            rated,
            satisfied,
            satisfaction_rate: rate(satisfied, rated),
            look_backs_passed: passed,
            look_backs_reopened: reopened,
            look_back_pass_rate: rate(passed, passed + reopened),
            assigned_enterprises: assigned.len() as u64,
            visited_enterprises: visited.len() as u64,
            visit_coverage: rate(visited.len() as u64, assigned.len() as u64),
            visits,
            officers: officer_count,
            visits_per_officer: rate(visits, officer_count),
            first_response_hours: percentiles(answer_hours),
            sign_off_hours: percentiles(sign_off_hours),
        }
    }

    #[test]
    fn demo_district_kpis_match_an_independent_computation_from_the_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let quarter = (Timestamp(NOW.0 - 90 * DAY_MS), NOW);
        let month = (Timestamp(NOW.0 - 30 * DAY_MS), NOW);
        let town = district
            .org_units
            .iter()
            .find(|o| o.kind == OrgUnitKind::Town)
            .expect("a town")
            .id;
        for (from, to) in [quarter, month] {
            let zone = store.kpis(Unit::Zone, from, to, NOW).expect("kpis");
            assert_eq!(zone, expected(&district, None, from, to));
            assert!(
                zone.problems > 10 && zone.resolved > 0 && zone.overdue > 0,
                "{zone:?}"
            );
            let t = store.kpis(Unit::Town(town), from, to, NOW).expect("kpis");
            assert_eq!(t, expected(&district, Some(town), from, to));
            assert!(t.problems < zone.problems);
        }
    }

    /// The period's problems as the KPIs count them, read straight from the documents:
    /// (category, effective tier, town, created, resolved, overdue at `NOW`).
    fn period_problems(
        district: &demo::DemoDistrict,
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<(String, Tier, String, Timestamp, bool, bool)> {
        let mut towns: BTreeMap<EnterpriseId, String> = BTreeMap::new();
        for (id, doc) in &district.documents {
            if id.kind() == DocKind::Enterprise {
                let e = EnterpriseDoc::from_record(doc.clone())
                    .expect("enterprise")
                    .read()
                    .expect("reads");
                towns.insert(e.id, e.town.to_string());
            }
        }
        let mut out = Vec::new();
        for (id, doc) in &district.documents {
            if id.kind() != DocKind::Problem {
                continue;
            }
            let p = ProblemDoc::from_record(doc.clone())
                .expect("problem")
                .read()
                .expect("reads");
            let outcome = replay(&p);
            if p.created.at < from
                || p.created.at >= to
                || matches!(
                    outcome.state,
                    ProblemState::Withdrawn | ProblemState::MergedDuplicate
                )
            {
                continue;
            }
            out.push((
                p.category.clone(),
                outcome.tier,
                towns.get(&p.enterprise).cloned().unwrap_or_default(),
                p.created.at,
                outcome.state.is_resolved(),
                awaiting_result(outcome.state) && outcome.deadline < NOW,
            ));
        }
        out
    }

    /// (problems, resolved, overdue) per key.
    fn tally<'a>(
        rows: impl Iterator<Item = (String, bool, bool)> + 'a,
    ) -> BTreeMap<String, (u64, u64, u64)> {
        let mut out: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for (key, resolved, overdue) in rows {
            let e = out.entry(key).or_default();
            e.0 += 1;
            e.1 += u64::from(resolved);
            e.2 += u64::from(overdue);
        }
        out
    }

    fn counted(rows: &[BreakdownRow]) -> BTreeMap<String, (u64, u64, u64)> {
        rows.iter()
            .filter(|r| r.problems > 0)
            .map(|r| (r.key.clone(), (r.problems, r.resolved, r.overdue)))
            .collect()
    }

    #[test]
    fn demo_district_breakdown_by_category_and_tier_matches_the_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 90 * DAY_MS), NOW);
        let query = |by| BreakdownQuery {
            unit: Unit::Zone,
            by,
            from,
            to,
            utc_offset_minutes: 480,
        };
        let problems = period_problems(&district, from, to);

        let by_category = store
            .breakdown(query(Breakdown::Category), NOW, &config)
            .expect("breakdown");
        let expected = tally(problems.iter().map(|p| (p.0.clone(), p.4, p.5)));
        assert_eq!(counted(&by_category), expected);
        assert!(
            expected.len() > 3,
            "the demo spreads over categories: {expected:?}"
        );
        // Every configured category is listed, in the config's order, named from the config.
        let codes: Vec<&str> = by_category.iter().map(|r| r.key.as_str()).collect();
        let configured: Vec<&str> = config.categories.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, configured);
        assert_eq!(by_category[0].label, config.categories[0].zh);
        assert_eq!(by_category[0].label_en, config.categories[0].en);
        assert!(by_category.iter().all(|r| r.from == from.0 && r.to == to.0));
        // The bars add up to the KPI tiles.
        let kpis = store.kpis(Unit::Zone, from, to, NOW).expect("kpis");
        let sum = |f: fn(&BreakdownRow) -> u64| by_category.iter().map(f).sum::<u64>();
        assert_eq!(sum(|r| r.problems), kpis.problems);
        assert_eq!(sum(|r| r.resolved), kpis.resolved);
        assert_eq!(sum(|r| r.overdue), kpis.overdue);

        let by_tier = store
            .breakdown(query(Breakdown::Tier), NOW, &config)
            .expect("breakdown");
        let expected = tally(problems.iter().map(|p| (p.1.code().to_string(), p.4, p.5)));
        assert_eq!(counted(&by_tier), expected);
        assert_eq!(by_tier.len(), Tier::ALL.len());
        assert_eq!(by_tier[0].label, config.tiers.on_site.zh);
    }

    #[test]
    fn demo_district_monthly_trend_matches_the_records_in_the_chinese_time_zone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 100 * DAY_MS), NOW);
        let months = store
            .breakdown(
                BreakdownQuery {
                    unit: Unit::Zone,
                    by: Breakdown::Month,
                    from,
                    to,
                    utc_offset_minutes: 480,
                },
                NOW,
                &config,
            )
            .expect("breakdown");
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
        let month_key = |t: Timestamp| {
            chrono::DateTime::from_timestamp_millis(t.0)
                .expect("valid")
                .with_timezone(&beijing)
                .format("%Y-%m")
                .to_string()
        };
        let expected = tally(
            period_problems(&district, from, to)
                .into_iter()
                .map(|p| (month_key(p.3), p.4, p.5)),
        );
        assert_eq!(counted(&months), expected);
        // Four calendar months, back to back, from the period's start to its end.
        assert_eq!(months.len(), 4, "{months:?}");
        assert_eq!(months[0].key, month_key(from));
        assert_eq!(months[0].from, from.0);
        assert_eq!(months[3].to, to.0);
        for pair in months.windows(2) {
            assert_eq!(pair[0].to, pair[1].from);
            assert_eq!(month_key(Timestamp(pair[1].from)), pair[1].key);
            assert_eq!(month_key(Timestamp(pair[1].from - 1)), pair[0].key);
        }
        assert!(months[1].label.ends_with('月'));
    }

    #[test]
    fn a_town_breakdown_lists_that_town_only_and_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 90 * DAY_MS), NOW);
        let town = district
            .org_units
            .iter()
            .find(|o| o.kind == OrgUnitKind::Town)
            .expect("a town");
        let query = |unit| BreakdownQuery {
            unit,
            by: Breakdown::Town,
            from,
            to,
            utc_offset_minutes: 480,
        };
        let zone = store
            .breakdown(query(Unit::Zone), NOW, &config)
            .expect("breakdown");
        let expected = tally(
            period_problems(&district, from, to)
                .into_iter()
                .map(|p| (p.2, p.4, p.5)),
        );
        assert_eq!(counted(&zone), expected);
        let towns = district
            .org_units
            .iter()
            .filter(|o| o.kind == OrgUnitKind::Town)
            .count();
        assert_eq!(zone.len(), towns);
        let one = store
            .breakdown(query(Unit::Town(town.id)), NOW, &config)
            .expect("breakdown");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].key, town.id.to_string());
        assert_eq!(one[0].label, town.name);
        assert_eq!(
            one[0].problems,
            store
                .kpis(Unit::Town(town.id), from, to, NOW)
                .expect("kpis")
                .problems
        );
    }
}
