//! Campaign KPIs (考核指标) for a period and an org unit, computed in SQL over the projection
//! tables: resolution, on-time and satisfaction rates, overdue count, look-back pass and reopen
//! rates (满意率 split by rating channel), visit coverage, visits per officer and visits with
//! on-site evidence (a photo and a check-in within the radius), times to
//! first response and sign-off, and how many of the times they read the server clamped
//! (`store/projection.rs`). Written once over [`Sql`] and run on both backends (SQLite's
//! [`SqliteStore::kpis`], PostgreSQL's `Queries`). The charts' breakdowns are in
//! `store/breakdown.rs`.

use shared::config::CheckInRules;
use shared::model::{RatingChannel, Timestamp};

use super::problems_query::{ANSWER_ACTIONS, AWAITING, SATISFIED_SQL, SIGN_OFF_ACTIONS};
use super::sql::{Lite, Sql, Value};
use super::visits_query::EVIDENCE_SQL;
use super::{SqliteStore, StoreError};
use crate::api::{ChannelCount, Kpis, LookBack, RatedByChannel, Unit};

pub(super) fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Median and 90th percentile (nearest rank) of hours.
pub(super) fn percentiles(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Some((rank(0.5), rank(0.9)))
}

/// The problems of `unit`, as an SQL condition on table alias `p` and its parameter.
pub(super) fn problems_of(unit: Unit) -> (&'static str, Option<String>) {
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

impl SqliteStore {
    /// KPIs of problems created and visits made in `[from, to)`, for `unit`, with overdue
    /// status as of `now` and check-ins judged by `check_in` ([`kpis`]).
    pub fn kpis(
        &self,
        unit: Unit,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        check_in: &CheckInRules,
    ) -> Result<Kpis, StoreError> {
        kpis(&Lite(&self.conn), unit, from, to, now, check_in)
    }
}

/// KPIs of problems created and visits made in `[from, to)`, for `unit`, with overdue status
/// as of `now` and check-ins judged by `check_in`: the one definition, run on either backend.
pub(crate) fn kpis(
    db: &dyn Sql,
    unit: Unit,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
    check_in: &CheckInRules,
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
    let by_channel = |code: &str| {
        format!(
            "SUM(CASE WHEN p.rating_channel = '{code}' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN p.rating_channel = '{code}' AND {SATISFIED_SQL} THEN 1 ELSE 0 END)"
        )
    };
    let r = db.query_one(
        &format!(
            "SELECT COUNT(*), \
             SUM(CASE WHEN p.state IN ('signed_off', 'look_back_passed') THEN 1 ELSE 0 END), \
             SUM(CASE WHEN p.state IN ({AWAITING}) AND p.deadline < ? THEN 1 ELSE 0 END), \
             COUNT(p.rating), SUM(CASE WHEN {SATISFIED_SQL} THEN 1 ELSE 0 END), \
             SUM(p.clamped), {}, {} {base}",
            by_channel(RatingChannel::Enterprise.code()),
            by_channel(RatingChannel::OfficerSigned.code()),
        ),
        &counts,
    )?;
    let (problems, resolved, overdue, rated, satisfied, clamped_problems) = (
        r.count(0)?,
        r.count(1)?,
        r.count(2)?,
        r.count(3)?,
        r.count(4)?,
        r.count(5)?,
    );
    let channels = [
        ChannelCount {
            rated: r.count(6)?,
            satisfied: r.count(7)?,
        },
        ChannelCount {
            rated: r.count(8)?,
            satisfied: r.count(9)?,
        },
    ];
    // Every rating not through the two named channels is the officer's alone.
    let [enterprise, officer_signed] = channels;
    let rated_by_channel = RatedByChannel {
        enterprise,
        officer_signed,
        officer: ChannelCount {
            rated: rated.saturating_sub(enterprise.rated + officer_signed.rated),
            satisfied: satisfied.saturating_sub(enterprise.satisfied + officer_signed.satisfied),
        },
    };

    // First answer and sign-off per problem, from applied workflow events, read through
    // the event index (action, applied, problem, at).
    let first_at = |actions: &str| -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let sql = format!(
            "SELECT p.created_at, p.deadline, MIN(e.at) FROM problem_events e \
             JOIN problems p ON p.id = e.problem WHERE {unit_sql} AND p.created_at >= ? \
             AND p.created_at < ? AND p.state NOT IN ('withdrawn', 'merged_duplicate') \
             AND e.applied = 1 AND e.action IN ({actions}) \
             GROUP BY e.problem, p.created_at, p.deadline"
        );
        db.query(&sql, &params(&[]))?
            .iter()
            .map(|r| Ok((r.int(0)?, r.int(1)?, r.int(2)?)))
            .collect()
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
        db.query_one(&sql, &v)?.count(0)
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
    let assignee = db.dialect().person("a");
    let assigned_where = format!(
        "{ent_sql} AND a.valid_from < ? AND (a.valid_to IS NULL OR a.valid_to > ?) \
         AND {assignee} IN (SELECT id FROM users WHERE role = 'officer')"
    );
    let vparams = |extra: &[Value]| -> Vec<Value> {
        let mut v: Vec<Value> = ent_param.iter().map(|u| Value::Text(u.clone())).collect();
        v.push(Value::Integer(to.0));
        v.push(Value::Integer(from.0));
        v.extend_from_slice(extra);
        v
    };
    let vcount =
        |sql: String| -> Result<u64, StoreError> { db.query_one(&sql, &vparams(&[]))?.count(0) };
    let assigned_enterprises = vcount(format!(
        "SELECT COUNT(DISTINCT a.enterprise) FROM assignments a WHERE {assigned_where}"
    ))?;
    let officers = vcount(format!(
        "SELECT COUNT(DISTINCT {assignee}) FROM assignments a WHERE {assigned_where}"
    ))?;
    // Visits in the period to assigned enterprises, and how many enterprises they reached,
    // read from the period's range of the visit time index (SQLite's `+` keeps its planner
    // off the per-enterprise index, which would read every visit ever made).
    let mut visit_params = vec![Value::Real(f64::from(check_in.radius_m))];
    visit_params.extend(vparams(&[Value::Integer(from.0), Value::Integer(to.0)]));
    let enterprise = db.dialect().unindexed("v.enterprise");
    let r = db.query_one(
        &format!(
            "SELECT COUNT(*), COUNT(DISTINCT v.enterprise), \
             SUM(CASE WHEN v.claimed_time <> v.device_time THEN 1 ELSE 0 END), \
             SUM(CASE WHEN {EVIDENCE_SQL} THEN 1 ELSE 0 END) FROM visits v \
             WHERE {enterprise} IN (SELECT a.enterprise FROM assignments a WHERE {assigned_where}) \
             AND v.device_time >= ? AND v.device_time < ?"
        ),
        &visit_params,
    )?;
    let (visits, visited_enterprises, clamped_visits, visits_with_evidence) =
        (r.count(0)?, r.count(1)?, r.count(2)?, r.count(3)?);

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
        visits_with_evidence,
        evidence_rate: rate(visits_with_evidence, visits),
        first_response_hours: percentiles(hours(&answers)),
        sign_off_hours: percentiles(hours(&sign_offs)),
        clamped: clamped_problems + clamped_visits,
        rated_by_channel,
    })
}

#[cfg(test)]
mod tests {
    use shared::model::{DAY_MS, OrgUnitKind};

    use super::*;
    use crate::store::test_support::{demo_kpis, demo_store};

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

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
            let rules = shared::config::CheckInRules::default();
            let zone = store.kpis(Unit::Zone, from, to, NOW, &rules).expect("kpis");
            assert_eq!(zone, demo_kpis(&district, None, from, to, NOW));
            assert!(
                zone.problems > 10 && zone.resolved > 0 && zone.overdue > 0,
                "{zone:?}"
            );
            let t = store
                .kpis(Unit::Town(town), from, to, NOW, &rules)
                .expect("kpis");
            assert_eq!(t, demo_kpis(&district, Some(town), from, to, NOW));
            assert!(t.problems < zone.problems);
        }
    }
}
