//! The query tables and what is read from them, on both backends (issue 16 items 2–3): the
//! demo district is committed through the sync store's commit path (`writer::commit_documents`,
//! the engine's `handle_sync` over the backend's `ServerStore`), its directory added, and then
//! the rows a commit projected and the answers of [`Queries`] — KPIs, the problem list, the
//! visit list — are checked against what the documents say. The rows themselves are compared
//! across the two backends: a PostgreSQL commit writes what SQLite's writes.

use std::collections::BTreeSet;
use std::sync::Arc;

use shared::config::{CheckInRules, Config};
use shared::derive::Derived;
use shared::doc::{DocKind, VisitDoc};
use shared::model::{DAY_MS, Flag, OrgUnitKind, Problem, Timestamp, Visit, VisitMethod};
use shared::sync::validate::Scope;
use tokio::runtime::Handle;

use super::{Backend, Store};
use crate::api::{MAX_PAGE, ProblemFilter, ProblemPage, ProblemSort, Unit, VisitFilter};
use crate::db::Queries;
use crate::demo::{self, DemoDistrict};
use crate::store::sql::Value;
use crate::store::test_support::{demo_kpis, demo_problems, note_text};
use crate::store::{NewUser, PasswordHash};

/// When the demo district is made and read.
pub(super) const NOW: Timestamp = Timestamp(1_795_000_000_000);

/// The query tables and their columns, in a fixed order (SQLite's and PostgreSQL's tables hold
/// their columns in different orders).
const TABLES: &[(&str, &str)] = &[
    (
        "enterprises",
        "id, credit_code, name, address, town, industry, size, key_enterprise, lat, lon",
    ),
    (
        "visits",
        "id, enterprise, method, operating_status, notes, device_time, created_by, \
         created_device, check_in_outcome, lat, lon, accuracy_m, confirmed, claimed_time, \
         distance_m, photos, signed_by, signed_at, signature",
    ),
    ("visit_officers", "visit, officer"),
    (
        "problems",
        "id, enterprise, visit, source, category, class, tier, set_tier, owner, leader, \
         deadline, state, description, expectation, response, rating, created_at, created_by, \
         superseded_events, claimed_created_at, clamped, rating_channel, look_back_owed",
    ),
    ("problem_units", "problem, unit"),
    (
        "progress",
        "id, problem, kind, text, \"by\", device, at, to_person, to_unit, due, acked_by, \
         acked_at",
    ),
    (
        "problem_events",
        "id, problem, action, \"by\", device, role, at, reason, applied, claimed_at, unit",
    ),
    ("ratings", "problem, level, comment, \"by\", at, claimed_at"),
    ("monitoring_power", "enterprise, day, kwh"),
    ("monitoring_prices", "enterprise, week, product, price"),
    (
        "monitoring_operation",
        "enterprise, month, output_value, revenue, employees",
    ),
    (
        "enterprise_positions",
        "enterprise, lat, lon, accuracy_m, source, visit",
    ),
    ("blob_refs", "hash, doc, enterprise"),
];

impl Backend {
    /// The demo district as of [`NOW`], its documents committed through this backend's sync
    /// store and its directory (org units, people, assignments) added.
    pub(super) fn seed_demo(&self) -> DemoDistrict {
        let config = Config::default();
        let mut district = demo::generate(NOW, &config).expect("the demo district");
        let mut store = self.store();
        let committed = match &mut store {
            Store::Sqlite(db) => crate::writer::commit_documents(
                &mut *db.lock_writer(),
                &mut district.documents,
                &config,
                NOW,
            ),
            Store::Postgres(pg) => {
                crate::writer::commit_documents(&mut **pg, &mut district.documents, &config, NOW)
            }
        };
        assert_eq!(
            committed.expect("committed"),
            district.documents.len(),
            "every document accepted"
        );
        // Parents before their children.
        let mut units = district.org_units.clone();
        units.sort_by_key(|u| match u.kind {
            OrgUnitKind::Zone => 0,
            OrgUnitKind::Town => 1,
            _ => 2,
        });
        let users: Vec<NewUser> = district
            .users
            .iter()
            .map(|u| NewUser {
                user: u.user.clone(),
                password_hash: PasswordHash("x".into()),
            })
            .collect();
        match self {
            Backend::Sqlite { db, .. } => {
                let mut s = db.lock_writer();
                for u in &units {
                    s.add_org_unit(&u.id.to_string(), u).expect("org unit");
                }
                for u in &users {
                    s.add_user(u, NOW).expect("user");
                }
                s.import_assignments(&district.assignments)
                    .expect("assignments");
            }
            Backend::Postgres { db, runtime, .. } => runtime.block_on(async {
                for u in &units {
                    db.add_org_unit(&u.id.to_string(), u)
                        .await
                        .expect("org unit");
                }
                for u in &users {
                    db.add_user(u, NOW).await.expect("user");
                }
                for a in &district.assignments {
                    db.set_assignment(a).await.expect("assignment");
                }
            }),
        }
        district
    }

    /// The backend's queries.
    fn queries(&self) -> Arc<dyn Queries> {
        match self {
            Backend::Sqlite { db, .. } => Arc::new(db.clone()),
            Backend::Postgres { db, .. } => Arc::new(db.clone()),
        }
    }

    /// Every row of every query table, one line each, sorted.
    fn query_rows(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (table, columns) in TABLES {
            for mut row in self.rows(&format!("SELECT {columns} FROM {table}")) {
                // A visit's notes as text: SQLite deflates long ones (`store/packed_text.rs`).
                if *table == "visits" {
                    let text = note_text(&row.0[4]).expect("a visit's notes");
                    row.0[4] = Value::Text(text);
                }
                let values: Vec<String> = row.0.iter().map(|v| format!("{v:?}")).collect();
                lines.push(format!("{table}|{}", values.join("|")));
            }
        }
        lines.sort();
        lines
    }
}

/// Runs `f` against the backend's queries on the current runtime.
pub(super) fn ask<T>(
    b: &Backend,
    f: impl for<'q> FnOnce(&'q dyn Queries) -> crate::db::DbFuture<'q, T>,
) -> T {
    let queries = b.queries();
    Handle::current()
        .block_on(f(&*queries))
        .expect("the query answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_commit_writes_the_query_rows_a_sqlite_commit_writes() {
    let (sqlite, postgres) = (super::sqlite().await, super::postgres().await);
    let dumps = tokio::task::spawn_blocking(move || {
        sqlite.seed_demo();
        postgres.seed_demo();
        (sqlite.query_rows(), postgres.query_rows())
    })
    .await
    .expect("seeded and read");
    let (lite, pg) = dumps;
    let empty: Vec<&str> = TABLES
        .iter()
        .map(|(table, _)| *table)
        .filter(|table| !lite.iter().any(|l| l.starts_with(&format!("{table}|"))))
        .collect();
    // The demo has no photos, prices or operation figures.
    assert_eq!(
        empty,
        ["monitoring_prices", "monitoring_operation", "blob_refs"],
        "the tables the demo leaves empty"
    );
    let only_lite: Vec<&String> = lite.iter().filter(|l| !pg.contains(l)).take(5).collect();
    let only_pg: Vec<&String> = pg.iter().filter(|l| !lite.contains(l)).take(5).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty() && lite.len() == pg.len(),
        "{} rows on SQLite, {} on PostgreSQL; only on SQLite: {only_lite:#?}; only on \
         PostgreSQL: {only_pg:#?}",
        lite.len(),
        pg.len()
    );
}

fn ids(page: &ProblemPage) -> BTreeSet<String> {
    page.rows.iter().map(|r| r.id.clone()).collect()
}

fn expect_ids<'a>(it: impl Iterator<Item = &'a (Problem, Derived)>) -> BTreeSet<String> {
    it.map(|(p, _)| p.id.to_string()).collect()
}

pub(super) fn first_town(d: &DemoDistrict) -> shared::model::OrgUnitId {
    d.org_units
        .iter()
        .find(|o| o.kind == OrgUnitKind::Town)
        .expect("a town")
        .id
}

fn the_problem_list_answers_what_the_documents_say(b: &Backend) {
    let district = b.seed_demo();
    let (problems, towns) = demo_problems(&district, NOW);
    let config = Arc::new(Config::default());
    let list = |scope: Scope, filter: ProblemFilter| {
        let config = config.clone();
        ask(b, move |q| q.problems(scope, filter, config, NOW))
    };
    let all = |filter: ProblemFilter| ProblemFilter {
        limit: MAX_PAGE,
        ..filter
    };

    let everything = list(Scope::All, all(ProblemFilter::default()));
    assert_eq!(everything.total as usize, problems.len());
    assert_eq!(everything.rows.len(), problems.len());
    for row in &everything.rows {
        let (p, d) = problems
            .iter()
            .find(|(p, _)| p.id.to_string() == row.id)
            .expect("a document behind every row");
        assert_eq!(row.state, d.outcome.state, "{}", row.id);
        assert_eq!(row.deadline, d.outcome.deadline.0, "{}", row.id);
        assert_eq!(row.overdue, d.overdue, "{}", row.id);
        assert_eq!(row.flag, d.flag, "{}", row.id);
        let units: BTreeSet<String> = p.handling_units.iter().map(|u| u.to_string()).collect();
        let got: BTreeSet<String> = row.handling_units.iter().map(|u| u.id.clone()).collect();
        assert_eq!(got, units, "{}", row.id);
        assert!(!row.enterprise_name.is_empty(), "{}", row.id);
        assert!(!row.owner_name.is_empty(), "{}", row.id);
    }
    for flag in [Flag::Black, Flag::Green, Flag::Red] {
        let want = expect_ids(problems.iter().filter(|(_, d)| d.flag == flag));
        assert!(!want.is_empty(), "the demo has {flag:?} flags");
        let page = list(
            Scope::All,
            all(ProblemFilter {
                flag: Some(flag),
                ..Default::default()
            }),
        );
        assert_eq!(ids(&page), want, "{flag:?}");
    }
    let town = first_town(&district);
    let page = list(
        Scope::All,
        all(ProblemFilter {
            town: Some(town),
            overdue: Some(true),
            ..Default::default()
        }),
    );
    let want = expect_ids(
        problems
            .iter()
            .filter(|(p, d)| d.overdue && towns.get(&p.enterprise) == Some(&town)),
    );
    assert!(!want.is_empty(), "the town has overdue problems");
    assert_eq!(ids(&page), want, "the town's overdue problems");

    // A scope of one enterprise keeps every other out.
    let (one, _) = &problems[0];
    let scoped = list(
        Scope::Enterprises([one.enterprise].into()),
        all(ProblemFilter::default()),
    );
    assert_eq!(
        ids(&scoped),
        expect_ids(
            problems
                .iter()
                .filter(|(p, _)| p.enterprise == one.enterprise)
        )
    );

    // Pages of 7 by deadline: in order, without gaps or repeats.
    let mut paged = Vec::new();
    for offset in (0..problems.len()).step_by(7) {
        let page = list(
            Scope::All,
            ProblemFilter {
                sort: ProblemSort::Deadline,
                limit: 7,
                offset: offset as u64,
                ..Default::default()
            },
        );
        paged.extend(page.rows.into_iter().map(|r| (r.deadline, r.id)));
    }
    let mut want: Vec<(i64, String)> = problems
        .iter()
        .map(|(p, d)| (d.outcome.deadline.0, p.id.to_string()))
        .collect();
    want.sort();
    assert_eq!(paged, want);
}

/// The demo's visits as their documents say.
fn demo_visits(d: &DemoDistrict) -> Vec<Visit> {
    d.documents
        .iter()
        .filter(|(id, _)| id.kind() == DocKind::Visit)
        .map(|(_, doc)| {
            VisitDoc::from_record(doc.clone())
                .expect("a visit")
                .read()
                .expect("reads")
        })
        .collect()
}

fn the_visit_list_answers_what_the_documents_say(b: &Backend) {
    let district = b.seed_demo();
    let visits = demo_visits(&district);
    let list = |filter: VisitFilter| {
        ask(b, move |q| {
            q.visits(
                Scope::All,
                VisitFilter {
                    limit: MAX_PAGE,
                    ..filter
                },
                CheckInRules::default(),
            )
        })
    };
    let ids = |page: &crate::api::VisitPage| -> BTreeSet<String> {
        page.rows.iter().map(|r| r.id.clone()).collect()
    };
    let want = |keep: &dyn Fn(&Visit) -> bool| -> BTreeSet<String> {
        visits
            .iter()
            .filter(|v| keep(v))
            .map(|v| v.id.to_string())
            .collect()
    };

    let everything = list(VisitFilter::default());
    assert_eq!(everything.total as usize, visits.len());
    assert!(
        everything.rows.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first"
    );
    for row in &everything.rows {
        let v = visits
            .iter()
            .find(|v| v.id.to_string() == row.id)
            .expect("a document behind every row");
        assert_eq!(row.at, v.created.at.0, "{}", row.id);
        assert_eq!(row.enterprise, v.enterprise.to_string());
        assert_eq!(row.method, v.method.code());
        let officers: BTreeSet<String> = v.officers.iter().map(|o| o.to_string()).collect();
        let got: BTreeSet<String> = row.officers.iter().map(|o| o.id.clone()).collect();
        assert_eq!(got, officers, "{}", row.id);
        assert!(row.officers.iter().all(|o| !o.name.is_empty()));
        assert!(!row.enterprise_name.is_empty());
        // A check-in farther than the radius, or none to measure, is outside on site.
        let outside = v.method == VisitMethod::OnSite && row.distance_m.is_none_or(|m| m > 500.0);
        assert_eq!(row.outside_radius, outside, "{}", row.id);
    }

    let v = &visits[0];
    assert_eq!(
        ids(&list(VisitFilter {
            enterprise: Some(v.enterprise),
            ..Default::default()
        })),
        want(&|x| x.enterprise == v.enterprise)
    );
    let officer = *v.officers.iter().next().expect("an officer");
    assert_eq!(
        ids(&list(VisitFilter {
            officer: Some(officer),
            ..Default::default()
        })),
        want(&|x| x.officers.contains(&officer))
    );
    let on_site = want(&|x| x.method == VisitMethod::OnSite);
    assert!(!on_site.is_empty() && on_site.len() < visits.len());
    assert_eq!(
        ids(&list(VisitFilter {
            method: Some(VisitMethod::OnSite),
            ..Default::default()
        })),
        on_site
    );
    let from = Timestamp(NOW.0 - 30 * DAY_MS);
    let recent = want(&|x| x.created.at >= from);
    assert!(!recent.is_empty() && recent.len() < visits.len());
    assert_eq!(
        ids(&list(VisitFilter {
            from: Some(from),
            ..Default::default()
        })),
        recent
    );
    let outside: BTreeSet<String> = everything
        .rows
        .iter()
        .filter(|r| r.outside_radius)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        ids(&list(VisitFilter {
            outside_radius: Some(true),
            ..Default::default()
        })),
        outside
    );
}

fn the_kpis_are_those_computed_from_the_documents(b: &Backend) {
    let district = b.seed_demo();
    let town = first_town(&district);
    for days in [90, 30] {
        let from = Timestamp(NOW.0 - days * DAY_MS);
        for (unit, of) in [(Unit::Zone, None), (Unit::Town(town), Some(town))] {
            let kpis = ask(b, move |q| {
                q.kpis(unit, from, NOW, NOW, CheckInRules::default())
            });
            assert_eq!(
                kpis,
                demo_kpis(&district, of, from, NOW, NOW),
                "{unit:?}, {days} days"
            );
        }
    }
    let zone = ask(b, |q| {
        q.kpis(
            Unit::Zone,
            Timestamp(NOW.0 - 90 * DAY_MS),
            NOW,
            NOW,
            CheckInRules::default(),
        )
    });
    assert!(
        zone.problems > 10 && zone.resolved > 0 && zone.overdue > 0 && zone.visits > 0,
        "{zone:?}"
    );
}

on_both_sync_stores!(
    the_problem_list_answers_what_the_documents_say,
    the_visit_list_answers_what_the_documents_say,
    the_kpis_are_those_computed_from_the_documents,
);
