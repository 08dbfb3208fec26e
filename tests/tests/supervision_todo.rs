//! Supervision (督办) with an addressee, a due date and an acknowledgement, and the officer's
//! to-do (待办), through the real server's sync (a real SQLite file, real sockets) and its
//! JSON API (issue 15 items 2 and 3).

use server::AppState;
use shared::config::Config;
use shared::derive::initial_deadline;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{
    Addressee, EntryId, OrgUnitId, ProblemClass, ProblemId, ProblemSource, Rating, Role, Tier,
    Timestamp, User, UserId,
};
use shared::sync::protocol::{DocId, Refusal};
use shared::todo::{Officer, TodoCounts, officer_todo};
use shared::workflow::Action;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::district::{self, PASSWORD, enterprise};

const DAY: i64 = shared::model::DAY_MS;

struct World {
    server: TestServer,
    _dir: tempfile::TempDir,
    wang: User,
    d1: OrgUnitId,
}

/// An officer `wang` (enterprise 1, town-1), a leader `boss` of the zone, handlers `h1` of
/// department d1 and `h2` of d2.
async fn world() -> anyhow::Result<World> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let wang = district::officer(&service, "wang", [1]).await?;
    let d1 = service
        .with_store(|st| -> anyhow::Result<_> {
            let d1 = district::department(st, "d1")?;
            let d2 = district::department(st, "d2")?;
            let zone =
                district::org_unit(st, district::ZONE, shared::model::OrgUnitKind::Zone, None)?;
            district::user(st, "h1", Role::DepartmentHandler, d1)?;
            district::user(st, "h2", Role::DepartmentHandler, d2)?;
            district::user(st, "boss", Role::Leader, zone)?;
            Ok(d1)
        })
        .await
        .expect("the store thread ran")?;
    Ok(World {
        server,
        _dir: dir,
        wang,
        d1,
    })
}

/// A problem at enterprise 1 owned by `owner`, made on `by`'s device with `deadline` and, when
/// `unit` is given, triaged and handed to it; saved offline (numbered `n`).
fn raise(
    by: &mut NativeDevice,
    n: u64,
    owner: UserId,
    deadline: Timestamp,
    unit: Option<OrgUnitId>,
) -> anyhow::Result<DocId> {
    let config = Config::demo();
    let now = wall_clock();
    let id = ProblemId::from_random_bytes(id_bytes(90, n));
    let mut doc = ProblemDoc::create(
        &NewProblem {
            id,
            enterprise: enterprise(1),
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::B,
            tier: Tier::Department,
            owner,
            leader: None,
            deadline,
            description: format!("问题 {n}"),
            expectation: String::new(),
        },
        &config,
        &by.actor,
        by.actor_id.clone(),
        now,
    )?;
    if let Some(unit) = unit {
        let event = |k| EntryId::from_random_bytes(id_bytes(91, n * 10 + k));
        doc.act(&by.actor, now, event(1), Action::Triage, "")?;
        doc.act(&by.actor, now, event(2), Action::Assign { unit }, "")?;
    }
    let doc_id = DocId::new(DocKind::Problem, &id.to_string());
    by.add_record(doc_id.clone(), doc.into_record())?;
    Ok(doc_id)
}

fn entry(n: u64) -> EntryId {
    EntryId::from_random_bytes(id_bytes(92, n))
}

async fn get(
    device: &NativeDevice,
    base: &str,
    path: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(device.token.as_deref().unwrap_or_default())
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await?))
}

/// (entry id, state) of each row of a supervision page.
fn states(page: &serde_json::Value) -> Vec<(String, String)> {
    page["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap_or_default().to_string(),
                        r["state"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervision_instruction_is_addressed_acknowledged_by_its_addressee_and_listed_with_its_state()
-> anyhow::Result<()> {
    let w = world().await?;
    let base = w.server.url("");
    let now = wall_clock();
    let mut boss = NativeDevice::logged_in(1, &base, "boss", PASSWORD).await?;
    let problem = raise(&mut boss, 1, w.wang.id, now.plus_days(7), Some(w.d1))?;
    // One instruction to department d1, due in two days; one to Wang, already past due.
    boss.edit_problem(&problem, |doc, actor| {
        doc.edit(&Config::demo(), actor, wall_clock(), |e| {
            e.supervise(
                entry(1),
                "请两日内拿出方案",
                Addressee::Unit(w.d1),
                now.plus_days(2),
            )?;
            e.supervise(
                entry(2),
                "请包联干部当面回访",
                Addressee::Person(w.wang.id),
                Timestamp(now.0 - DAY),
            )
        })?;
        Ok(())
    })?;
    boss.sync().await?;
    assert!(
        boss.status().refused.is_empty(),
        "{:?}",
        boss.status().refused
    );

    let (status, page) = get(&boss, &base, "/api/supervision").await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        states(&page),
        vec![
            (entry(2).to_string(), "overdue".to_string()),
            (entry(1).to_string(), "issued".to_string()),
        ],
        "due first: {page}"
    );

    // Wang is not the addressee of d1's instruction: his acknowledgement is refused.
    let mut wang = NativeDevice::logged_in(2, &base, "wang", PASSWORD).await?;
    wang.sync().await?;
    wang.edit_problem(&problem, |doc, actor| {
        doc.edit(&Config::demo(), actor, wall_clock(), |e| {
            e.acknowledge_supervision(entry(1), entry(11))
        })?;
        Ok(())
    })?;
    wang.sync().await?;
    let refused = wang.status().refused;
    assert!(
        matches!(refused.first(), Some((_, Refusal::Forbidden(why))) if why.contains("acknowledge")),
        "{refused:?}"
    );

    // A handler of d1 acknowledges it.
    let mut h1 = NativeDevice::logged_in(3, &base, "h1", PASSWORD).await?;
    h1.sync().await?;
    h1.edit_problem(&problem, |doc, actor| {
        doc.edit(&Config::demo(), actor, wall_clock(), |e| {
            e.acknowledge_supervision(entry(1), entry(12))
        })?;
        Ok(())
    })?;
    h1.sync().await?;
    assert!(h1.status().refused.is_empty(), "{:?}", h1.status().refused);

    let (_, page) = get(&boss, &base, "/api/supervision").await?;
    assert_eq!(
        states(&page),
        vec![
            (entry(2).to_string(), "overdue".to_string()),
            (entry(1).to_string(), "acknowledged".to_string()),
        ]
    );
    let acknowledged = &page["rows"][1];
    assert_eq!(acknowledged["acknowledged_by"]["name"], "h1", "{page}");
    assert_eq!(acknowledged["to_unit"]["name"], "d1", "{page}");

    // Filters: by state and by addressee; an officer reads no lists.
    let (_, page) = get(&boss, &base, "/api/supervision?state=overdue").await?;
    assert_eq!(states(&page).len(), 1, "{page}");
    assert_eq!(page["total"], 1);
    let (_, page) = get(&boss, &base, &format!("/api/supervision?to_unit={}", w.d1)).await?;
    assert_eq!(
        states(&page),
        vec![(entry(1).to_string(), "acknowledged".to_string())]
    );
    let (status, _) = get(&wang, &base, "/api/supervision").await?;
    assert_eq!(status, 403);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officers_todo_on_the_phone_counts_the_same_as_the_servers() -> anyhow::Result<()> {
    let w = world().await?;
    let base = w.server.url("");
    let now = wall_clock();
    let mut wang = NativeDevice::logged_in(2, &base, "wang", PASSWORD).await?;
    let config = Config::demo();
    let me = Officer {
        user: w.wang.id,
        unit: w.wang.org_unit,
    };
    // Wang's own: one overdue, one due tomorrow, one far off, one resolved on the spot
    // (waiting for the enterprise), one rated badly after it (a revisit, and due again: its
    // on-site deadline is a day away).
    raise(&mut wang, 1, me.user, Timestamp(now.0 - DAY), None)?;
    raise(&mut wang, 2, me.user, now.plus_days(1), None)?;
    raise(
        &mut wang,
        3,
        me.user,
        initial_deadline(&config, Tier::Department, now),
        None,
    )?;
    wang.resolved_on_site(4, enterprise(1), me.user)?;
    let rated = wang.resolved_on_site(5, enterprise(1), me.user)?;
    assert!(wang.rate(&rated, Rating::Dissatisfied, "没解决")?);
    wang.sync().await?;
    // The leader raises one at Wang's enterprise (the leader's own), hands it to d1 and
    // supervises Wang on it.
    let mut boss = NativeDevice::logged_in(1, &base, "boss", PASSWORD).await?;
    let boss_user = boss.actor.user;
    let supervised = raise(&mut boss, 6, boss_user, now.plus_days(7), Some(w.d1))?;
    boss.edit_problem(&supervised, |doc, actor| {
        doc.edit(&config, actor, wall_clock(), |e| {
            e.supervise(
                entry(3),
                "请配合部门",
                Addressee::Person(me.user),
                now.plus_days(2),
            )
        })?;
        Ok(())
    })?;
    boss.sync().await?;
    wang.sync().await?;
    assert!(
        wang.status().refused.is_empty(),
        "{:?}",
        wang.status().refused
    );

    let phone = |wang: &NativeDevice| -> anyhow::Result<TodoCounts> {
        let items = officer_todo(
            me,
            &wang.problems()?,
            &[],
            &config,
            wall_clock(),
            config.due_soon_days(),
        );
        Ok(TodoCounts::of(&items, false))
    };
    let server = |body: &serde_json::Value| -> anyhow::Result<TodoCounts> {
        Ok(serde_json::from_value(body["counts"].clone())?)
    };
    let on_phone = phone(&wang)?;
    assert_eq!(
        (
            on_phone.overdue,
            on_phone.due_soon,
            on_phone.awaiting_confirmation,
            on_phone.revisits,
            on_phone.supervision
        ),
        (1, 2, 1, 1, 1),
        "one of each, and the reopened one is due again within a day: {on_phone:?}"
    );
    let (status, body) = get(&wang, &base, "/api/todo").await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server(&body)?, on_phone, "{body}");

    // Acknowledged on the phone and synced: both count no supervision.
    wang.edit_problem(&supervised, |doc, actor| {
        doc.edit(&config, actor, wall_clock(), |e| {
            e.acknowledge_supervision(entry(3), entry(13))
        })?;
        Ok(())
    })?;
    wang.sync().await?;
    assert!(
        wang.status().refused.is_empty(),
        "{:?}",
        wang.status().refused
    );
    let on_phone = phone(&wang)?;
    assert_eq!(on_phone.supervision, 0);
    let (_, body) = get(&wang, &base, "/api/todo").await?;
    assert_eq!(server(&body)?, on_phone, "{body}");
    Ok(())
}
