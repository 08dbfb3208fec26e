//! Supervision (督办) and the department's inbox in the full bundle (issue 15 items 2-3), in
//! headless Chromium against the real server seeded with the demo district: a leader addresses
//! an instruction with a due date to a department on the problem page; the department's
//! handler sees the inbox's counts (the same as `shared::todo::handler_inbox` over the
//! department's problems) with the rows handed out since the last look marked 新, acknowledges
//! (签收) the instruction, and the leader's supervision list (`#/supervision`) shows it
//! acknowledged, as the server's `GET /api/supervision` does.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::derive::derive;
use shared::model::OrgUnitId;
use shared::todo::handler_inbox;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, wall_clock};

const WAIT: Duration = Duration::from_secs(40);

/// The real server over a fresh database seeded with the demo district.
struct Demo {
    _dir: tempfile::TempDir,
    served: Served,
}

impl Demo {
    async fn start() -> anyhow::Result<Demo> {
        let site = require_site()?;
        let dir = tempfile::tempdir()?;
        let service = Arc::new(SyncService::open(
            &dir.path().join("lianxin.db"),
            Config::default(),
        )?);
        service
            .with_store(|s| server::demo::seed(s, &Config::default(), wall_clock()))
            .await
            .context("the store thread stopped")??;
        let served = Served::start(server::app(AppState::new(site, service))).await?;
        Ok(Demo { _dir: dir, served })
    }

    fn base(&self) -> String {
        format!("http://{}", self.served.addr)
    }
}

/// A number the page shows.
async fn number(browser: &Browser, css: &str) -> anyhow::Result<u64> {
    let text = browser.text(css).await?;
    text.trim()
        .parse()
        .with_context(|| format!("a number in {css}: {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_acknowledges_an_instruction_addressed_to_it_and_the_leader_sees_it()
-> anyhow::Result<()> {
    let demo = Demo::start().await?;
    let base = demo.base();

    // handler1's department and an open problem handed to it, as the server gives them.
    let mut handler_device = NativeDevice::new(1, &base);
    let info = handler_device.login("handler1", DEMO_PASSWORD).await?;
    ensure!(info.status == 200, "handler1's login: {}", info.body);
    handler_device.sync().await?;
    let department = OrgUnitId::parse(info.body["user"]["org_unit"].as_str().unwrap_or_default())?;
    let config = Config::default();
    let problems = handler_device.problems()?;
    let problem = problems
        .iter()
        .find(|p| {
            p.handling_units.contains(&department)
                && !derive(p, &config, wall_clock()).outcome.state.is_closed()
        })
        .context("an open problem handed to handler1's department")?
        .id;

    let link = Link::start(demo.served.addr).await?;
    let driver = Chromedriver::start().await?;

    // The leader addresses an instruction to the department, due in a week.
    let leader = Browser::launch(&driver).await?;
    leader
        .log_in(
            &link.url("/"),
            "leader1",
            DEMO_PASSWORD,
            "main.screen.dashboard",
            WAIT,
        )
        .await?;
    leader.route(&format!("#/p/{problem}")).await?;
    leader
        .wait_until(
            "the supervision form",
            "document.querySelector('#supervision-to')",
            WAIT,
        )
        .await?;
    leader.fill("#supervision", "请一周内反馈办理进展").await?;
    leader
        .js(
            "const s = document.querySelector('#supervision-to'); s.value = arguments[0]; \
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(format!("u:{department}"))],
        )
        .await?;
    let due = chrono::DateTime::from_timestamp_millis(wall_clock().0 + 7 * shared::model::DAY_MS)
        .context("a date a week ahead")?
        .format("%Y-%m-%d")
        .to_string();
    leader.fill("#supervision-due", &due).await?;
    leader.click("button.give-supervision", "").await?;
    leader
        .wait_until(
            "the instruction addressed to the department",
            "document.querySelector('.supervision-entry .supervision-to') \
             && document.querySelector('.supervision-entry [data-state=issued]')",
            WAIT,
        )
        .await?;
    leader.wait_synced("the instruction synced", WAIT).await?;
    leader.screenshot("supervision-01-given").await?;

    // The handler: the inbox's counts, every row handed out so far new at the first look.
    let handler = Browser::launch(&driver).await?;
    handler
        .log_in(
            &link.url("/"),
            "handler1",
            DEMO_PASSWORD,
            "main.screen.inbox .inbox-counts",
            WAIT,
        )
        .await?;
    handler.wait_synced("handler1 caught up", WAIT).await?;
    handler_device.sync().await?;
    let expected = handler_inbox(
        department,
        &handler_device.problems()?,
        &config,
        wall_clock(),
        config.due_soon_days(),
        None,
    );
    for (kind, want) in [
        ("new", expected.new),
        ("due_soon", expected.due_soon),
        ("overdue", expected.overdue),
        ("unseen", expected.unseen),
    ] {
        let shown = number(
            &handler,
            &format!(".inbox-counts [data-kind={kind}] strong"),
        )
        .await?;
        ensure!(
            shown == u64::from(want),
            "the inbox counts {shown} {kind}, the department's problems {want}"
        );
    }
    ensure!(
        expected.unseen > 0,
        "the department has problems handed to it"
    );
    handler.screenshot("supervision-02-inbox").await?;
    // The whole list (its rows come from the server): the rows handed out so far are new.
    handler.click(".tab[data-states='']", "").await?;
    handler
        .wait_until(
            "rows handed out since the last look marked 新 at the first look",
            "document.querySelector('.inbox-row .badge.unseen')",
            WAIT,
        )
        .await?;

    // 签收 on the problem page; then the inbox again: nothing new since this look.
    handler.route(&format!("#/p/{problem}")).await?;
    handler.click(".acknowledge-supervision", "签收").await?;
    handler
        .wait_until(
            "the acknowledgement shown",
            "document.querySelector('.supervision-entry .supervision-ack') \
             && !document.querySelector('.acknowledge-supervision')",
            WAIT,
        )
        .await?;
    handler
        .wait_synced("the acknowledgement synced", WAIT)
        .await?;
    handler.screenshot("supervision-03-acknowledged").await?;
    handler.goto(&link.url("/#/inbox")).await?;
    handler
        .wait_until(
            "the inbox again",
            "document.querySelector('.inbox-counts [data-kind=unseen] strong')?.textContent === '0' \
             && !document.querySelector('.inbox-row .badge.unseen')",
            WAIT,
        )
        .await?;

    // The leader's supervision list shows it acknowledged, as the server does.
    leader.wait_synced("the leader caught up", WAIT).await?;
    leader.route("#/supervision").await?;
    leader
        .wait_until(
            "the acknowledged instruction in the supervision list",
            "Array.from(document.querySelectorAll('.supervision-row')).some(r => \
                 r.dataset.state === 'acknowledged' && r.textContent.includes('请一周内反馈办理进展'))",
            WAIT,
        )
        .await?;
    leader.screenshot("supervision-04-list").await?;
    let mut leader_device = NativeDevice::new(2, &base);
    leader_device.login("leader1", DEMO_PASSWORD).await?;
    let page: Value = reqwest::Client::new()
        .get(format!("{base}/api/supervision?state=acknowledged"))
        .bearer_auth(leader_device.token.as_deref().unwrap_or_default())
        .send()
        .await?
        .json()
        .await?;
    let on_server = page["rows"].as_array().is_some_and(|rows| {
        rows.iter().any(|r| {
            r["problem"] == json!(problem.to_string()) && r["state"] == json!("acknowledged")
        })
    });
    ensure!(
        on_server,
        "GET /api/supervision lists it acknowledged: {page}"
    );
    leader.close().await;
    handler.close().await;
    Ok(())
}
