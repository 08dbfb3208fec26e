//! In-app reminders (提醒, issue 15 item 4) on a department handler's screen, in headless
//! Chromium against the real server with the reminder job's in-app channel: a problem handed
//! out to the handler's department shows as a count beside the navigation and in the list the
//! count opens (what, the problem's words, when); opening it goes to the problem and marks it
//! seen on the server, so after a reload the count is gone. A reminder that arrives while the
//! app is open shows as a system notification in the person's language, and a click on it opens
//! the problem and marks it seen too.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, NewProblem, ProblemDoc};
use shared::model::{
    Actor, DeviceId, EntryId, OrgUnitKind, ProblemClass, ProblemId, ProblemSource, Role, Tier,
    Timestamp, User,
};
use shared::workflow::Action;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{id_bytes, wall_clock};
use tests::district::{self, PASSWORD, enterprise};
use tests::raw::{commit_as_server, doc_id};

const WAIT: Duration = Duration::from_secs(40);
const HOUR: i64 = 3_600_000;

fn actor(user: &User) -> Actor {
    Actor {
        user: user.id,
        device: DeviceId::from_random_bytes([0x78; 16]),
        role: user.role,
    }
}

/// The district: officer wang with enterprise 1, department d1 with its handler h1, the zone's
/// leader boss.
async fn district_with_handler(service: &Arc<SyncService>) -> anyhow::Result<()> {
    service
        .with_store(move |s| -> anyhow::Result<()> {
            district::officer_in(s, "wang", [1])?;
            let d1 = district::department(s, "d1")?;
            let zone = district::org_unit(s, district::ZONE, OrgUnitKind::Zone, None)?;
            district::user(s, "h1", Role::DepartmentHandler, d1)?;
            district::user(s, "boss", Role::Leader, zone)?;
            Ok(())
        })
        .await
        .context("the store thread stopped")?
}

/// Wang's problem `id` at enterprise 1, triaged and handed out to d1 by boss (seed `k` for its
/// ids), committed by the server.
async fn hand_out(service: &Arc<SyncService>, id: ProblemId, k: u64) -> anyhow::Result<()> {
    service
        .with_store(move |s| -> anyhow::Result<()> {
            let wang = district::officer_in(s, "wang", [1])?;
            let d1 = district::department(s, "d1")?;
            let zone = district::org_unit(s, district::ZONE, OrgUnitKind::Zone, None)?;
            let boss = district::user(s, "boss", Role::Leader, zone)?;
            let now = wall_clock();
            let raised = Timestamp(now.0 - HOUR);
            let mut doc = ProblemDoc::create(
                &NewProblem {
                    id,
                    enterprise: enterprise(1),
                    visit: None,
                    source: ProblemSource::Visit,
                    category: "power".into(),
                    class: ProblemClass::B,
                    tier: Tier::Department,
                    owner: wang.id,
                    leader: None,
                    deadline: raised.plus_days(7),
                    description: "变压器容量不足，新产线无法投产".into(),
                    expectation: "尽快增容".into(),
                },
                &Config::default(),
                &actor(&wang),
                ActorId::from(id_bytes(161, k)),
                raised,
            )?;
            let entry = |n: u8| EntryId::from_random_bytes(id_bytes(162 + n, k));
            doc.act(&actor(&boss), now, entry(0), Action::Triage, "")?;
            doc.act(
                &actor(&boss),
                now,
                entry(1),
                Action::Assign { unit: d1 },
                "",
            )?;
            let record = doc.into_record();
            commit_as_server(s, vec![(doc_id(DocKind::Problem, id), record)], now)?;
            Ok(())
        })
        .await
        .context("the store thread stopped")?
}

/// The reminder job with the in-app channel only.
fn remind_in_app(service: &Arc<SyncService>) -> anyhow::Result<()> {
    let settings: server::remind::Settings = serde_json::from_str(r#"{"channels": ["in_app"]}"#)?;
    server::remind::job::spawn(service.clone(), settings);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_out_reminds_the_handler_and_opening_it_marks_it_seen() -> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;

    district_with_handler(&service).await?;
    let id = ProblemId::from_random_bytes(id_bytes(160, 1));
    hand_out(&service, id, 1).await?;
    remind_in_app(&service)?;

    let served = Served::start(server::app(AppState::new(site, service))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let handler = Browser::launch(&driver).await?;
    handler.viewport(1280, 900, false).await?;
    handler
        .log_in(&link.url("/"), "h1", PASSWORD, "main.screen.inbox", WAIT)
        .await?;

    // The count beside the navigation, and the list it opens.
    handler
        .wait_until(
            "one reminder counted",
            "document.querySelector('.reminders-toggle[data-count=\"1\"] .reminder-count')?.textContent === '1'",
            WAIT,
        )
        .await?;
    handler.click(".reminders-toggle", "").await?;
    handler
        .wait_text(".reminder-list li.reminder .reminder-kind", "新交办", WAIT)
        .await?;
    let text = handler
        .text(".reminder-list li.reminder .reminder-link")
        .await?;
    ensure!(
        text.contains("新交办问题") && text.contains("变压器容量不足"),
        "the reminder names the hand-out and the problem: {text:?}"
    );

    // Opening it: the problem's page, and the count drops.
    handler.click(".reminder-list a.reminder-link", "").await?;
    handler
        .wait_until(
            "the problem's page",
            "document.querySelector('main.screen.problem')",
            WAIT,
        )
        .await?;
    let hash = handler.js_string("return location.hash;").await?;
    ensure!(hash == format!("#/p/{id}"), "the reminder opened {hash}");
    handler
        .wait_until(
            "no reminder counted",
            "document.querySelector('.reminders-toggle[data-count=\"0\"]') \
             && !document.querySelector('.reminder-count')",
            WAIT,
        )
        .await?;

    // After a reload, once the server has answered, the count is still gone: it was marked
    // seen on the server, not only on the screen.
    handler
        .js("window.__beforeReload = true; location.reload();", vec![])
        .await?;
    handler
        .wait_until(
            "the reminders read after the reload",
            "!window.__beforeReload && document.querySelector('.reminders[data-read=\"true\"]')",
            WAIT,
        )
        .await?;
    let count = handler
        .js_string("return document.querySelector('.reminders-toggle').dataset.count;")
        .await?;
    ensure!(count == "0", "after the reload the count says {count}");
    handler.close().await;
    Ok(())
}

/// A stand-in for the browser's Notification API, installed before the app's scripts: it
/// grants permission and keeps what the app shows in `window.__shown`.
const FAKE_NOTIFICATIONS: &str = "window.__shown = []; \
    class Shown { \
      constructor(title, options) { this.title = title; this.body = options.body; \
        this.closed = false; window.__shown.push(this); } \
      close() { this.closed = true; } } \
    Shown.permission = 'granted'; \
    Shown.requestPermission = () => Promise.resolve('granted'); \
    window.Notification = Shown;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_arriving_while_open_notifies_in_english_and_its_click_opens_the_problem()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    district_with_handler(&service).await?;
    remind_in_app(&service)?;

    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let handler = Browser::launch(&driver).await?;
    handler.viewport(1280, 900, false).await?;
    handler
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": FAKE_NOTIFICATIONS }),
        )
        .await?;
    handler
        .log_in(&link.url("/"), "h1", PASSWORD, "main.screen.inbox", WAIT)
        .await?;
    handler.click(".lang-switch", "").await?;
    handler
        .wait_until(
            "the first read of the reminders, none",
            "document.querySelector('.reminders[data-read=\"true\"] .reminders-toggle[data-count=\"0\"]')",
            WAIT,
        )
        .await?;

    // A hand-out while the app is open: a notification in English (the job records the
    // reminder about a second after the commit; the app reads after its sync round or within
    // the minute).
    let id = ProblemId::from_random_bytes(id_bytes(170, 2));
    hand_out(&service, id, 2).await?;
    handler
        .wait_until(
            "one notification shown",
            "window.__shown.length === 1",
            Duration::from_secs(100),
        )
        .await?;
    let shown = handler
        .js(
            "return [window.__shown[0].title, window.__shown[0].body];",
            vec![],
        )
        .await?;
    let title = shown[0].as_str().unwrap_or_default();
    let body = shown[1].as_str().unwrap_or_default();
    ensure!(
        title == "Lianxin · New hand-out",
        "the notification's title: {title:?}"
    );
    ensure!(
        body.contains("New problem handed out") && body.contains("变压器容量不足"),
        "the notification's body is the English message naming the problem: {body:?}"
    );

    // Its click (once the problem has reached the device: the test's commit sends no notice):
    // the problem's page, the notification closed, the reminder seen on the server.
    handler
        .wait_synced("the hand-out on the handler's device", WAIT)
        .await?;
    handler.js("window.__shown[0].onclick();", vec![]).await?;
    handler
        .wait_until(
            "the problem's page",
            "document.querySelector('main.screen.problem')",
            WAIT,
        )
        .await?;
    let hash = handler.js_string("return location.hash;").await?;
    ensure!(
        hash == format!("#/p/{id}"),
        "the notification opened {hash}"
    );
    let closed = handler
        .js("return window.__shown[0].closed;", vec![])
        .await?;
    ensure!(
        closed == serde_json::json!(true),
        "the notification stays open"
    );
    handler
        .wait_until(
            "no reminder counted",
            "document.querySelector('.reminders-toggle[data-count=\"0\"]')",
            WAIT,
        )
        .await?;
    let unseen = service
        .with_store(|s| -> anyhow::Result<usize> {
            let h1 = s.find_user_by_login("h1")?.context("h1 is gone")?;
            Ok(s.unseen_notifications(&h1.user.id.to_string(), 10)?.len())
        })
        .await
        .context("the store thread stopped")??;
    ensure!(unseen == 0, "the server still lists {unseen} unseen for h1");
    handler.close().await;
    Ok(())
}
