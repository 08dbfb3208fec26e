//! The leaders' answers alike on both backends (issue 16 item 2): the demo district committed
//! through the engine to SQLite and to PostgreSQL (in a database whose collation is Chinese,
//! as a province's may be, so text sorts by pinyin there unless a query says otherwise), then
//! the breakdowns, officer freshness, an enterprise's timeline, history verdicts and the
//! supervision list asked of both with the same questions must answer the same. What each answer means is checked
//! against the documents in the stores' own tests (`store/breakdown.rs`, `freshness.rs`,
//! `timeline.rs`); here, that the two backends never tell a leader different things.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

use shared::config::Config;
use shared::doc::{NewVisit, VisitDoc};
use shared::model::{
    DAY_MS, EnterpriseId, OperatingStatus, OrgUnitKind, Role, Timestamp, VisitId, VisitMethod,
};
use shared::sync::protocol::DocId;
use shared::sync::server::Commit;
use shared::sync::validate::Scope;

use super::query_tables::{NOW, ask, first_town};
use super::{Backend, Store, doc_commit, doc_id, enterprise, officer};
use crate::api::{Breakdown, BreakdownQuery, SupervisionFilter, Unit};
use crate::demo::DemoDistrict;
use crate::store::Device;

/// SQLite and PostgreSQL, each holding the demo district; and the district.
async fn both_seeded() -> (Backend, Backend, DemoDistrict) {
    let (sqlite, postgres) = (super::sqlite().await, super::postgres_chinese().await);
    tokio::task::spawn_blocking(move || {
        let district = sqlite.seed_demo();
        postgres.seed_demo();
        (sqlite, postgres, district)
    })
    .await
    .expect("seeded")
}

/// Runs `check` on a blocking thread (the stores' calls block); its panic is the test's.
async fn on_both(
    (sqlite, postgres, district): (Backend, Backend, DemoDistrict),
    check: fn(&Backend, &Backend, &DemoDistrict),
) {
    let outcome = tokio::task::spawn_blocking(move || check(&sqlite, &postgres, &district)).await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the check's thread: {e}"),
        }
    }
}

/// Asks both backends the same; their answers must be equal. SQLite's answer.
fn same<T: PartialEq + Debug>(
    what: &str,
    sqlite: &Backend,
    postgres: &Backend,
    question: impl for<'q> Fn(&'q dyn crate::db::Queries) -> crate::db::DbFuture<'q, T>,
) -> T {
    let (lite, pg) = (ask(sqlite, &question), ask(postgres, &question));
    assert_eq!(
        lite, pg,
        "{what}: SQLite (left) and PostgreSQL (right) differ"
    );
    lite
}

/// Adds `device` to the backend's directory.
fn add_device(b: &Backend, device: &Device) {
    match b {
        Backend::Sqlite { db, .. } => db.lock_writer().add_device(device),
        Backend::Postgres { db, runtime, .. } => runtime.block_on(db.add_device(device)),
    }
    .expect("device added");
}

/// Commits `commit` to the backend through its sync store.
fn commit(b: &Backend, commit: &Commit) {
    let mut store = b.store();
    store.commit(commit).expect("committed");
}

/// Records what `device` reported unsent, as the sync driver does.
fn record_unsent(b: &Backend, device: &str, unsent: Option<u32>, at: Timestamp) {
    match b.store() {
        Store::Sqlite(db) => db.lock_writer().record_unsent(device, unsent, at),
        Store::Postgres(mut pg) => pg.record_unsent(device, unsent, at),
    }
    .expect("recorded");
}

fn the_breakdowns_answer_alike(sqlite: &Backend, postgres: &Backend, d: &DemoDistrict) {
    let config = Arc::new(Config::default());
    let town = first_town(d);
    let department = d
        .org_units
        .iter()
        .find(|o| o.kind == OrgUnitKind::Department)
        .expect("a department")
        .id;
    let mut counted = 0;
    for (from, to) in [
        (Timestamp(NOW.0 - 100 * DAY_MS), NOW),
        (Timestamp(NOW.0 - 30 * DAY_MS), NOW),
        (
            Timestamp(NOW.0 - 400 * DAY_MS),
            Timestamp(NOW.0 - 45 * DAY_MS),
        ),
    ] {
        for unit in [Unit::Zone, Unit::Town(town), Unit::Department(department)] {
            for by in [
                Breakdown::Category,
                Breakdown::Tier,
                Breakdown::Town,
                Breakdown::Department,
                Breakdown::Month,
            ] {
                // Beijing's months and a zone far west of UTC: a problem near a month's
                // edge falls in another month.
                for utc_offset_minutes in [480, -600] {
                    let query = BreakdownQuery {
                        unit,
                        by,
                        from,
                        to,
                        utc_offset_minutes,
                    };
                    let rows = same(&format!("{query:?}"), sqlite, postgres, |q| {
                        q.breakdown(query, NOW, config.clone())
                    });
                    counted += rows.iter().map(|r| r.problems).sum::<u64>();
                }
            }
        }
    }
    assert!(counted > 100, "the questions counted {counted} problems");
}

fn officer_freshness_answers_alike(sqlite: &Backend, postgres: &Backend, d: &DemoDistrict) {
    let officers: Vec<_> = d
        .users
        .iter()
        .filter(|u| u.user.role == Role::Officer)
        .map(|u| u.user.clone())
        .collect();
    let (wang, li) = (&officers[0], &officers[1]);
    // Wang has a phone (synced half an hour ago, its clock five minutes slow, three changes
    // unsent) and a tablet on an old app (never synced); Li a revoked phone.
    let device = |n: u8, user: &shared::model::User, revoked: bool, seen_hours: i64| Device {
        id: officer(n).0.device,
        user: user.id,
        name: format!("设备{n}"),
        actor_id: officer(n).1.to_hex_string(),
        registered_at: Timestamp(NOW.0 - 30 * DAY_MS),
        revoked_at: revoked.then_some(Timestamp(NOW.0 - DAY_MS)),
        last_seen: Timestamp(NOW.0 - seen_hours * 3_600_000),
    };
    let devices = [
        device(11, wang, false, 1),
        device(12, wang, false, 2),
        device(13, li, true, 3),
    ];
    let synced = Commit {
        device: devices[0].id,
        received_at: Timestamp(NOW.0 - 1_800_000),
        device_time: Timestamp(NOW.0 - 2_100_000),
        docs: Vec::new(),
        sla: Default::default(),
        clock: Default::default(),
    };
    for b in [sqlite, postgres] {
        for device in &devices {
            add_device(b, device);
        }
        commit(b, &synced);
        record_unsent(b, &devices[0].id.to_string(), Some(3), synced.received_at);
        record_unsent(b, &devices[1].id.to_string(), None, synced.received_at);
    }

    let everyone = same("every officer", sqlite, postgres, |q| {
        q.officer_freshness(None)
    });
    assert_eq!(everyone.len(), officers.len(), "one row per officer");
    let row = everyone
        .iter()
        .find(|o| o.user == wang.id.to_string())
        .expect("Wang's row");
    assert_eq!(
        (
            row.devices,
            row.unsent,
            row.unsent_unknown,
            row.clock_skew_ms
        ),
        (2, Some(3), 1, Some(300_000)),
        "{row:?}"
    );
    let units: BTreeSet<_> = [wang.org_unit].into();
    let town = same("the officers of Wang's unit", sqlite, postgres, |q| {
        q.officer_freshness(Some(units.clone()))
    });
    assert!(!town.is_empty() && town.len() < everyone.len());
    same("no unit", sqlite, postgres, |q| {
        q.officer_freshness(Some(BTreeSet::new()))
    });
}

/// The enterprise whose timeline is longest: the one with the most problems, events,
/// progress entries and visits (read from the query tables: every backend holds the same).
fn busiest_enterprise(b: &Backend) -> EnterpriseId {
    let rows = b.rows(
        "SELECT p.enterprise, COUNT(*) FROM problems p \
         JOIN problem_events e ON e.problem = p.id GROUP BY p.enterprise",
    );
    let mut count: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows {
        count.insert(r.text(0).expect("an id"), r.int(1).expect("a count"));
    }
    let (id, _) = count
        .iter()
        .max_by_key(|(id, n)| (**n, std::cmp::Reverse((*id).clone())))
        .expect("problems with events");
    EnterpriseId::parse(id).expect("an enterprise id")
}

fn an_enterprise_timeline_answers_alike(sqlite: &Backend, postgres: &Backend, _: &DemoDistrict) {
    let enterprise = busiest_enterprise(sqlite);
    let everything = same("the whole timeline", sqlite, postgres, |q| {
        q.timeline(enterprise, Scope::All)
    })
    .expect("a timeline");
    assert!(
        everything.entries.len() > 10 && everything.problems.len() > 1,
        "a long timeline: {} entries, {} problems",
        everything.entries.len(),
        everything.problems.len()
    );
    same("as far as its own scope reaches", sqlite, postgres, |q| {
        q.timeline(enterprise, Scope::Enterprises([enterprise].into()))
    });
    // A grant of one of its problems: that problem's entries only, no profile.
    let granted = DocId::new(shared::doc::DocKind::Problem, &everything.problems[0].id);
    let one = same("one granted problem", sqlite, postgres, |q| {
        q.timeline(
            enterprise,
            Scope::Grants {
                enterprises: BTreeSet::new(),
                profiles: BTreeSet::new(),
                docs: [granted.clone()].into(),
            },
        )
    })
    .expect("the granted problem's timeline");
    assert!(one.profile.is_none() && one.problems.len() == 1);
    assert_eq!(
        same("outside the scope", sqlite, postgres, |q| {
            q.timeline(enterprise, Scope::none())
        }),
        None
    );
}

/// A visit of enterprise `of` made by officer `n` on their own device.
fn visit_by(n: u8, of: u8) -> VisitDoc {
    let new = NewVisit {
        id: VisitId::from_random_bytes([9, n, of, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        enterprise: enterprise(of),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "电话回访".into(),
    };
    let (by, actor) = officer(n);
    VisitDoc::create(&new, &by, actor, NOW).expect("a valid new visit")
}

fn history_verdicts_answer_alike(sqlite: &Backend, postgres: &Backend, d: &DemoDistrict) {
    // Officer 21's device is registered with the actor its changes carry; officer 22's never
    // was: its changes break their record's history.
    let registered = Device {
        id: officer(21).0.device,
        user: d.users[0].user.id,
        name: "登记的手机".into(),
        actor_id: officer(21).1.to_hex_string(),
        registered_at: NOW,
        revoked_at: None,
        last_seen: NOW,
    };
    let (mut good, mut bad) = (visit_by(21, 1), visit_by(22, 2));
    let first = |visit: &mut VisitDoc, n: u8, base| Commit {
        device: officer(n).0.device,
        received_at: NOW,
        device_time: NOW,
        docs: vec![doc_commit(visit.record(), base)],
        sla: Default::default(),
        clock: Default::default(),
    };
    let commits = [first(&mut good, 21, None), first(&mut bad, 22, None)];
    // Each edited once more by its own officer: an intact history stays intact at the heads
    // it was judged at, a broken one stays broken.
    let later = Timestamp(NOW.0 + 60_000);
    let again = |visit: &mut VisitDoc, n: u8, judged: &Commit| {
        visit
            .edit(&officer(n).0, later, |e| e.set_notes("再次回访"))
            .expect("edited");
        Commit {
            received_at: later,
            device_time: later,
            ..first(visit, n, Some(judged.docs[0].heads.clone()))
        }
    };
    let edits = [
        again(&mut good, 21, &commits[0]),
        again(&mut bad, 22, &commits[1]),
    ];
    for b in [sqlite, postgres] {
        add_device(b, &registered);
        for c in commits.iter().chain(&edits) {
            commit(b, c);
        }
    }

    let verdict = |doc: DocId| {
        let what = doc.to_string();
        same(&what, sqlite, postgres, move |q| {
            q.history_verdict(doc.clone())
        })
    };
    let (_, intact) = verdict(doc_id(good.record())).expect("a verdict");
    assert_eq!(intact.intact, Some(true), "{intact:?}");
    let (_, broken) = verdict(doc_id(bad.record())).expect("a verdict");
    assert_eq!(broken.intact, Some(false), "{broken:?}");
    assert!(
        broken
            .broken
            .as_deref()
            .is_some_and(|why| why.contains("never registered")),
        "{broken:?}"
    );
    // The demo's records were committed before its people's devices were registered (as
    // `seed_demo` does): each judged, alike on both.
    for (demo, _) in d.documents.iter().step_by(25) {
        let (_, judged) = verdict(demo.clone()).expect("a verdict");
        assert!(judged.intact.is_some(), "{}: {judged:?}", demo.as_str());
    }
    assert_eq!(
        verdict(doc_id(visit_by(23, 3).record())),
        None,
        "not stored"
    );
}

/// Supervision rows (督办, the `progress` rows a supervised problem's projection writes) on
/// twelve of the demo's problems: to a person or a unit, due before, after or never, some
/// acknowledged, some given at one time or due at one time (ties), one by someone the
/// directory does not know.
fn seed_supervision(b: &Backend, d: &DemoDistrict, problems: &[String]) {
    let leader = d
        .users
        .iter()
        .find(|u| u.user.role == Role::Leader)
        .expect("a leader");
    let officer = d
        .users
        .iter()
        .find(|u| u.user.role == Role::Officer)
        .expect("an officer");
    let department = d
        .org_units
        .iter()
        .find(|o| o.kind == OrgUnitKind::Department)
        .expect("a department");
    for (i, problem) in problems.iter().enumerate() {
        let i = i as i64;
        let by = if i == 5 {
            "nobody".to_string()
        } else {
            leader.user.id.to_string()
        };
        let text = |v: Option<String>| v.map_or_else(|| "NULL".into(), |v| format!("'{v}'"));
        let number = |v: Option<i64>| v.map_or_else(|| "NULL".into(), |v| v.to_string());
        let (to_person, to_unit) = if i % 2 == 0 {
            (Some(officer.user.id.to_string()), None)
        } else {
            (None, Some(department.id.to_string()))
        };
        let due = match i % 4 {
            0 => None,
            1 => Some(NOW.0 - DAY_MS),
            _ => Some(NOW.0 + 2 * DAY_MS),
        };
        let acked = i % 3 == 0;
        b.execute(&format!(
            "INSERT INTO progress (id, problem, kind, text, \"by\", device, at, to_person, \
             to_unit, due, acked_by, acked_at) VALUES ('sup-{case}{i:02}', '{problem}', \
             'supervision', '督办{i}', '{by}', 'dev', {at}, {to_person}, {to_unit}, {due}, \
             {acked_by}, {acked_at})",
            // Ties (6 and 7: one due time, one time given) are told apart by id, whose
            // case orders them otherwise in a Chinese collation than byte by byte.
            case = if i % 2 == 0 { 'B' } else { 'a' },
            at = NOW.0 - (i / 3) * 3_600_000,
            to_person = text(to_person),
            to_unit = text(to_unit),
            due = number(due),
            acked_by = text(acked.then(|| officer.user.id.to_string())),
            acked_at = number(acked.then_some(NOW.0 - 60_000)),
        ));
    }
}

fn the_supervision_list_answers_alike(sqlite: &Backend, postgres: &Backend, d: &DemoDistrict) {
    // Twelve problems, chosen on SQLite (PostgreSQL's collation orders text otherwise).
    let problems: Vec<String> = sqlite
        .rows("SELECT id FROM problems ORDER BY id LIMIT 12")
        .iter()
        .map(|r| r.text(0).expect("an id"))
        .collect();
    for b in [sqlite, postgres] {
        seed_supervision(b, d, &problems);
    }
    let officer = d
        .users
        .iter()
        .find(|u| u.user.role == Role::Officer)
        .expect("an officer");
    let department = d
        .org_units
        .iter()
        .find(|o| o.kind == OrgUnitKind::Department)
        .expect("a department");
    let all = SupervisionFilter {
        limit: 200,
        ..SupervisionFilter::default()
    };
    let list = |what: &str, scope: Scope, filter: SupervisionFilter| {
        same(what, sqlite, postgres, move |q| {
            q.supervision(scope.clone(), filter.clone(), NOW)
        })
    };
    let open = list("the open instructions", Scope::All, all.clone());
    assert!(
        open.total > 3 && open.rows.iter().any(|r| r.by.name.is_empty()),
        "{open:?}"
    );
    let every = list(
        "every state",
        Scope::All,
        SupervisionFilter {
            states: shared::supervision::SupervisionState::ALL.to_vec(),
            ..all.clone()
        },
    );
    assert_eq!(every.total, 12, "{every:?}");
    for state in shared::supervision::SupervisionState::ALL {
        list(
            state.code(),
            Scope::All,
            SupervisionFilter {
                states: vec![*state],
                ..all.clone()
            },
        );
    }
    list(
        "to a person",
        Scope::All,
        SupervisionFilter {
            to_person: Some(officer.user.id),
            ..all.clone()
        },
    );
    list(
        "to a unit",
        Scope::All,
        SupervisionFilter {
            to_unit: Some(department.id),
            ..all.clone()
        },
    );
    list(
        "in a town",
        Scope::All,
        SupervisionFilter {
            town: Some(first_town(d)),
            ..all.clone()
        },
    );
    let page = list(
        "a page",
        Scope::All,
        SupervisionFilter {
            limit: 3,
            offset: 2,
            ..all.clone()
        },
    );
    assert_eq!(page.rows.len(), 3);
    let enterprise = EnterpriseId::parse(&open.rows[0].enterprise.id).expect("an id");
    let own = list(
        "one enterprise's scope",
        Scope::Enterprises([enterprise].into()),
        all.clone(),
    );
    assert!(own.total >= 1 && own.total < open.total, "{own:?}");
    assert_eq!(list("no scope", Scope::none(), all).total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervision_list_answers_alike_on_both_backends() {
    on_both(both_seeded().await, the_supervision_list_answers_alike).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breakdowns_answer_alike_on_both_backends() {
    on_both(both_seeded().await, the_breakdowns_answer_alike).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_freshness_answers_alike_on_both_backends() {
    on_both(both_seeded().await, officer_freshness_answers_alike).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_timeline_answers_alike_on_both_backends() {
    on_both(both_seeded().await, an_enterprise_timeline_answers_alike).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_verdicts_answer_alike_on_both_backends() {
    on_both(both_seeded().await, history_verdicts_answer_alike).await;
}
