//! Campaign KPIs (考核指标) for a period and an org unit, computed in SQL over the projection
//! tables: resolution, on-time and satisfaction rates, overdue count, look-back pass and reopen
//! rates (满意率 split by rating channel), visit coverage, visits per officer and visits with
//! on-site evidence (a photo and a check-in within the radius), times to
//! first response and sign-off, and how many of the times they read the server clamped
//! (`store/projection.rs`). The charts' breakdowns are in `store/breakdown.rs`.

use rusqlite::params_from_iter;
use rusqlite::types::Value;
use shared::config::CheckInRules;
use shared::model::{RatingChannel, Timestamp};

use super::problems_query::{ANSWER_ACTIONS, SATISFIED_SQL, SIGN_OFF_ACTIONS};
use super::visits_query::EVIDENCE_SQL;
use super::{SqliteStore, StoreError};
use crate::api::{ChannelCount, Kpis, LookBack, RatedByChannel, Unit};

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

pub(super) const AWAITING: &str =
    "'submitted','triaged','assigned','accepted','in_progress','returned','disputed','reopened'";

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
    /// status as of `now` and check-ins judged by `check_in`.
    pub fn kpis(
        &self,
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
        let (problems, resolved, overdue, rated, satisfied, clamped_problems, channels) =
            self.conn.query_row(
                &format!(
                    "SELECT COUNT(*), \
                     SUM(CASE WHEN p.state IN ('signed_off', 'look_back_passed') THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN p.state IN ({AWAITING}) AND p.deadline < ? THEN 1 ELSE 0 END), \
                     COUNT(p.rating), SUM(CASE WHEN {SATISFIED_SQL} THEN 1 ELSE 0 END), \
                     SUM(p.clamped), {}, {} {base}",
                    by_channel(RatingChannel::Enterprise.code()),
                    by_channel(RatingChannel::OfficerSigned.code()),
                ),
                params_from_iter(counts),
                |r| {
                    let n = |i: usize| -> Result<u64, rusqlite::Error> {
                        Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
                    };
                    let channels = [
                        ChannelCount {
                            rated: n(6)?,
                            satisfied: n(7)?,
                        },
                        ChannelCount {
                            rated: n(8)?,
                            satisfied: n(9)?,
                        },
                    ];
                    Ok((n(0)?, n(1)?, n(2)?, n(3)?, n(4)?, n(5)?, channels))
                },
            )?;
        // Every rating not through the two named channels is the officer's alone.
        let [enterprise, officer_signed] = channels;
        let rated_by_channel = RatedByChannel {
            enterprise,
            officer_signed,
            officer: ChannelCount {
                rated: rated.saturating_sub(enterprise.rated + officer_signed.rated),
                satisfied: satisfied
                    .saturating_sub(enterprise.satisfied + officer_signed.satisfied),
            },
        };

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
        let mut visit_params = vec![Value::Real(f64::from(check_in.radius_m))];
        visit_params.extend(vparams(&[Value::Integer(from.0), Value::Integer(to.0)]));
        let (visits, visited_enterprises, clamped_visits, visits_with_evidence) =
            self.conn.query_row(
                &format!(
                    "SELECT COUNT(*), COUNT(DISTINCT v.enterprise), \
                 SUM(CASE WHEN v.claimed_time <> v.device_time THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN {EVIDENCE_SQL} THEN 1 ELSE 0 END) FROM visits v \
                 WHERE +v.enterprise IN (SELECT a.enterprise FROM assignments a WHERE {assigned_where}) \
                 AND v.device_time >= ? AND v.device_time < ?"
                ),
                params_from_iter(visit_params),
                |r| {
                    let n = |i: usize| -> Result<u64, rusqlite::Error> {
                        Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
                    };
                    Ok((n(0)?, n(1)?, n(2)?, n(3)?))
                },
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
            visits_with_evidence,
            evidence_rate: rate(visits_with_evidence, visits),
            first_response_hours: percentiles(hours(&answers)),
            sign_off_hours: percentiles(hours(&sign_offs)),
            clamped: clamped_problems + clamped_visits,
            rated_by_channel,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::config::Config;
    use shared::derive::awaiting_result;
    use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc, VisitDoc};
    use shared::model::{DAY_MS, EnterpriseId, OrgUnitKind, ProblemState, Role};
    use shared::server_time::server_outcome;
    use shared::workflow::Action;

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
        let mut positions = BTreeMap::new();
        for (id, doc) in &district.documents {
            if id.kind() == DocKind::Enterprise {
                let e = EnterpriseDoc::from_record(doc.clone())
                    .expect("enterprise")
                    .read()
                    .expect("reads");
                towns.insert(e.id, e.town);
                positions.insert(e.id, e.position);
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
        let mut by_channel = RatedByChannel::default();
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
            let outcome = server_outcome(&Config::default().sla, &p, p.created.at);
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
                let channel = match r.channel {
                    RatingChannel::Enterprise => &mut by_channel.enterprise,
                    RatingChannel::OfficerSigned => &mut by_channel.officer_signed,
                    RatingChannel::Officer => &mut by_channel.officer,
                };
                channel.rated += 1;
                if r.rating.is_satisfied() {
                    satisfied += 1;
                    channel.satisfied += 1;
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
        let mut with_evidence = 0u64;
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
                    let registered = positions.get(&v.enterprise).copied().flatten();
                    let evidence = v.method == shared::model::VisitMethod::OnSite
                        && v.check_in.as_ref().is_some_and(|c| {
                            let near = match (&c.position, registered) {
                                (shared::model::PositionFix::Fixed(p), Some(r)) => {
                                    p.distance_m(&r) <= 500.0
                                }
                                _ => false,
                            };
                            near && !v.photo_hashes().is_empty()
                        });
                    with_evidence += u64::from(evidence);
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
            visits_with_evidence: with_evidence,
            evidence_rate: rate(with_evidence, visits),
            first_response_hours: percentiles(answer_hours),
            sign_off_hours: percentiles(sign_off_hours),
            // The demo is the server's own writing: its times are its clock's.
            clamped: 0,
            rated_by_channel: by_channel,
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
            let rules = shared::config::CheckInRules::default();
            let zone = store.kpis(Unit::Zone, from, to, NOW, &rules).expect("kpis");
            assert_eq!(zone, expected(&district, None, from, to));
            assert!(
                zone.problems > 10 && zone.resolved > 0 && zone.overdue > 0,
                "{zone:?}"
            );
            let t = store
                .kpis(Unit::Town(town), from, to, NOW, &rules)
                .expect("kpis");
            assert_eq!(t, expected(&district, Some(town), from, to));
            assert!(t.problems < zone.problems);
        }
    }
}
