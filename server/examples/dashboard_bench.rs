//! Benchmark of the leaders' dashboard queries (not a timed test): fills a SQLite file with a
//! large district — 100k problems, ~1M change rows by default — and runs the KPI queries (zone,
//! town, department), the problem list with common filters for each role, and officer
//! freshness N times each, reporting p50/p95 against the 200 ms goal.
//!
//! The rows are written straight into the projection tables (and `docs`/`changes`) with SQL,
//! not through `handle_sync`: merging 100k Automerge documents would take far longer than the
//! queries being measured, and the queries read only the tables. The file is opened through
//! `SqliteStore::open`, so every migration (indexes included) is applied as in production.
//!
//! ```text
//! cargo run --release -p server --example dashboard_bench -- [--problems N] [--changes N]
//!     [--runs N] [--db FILE]
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rusqlite::{Connection, params};
use server::api::{ProblemFilter, ProblemSort, Unit};
use server::auth::access_for;
use server::store::{Device, SqliteStore};
use shared::config::Config;
use shared::model::{
    DAY_MS, DeviceId, EnterpriseId, Flag, OrgUnitId, ProblemId, ProblemState, Role, Timestamp,
    User, UserId,
};

const GOAL: Duration = Duration::from_millis(200);
const TOWNS: usize = 12;
const DEPARTMENTS: usize = 20;
const ENTERPRISES: usize = 10_000;
const OFFICERS: usize = 300;
const VISITS: usize = 60_000;
/// Workflow actions in the order a problem usually goes through them.
const PATH: [&str; 8] = [
    "triage",
    "assign",
    "accept",
    "start",
    "respond",
    "confirm",
    "sign_off",
    "look_back_pass",
];
/// The state reached after `k` actions of [`PATH`].
const REACHED: [&str; 9] = [
    "submitted",
    "triaged",
    "assigned",
    "accepted",
    "in_progress",
    "responded",
    "confirmed",
    "signed_off",
    "look_back_passed",
];

struct Args {
    problems: usize,
    changes: usize,
    runs: usize,
    db: Option<std::path::PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        problems: 100_000,
        changes: 1_000_000,
        runs: 30,
        db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--problems" => a.problems = value.parse()?,
            "--changes" => a.changes = value.parse()?,
            "--runs" => a.runs = value.parse()?,
            "--db" => a.db = Some(value.into()),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

/// A small deterministic generator (xorshift64*), so every run builds the same district.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_le_bytes());
        b[8..].copy_from_slice(&self.next().to_le_bytes());
        b
    }
}

struct District {
    zone: OrgUnitId,
    towns: Vec<OrgUnitId>,
    departments: Vec<OrgUnitId>,
    zone_leader: User,
    town_leader: User,
    handler: User,
}

fn fill(conn: &mut Connection, a: &Args, now: Timestamp) -> anyhow::Result<District> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let tx = conn.transaction()?;
    let zone = OrgUnitId::from_random_bytes(rng.bytes());
    let towns: Vec<OrgUnitId> = (0..TOWNS)
        .map(|_| OrgUnitId::from_random_bytes(rng.bytes()))
        .collect();
    let departments: Vec<OrgUnitId> = (0..DEPARTMENTS)
        .map(|_| OrgUnitId::from_random_bytes(rng.bytes()))
        .collect();
    {
        let mut unit = tx.prepare(
            "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        unit.execute(params![
            zone.to_string(),
            "zone",
            "开发区",
            "zone",
            None::<String>
        ])?;
        for (i, t) in towns.iter().enumerate() {
            unit.execute(params![
                t.to_string(),
                format!("town{i}"),
                format!("第{i}镇"),
                "town",
                zone.to_string()
            ])?;
        }
        for (i, d) in departments.iter().enumerate() {
            unit.execute(params![
                d.to_string(),
                format!("dept{i}"),
                format!("第{i}局"),
                "department",
                zone.to_string()
            ])?;
        }
    }
    let mut user_stmt = tx.prepare(
        "INSERT INTO users (id, login, name, role, org_unit, password_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'x', 0)",
    )?;
    let mut device_stmt = tx.prepare(
        "INSERT INTO devices (id, user, name, actor_id, registered_at, last_seen) \
         VALUES (?1, ?2, 'phone', ?3, 0, ?4)",
    )?;
    let mut sync_stmt = tx.prepare(
        "INSERT INTO device_sync (device, last_seen, last_device_time) VALUES (?1, ?2, ?3)",
    )?;
    let mut person = |rng: &mut Rng, login: String, role: Role, unit: OrgUnitId| {
        let user = User {
            id: UserId::from_random_bytes(rng.bytes()),
            login: login.clone(),
            name: login,
            role,
            org_unit: unit,
        };
        let device = DeviceId::from_random_bytes(rng.bytes());
        let seen = now.0 - rng.below(3 * DAY_MS as usize) as i64;
        user_stmt.execute(params![
            user.id.to_string(),
            user.login,
            user.name,
            role.code(),
            unit.to_string()
        ])?;
        device_stmt.execute(params![
            device.to_string(),
            user.id.to_string(),
            format!("{:032x}", rng.next()),
            seen
        ])?;
        sync_stmt.execute(params![
            device.to_string(),
            seen,
            seen - rng.below(120_000) as i64
        ])?;
        anyhow::Ok(user)
    };
    let zone_leader = person(&mut rng, "leader-zone".into(), Role::Leader, zone)?;
    let town_leader = person(&mut rng, "leader-town".into(), Role::Leader, towns[0])?;
    let handler = person(
        &mut rng,
        "handler".into(),
        Role::DepartmentHandler,
        departments[0],
    )?;
    let officers: Vec<User> = (0..OFFICERS)
        .map(|i| {
            person(
                &mut rng,
                format!("officer{i}"),
                Role::Officer,
                towns[i % TOWNS],
            )
        })
        .collect::<anyhow::Result<_>>()?;
    drop((user_stmt, device_stmt, sync_stmt));

    let enterprises: Vec<EnterpriseId> = (0..ENTERPRISES)
        .map(|_| EnterpriseId::from_random_bytes(rng.bytes()))
        .collect();
    {
        let mut ent = tx.prepare(
            "INSERT INTO enterprises (id, credit_code, name, address, town, industry, size, \
             key_enterprise) VALUES (?1, '91330000000000000X', ?2, '地址', ?3, 'manufacturing', \
             'small', ?4)",
        )?;
        let mut assign = tx.prepare(
            "INSERT INTO assignments (enterprise, user, valid_from, valid_to) \
             VALUES (?1, ?2, ?3, NULL)",
        )?;
        for (i, e) in enterprises.iter().enumerate() {
            let town = i % TOWNS;
            ent.execute(params![
                e.to_string(),
                format!("企业{i}"),
                towns[town].to_string(),
                i64::from(i % 10 == 0)
            ])?;
            // An officer of the same town.
            let officer = &officers[(i / TOWNS * TOWNS + town) % OFFICERS];
            assign.execute(params![
                e.to_string(),
                officer.id.to_string(),
                now.0 - 400 * DAY_MS
            ])?;
        }
        let mut visit = tx.prepare(
            "INSERT INTO visits (id, enterprise, method, operating_status, notes, device_time, \
             created_by, created_device, confirmed) \
             VALUES (?1, ?2, 'on_site', 'normal', '', ?3, ?4, 'd', 1)",
        )?;
        let mut officer_of =
            tx.prepare("INSERT INTO visit_officers (visit, officer) VALUES (?1, ?2)")?;
        for i in 0..VISITS {
            let id = format!("v{i:08}");
            let e = rng.below(ENTERPRISES);
            let by = officers[e % OFFICERS].id.to_string();
            visit.execute(params![
                id,
                enterprises[e].to_string(),
                now.0 - rng.below(365) as i64 * DAY_MS,
                by
            ])?;
            officer_of.execute(params![id, by])?;
        }
    }

    // Problems with their handling units, workflow events, progress and ratings.
    let categories: Vec<String> = Config::default()
        .categories
        .iter()
        .map(|c| c.code.clone())
        .collect();
    let mut doc_ids = Vec::with_capacity(a.problems);
    {
        let mut problem = tx.prepare(
            "INSERT INTO problems (id, enterprise, visit, source, category, class, tier, \
             set_tier, owner, leader, deadline, state, description, expectation, response, \
             rating, created_at, created_by, superseded_events) VALUES \
             (?1, ?2, NULL, ?3, ?4, 'b', ?5, ?5, ?6, NULL, ?7, ?8, '描述', '期望', ?9, ?10, \
             ?11, ?6, 0)",
        )?;
        let mut unit = tx.prepare("INSERT INTO problem_units (problem, unit) VALUES (?1, ?2)")?;
        let mut event = tx.prepare(
            "INSERT INTO problem_events (id, problem, action, \"by\", device, role, at, reason, \
             applied) VALUES (?1, ?2, ?3, ?4, 'd', 'officer', ?5, '', 1)",
        )?;
        let mut progress = tx.prepare(
            "INSERT INTO progress (id, problem, kind, text, \"by\", device, at) \
             VALUES (?1, ?2, 'progress', '进展', ?3, 'd', ?4)",
        )?;
        let mut rating = tx.prepare(
            "INSERT INTO ratings (problem, level, comment, \"by\", at) VALUES (?1, ?2, '', ?3, ?4)",
        )?;
        let sources = [
            "visit",
            "visit",
            "visit",
            "window",
            "hotline",
            "self_report",
        ];
        let tiers = [
            "department",
            "department",
            "department",
            "on_site",
            "city_leader",
        ];
        for _ in 0..a.problems {
            let id = ProblemId::from_random_bytes(rng.bytes()).to_string();
            let e = rng.below(ENTERPRISES);
            let owner = officers[e % OFFICERS].id.to_string();
            let created = now.0 - rng.below(365 * 24) as i64 * 3_600_000;
            let deadline = created + (3 + rng.below(25)) as i64 * DAY_MS;
            let steps = rng.below(PATH.len() + 1);
            let special = rng.below(20);
            let state = match special {
                0 => "returned",
                1 => "withdrawn",
                2 => "disputed",
                _ => REACHED[steps],
            };
            let rated = steps >= 6 && rng.below(3) > 0;
            let level = rated.then(|| 1 + rng.below(5) as i64);
            problem.execute(params![
                id,
                enterprises[e].to_string(),
                sources[rng.below(sources.len())],
                categories[rng.below(categories.len())],
                tiers[rng.below(tiers.len())],
                owner,
                deadline,
                state,
                if steps >= 5 { "已答复" } else { "" },
                level,
                created
            ])?;
            let first = rng.below(DEPARTMENTS);
            for k in 0..1 + usize::from(rng.below(4) == 0) {
                let d = departments[(first + k) % DEPARTMENTS];
                unit.execute(params![id, d.to_string()])?;
            }
            let mut at = created;
            for (k, action) in PATH.iter().take(steps).enumerate() {
                at += rng.below(4 * DAY_MS as usize) as i64;
                event.execute(params![format!("e{k}"), id, action, owner, at])?;
                if k % 3 == 2 {
                    progress.execute(params![format!("p{k}"), id, owner, at])?;
                }
            }
            if let Some(level) = level {
                rating.execute(params![id, level, owner, at])?;
            }
            doc_ids.push((format!("problem/{id}"), enterprises[e].to_string()));
        }
    }

    // Documents and their changes: what the change feed and device sync read, sized like
    // the issue's goal (the dashboard queries do not read them, but they share the file).
    {
        let mut doc = tx.prepare(
            "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at) \
             VALUES (?1, 'problem', ?2, ?3, x'00', x'00', ?4)",
        )?;
        let mut change = tx.prepare(
            "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
             VALUES (?1, ?2, 'actor', 'device', ?3, ?3)",
        )?;
        for (i, (d, e)) in doc_ids.iter().enumerate() {
            doc.execute(params![d, e, i as i64 + 1, now.0])?;
        }
        for i in 0..a.changes {
            let (d, _) = &doc_ids[i % doc_ids.len().max(1)];
            let mut hash = [0u8; 32];
            hash[..16].copy_from_slice(&rng.bytes());
            hash[16..].copy_from_slice(&rng.bytes());
            change.execute(params![d, &hash[..], now.0 - i as i64])?;
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'seq'",
            [doc_ids.len() as i64],
        )?;
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    Ok(District {
        zone,
        towns,
        departments,
        zone_leader,
        town_leader,
        handler,
    })
}

fn device_of(user: &User) -> Device {
    Device {
        id: DeviceId::from_random_bytes([1; 16]),
        user: user.id,
        name: "bench".into(),
        actor_id: "00".into(),
        registered_at: Timestamp(0),
        revoked_at: None,
        last_seen: Timestamp(0),
    }
}

/// One benchmarked query: runs once, answers how many rows it produced.
type Query<'a> = Box<dyn Fn(&SqliteStore) -> anyhow::Result<usize> + 'a>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let path =
        a.db.clone()
            .unwrap_or_else(|| dir.path().join("dashboard.db"));
    let now = Timestamp(1_795_000_000_000);
    let config = Config::default();

    let started = Instant::now();
    drop(SqliteStore::open(&path)?); // creates the file and applies every migration
    let district = {
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        fill(&mut conn, &a, now)?
    };
    let store = SqliteStore::open(&path)?;
    println!(
        "filled {} in {:.1} s: {} problems, {} changes, {} documents ({} MB)",
        path.display(),
        started.elapsed().as_secs_f64(),
        a.problems,
        store.change_count()?,
        store.doc_count()?,
        std::fs::metadata(&path)?.len() / 1_000_000
    );
    let _ = district.zone;
    let zone_leader: &'static User = Box::leak(Box::new(district.zone_leader.clone()));
    let town_leader: &'static User = Box::leak(Box::new(district.town_leader.clone()));
    let handler: &'static User = Box::leak(Box::new(district.handler.clone()));

    let year = (Timestamp(now.0 - 365 * DAY_MS), Timestamp(now.0 + DAY_MS));
    let quarter = Timestamp(now.0 - 90 * DAY_MS);
    let page = |f: ProblemFilter| ProblemFilter { limit: 50, ..f };
    let list = |user: &'static User, filter: ProblemFilter| -> Query<'_> {
        let config = &config;
        Box::new(move |s: &SqliteStore| {
            let access = access_for(s, user, &device_of(user), now)?;
            Ok(s.list_problems(&access.read, &filter, config, now)?
                .rows
                .len())
        })
    };
    let rules = shared::config::CheckInRules::default();
    let queries: Vec<(&str, Query<'_>)> = vec![
        (
            "kpis zone (year)",
            Box::new(|s: &SqliteStore| {
                Ok(s.kpis(Unit::Zone, year.0, year.1, now, &rules)?.problems as usize)
            }),
        ),
        (
            "kpis zone (quarter)",
            Box::new(|s: &SqliteStore| {
                Ok(s.kpis(Unit::Zone, quarter, year.1, now, &rules)?.problems as usize)
            }),
        ),
        (
            "kpis town (year)",
            Box::new(|s: &SqliteStore| {
                Ok(
                    s.kpis(Unit::Town(district.towns[0]), year.0, year.1, now, &rules)?
                        .problems as usize,
                )
            }),
        ),
        (
            "kpis department (year)",
            Box::new(|s: &SqliteStore| {
                Ok(s.kpis(
                    Unit::Department(district.departments[0]),
                    year.0,
                    year.1,
                    now,
                    &rules,
                )?
                .problems as usize)
            }),
        ),
        (
            "list zone: first page by deadline",
            list(zone_leader, page(ProblemFilter::default())),
        ),
        (
            "list zone: overdue by days overdue",
            list(
                zone_leader,
                page(ProblemFilter {
                    overdue: Some(true),
                    sort: ProblemSort::DaysOverdue,
                    desc: true,
                    ..Default::default()
                }),
            ),
        ),
        (
            "list zone: red flags",
            list(
                zone_leader,
                page(ProblemFilter {
                    flag: Some(Flag::Red),
                    ..Default::default()
                }),
            ),
        ),
        (
            "list zone: state+category+quarter, page 20",
            list(
                zone_leader,
                page(ProblemFilter {
                    states: vec![ProblemState::Assigned, ProblemState::InProgress],
                    category: config.categories.first().map(|c| c.code.clone()),
                    created_from: Some(quarter),
                    sort: ProblemSort::Created,
                    desc: true,
                    offset: 0,
                    ..Default::default()
                }),
            ),
        ),
        (
            "list zone: deep page (offset 50,000)",
            list(
                zone_leader,
                page(ProblemFilter {
                    offset: 50_000,
                    ..Default::default()
                }),
            ),
        ),
        (
            "list town leader: overdue",
            list(
                town_leader,
                page(ProblemFilter {
                    overdue: Some(true),
                    sort: ProblemSort::DaysOverdue,
                    desc: true,
                    ..Default::default()
                }),
            ),
        ),
        (
            "list town leader: by deadline",
            list(town_leader, page(ProblemFilter::default())),
        ),
        (
            "handler inbox: open, by deadline",
            list(
                handler,
                page(ProblemFilter {
                    states: vec![ProblemState::Assigned, ProblemState::Accepted],
                    ..Default::default()
                }),
            ),
        ),
        (
            "freshness zone",
            Box::new(|s: &SqliteStore| Ok(s.officer_freshness(None)?.len())),
        ),
        (
            "freshness town",
            Box::new(|s: &SqliteStore| {
                let units: BTreeSet<OrgUnitId> = s.org_subtree(district.towns[0])?;
                Ok(s.officer_freshness(Some(&units))?.len())
            }),
        ),
    ];

    println!(
        "\n| query | rows | p50 ms | p95 ms | goal p95 < {} ms |",
        GOAL.as_millis()
    );
    println!("|---|---:|---:|---:|---|");
    let mut worst = Duration::ZERO;
    for (name, q) in &queries {
        let rows = q(&store)?; // warm-up
        let mut times = Vec::with_capacity(a.runs);
        for _ in 0..a.runs {
            let t = Instant::now();
            q(&store)?;
            times.push(t.elapsed());
        }
        times.sort();
        let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
        worst = worst.max(p95);
        println!(
            "| {name} | {rows} | {:.1} | {:.1} | {} |",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            if p95 < GOAL { "met" } else { "MISSED" }
        );
    }
    println!(
        "\nworst p95: {:.1} ms ({})",
        worst.as_secs_f64() * 1e3,
        if worst < GOAL {
            "goal met"
        } else {
            "goal missed"
        }
    );
    Ok(())
}
