//! Reminders (issue 15, item 4) through the real `lianxin-server` process and a webhook
//! receiver the test starts (a group robot's stand-in on 127.0.0.1): each reminder arrives
//! once; a restart sends nothing again; a receiver that answers 500 (or a robot's non-zero
//! `errcode`) or hangs gets the reminder once it recovers, and never holds up the server;
//! quiet hours hold reminders until they end. In-app reminders are listed to their person by
//! `GET /api/notifications` and marked seen by `POST /api/notifications/seen`.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use server::AppState;
use server::store::SqliteStore;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, NewProblem, ProblemDoc, RecordDoc};
use shared::model::{
    Actor, DAY_MS, DeviceId, EntryId, OrgUnitKind, ProblemClass, ProblemId, ProblemSource, Rating,
    RatingChannel, Role, Tier, Timestamp, User,
};
use shared::sync::protocol::DocId;
use shared::workflow::Action;
use tests::TestServer;
use tests::device::{id_bytes, wall_clock};
use tests::district::{self, PASSWORD, enterprise};
use tests::process::ServerProcess;
use tests::raw::{RawSession, commit_as_server, doc_id};
use tests::robot::{Answer, Robot};

const HOUR: i64 = 3_600_000;

/// Officer wang (enterprise 1), handler h1 of department d1, leader boss.
struct People {
    wang: User,
    h1: User,
    boss: User,
    d1: shared::model::OrgUnitId,
}

fn people(store: &mut SqliteStore) -> anyhow::Result<People> {
    let wang = district::officer_in(store, "wang", [1])?;
    let d1 = district::department(store, "d1")?;
    let zone = district::org_unit(store, district::ZONE, OrgUnitKind::Zone, None)?;
    let h1 = district::user(store, "h1", Role::DepartmentHandler, d1)?;
    let boss = district::user(store, "boss", Role::Leader, zone)?;
    Ok(People { wang, h1, boss, d1 })
}

fn actor(user: &User) -> Actor {
    Actor {
        user: user.id,
        device: DeviceId::from_random_bytes([0x77; 16]),
        role: user.role,
    }
}

/// A problem of wang's at enterprise 1 created at `at`, whose description is `marker`.
fn problem(
    p: &People,
    n: u64,
    tier: Tier,
    marker: &str,
    at: Timestamp,
) -> anyhow::Result<(DocId, ProblemDoc)> {
    let id = ProblemId::from_random_bytes(id_bytes(120, n));
    let doc = ProblemDoc::create(
        &NewProblem {
            id,
            enterprise: enterprise(1),
            visit: None,
            source: ProblemSource::Visit,
            category: "power".into(),
            class: ProblemClass::B,
            tier,
            owner: p.wang.id,
            leader: None,
            deadline: at.plus_days(7),
            description: marker.into(),
            expectation: "尽快解决".into(),
        },
        &Config::default(),
        &actor(&p.wang),
        ActorId::from(id_bytes(121, n)),
        at,
    )?;
    Ok((doc_id(DocKind::Problem, id), doc))
}

fn event(n: u64, k: u64) -> EntryId {
    EntryId::from_random_bytes(id_bytes(122, n * 10 + k))
}

/// Stores `docs` as the server does its own records, received at `at`.
fn commit(db: &Path, docs: Vec<(DocId, ProblemDoc)>, at: Timestamp) -> anyhow::Result<()> {
    let mut store = SqliteStore::open(db)?;
    let records = docs
        .into_iter()
        .map(|(id, d)| (id, d.into_record()))
        .collect::<Vec<(DocId, RecordDoc)>>();
    commit_as_server(&mut store, records, at)
}

/// 交办 to d1 now.
fn handed_out(p: &People, n: u64, marker: &str) -> anyhow::Result<(DocId, ProblemDoc)> {
    let now = wall_clock();
    let (id, mut doc) = problem(p, n, Tier::Department, marker, Timestamp(now.0 - HOUR))?;
    let boss = actor(&p.boss);
    doc.act(&boss, now, event(n, 1), Action::Triage, "")?;
    doc.act(&boss, now, event(n, 2), Action::Assign { unit: p.d1 }, "")?;
    Ok((id, doc))
}

/// A district with every kind of reminder due: the reminders it owes, as (name, marker).
fn district_with_every_kind(db: &Path) -> anyhow::Result<(People, Vec<(String, String)>)> {
    let p = people(&mut SqliteStore::open(db)?)?;
    let config = Config::default();
    let now = wall_clock();
    let mut due = Vec::new();
    let mut expect = |who: &User, marker: &str| due.push((who.name.clone(), marker.to_string()));

    let hand_out = handed_out(&p, 1, "甲：新交办的用电问题")?;
    expect(&p.h1, "甲：新交办的用电问题");

    // Created eight days ago at the department tier (7 days): overdue, for wang and boss.
    let eight_days = Timestamp(now.0 - 8 * DAY_MS);
    let (overdue_id, mut overdue) = problem(&p, 2, Tier::Department, "乙：超期的问题", eight_days)?;
    overdue.edit(&config, &actor(&p.wang), eight_days, |e| {
        e.set_leader(Some(p.boss.id))
    })?;
    expect(&p.wang, "乙：超期的问题");
    expect(&p.boss, "乙：超期的问题");

    // Signed off 31 days ago: the look-back (30 days) is due.
    let month = Timestamp(now.0 - 31 * DAY_MS);
    let (look_id, mut look) = problem(&p, 3, Tier::OnSite, "丙：该回头看了", month)?;
    look.edit(&config, &actor(&p.wang), month, |e| {
        e.set_response("已解决")
    })?;
    for (k, action) in [
        (1, Action::ResolveOnSite),
        (2, Action::Confirm),
        (3, Action::SignOff { waiver: false }),
    ] {
        look.act(&actor(&p.wang), month, event(3, k), action, "")?;
    }
    expect(&p.wang, "丙：该回头看了");

    // Supervised by boss now (still with wang: nobody handed it out).
    let (sup_id, mut sup) = problem(&p, 4, Tier::Department, "丁：被督办的问题", now)?;
    sup.edit(&config, &actor(&p.boss), now, |e| {
        e.add_supervision(event(4, 1), "请三日内办结")
    })?;
    expect(&p.wang, "丁：被督办的问题");

    // Resolved on the spot now and rated badly: reopened for a revisit, and its one-day
    // deadline (on the spot) is now within a day.
    let (bad_id, mut bad) = problem(&p, 5, Tier::OnSite, "戊：差评的问题", now)?;
    bad.edit(&config, &actor(&p.wang), now, |e| e.set_response("已处理"))?;
    bad.act(&actor(&p.wang), now, event(5, 1), Action::ResolveOnSite, "")?;
    let reopened = bad.rate(
        &config,
        &actor(&p.wang),
        now,
        event(5, 2),
        Rating::VeryDissatisfied,
        "没解决",
        RatingChannel::OfficerSigned,
    )?;
    assert!(reopened, "the bad rating reopens the problem");
    expect(&p.wang, "戊：差评的问题");
    expect(&p.wang, "戊：差评的问题");

    commit(db, vec![(overdue_id, overdue)], eight_days)?;
    commit(db, vec![(look_id, look)], month)?;
    commit(db, vec![hand_out, (sup_id, sup), (bad_id, bad)], now)?;
    Ok((p, due))
}

/// The district file: the webhook at `url` (1 s per attempt, retries from 1 s) and `extra`.
fn district_file(dir: &Path, url: &str, extra: &str) -> anyhow::Result<PathBuf> {
    district_file_timed(dir, url, extra, 1)
}

/// [`district_file`] with `timeout` seconds per attempt.
fn district_file_timed(
    dir: &Path,
    url: &str,
    extra: &str,
    timeout: u32,
) -> anyhow::Result<PathBuf> {
    let path = dir.join("district.toml");
    std::fs::write(
        &path,
        format!(
            "hotline = \"0391-12345\"\n[reminders]\nchannels = [\"webhook\"]\n\
             retry_first_seconds = 1\nretry_max_seconds = 2\nutc_offset_hours = 0\n{extra}\n\
             [reminders.webhook]\nurl = \"{url}\"\ntimeout_seconds = {timeout}\n"
        ),
    )?;
    Ok(path)
}

/// Who each message names and which problem, sorted.
fn named(messages: &[String], due: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let (name, marker) = due
                .iter()
                .find(|(n, k)| m.starts_with(&format!("【连心提醒】{n}")) && m.contains(k.as_str()))
                .cloned()
                .unwrap_or_else(|| ("?".into(), m.clone()));
            (name, marker)
        })
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reminder_arrives_once_and_a_restart_sends_none_again() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let (p, mut due) = district_with_every_kind(&db)?;
    let (robot, url) = Robot::start(0, 0).await?;
    let config = district_file(dir.path(), &url, "")?;

    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;
    let got = robot.wait_for(due.len()).await?;
    assert_eq!(named(&got, &due), sorted(due.clone()), "{got:#?}");
    assert!(
        got.iter().any(|m| m.contains("督办：请三日内办结")),
        "the instruction is quoted: {got:#?}"
    );
    assert!(
        got.iter()
            .all(|m| m.contains("办理期限") || m.contains("回头看") || m.contains("差评")),
        "{got:#?}"
    );
    // Later scans (a minute apart, and one after each commit) find nothing new either.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(robot.acknowledged().len(), due.len());
    server.kill9()?;

    // Handed out while the server was down: after the restart, only that one is sent.
    commit(
        &db,
        vec![handed_out(&p, 6, "己：重启期间交办")?],
        wall_clock(),
    )?;
    due.push((p.h1.name.clone(), "己：重启期间交办".into()));
    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;
    let got = robot.wait_for(due.len()).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got_later = robot.acknowledged();
    assert_eq!(got_later, got, "nothing more arrived");
    assert_eq!(named(&got, &due), sorted(due.clone()), "{got:#?}");
    drop(server);

    let store = SqliteStore::open(&db)?;
    let rows = store.reminder_rows()?;
    assert_eq!(rows.len(), due.len());
    assert!(
        rows.iter()
            .all(|r| r.channel == "webhook" && r.attempts == 1 && r.delivered_at.is_some()),
        "{rows:#?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_at_first_gets_the_reminder_once_it_recovers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let p = people(&mut SqliteStore::open(&db)?)?;
    commit(&db, vec![handed_out(&p, 1, "甲：交办")?], wall_clock())?;
    // 500, then a robot's refusal (200 with errcode 93000), then 500 again, then success.
    let (robot, url) = Robot::start(3, 0).await?;
    let config = district_file(dir.path(), &url, "")?;

    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;
    let got = robot.wait_for(1).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(robot.acknowledged(), got, "acknowledged once");
    assert_eq!(robot.answered(Answer::Failed).len(), 3);
    assert!(
        got[0].starts_with("【连心提醒】h1（d1）：新交办问题「电力能源：甲：交办」"),
        "{got:?}"
    );
    drop(server);

    let rows = SqliteStore::open(&db)?.reminder_rows()?;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attempts, 4,
        "three failed attempts and the one that got through"
    );
    assert!(rows[0].delivered_at.is_some());
    assert_eq!(rows[0].last_error, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_is_timed_out_retried_and_holds_up_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let p = people(&mut SqliteStore::open(&db)?)?;
    commit(
        &db,
        vec![
            handed_out(&p, 1, "甲：交办")?,
            handed_out(&p, 2, "乙：交办")?,
        ],
        wall_clock(),
    )?;
    let (robot, url) = Robot::start(0, 1).await?;
    // Five seconds per attempt: the robot hangs for a minute.
    let config = district_file_timed(dir.path(), &url, "", 5)?;

    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;
    let until = Instant::now() + Duration::from_secs(20);
    while robot.answered(Answer::Hung).is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // While the first request hangs, well within its five seconds, the other message goes
    // through and the server answers.
    let hung_at = Instant::now();
    let other = robot.wait_for(1).await?;
    assert!(
        hung_at.elapsed() < Duration::from_secs(3),
        "the other message waited {:?} for the hung one",
        hung_at.elapsed()
    );
    assert_eq!(other.len(), 1);
    let asked = Instant::now();
    let health = reqwest::get(format!("{}/healthz", server.url())).await?;
    assert_eq!(health.status(), 200);
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "{:?}",
        asked.elapsed()
    );
    let got = robot.wait_for(2).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(robot.acknowledged(), got, "each acknowledged once");
    let hung = robot.answered(Answer::Hung);
    assert_eq!(hung.len(), 1);
    assert!(got.contains(&hung[0]), "the hung message was sent again");
    drop(server);

    let rows = SqliteStore::open(&db)?.reminder_rows()?;
    let attempts: Vec<u32> = rows.iter().map(|r| r.attempts).collect();
    let mut sorted_attempts = attempts.clone();
    sorted_attempts.sort();
    assert_eq!(sorted_attempts, vec![1, 2], "{rows:#?}");
    Ok(())
}

/// `HH:MM` (UTC) `minutes` from now.
fn clock_in(minutes: i64) -> String {
    let m = (wall_clock().0 / 60_000 + minutes).rem_euclid(24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_reminders_until_they_end() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let p = people(&mut SqliteStore::open(&db)?)?;
    commit(&db, vec![handed_out(&p, 1, "甲：交办")?], wall_clock())?;
    let (robot, url) = Robot::start(0, 0).await?;

    let quiet = format!(
        "quiet_hours = {{ from = \"{}\", to = \"{}\" }}",
        clock_in(-60),
        clock_in(60)
    );
    let config = district_file(dir.path(), &url, &quiet)?;
    let server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        robot.seen.load(Ordering::SeqCst),
        0,
        "nothing sent in quiet hours"
    );
    server.kill9()?;
    let rows = SqliteStore::open(&db)?.reminder_rows()?;
    assert_eq!(rows.len(), 1, "recorded, held");
    assert_eq!((rows[0].attempts, rows[0].delivered_at), (0, None));

    // The same reminder goes once the quiet hours are over (here: moved to later).
    let later = format!(
        "quiet_hours = {{ from = \"{}\", to = \"{}\" }}",
        clock_in(120),
        clock_in(180)
    );
    let config = district_file(dir.path(), &url, &later)?;
    let _server = ServerProcess::start_configured(&db, "127.0.0.1:0".parse()?, &config)?;
    let got = robot.wait_for(1).await?;
    assert!(got[0].contains("甲：交办"), "{got:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_app_reminders_are_listed_to_their_person_and_marked_seen() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let p = service
        .with_store(people)
        .await
        .expect("the store thread ran")?;
    let doc = handed_out(&p, 1, "甲：交办")?;
    service
        .with_store(move |s| commit_as_server(s, vec![(doc.0, doc.1.into_record())], wall_clock()))
        .await
        .expect("the store thread ran")?;
    let settings: server::remind::Settings = serde_json::from_str(r#"{"channels": ["in_app"]}"#)?;
    server::remind::job::spawn(service.clone(), settings);

    let base = server.url("");
    let h1 = RawSession::login(&base, "h1", PASSWORD, DeviceId::from_random_bytes([1; 16])).await?;
    let wang = RawSession::login(
        &base,
        "wang",
        PASSWORD,
        DeviceId::from_random_bytes([2; 16]),
    )
    .await?;
    let http = reqwest::Client::new();
    let list = |token: String| {
        let http = http.clone();
        let url = format!("{base}/api/notifications");
        async move {
            let v: serde_json::Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(v["notifications"].as_array().cloned().unwrap_or_default())
        }
    };
    let until = Instant::now() + Duration::from_secs(20);
    let mut mine = list(h1.token.clone()).await?;
    while mine.is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
        mine = list(h1.token.clone()).await?;
    }
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["kind"], "hand_out");
    assert_eq!(mine[0]["kind_zh"], "新交办");
    assert!(
        mine[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("甲：交办")
    );
    assert_eq!(list(wang.token.clone()).await?.len(), 0, "not wang's");

    let id = mine[0]["id"].clone();
    let mark = |token: String| {
        let http = http.clone();
        let url = format!("{base}/api/notifications/seen");
        let body = serde_json::json!({ "ids": [id.clone()] });
        async move {
            let v: serde_json::Value = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(v["seen"].as_u64())
        }
    };
    assert_eq!(
        mark(wang.token.clone()).await?,
        Some(0),
        "another's id is ignored"
    );
    assert_eq!(mark(h1.token.clone()).await?, Some(1));
    assert_eq!(list(h1.token.clone()).await?.len(), 0, "seen");
    let anonymous = http.get(format!("{base}/api/notifications")).send().await?;
    assert_eq!(anonymous.status(), 401);
    Ok(())
}
