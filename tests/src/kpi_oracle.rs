//! The campaign's KPIs recomputed for tests, from the definitions the issue and the dashboard
//! state (issue 13; `server::api::Kpis` documents each), apart from the server's SQL and from
//! `shared::server_time`: from problems' and visits' documents as stored, and what the test saw
//! of the request that first brought each stamp to the server (its receipt, the device's
//! previous settled sync). `tests/tests/kpi_property.rs` compares them with the dashboard's.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use server::api::{ChannelCount, Kpis, RatedByChannel};
use shared::config::Config;
use shared::model::{
    DAY_MS, EntryId, OrgUnitId, Problem, ProblemId, ProblemState, RatingChannel, Timestamp, Visit,
};
use shared::workflow::{self, rights::ActionKind};

use crate::district::enterprise;
use crate::problem_world::{Pushed, Who};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// How far behind a device's last settled sync the server's record of it may be.
const RECORD_LAG_MS: i64 = MINUTE;

/// A time a KPI reads, by what it stamps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stamp {
    /// A problem's or a visit's creation, by document id.
    Created(String),
    /// A workflow event.
    Event(EntryId),
    /// A rating, by problem, claimed time and the device that recorded it.
    Rating(ProblemId, i64, String),
}

/// The request that first brought a stamp to the server, as the test saw it.
#[derive(Debug, Clone, Copy)]
pub enum Brought {
    /// A device's push, received at `received_at` (the server's answer), from a device whose
    /// previous settled sync (nothing left unsent, every push accepted) the server answered at
    /// `settled`.
    Device {
        /// The server's receipt.
        received_at: Timestamp,
        /// The device's previous settled sync, if the server knows one.
        settled: Option<Timestamp>,
    },
    /// What the server wrote itself (the enterprise's card page): its own clock.
    Server,
}

/// Every stamp with the request that brought it, and each device's last settled sync.
#[derive(Default)]
pub struct Ledger {
    /// Each stamp's request.
    pub brought: BTreeMap<Stamp, Brought>,
    /// Each person's device's last settled sync, as the server answered it.
    pub settled: BTreeMap<Who, Timestamp>,
}

/// The times a problem's KPIs read, each with its claim: its creation, its workflow events
/// (applied or not) and its rating.
pub fn stamps(p: &Problem) -> Vec<(Stamp, Timestamp)> {
    let mut v = vec![(Stamp::Created(p.id.to_string()), p.created.at)];
    v.extend(p.events.iter().map(|e| (Stamp::Event(e.id), e.stamp.at)));
    v.extend(p.rating.iter().map(|r| {
        let key = Stamp::Rating(p.id, r.stamp.at.0, r.stamp.device.to_string());
        (key, r.stamp.at)
    }));
    v
}

impl Ledger {
    /// Records the stamps of `p` the server had not seen before as brought by `by`.
    pub fn observe(&mut self, p: &Problem, by: Brought) {
        for (stamp, _) in stamps(p) {
            self.brought.entry(stamp).or_insert(by);
        }
    }

    /// What a push from `who`, answered `pushed`, brought, given `recorded`: the device's
    /// previous settled sync (or its registration) as the server had recorded it before the
    /// push. A settled push (nothing else unsent, accepted) moves the test's own record of
    /// `who`'s last settled sync.
    ///
    /// # Errors
    /// When the server's record is not the last settled sync the test saw, or lags it by more
    /// than the minute the store allows itself (`SqliteStore::record_sync` skips a write
    /// within a minute of the last one while the device's clock skew holds, which only makes
    /// the bound more lenient).
    pub fn pushed(
        &mut self,
        who: Who,
        pushed: &Pushed,
        settled: bool,
        recorded: Option<Timestamp>,
    ) -> anyhow::Result<Brought> {
        let own = self.settled.get(&who).copied();
        anyhow::ensure!(
            match (own, recorded) {
                (Some(own), Some(r)) => r <= own && own.0 - r.0 <= RECORD_LAG_MS,
                _ => false,
            },
            "{who:?}'s previous settled sync: the test saw {own:?}, the server recorded {recorded:?}"
        );
        if settled && pushed.accepted() {
            self.settled.insert(who, pushed.received_at);
        }
        Ok(Brought::Device {
            received_at: pushed.received_at,
            settled: recorded,
        })
    }

    /// The time the KPIs count for `stamp` claimed at `claimed`, and whether it was clamped:
    /// a claim later than the server's receipt counts as the receipt; one earlier than the
    /// device's previous settled sync less the allowed skew counts as that bound.
    pub fn counted(&self, stamp: &Stamp, claimed: Timestamp) -> anyhow::Result<(i64, bool)> {
        let by = self
            .brought
            .get(stamp)
            .with_context(|| format!("the test saw {stamp:?} arrive"))?;
        let skew = i64::from(Config::default().clock.allowed_skew_minutes) * MINUTE;
        let at = match *by {
            Brought::Server => claimed.0,
            Brought::Device { received_at, .. } if claimed > received_at => received_at.0,
            Brought::Device {
                settled: Some(s), ..
            } if claimed.0 < s.0 - skew => s.0 - skew,
            Brought::Device { .. } => claimed.0,
        };
        Ok((at, at != claimed.0))
    }
}

/// What the KPIs cover: the zone, or one department's problems (visit KPIs do not apply).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Every problem and visit.
    Zone,
    /// The problems handed to the department.
    Department(OrgUnitId),
}

/// Median and 90th percentile by nearest rank (the ⌈p·n⌉-th smallest), in hours.
fn percentiles(mut ms: Vec<i64>) -> Option<(f64, f64)> {
    ms.sort_unstable();
    let rank = |p: f64| {
        let k = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
        ms[k - 1] as f64 / HOUR as f64
    };
    (!ms.is_empty()).then(|| (rank(0.5), rank(0.9)))
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The KPIs of `scope` for `[from, to)`, with overdue as of `now`, from the documents.
pub fn recompute(
    scope: Scope,
    problems: &[Problem],
    visits: &[Visit],
    ledger: &Ledger,
    (from, to): (i64, i64),
    now: i64,
) -> anyhow::Result<Kpis> {
    let sla = Config::default().sla;
    let in_period = |t: i64| from <= t && t < to;
    let mut k = zero();
    let (mut answer_ms, mut sign_off_ms) = (Vec::new(), Vec::new());
    for p in problems {
        if let Scope::Department(d) = scope
            && !p.handling_units.contains(&d)
        {
            continue;
        }
        let (created, _) = ledger.counted(&Stamp::Created(p.id.to_string()), p.created.at)?;
        // The deadline is the SLA's for the tier, from the counted creation, moved only by a
        // leader's extension (which must move it later); an escalation gets its tier's days.
        let mut counted = p.clone();
        counted.deadline = Timestamp(created).plus_days(sla.days_for(p.tier));
        let outcome = workflow::replay(&counted);
        let deadline = outcome
            .deadline
            .0
            .max(created + i64::from(sla.days_for(outcome.tier)) * DAY_MS);
        let mut applied_at = Vec::new();
        for e in p.events.iter().filter(|e| outcome.applied.contains(&e.id)) {
            let (at, _) = ledger.counted(&Stamp::Event(e.id), e.stamp.at)?;
            applied_at.push((e.action.kind(), at));
        }
        // Look-backs count in the period they happened, whichever period the problem is of.
        for (kind, at) in &applied_at {
            match kind {
                ActionKind::LookBackPass if in_period(*at) => k.look_backs_passed += 1,
                ActionKind::LookBackReopen if in_period(*at) => k.look_backs_reopened += 1,
                _ => {}
            }
        }
        use ProblemState as S;
        if !in_period(created) || matches!(outcome.state, S::Withdrawn | S::MergedDuplicate) {
            continue;
        }
        k.problems += 1;
        if matches!(outcome.state, S::SignedOff | S::LookBackPassed) {
            k.resolved += 1;
        }
        let awaiting = matches!(
            outcome.state,
            S::Submitted
                | S::Triaged
                | S::Assigned
                | S::Accepted
                | S::InProgress
                | S::Returned
                | S::Disputed
                | S::Reopened
        );
        if awaiting && deadline < now {
            k.overdue += 1;
        }
        let first = |kinds: &[ActionKind]| {
            applied_at
                .iter()
                .filter(|(kind, _)| kinds.contains(kind))
                .map(|(_, at)| *at)
                .min()
        };
        if let Some(at) = first(&[ActionKind::Respond, ActionKind::ResolveOnSite]) {
            k.answered += 1;
            k.on_time += u64::from(at <= deadline);
            answer_ms.push(at - created);
        }
        if let Some(at) = first(&[ActionKind::SignOff, ActionKind::SignOffWaiver]) {
            sign_off_ms.push(at - created);
        }
        if let Some(r) = &p.rating {
            let satisfied = r.rating.level() >= 3;
            k.rated += 1;
            k.satisfied += u64::from(satisfied);
            let channel = match r.channel {
                RatingChannel::Enterprise => &mut k.rated_by_channel.enterprise,
                RatingChannel::OfficerSigned => &mut k.rated_by_channel.officer_signed,
                RatingChannel::Officer => &mut k.rated_by_channel.officer,
            };
            channel.rated += 1;
            channel.satisfied += u64::from(satisfied);
        }
        for (stamp, claimed) in stamps(p) {
            k.clamped += u64::from(ledger.counted(&stamp, claimed)?.1);
        }
    }
    if let Scope::Zone = scope {
        // Enterprise 1 is assigned to officers Wang and Li from the epoch on.
        k.assigned_enterprises = 1;
        k.officers = 2;
        let mut visited = BTreeSet::new();
        for v in visits.iter().filter(|v| v.enterprise == enterprise(1)) {
            let (at, clamped) = ledger.counted(&Stamp::Created(v.id.to_string()), v.created.at)?;
            if in_period(at) {
                k.visits += 1;
                k.clamped += u64::from(clamped);
                visited.insert(v.enterprise);
            }
        }
        k.visited_enterprises = visited.len() as u64;
        k.visits_with_evidence = visits_with_evidence(visits, &enterprise(1), ledger, from, to)?;
    }
    k.resolution_rate = ratio(k.resolved, k.problems);
    k.on_time_rate = ratio(k.on_time, k.answered);
    k.satisfaction_rate = ratio(k.satisfied, k.rated);
    k.look_back_pass_rate = ratio(
        k.look_backs_passed,
        k.look_backs_passed + k.look_backs_reopened,
    );
    k.visit_coverage = ratio(k.visited_enterprises, k.assigned_enterprises);
    k.visits_per_officer = ratio(k.visits, k.officers);
    k.evidence_rate = ratio(k.visits_with_evidence, k.visits);
    k.first_response_hours = percentiles(answer_ms);
    k.sign_off_hours = percentiles(sign_off_ms);
    Ok(k)
}

/// Metres between two WGS-84 points on a sphere of 6,371,008.8 m (haversine), written out here
/// apart from `shared::model::Position::distance_m`.
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let rad = std::f64::consts::PI / 180.0;
    let (la1, la2) = (a.0 * rad, b.0 * rad);
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * (((b.1 - a.1) * rad) / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

/// Visits to `enterprise` in `[from, to)` with on-site evidence: on site, a photo (a SHA-256 in
/// hex) and a check-in within the district's radius of the enterprise's registered position,
/// which (its profile having none) is the first stored visit's check-in with a position.
/// `visits` come in the order the server accepted them.
fn visits_with_evidence(
    visits: &[Visit],
    enterprise: &shared::model::EnterpriseId,
    ledger: &Ledger,
    from: i64,
    to: i64,
) -> anyhow::Result<u64> {
    use shared::model::{PositionFix, VisitMethod};
    let radius = f64::from(Config::default().check_in.radius_m);
    let fix = |v: &Visit| match v.check_in.as_ref().map(|c| &c.position) {
        Some(PositionFix::Fixed(p)) => Some((p.lat, p.lon)),
        _ => None,
    };
    let registered = visits
        .iter()
        .filter(|v| v.enterprise == *enterprise)
        .find_map(fix);
    let mut n = 0;
    for v in visits.iter().filter(|v| v.enterprise == *enterprise) {
        let (at, _) = ledger.counted(&Stamp::Created(v.id.to_string()), v.created.at)?;
        let photo = v
            .check_in
            .as_ref()
            .and_then(|c| c.photo_hash.as_deref())
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let near = match (fix(v), registered) {
            (Some(p), Some(r)) => metres(p, r) <= radius,
            _ => false,
        };
        if from <= at && at < to && v.method == VisitMethod::OnSite && photo && near {
            n += 1;
        }
    }
    Ok(n)
}

fn zero() -> Kpis {
    let none = ChannelCount {
        rated: 0,
        satisfied: 0,
    };
    Kpis {
        problems: 0,
        resolved: 0,
        resolution_rate: None,
        answered: 0,
        on_time: 0,
        on_time_rate: None,
        overdue: 0,
        rated: 0,
        satisfied: 0,
        satisfaction_rate: None,
        look_backs_passed: 0,
        look_backs_reopened: 0,
        look_back_pass_rate: None,
        assigned_enterprises: 0,
        visited_enterprises: 0,
        visit_coverage: None,
        visits: 0,
        officers: 0,
        visits_per_officer: None,
        visits_with_evidence: 0,
        evidence_rate: None,
        first_response_hours: None,
        sign_off_hours: None,
        clamped: 0,
        rated_by_channel: RatedByChannel {
            enterprise: none,
            officer_signed: none,
            officer: none,
        },
    }
}

/// The fields where `got` differs from `want` (numbers within a millionth).
pub fn differences(want: &serde_json::Value, got: &serde_json::Value, path: &str) -> Vec<String> {
    use serde_json::Value as V;
    match (want, got) {
        (V::Object(w), V::Object(g)) => w
            .iter()
            .flat_map(|(key, w)| {
                differences(w, g.get(key).unwrap_or(&V::Null), &format!("{path}.{key}"))
            })
            .collect(),
        (V::Array(w), V::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .flat_map(|(i, (w, g))| differences(w, g, &format!("{path}[{i}]")))
            .collect(),
        (V::Number(w), V::Number(g)) => {
            let (w, g) = (
                w.as_f64().unwrap_or(f64::NAN),
                g.as_f64().unwrap_or(f64::NAN),
            );
            if (w - g).abs() <= 1e-6 * w.abs().max(1.0) {
                vec![]
            } else {
                vec![format!("{path}: recomputed {w}, server {g}")]
            }
        }
        (w, g) if w == g => vec![],
        (w, g) => vec![format!("{path}: recomputed {w}, server {g}")],
    }
}
