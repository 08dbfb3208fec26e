//! The query tables (查询表), rewritten from a document's projection in the transaction that
//! stores it, with every time a KPI reads on the server's clock: a stamp new to the server
//! (a problem's creation, a workflow event, a rating, a visit) is counted at its claimed time
//! clamped by the receipt of the request that brought it (`shared::server_time::kpi_time`),
//! the claim is kept beside it, and a stamp already stored keeps the time it was first
//! counted at. A problem's deadline is the configured SLA's on that clock, moved only by a
//! leader's extension (`shared::server_time::server_outcome`), whatever deadline the device
//! wrote. A visit's check-in is measured from its enterprise's registered position (签到距离,
//! `enterprise_positions`: the profile's, else the first check-in with a position).
//!
//! Written once for both backends over [`Sql`] (`store/sql.rs`): SQLite's commit
//! (`store/sqlite.rs`) and PostgreSQL's (`pg/sync_store.rs`) run these same statements in
//! their commit's transaction.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use shared::config::{ClockRules, SlaPolicy};
use shared::model::{
    Addressee, DeviceId, Enterprise, Monitoring, Position, PositionFix, Problem, Timestamp, Visit,
};
use shared::server_time::{KpiTime, Receipt, kpi_time, server_outcome};
use shared::sync::server::Commit;
use shared::sync::validate::Projection;

use super::StoreError;
use super::sql::{Lite, Sql, Value, values};

/// What the projection of one commit's documents needs of the commit: the bounds of its
/// device's claimed times and the time limits deadlines come from.
pub(crate) struct CommitTimes<'a> {
    /// `None` for what the server writes itself (demo, imports, monitoring, the card's page):
    /// its own clock is the reference.
    receipt: Option<Receipt>,
    sla: &'a SlaPolicy,
}

impl<'a> CommitTimes<'a> {
    /// The bounds of `commit`: received at its `received_at`; not made before the pushing
    /// device's previous settled sync (or, failing one, its registration) less the allowed
    /// skew.
    pub(crate) fn of(tx: &dyn Sql, commit: &'a Commit) -> Result<CommitTimes<'a>, StoreError> {
        let receipt = if is_system(commit.device) {
            None
        } else {
            Some(Receipt::new(
                commit.received_at,
                previous_sync(tx, commit.device, commit.received_at, &commit.clock)?,
                &commit.clock,
            ))
        };
        Ok(CommitTimes {
            receipt,
            sla: &commit.sla,
        })
    }

    /// A stamp's counted time: the one stored for the same claim (a stamp keeps the bounds
    /// of the request that first brought it), else the claim clamped by this commit's.
    fn counted(&self, stored: Option<(i64, i64)>, claimed: Timestamp) -> KpiTime {
        match stored {
            Some((was_claimed, at)) if was_claimed == claimed.0 => KpiTime {
                at: Timestamp(at),
                clamped: at != was_claimed,
            },
            _ => kpi_time(claimed, self.receipt.as_ref()),
        }
    }
}

/// The lower bound of what `device` may claim in a request received at `now`: its previous
/// sync after which it had nothing left to send (`device_sync`'s `settled_at`), or its
/// registration when later or the only one known, since whatever it sends now was made after
/// that; but once it has been syncing with work left for longer than `[clock]
/// settle_within_hours` (since `unsettled_since`, its first sync after the settled one), its
/// previous sync (`last_seen`), whatever it reports as left: an honest device uploads what it
/// made offline within hours of coming back, and one that never settles cannot keep an old
/// bound for ever.
pub(crate) fn previous_sync(
    conn: &dyn Sql,
    device: DeviceId,
    now: Timestamp,
    clock: &ClockRules,
) -> Result<Option<Timestamp>, StoreError> {
    let row = conn.query_one(
        "SELECT (SELECT registered_at FROM devices WHERE id = ?1), \
         (SELECT settled_at FROM device_sync WHERE device = ?1), \
         (SELECT unsettled_since FROM device_sync WHERE device = ?1), \
         (SELECT last_seen FROM device_sync WHERE device = ?1)",
        &values![device.to_string()],
    )?;
    let (registered, settled, unsettled_since, last_seen) = (
        row.opt_int(0)?,
        row.opt_int(1)?,
        row.opt_int(2)?,
        row.opt_int(3)?,
    );
    let settled = registered.max(settled);
    let overdue =
        unsettled_since.is_some_and(|since| now.0.saturating_sub(since) > clock.settle_within_ms());
    let bound = if overdue {
        settled.max(last_seen)
    } else {
        settled
    };
    Ok(bound.map(Timestamp))
}

impl super::SqliteStore {
    /// See [`previous_sync`]: the lower bound of the times `device` may claim in a request
    /// received at `now`.
    pub fn previous_sync(
        &self,
        device: DeviceId,
        now: Timestamp,
        clock: &ClockRules,
    ) -> Result<Option<Timestamp>, StoreError> {
        previous_sync(&Lite(&self.conn), device, now, clock)
    }
}

/// Whether the device is the server's own identity (`crate::writer`).
fn is_system(device: DeviceId) -> bool {
    device == crate::writer::system_actor().device
}

/// Replaces a document's rows in the query tables by its current projection.
pub(crate) fn project(
    tx: &dyn Sql,
    projection: &Projection,
    times: &CommitTimes<'_>,
) -> Result<(), StoreError> {
    super::blob_refs::project_refs(tx, projection)?;
    match projection {
        Projection::Enterprise(e) => project_enterprise(tx, e),
        Projection::Visit(v) => {
            let photos = super::blob_refs::photo_count(projection);
            project_visit(tx, v, photos, times)
        }
        // The device's own replay (with the deadline it wrote) is not what the KPIs count.
        Projection::Problem(p, _) => project_problem(tx, p, times),
        Projection::Monitoring(m) => project_monitoring(tx, m),
    }
}

fn project_enterprise(tx: &dyn Sql, e: &Enterprise) -> Result<(), StoreError> {
    let id = e.id.to_string();
    tx.execute(
        "DELETE FROM enterprises WHERE id = ?1",
        &values![id.clone()],
    )?;
    tx.execute(
        "INSERT INTO enterprises \
         (id, credit_code, name, address, town, industry, size, key_enterprise, lat, lon) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &values![
            id.clone(),
            e.credit_code.as_str().to_string(),
            e.name.clone(),
            e.address.clone(),
            e.town.to_string(),
            e.industry.clone(),
            e.size.code().to_string(),
            e.key_enterprise,
            e.position.map(|p| p.lat),
            e.position.map(|p| p.lon),
        ],
    )?;
    // The profile's position is the registered one; without one, a position a visit
    // registered stays.
    if let Some(p) = e.position {
        register_position(tx, &id, &p, None)?;
    }
    Ok(())
}

/// The enterprise's registered position (签到核验的基准): its profile's, or the first check-in
/// with a position while the profile has none.
fn registered_position(tx: &dyn Sql, enterprise: &str) -> Result<Option<Position>, StoreError> {
    let row = tx.query_opt(
        "SELECT lat, lon, accuracy_m FROM enterprise_positions WHERE enterprise = ?1",
        &values![enterprise.to_string()],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (lat, lon, acc) = (row.opt_real(0)?, row.opt_real(1)?, row.opt_real(2)?);
    // A row that is not a position (written by hand) registers nothing.
    Ok(lat
        .zip(lon)
        .and_then(|(lat, lon)| Position::new(lat, lon, acc.unwrap_or(0.0)).ok()))
}

/// Registers `position` as the enterprise's (`visit`: the visit whose check-in it is, else the
/// profile's) and, when it moved, measures the enterprise's visits from it again.
fn register_position(
    tx: &dyn Sql,
    enterprise: &str,
    position: &Position,
    visit: Option<&str>,
) -> Result<(), StoreError> {
    let before = registered_position(tx, enterprise)?;
    tx.execute(
        "INSERT INTO enterprise_positions (enterprise, lat, lon, accuracy_m, source, visit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (enterprise) DO UPDATE SET \
         lat = excluded.lat, lon = excluded.lon, accuracy_m = excluded.accuracy_m, \
         source = excluded.source, visit = excluded.visit",
        &values![
            enterprise.to_string(),
            position.lat,
            position.lon,
            position.accuracy_m,
            if visit.is_some() { "visit" } else { "profile" }.to_string(),
            visit.map(str::to_string),
        ],
    )?;
    let moved = before.is_none_or(|b| (b.lat, b.lon) != (position.lat, position.lon));
    if moved {
        measure_visits(tx, Some(enterprise))?;
    }
    Ok(())
}

/// Measures the check-ins of `enterprise`'s visits (all visits: `None`) from the registered
/// positions again.
fn measure_visits(tx: &dyn Sql, enterprise: Option<&str>) -> Result<(), StoreError> {
    let visits = tx.query(
        "SELECT v.id, v.lat, v.lon, p.lat, p.lon FROM visits v \
         LEFT JOIN enterprise_positions p ON p.enterprise = v.enterprise \
         WHERE (CAST(?1 AS TEXT) IS NULL OR v.enterprise = ?1) AND v.lat IS NOT NULL AND v.lon IS NOT NULL",
        &values![enterprise.map(str::to_string)],
    )?;
    for row in visits {
        let at = row
            .opt_real(1)?
            .zip(row.opt_real(2)?)
            .and_then(|(lat, lon)| Position::new(lat, lon, 0.0).ok());
        let registered = row
            .opt_real(3)?
            .zip(row.opt_real(4)?)
            .and_then(|(plat, plon)| Position::new(plat, plon, 0.0).ok());
        let distance = shared::forms::check_in_distance(at.as_ref(), registered.as_ref());
        tx.execute(
            "UPDATE visits SET distance_m = ?2 WHERE id = ?1",
            &values![row.text(0)?, distance],
        )?;
    }
    Ok(())
}

/// After migration `0019_check_in_evidence`: measures the check-ins of the visits stored before
/// it, once (the migration leaves `check_in_distances_pending` in `meta`).
pub(super) fn measure_after_migration(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let sql = Lite(&tx);
    let pending = sql
        .query_opt(
            "SELECT 1 FROM meta WHERE key = 'check_in_distances_pending'",
            &[],
        )?
        .is_some();
    if pending {
        measure_visits(&sql, None)?;
        sql.execute(
            "DELETE FROM meta WHERE key = 'check_in_distances_pending'",
            &[],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The check-in's distance from the enterprise's registered position, in metres; a check-in
/// with a position registers it when the enterprise has none (or moves it when this visit is
/// the one that registered it and its check-in changed).
fn check_in_distance(
    tx: &dyn Sql,
    v: &Visit,
    position: Option<Position>,
) -> Result<Option<f64>, StoreError> {
    let Some(at) = position else {
        return Ok(None);
    };
    let enterprise = v.enterprise.to_string();
    let id = v.id.to_string();
    let registered_by: Option<Option<String>> = tx
        .query_opt(
            "SELECT visit FROM enterprise_positions WHERE enterprise = ?1",
            &values![enterprise.clone()],
        )?
        .map(|r| r.opt_text(0))
        .transpose()?;
    match registered_by {
        None => register_position(tx, &enterprise, &at, Some(&id))?,
        Some(Some(by)) if by == id => register_position(tx, &enterprise, &at, Some(&id))?,
        Some(_) => {}
    }
    Ok(shared::forms::check_in_distance(
        Some(&at),
        registered_position(tx, &enterprise)?.as_ref(),
    ))
}

/// The stored (claimed, counted) pair of a row's time, when the row is there.
fn stored_time(row: Option<super::sql::SqlRow>) -> Result<Option<(i64, i64)>, StoreError> {
    row.map(|r| Ok((r.int(0)?, r.int(1)?))).transpose()
}

fn project_visit(
    tx: &dyn Sql,
    v: &Visit,
    photos: usize,
    times: &CommitTimes<'_>,
) -> Result<(), StoreError> {
    let id = v.id.to_string();
    let stored = stored_time(tx.query_opt(
        "SELECT coalesce(claimed_time, device_time), device_time FROM visits WHERE id = ?1",
        &values![id.clone()],
    )?)?;
    let made = times.counted(stored, v.created.at);
    tx.execute(
        "DELETE FROM visit_officers WHERE visit = ?1",
        &values![id.clone()],
    )?;
    tx.execute("DELETE FROM visits WHERE id = ?1", &values![id.clone()])?;
    let (check_in_outcome, position) = match v.check_in.as_ref().map(|c| &c.position) {
        None => (None, None),
        Some(PositionFix::Fixed(p)) => (Some("fixed"), Some(*p)),
        Some(PositionFix::PermissionRefused) => (Some("permission_refused"), None),
        Some(PositionFix::Unavailable(_)) => (Some("unavailable"), None),
    };
    let distance = check_in_distance(tx, v, position)?;
    // The enterprise's signed confirmation, if it signed (a confirmation by name alone is
    // `confirmed` only).
    let signed = v.confirmation.as_ref().filter(|c| c.signature.is_some());
    let mut row = Vec::from(values![
        id.clone(),
        v.enterprise.to_string(),
        v.method.code().to_string(),
        v.operating_status.code().to_string(),
    ]);
    row.push(tx.note(&v.notes));
    row.extend(values![
        made.at.0,
        v.created.by.to_string(),
        v.created.device.to_string(),
        check_in_outcome.map(str::to_string),
        position.map(|p| p.lat),
        position.map(|p| p.lon),
        position.map(|p| p.accuracy_m),
        v.confirmation.is_some(),
        v.created.at.0,
        distance,
        i64::try_from(photos).unwrap_or(i64::MAX),
        signed.map(|c| c.by_name.clone()),
        signed.map(|c| c.at.0),
        signed
            .and_then(|c| c.signature.as_ref())
            .map(|s| s.hash.clone()),
    ]);
    tx.execute(
        "INSERT INTO visits (id, enterprise, method, operating_status, notes, device_time, \
         created_by, created_device, check_in_outcome, lat, lon, accuracy_m, confirmed, \
         claimed_time, distance_m, photos, signed_by, signed_at, signature) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19)",
        &row,
    )?;
    for o in &v.officers {
        tx.execute(
            "INSERT INTO visit_officers (visit, officer) VALUES (?1, ?2)",
            &values![id.clone(), o.to_string()],
        )?;
    }
    Ok(())
}

fn project_problem(tx: &dyn Sql, p: &Problem, times: &CommitTimes<'_>) -> Result<(), StoreError> {
    let id = p.id.to_string();
    // The times already counted, by claim, before the rows are rewritten.
    let stored_created = stored_time(tx.query_opt(
        "SELECT coalesce(claimed_created_at, created_at), created_at FROM problems WHERE id = ?1",
        &values![id.clone()],
    )?)?;
    let stored_events: BTreeMap<String, (i64, i64)> = tx
        .query(
            "SELECT id, coalesce(claimed_at, at), at FROM problem_events WHERE problem = ?1",
            &values![id.clone()],
        )?
        .into_iter()
        .map(|r| Ok((r.text(0)?, (r.int(1)?, r.int(2)?))))
        .collect::<Result<_, StoreError>>()?;
    let stored_rating = stored_time(tx.query_opt(
        "SELECT coalesce(claimed_at, at), at FROM ratings WHERE problem = ?1",
        &values![id.clone()],
    )?)?;
    let created = times.counted(stored_created, p.created.at);
    let events: Vec<KpiTime> = p
        .events
        .iter()
        .map(|e| times.counted(stored_events.get(&e.id.to_string()).copied(), e.stamp.at))
        .collect();
    let rating = p
        .rating
        .as_ref()
        .map(|r| times.counted(stored_rating, r.stamp.at));
    let clamped = std::iter::once(created)
        .chain(events.iter().copied())
        .chain(rating)
        .filter(|t| t.clamped)
        .count();
    let outcome = server_outcome(times.sla, p, created.at);
    for sql in [
        "DELETE FROM problem_units WHERE problem = ?1",
        "DELETE FROM progress WHERE problem = ?1",
        "DELETE FROM problem_events WHERE problem = ?1",
        "DELETE FROM ratings WHERE problem = ?1",
        "DELETE FROM problems WHERE id = ?1",
    ] {
        tx.execute(sql, &values![id.clone()])?;
    }
    tx.execute(
        "INSERT INTO problems (id, enterprise, visit, source, category, class, tier, set_tier, \
         owner, leader, deadline, state, description, expectation, response, rating, \
         created_at, created_by, superseded_events, claimed_created_at, clamped, rating_channel, \
         look_back_owed) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, ?22, ?23)",
        &values![
            id.clone(),
            p.enterprise.to_string(),
            p.visit.map(|v| v.to_string()),
            p.source.code().to_string(),
            p.category.clone(),
            p.class.code().to_string(),
            outcome.tier.code().to_string(),
            p.tier.code().to_string(),
            p.owner.to_string(),
            p.leader.map(|l| l.to_string()),
            outcome.deadline.0,
            outcome.state.code().to_string(),
            p.description.clone(),
            p.expectation.clone(),
            p.response.clone(),
            p.rating.as_ref().map(|r| i64::from(r.rating.level())),
            created.at.0,
            p.created.by.to_string(),
            i64::try_from(outcome.superseded.len()).unwrap_or(i64::MAX),
            p.created.at.0,
            i64::try_from(clamped).unwrap_or(i64::MAX),
            p.rating.as_ref().map(|r| r.channel.code().to_string()),
            outcome.look_back_owed,
        ],
    )?;
    for u in &p.handling_units {
        tx.execute(
            "INSERT INTO problem_units (problem, unit) VALUES (?1, ?2)",
            &values![id.clone(), u.to_string()],
        )?;
    }
    let log = |row: &[Value]| {
        tx.execute(
            "INSERT INTO progress (id, problem, kind, text, \"by\", device, at, to_person, \
             to_unit, due, acked_by, acked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            row,
        )
    };
    for e in &p.progress {
        log(&values![
            e.id.to_string(),
            id.clone(),
            "progress".to_string(),
            e.text.clone(),
            e.stamp.by.to_string(),
            e.stamp.device.to_string(),
            e.stamp.at.0,
            None::<String>,
            None::<String>,
            None::<i64>,
            None::<String>,
            None::<i64>,
        ])?;
    }
    for s in &p.supervision {
        let (to_person, to_unit) = match s.to {
            Some(Addressee::Person(u)) => (Some(u.to_string()), None),
            Some(Addressee::Unit(u)) => (None, Some(u.to_string())),
            None => (None, None),
        };
        let ack = s.acknowledged();
        log(&values![
            s.id.to_string(),
            id.clone(),
            "supervision".to_string(),
            s.text.clone(),
            s.stamp.by.to_string(),
            s.stamp.device.to_string(),
            s.stamp.at.0,
            to_person,
            to_unit,
            s.due.map(|d| d.0),
            ack.map(|a| a.stamp.by.to_string()),
            ack.map(|a| a.stamp.at.0),
        ])?;
    }
    let applied: BTreeSet<_> = outcome.applied.iter().collect();
    for (e, counted) in p.events.iter().zip(&events) {
        tx.execute(
            "INSERT INTO problem_events (id, problem, action, \"by\", device, role, at, reason, \
             applied, claimed_at, unit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &values![
                e.id.to_string(),
                id.clone(),
                e.action.code().to_string(),
                e.stamp.by.to_string(),
                e.stamp.device.to_string(),
                e.role.code().to_string(),
                counted.at.0,
                e.reason.clone(),
                applied.contains(&e.id),
                e.stamp.at.0,
                match &e.action {
                    shared::workflow::Action::Assign { unit } => Some(unit.to_string()),
                    _ => None,
                },
            ],
        )?;
    }
    if let (Some(r), Some(counted)) = (&p.rating, rating) {
        tx.execute(
            "INSERT INTO ratings (problem, level, comment, \"by\", at, claimed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &values![
                id,
                i64::from(r.rating.level()),
                r.comment.clone(),
                r.stamp.by.to_string(),
                counted.at.0,
                r.stamp.at.0,
            ],
        )?;
    }
    Ok(())
}

fn project_monitoring(tx: &dyn Sql, m: &Monitoring) -> Result<(), StoreError> {
    let enterprise = m.enterprise.to_string();
    for sql in [
        "DELETE FROM monitoring_power WHERE enterprise = ?1",
        "DELETE FROM monitoring_prices WHERE enterprise = ?1",
        "DELETE FROM monitoring_operation WHERE enterprise = ?1",
    ] {
        tx.execute(sql, &values![enterprise.clone()])?;
    }
    for (day, kwh) in &m.power {
        tx.execute(
            "INSERT INTO monitoring_power (enterprise, day, kwh) VALUES (?1, ?2, ?3)",
            &values![enterprise.clone(), day.to_string(), *kwh],
        )?;
    }
    for (week, products) in &m.prices {
        for (product, value) in products {
            tx.execute(
                "INSERT INTO monitoring_prices (enterprise, week, product, price) \
                 VALUES (?1, ?2, ?3, ?4)",
                &values![
                    enterprise.clone(),
                    week.to_string(),
                    product.clone(),
                    *value
                ],
            )?;
        }
    }
    for (month, f) in &m.operation {
        tx.execute(
            "INSERT INTO monitoring_operation (enterprise, month, output_value, revenue, \
             employees) VALUES (?1, ?2, ?3, ?4, ?5)",
            &values![
                enterprise.clone(),
                month.to_string(),
                f.output_value,
                f.revenue,
                f.employees,
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use shared::config::Config;
    use shared::doc::{ActorId, NewProblem, ProblemDoc, RecordDoc};
    use shared::model::{
        Actor, DAY_MS, EnterpriseId, ProblemClass, ProblemId, ProblemSource, Role, Tier, UserId,
    };
    use shared::sync::protocol::DocId;
    use shared::sync::server::{DocCommit, NewChange, ServerStore as _};
    use shared::sync::validate::validate;

    use super::*;
    use crate::store::SqliteStore;

    const T: Timestamp = Timestamp(1_795_000_000_000);
    const MIN: i64 = 60_000;

    fn officer() -> Actor {
        Actor {
            user: UserId::from_random_bytes([1; 16]),
            device: DeviceId::from_random_bytes([2; 16]),
            role: Role::Officer,
        }
    }

    fn problem(claimed: Timestamp) -> ProblemDoc {
        let new = NewProblem {
            id: ProblemId::from_random_bytes([3; 16]),
            enterprise: EnterpriseId::from_random_bytes([4; 16]),
            visit: None,
            source: ProblemSource::Visit,
            category: "land".into(),
            class: ProblemClass::B,
            tier: Tier::Department,
            owner: officer().user,
            leader: None,
            deadline: claimed.plus_days(7),
            description: "用地指标".into(),
            expectation: String::new(),
        };
        ProblemDoc::create(
            &new,
            &Config::default(),
            &officer(),
            ActorId::from([5; 16]),
            claimed,
        )
        .expect("created")
    }

    /// `record` as the officer's device pushes it, received at `received_at`.
    fn commit(store: &mut SqliteStore, record: &mut RecordDoc, received_at: Timestamp) {
        let id = DocId::new(record.kind(), &record.root_id().expect("an id"));
        let projection = validate(&id, record, &Config::default()).expect("valid");
        let changes = record
            .automerge()
            .get_changes(&[])
            .iter()
            .map(|c| NewChange {
                hash: c.hash(),
                actor: c.actor_id().to_hex_string(),
                device_time: Timestamp(c.timestamp()),
                author: c.message().and_then(shared::doc::Author::parse),
            })
            .collect();
        let heads = record.heads();
        let commit = Commit {
            device: officer().device,
            received_at,
            device_time: received_at,
            docs: vec![DocCommit {
                doc: id,
                changes,
                snapshot: record.save(),
                compacted: true,
                heads: heads.clone(),
                base: None,
                device_heads: heads,
                projection,
            }],
            sla: SlaPolicy::default(),
            clock: shared::config::ClockRules::default(),
        };
        store.commit(&commit).expect("committed");
    }

    fn created(store: &SqliteStore) -> (i64, i64, i64) {
        store
            .conn
            .query_row(
                "SELECT created_at, claimed_created_at, clamped FROM problems",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("one problem")
    }

    #[test]
    fn a_backdated_creation_counts_at_the_settled_sync_less_the_skew_and_keeps_that_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("t.db")).expect("opens");
        // The phone synced with nothing left to send at T, then claims a creation three days
        // before that.
        store
            .record_sync(officer().device, T, T, true)
            .expect("recorded");
        let claimed = Timestamp(T.0 - 3 * DAY_MS);
        let mut doc = problem(claimed);
        commit(&mut store, doc.record(), Timestamp(T.0 + 60 * MIN));
        assert_eq!(created(&store), (T.0 - 10 * MIN, claimed.0, 1));
        let deadline: i64 = store
            .conn
            .query_row("SELECT deadline FROM problems", [], |r| r.get(0))
            .expect("row");
        assert_eq!(
            deadline,
            T.0 - 10 * MIN + 7 * DAY_MS,
            "the SLA from the counted time"
        );

        // A later edit, received days after, leaves the creation where it was first counted.
        doc.edit(
            &Config::default(),
            &officer(),
            Timestamp(T.0 + 2 * DAY_MS),
            |p| p.set_response("已协调"),
        )
        .expect("edited");
        store
            .record_sync(officer().device, Timestamp(T.0 + 2 * DAY_MS), T, true)
            .expect("recorded");
        commit(&mut store, doc.record(), Timestamp(T.0 + 2 * DAY_MS + MIN));
        assert_eq!(created(&store), (T.0 - 10 * MIN, claimed.0, 1));
    }

    #[test]
    fn visits_stored_before_check_in_checks_are_measured_once_when_the_file_is_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).expect("opens");
        // As migration 0019 leaves a database whose visits were stored before it: positions
        // registered, check-ins not measured, the pending mark set.
        store
            .conn
            .execute_batch(
                "INSERT INTO enterprise_positions (enterprise, lat, lon, accuracy_m, source) \
                 VALUES ('e1', 35.07, 112.6, NULL, 'profile');
                 INSERT INTO visits (id, enterprise, method, operating_status, notes, \
                 device_time, created_by, created_device, check_in_outcome, lat, lon, \
                 accuracy_m, confirmed) VALUES ('v1', 'e1', 'on_site', 'normal', '', 0, 'u', \
                 'd', 'fixed', 35.0907, 112.6, 10.0, 0);
                 INSERT OR REPLACE INTO meta (key, value) VALUES ('check_in_distances_pending', 1);",
            )
            .expect("rows as before the migration");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        let (distance, pending): (Option<f64>, i64) = store
            .conn
            .query_row(
                "SELECT distance_m, (SELECT COUNT(*) FROM meta \
                 WHERE key = 'check_in_distances_pending') FROM visits",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the visit");
        let metres = distance.expect("measured");
        assert!((metres - 2_302.0).abs() < 10.0, "{metres}");
        assert_eq!(pending, 0, "measured once");
    }

    #[test]
    fn an_unsettled_sync_does_not_raise_the_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("t.db")).expect("opens");
        store
            .record_sync(officer().device, T, T, true)
            .expect("recorded");
        // A sync that left changes on the phone: what comes later may be older than it.
        store
            .record_sync(officer().device, Timestamp(T.0 + DAY_MS), T, false)
            .expect("recorded");
        let claimed = Timestamp(T.0 + 12 * 3_600_000);
        let mut doc = problem(claimed);
        commit(&mut store, doc.record(), Timestamp(T.0 + DAY_MS + MIN));
        assert_eq!(created(&store), (claimed.0, claimed.0, 0));
    }
}
