//! Leaders and department handlers end to end, in headless Chromium against the real server
//! seeded with the demo district: a leader logs in and sees the dashboard; an officer's phone
//! (a native test device) raises ten problems and syncs, and the leader's open dashboard counts
//! them within five seconds without a reload; the leader clicks the number through to the
//! problem list, opens a problem, its enterprise and its per-field history; hands the ten new
//! problems out to one department in one batch; the department's handler, in a second browser
//! profile, finds all ten in the inbox and returns one with a reason; the leader sees it
//! returned, with the reason, after sync, and gives a supervision instruction; the flag board
//! lists the overdue problems under the black flag.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::derive::initial_deadline;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{
    EnterpriseId, OrgUnitId, ProblemClass, ProblemId, ProblemSource, ProblemState, Tier,
};
use shared::sync::protocol::DocId;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, id_bytes, wall_clock};

const WAIT: Duration = Duration::from_secs(40);
/// How soon an officer's sync must show on an open dashboard.
const LIVE: Duration = Duration::from_secs(5);
/// The department the batch goes to (handler1's).
const DEPARTMENT: &str = "gongxin";
const RAISED: usize = 10;
const RETURN_REASON: &str = "该问题属于供电企业职责，请转国网济源供电公司办理";

/// Logs `login` in and waits for the role's home screen (`home`, a CSS selector).
async fn log_in(browser: &Browser, link: &Link, login: &str, home: &str) -> anyhow::Result<()> {
    browser
        .log_in(&link.url("/"), login, DEMO_PASSWORD, home, WAIT)
        .await
}

/// Waits until the device has uploaded everything and no round is running.
async fn wait_synced(browser: &Browser, what: &str) -> anyhow::Result<()> {
    browser.wait_synced(what, WAIT).await
}

/// The dashboard's count of problems raised in the current period.
async fn problems_kpi(browser: &Browser) -> anyhow::Result<i64> {
    let v = browser
        .js(
            "const e = document.querySelector('a.kpi[data-kpi=problems] .kpi-value'); \
             return e ? e.textContent : null;",
            vec![],
        )
        .await?;
    let text = v.as_str().context("the problems KPI on the dashboard")?;
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .with_context(|| format!("the problems KPI {text:?} is not a number"))
}

/// Raises `RAISED` problems on the officer's phone at one of their enterprises and syncs them;
/// returns their ids.
async fn officer_raises_problems(officer: &mut NativeDevice) -> anyhow::Result<Vec<ProblemId>> {
    let enterprise = officer
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == DocKind::Enterprise)
        .map(|id| EnterpriseId::parse(id.root_id()))
        .context("an enterprise on the officer's phone")??;
    let config = Config::default();
    let now = wall_clock();
    let mut ids = Vec::new();
    for n in 0..RAISED {
        let id = ProblemId::from_random_bytes(id_bytes(90, n as u64 + 1));
        let new = NewProblem {
            id,
            enterprise,
            visit: None,
            source: ProblemSource::SelfReport,
            category: "power".into(),
            class: ProblemClass::B,
            tier: Tier::Department,
            owner: officer.actor.user,
            leader: None,
            deadline: initial_deadline(&config, Tier::Department, now),
            description: format!("批量交办测试：第{}号车间用电负荷超限，需要增容", n + 1),
            expectation: "一个月内完成增容".into(),
        };
        let doc = ProblemDoc::create(&new, &config, &officer.actor, officer.actor_id.clone(), now)?;
        officer.client.replica_mut().insert_new(
            DocId::new(DocKind::Problem, &id.to_string()),
            doc.into_record(),
        );
        ids.push(id);
    }
    officer.sync().await?;
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_hands_out_a_batch_and_sees_the_handler_return_one() -> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    let department = service
        .with_store(|s| -> anyhow::Result<OrgUnitId> {
            server::demo::seed(s, &Config::default(), wall_clock())?;
            Ok(s.org_unit_by_code(DEPARTMENT)?
                .context("the demo's department")?
                .unit
                .id)
        })
        .await
        .context("the store thread stopped")??;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let base = format!("http://{}", served.addr);
    let link_leader = Link::start(served.addr).await?;
    let link_handler = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let mut officer = NativeDevice::logged_in(1, &base, "officer1", DEMO_PASSWORD).await?;
    officer.sync().await?;

    // 1. The leader logs in: the dashboard is home.
    let leader = Browser::launch(&driver).await?;
    log_in(&leader, &link_leader, "leader1", "main.screen.dashboard").await?;
    leader
        .wait_until(
            "the dashboard's figures",
            "document.querySelector('main.screen.dashboard[data-loaded=true] a.kpi[data-kpi=problems] .kpi-value')",
            WAIT,
        )
        .await?;
    wait_synced(&leader, "the leader's device to catch up").await?;
    leader.screenshot("leader-01-dashboard").await?;
    let before = problems_kpi(&leader).await?;

    // 2. An officer's sync shows on the open dashboard within five seconds, without a reload.
    leader.js("window.__sameDocument = true;", vec![]).await?;
    let raised = officer_raises_problems(&mut officer).await?;
    leader
        .wait_until(
            "the problems KPI to count the officer's new problems",
            &format!(
                "Number((document.querySelector('a.kpi[data-kpi=problems] .kpi-value') || {{}}).textContent \
                 .replace(/[^0-9]/g, '')) > {before}"
            ),
            LIVE,
        )
        .await?;
    ensure!(
        leader
            .js("return window.__sameDocument === true;", vec![])
            .await?
            == Value::Bool(true),
        "the dashboard updated without a reload"
    );
    leader.screenshot("leader-02-dashboard-live").await?;

    // 3. The number leads to the list behind it; a problem, its enterprise, its history.
    leader.click("a.kpi[data-kpi=problems]", "").await?;
    leader
        .wait_until(
            "the problem list",
            "document.querySelector('main.screen.problems li.problem-row a.problem-link')",
            WAIT,
        )
        .await?;
    leader.screenshot("leader-03-list").await?;
    leader.click("li.problem-row a.problem-link", "").await?;
    leader
        .wait_until(
            "the problem page",
            "document.querySelector('main.screen.problem .problem-description')",
            WAIT,
        )
        .await?;
    leader.screenshot("leader-04-problem").await?;
    let problem_hash = leader.js("return location.hash;", vec![]).await?;
    leader.click("main.screen.problem a.back", "").await?;
    leader
        .wait_until(
            "the problem's enterprise",
            "document.querySelector('main.screen.enterprise h1.enterprise-name') \
             && document.querySelectorAll('.problem-card').length > 0",
            WAIT,
        )
        .await?;
    leader.screenshot("leader-05-enterprise").await?;
    leader
        .route(problem_hash.as_str().context("the problem's address")?)
        .await?;
    leader
        .click("main.screen.problem a[href^='#/h/']", "")
        .await?;
    leader
        .wait_until(
            "the per-field history",
            "document.querySelectorAll('.history-entry').length > 0",
            WAIT,
        )
        .await?;
    leader.screenshot("leader-06-history").await?;

    // 4. Batch hand-out of the ten new problems to one department, in one save.
    leader
        .route("#/problems?state=submitted&sort=created&order=desc&limit=50")
        .await?;
    let rows_ready = raised
        .iter()
        .map(|id| {
            format!(
                "document.querySelector('li.problem-row[data-id=\"{id}\"] input.select-problem:not([disabled])')"
            )
        })
        .collect::<Vec<_>>()
        .join(" && ");
    leader
        .wait_until(
            "the ten new problems listed and on the leader's device",
            &rows_ready,
            WAIT,
        )
        .await?;
    for id in &raised {
        leader
            .click(
                &format!("li.problem-row[data-id=\"{id}\"] input.select-problem"),
                "",
            )
            .await?;
    }
    leader.fill("#batch-action", "assign").await?;
    leader.fill("#batch-unit", &department.to_string()).await?;
    leader
        .fill("#batch-reason", "请工信局牵头，七日内反馈")
        .await?;
    leader.screenshot("leader-07-batch").await?;
    leader.click("button.batch-apply", "").await?;
    leader
        .wait_until(
            "ten hand-outs saved on the device",
            &format!(
                "document.querySelector('.batch-result[data-ok=\"{RAISED}\"][data-refused=\"0\"][data-state=\"saved\"]')"
            ),
            WAIT,
        )
        .await?;
    leader.screenshot("leader-08-batch-result").await?;
    wait_synced(&leader, "the hand-outs to upload").await?;
    let states = {
        let raised = raised.clone();
        service
            .with_store(move |s| -> anyhow::Result<Vec<String>> {
                raised
                    .iter()
                    .map(|id| {
                        Ok(s.problem_row(*id)?
                            .context("the problem on the server")?
                            .state)
                    })
                    .collect()
            })
            .await
            .context("the store thread stopped")??
    };
    ensure!(
        states.iter().all(|s| s == ProblemState::Assigned.code()),
        "the server holds all ten as assigned: {states:?}"
    );

    // 5. The department's handler finds all ten in the inbox and returns one with a reason.
    let handler = Browser::launch(&driver).await?;
    log_in(&handler, &link_handler, "handler1", "main.screen.inbox").await?;
    let inbox_ready = raised
        .iter()
        .map(|id| format!("document.querySelector('.inbox-row[data-id=\"{id}\"] button.return')"))
        .collect::<Vec<_>>()
        .join(" && ");
    handler
        .wait_until(
            "the ten handed-out problems in the handler's inbox, on the device",
            &inbox_ready,
            WAIT,
        )
        .await?;
    handler.screenshot("handler-01-inbox").await?;
    let returned = raised[0];
    let row = format!(".inbox-row[data-id=\"{returned}\"]");
    handler.click(&format!("{row} button.return"), "").await?;
    handler
        .fill(&format!("{row} textarea.return-reason"), RETURN_REASON)
        .await?;
    handler
        .click(&format!("{row} button.confirm-return"), "")
        .await?;
    // The row leaves the "to accept" tab once saved (its state changes, then the list is
    // read again after the sync round).
    handler
        .wait_until(
            "the return saved on the handler's device",
            &format!("!document.querySelector('{row} button.return')"),
            WAIT,
        )
        .await?;
    handler.screenshot("handler-02-returned").await?;
    wait_synced(&handler, "the return to upload").await?;
    let state = service
        .with_store(move |s| s.problem_row(returned))
        .await
        .context("the store thread stopped")??
        .context("the returned problem on the server")?
        .state;
    ensure!(
        state == ProblemState::Returned.code(),
        "the server holds the problem as returned, not {state}"
    );

    // 6. The leader sees it returned, with the reason, after sync.
    leader.route(&format!("#/p/{returned}")).await?;
    leader
        .wait_until(
            "the leader to see the problem returned with its reason",
            &format!(
                "document.querySelector('main.screen.problem .badge.state').textContent.includes('{}') \
                 && document.querySelector('main.screen.problem').textContent.includes({})",
                ProblemState::Returned.zh(),
                json!(RETURN_REASON)
            ),
            WAIT,
        )
        .await?;
    leader.screenshot("leader-09-returned").await?;

    // 7. A supervision instruction (督办) on it, to the first addressee offered and due in a
    //    week, is kept and accepted by the server.
    leader
        .fill("#supervision", "请三日内重新明确承办单位并反馈企业")
        .await?;
    leader
        .js(
            "const s = document.querySelector('#supervision-to'); s.selectedIndex = 1; \
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![],
        )
        .await?;
    let due = chrono::DateTime::from_timestamp_millis(
        tests::device::wall_clock().0 + 7 * shared::model::DAY_MS,
    )
    .context("a date a week ahead")?
    .format("%Y-%m-%d")
    .to_string();
    leader.fill("#supervision-due", &due).await?;
    leader.click("button.give-supervision", "").await?;
    leader
        .wait_text(".supervision-entry", "三日内重新明确承办单位", WAIT)
        .await?;
    wait_synced(&leader, "the supervision instruction to upload").await?;
    leader
        .route("#/problems?state=returned&sort=created&order=desc")
        .await?;
    leader
        .wait_until(
            "the returned problem in the leader's list of returned problems",
            &format!("document.querySelector('li.problem-row[data-id=\"{returned}\"]')"),
            WAIT,
        )
        .await?;

    // 8. The flag board: black, due-soon, green and red columns, each problem linking to its
    // page, with the legend of the district's rule table.
    leader.route("#/flags").await?;
    leader
        .wait_until(
            "the flag board's four columns and legend, the overdue problems under the black flag",
            "document.querySelectorAll('main.screen.flags section.flag-column').length === 4 \
             && document.querySelector('main.screen.flags .flag-legend li[data-flag=red]') \
             && document.querySelector('section.flag-column[data-flag=black] li.problem-row a.problem-link[href^=\"#/p/\"]')",
            WAIT,
        )
        .await?;
    leader.screenshot("leader-10-flags").await?;

    leader.close().await;
    handler.close().await;
    Ok(())
}
