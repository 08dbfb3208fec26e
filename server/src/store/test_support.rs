//! Test fixtures over a real SQLite file: the demo district with its directory rows, and a
//! store lock that counts its holds.

use std::collections::BTreeMap;

use rusqlite::params;
use shared::config::Config;
use shared::derive::{Derived, derive};
use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc};
use shared::model::{EnterpriseId, OrgUnitId, Problem, Timestamp};

use shared::derive::awaiting_result;
use shared::doc::VisitDoc;
use shared::model::{ProblemState, RatingChannel, Role};
use shared::server_time::server_outcome;
use shared::workflow::Action;

use super::SqliteStore;
use super::kpi::{percentiles, rate};
use crate::api::{Kpis, RatedByChannel};
use crate::demo;

/// The demo district in a real SQLite file, with its directory rows.
pub(crate) fn demo_store(
    dir: &std::path::Path,
    now: Timestamp,
) -> (SqliteStore, demo::DemoDistrict) {
    let config = Config::default();
    let mut district = demo::generate(now, &config).expect("generates");
    let mut store = SqliteStore::open(&dir.join("kpi.db")).expect("opens");
    demo::commit_documents(&mut store, &mut district.documents, &config, now).expect("stores");
    for o in &district.org_units {
        store
            .conn
            .execute(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?1, ?2, ?3, ?4)",
                params![
                    o.id.to_string(),
                    o.name,
                    o.kind.code(),
                    o.parent.map(|p| p.to_string())
                ],
            )
            .expect("org unit");
    }
    for u in &district.users {
        store
            .conn
            .execute(
                "INSERT INTO users (id, login, name, role, org_unit, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'x', 0)",
                params![u.user.id.to_string(), u.user.login, u.user.name, u.user.role.code(), u.user.org_unit.to_string()],
            )
            .expect("user");
    }
    for a in &district.assignments {
        store
            .conn
            .execute(
                "INSERT INTO assignments (enterprise, user, valid_from, valid_to) VALUES (?1, ?2, ?3, ?4)",
                params![a.enterprise.to_string(), a.user.to_string(), a.valid_from.0, a.valid_to.map(|t| t.0)],
            )
            .expect("assignment");
    }
    (store, district)
}

/// The demo district's problems as their documents say, each with what is derived at `now`,
/// and each enterprise's town: what the query tables must agree with.
pub(crate) fn demo_problems(
    d: &demo::DemoDistrict,
    now: Timestamp,
) -> (Vec<(Problem, Derived)>, BTreeMap<EnterpriseId, OrgUnitId>) {
    let config = Config::default();
    let mut problems = Vec::new();
    let mut towns = BTreeMap::new();
    for (id, doc) in &d.documents {
        match id.kind() {
            DocKind::Problem => {
                let p = ProblemDoc::from_record(doc.clone())
                    .expect("problem")
                    .read()
                    .expect("reads");
                let derived = derive(&p, &config, now);
                problems.push((p, derived));
            }
            DocKind::Enterprise => {
                let e = EnterpriseDoc::from_record(doc.clone())
                    .expect("enterprise")
                    .read()
                    .expect("reads");
                towns.insert(e.id, e.town);
            }
            _ => {}
        }
    }
    (problems, towns)
}

/// The demo district's KPIs as of `now`, computed in Rust straight from its documents,
/// independently of SQL: what either backend's KPIs must equal.
pub(crate) fn demo_kpis(
    district: &demo::DemoDistrict,
    town: Option<shared::model::OrgUnitId>,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
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
        if awaiting_result(outcome.state) && outcome.deadline < now {
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

/// The server's store: one mutex, each hold counted.
pub(crate) struct CountedLock<'a> {
    /// The store.
    pub store: &'a std::sync::Mutex<SqliteStore>,
    /// Holds so far.
    pub holds: usize,
}

impl super::StoreHold for CountedLock<'_> {
    fn hold<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> T) -> T {
        self.holds += 1;
        (&mut &*self.store).hold(f)
    }
}

/// Runs one SQL statement on `store` as it is (a conformance test's seed of query tables, or
/// its attempt at what the database must refuse); how many rows it changed.
pub(crate) fn execute_raw(store: &SqliteStore, sql: &str) -> Result<usize, super::StoreError> {
    Ok(store.conn.execute(sql, [])?)
}

/// The rows of a query on `store`, as values (a conformance test's read of the query tables).
pub(crate) fn query_raw(
    store: &SqliteStore,
    sql: &str,
) -> Result<Vec<super::sql::SqlRow>, super::StoreError> {
    use super::sql::Sql as _;
    super::sql::Lite(&store.conn).query(sql, &[])
}

/// A visit's notes as the query table holds them (SQLite deflates long ones), as text.
pub(crate) fn note_text(stored: &super::sql::Value) -> Result<String, super::StoreError> {
    super::packed_text::unpack(stored.into(), "visits")
}
