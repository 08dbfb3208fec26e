//! Bulletins and economic monitoring end to end, in headless Chromium against the real server
//! seeded with the demo district: a leader issues a bulletin from the list, sees it as issued
//! (immutable notice, town and department rankings), downloads its CSV through the token-
//! carrying fetch, and finds it in the list; an officer opens a key enterprise's monitoring
//! page, sees the power chart, pastes a CSV with a bad row (refused whole, the line named),
//! then a good one, imports it offline, types the day's power use into the form, and the
//! figures reach the server after sync.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::Value;
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, MonitoringDoc};
use shared::model::EnterpriseId;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::NativeDevice;

const WAIT: Duration = Duration::from_secs(40);
const TITLE: &str = "浏览器测试通报";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_issues_a_bulletin_and_an_officer_imports_monitoring_figures() -> anyhow::Result<()>
{
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    tests::seed_demo(&service).await?;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let base = format!("http://{}", served.addr);
    let link_leader = Link::start(served.addr).await?;
    let link_officer = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;

    // 1. The leader issues a bulletin from the list (confirming it cannot change).
    let leader = Browser::launch(&driver).await?;
    log_in(&leader, &link_leader, "leader1", "main.screen.dashboard").await?;
    leader.route("#/bulletins").await?;
    leader
        .wait_until(
            "the bulletin list and its issue form",
            "document.querySelector('main.screen.bulletins details.bulletin-issue') \
             && document.querySelector('main.screen.bulletins .empty')",
            WAIT,
        )
        .await?;
    leader.click("details.bulletin-issue summary", "").await?;
    leader.fill("#bulletin-title", TITLE).await?;
    leader.fill("#bulletin-from", "2020-01-01").await?;
    leader.screenshot("bulletin-01-issue-form").await?;
    leader
        .js(
            "window.__confirmed = []; window.confirm = m => { window.__confirmed.push(m); return true; };",
            vec![],
        )
        .await?;
    leader
        .click("details.bulletin-issue button[type=submit]", "")
        .await?;
    leader
        .wait_until(
            "the issued bulletin with its rankings",
            "document.querySelectorAll('table.ranking[data-kind=towns] tbody tr').length === 3 \
             && document.querySelectorAll('table.ranking[data-kind=departments] tbody tr').length === 4",
            WAIT,
        )
        .await?;
    let confirmed = leader.js("return window.__confirmed;", vec![]).await?;
    ensure!(
        confirmed[0]
            .as_str()
            .is_some_and(|m| m.contains("不能修改")),
        "issuing asks to confirm an unchangeable bulletin: {confirmed}"
    );
    ensure!(
        leader.text("main.screen.bulletin h1").await? == TITLE,
        "the bulletin's title"
    );
    ensure!(
        leader.text(".notice.immutable").await?.contains("不可修改"),
        "the page says the bulletin is immutable"
    );
    leader.screenshot("bulletin-02-page").await?;

    // 2. The CSV download is fetched with the token and handed over as a Blob.
    leader
        .js(
            "window.__blobs = []; const create = URL.createObjectURL; \
             URL.createObjectURL = b => { window.__blobs.push(b.size); return create(b); };",
            vec![],
        )
        .await?;
    leader
        .click("main.screen.bulletin button", "下载 CSV")
        .await?;
    leader
        .wait_until(
            "the CSV handed to the browser as a download",
            "window.__blobs.length === 1 && window.__blobs[0] > 100",
            WAIT,
        )
        .await?;

    // 3. The list shows it, newest first.
    leader.route("#/bulletins").await?;
    leader
        .wait_text("ul.bulletin-list li:first-child strong", TITLE, WAIT)
        .await?;
    leader.screenshot("bulletin-03-list").await?;

    // 4. An officer's key enterprise: its monitoring page and a CSV import.
    let mut native = NativeDevice::logged_in(9, &base, "officer1", DEMO_PASSWORD).await?;
    native.sync().await?;
    let enterprise = native
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == DocKind::Monitoring)
        .map(|id| EnterpriseId::parse(id.root_id().trim_start_matches("monitoring-")))
        .context("a key enterprise of officer1 with a monitoring document")??;
    let officer = Browser::launch(&driver).await?;
    log_in(&officer, &link_officer, "officer1", "main.screen").await?;
    wait_synced(&officer, "the officer's device to catch up").await?;
    officer.route(&format!("#/e/{enterprise}")).await?;
    officer
        .click("main.screen.enterprise a.button", "经济监测")
        .await?;
    officer
        .wait_until(
            "the power chart of the demo's 30 days",
            "document.querySelector('main.screen.monitoring[data-power-days=\"30\"] figure.line-chart svg path.series-0')",
            WAIT,
        )
        .await?;
    officer.screenshot("monitoring-01-page").await?;

    // A bad row rejects the whole file, naming its line; nothing is offered for import.
    officer
        .fill(
            "#m-csv",
            "week,product,price\n2026-W45,螺纹钢,3650\n2026-W46,螺纹钢,abc\n",
        )
        .await?;
    officer
        .wait_text(".import-errors li", "第 3 行", WAIT)
        .await?;
    ensure!(
        officer
            .js("return !document.querySelector('.import-preview');", vec![])
            .await?
            == Value::Bool(true),
        "a file with a bad row cannot be imported"
    );
    officer.screenshot("monitoring-02-bad-csv").await?;

    // A good file, imported with the device offline: saved on the device, synced later.
    officer.set_offline(true).await?;
    link_officer.set_up(false);
    officer
        .fill(
            "#m-csv",
            "周次\t产品\t价格\n2026-W45\t螺纹钢\t3650\n2026-W46\t螺纹钢\t3700\n2026-W46\t线材\t3900\n",
        )
        .await?;
    officer.wait_text(".import-preview", "3", WAIT).await?;
    officer.click(".import-preview button", "").await?;
    officer
        .wait_until(
            "the import saved on the device and drawn",
            "document.querySelector('main.screen.monitoring[data-price-weeks=\"2\"] .hint.saved')",
            WAIT,
        )
        .await?;
    officer.screenshot("monitoring-03-imported").await?;

    // A day's power use typed into the form is saved the same way (a day the demo has not
    // recorded, whatever the time zone).
    officer.fill("#m-day", "2020-01-06").await?;
    officer.fill("#m-kwh", "4 321").await?;
    officer
        .click("form.monitor-entry button[type=submit]", "")
        .await?;
    officer
        .wait_text("form.monitor-entry .field-error", "4 321", WAIT)
        .await?;
    officer.fill("#m-kwh", "4321").await?;
    officer
        .click("form.monitor-entry button[type=submit]", "")
        .await?;
    officer
        .wait_until(
            "today's power use saved and drawn",
            "document.querySelector('main.screen.monitoring[data-power-days=\"31\"] form.monitor-entry .hint.saved')",
            WAIT,
        )
        .await?;
    officer.set_offline(false).await?;
    link_officer.set_up(true);
    wait_synced(&officer, "the import to upload").await?;

    let prices = service
        .with_store(move |s| -> anyhow::Result<(usize, usize)> {
            let id = shared::sync::protocol::DocId::new(
                DocKind::Monitoring,
                &shared::doc::monitoring_id(enterprise),
            );
            let stored = shared::sync::server::ServerStore::load_doc(s, &id)?
                .context("the monitoring document on the server")?;
            let m = MonitoringDoc::load(&stored.bytes, ActorId::from([0u8; 16]))?.read()?;
            Ok((m.prices.values().map(|w| w.len()).sum(), m.power.len()))
        })
        .await
        .context("the store thread stopped")??;
    ensure!(
        prices == (3, 31),
        "the server holds the three imported prices and 31 days of power use ({prices:?})"
    );

    leader.close().await;
    officer.close().await;
    Ok(())
}
