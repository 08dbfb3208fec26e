//! The enterprise's signature (issue 14 item 4), in headless Chromium against the real
//! server. An officer with no signal has the enterprise's representative sign on the screen
//! (a finger drawn by WebDriver touch actions) a visit, or the confirmation of a problem's
//! resolution: it shows at once and after an offline reload, reaches the server when the
//! signal returns, and a leader (the full bundle, with its own style sheet) sees it: the
//! visit's on the leaders' visit list, the problem's in the problem's log.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use fantoccini::Locator;
use fantoccini::actions::{InputSource as _, PointerAction, TouchActions};
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::{EnterpriseId, Role};
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::NativeDevice;
use tests::district;
use tests::uploads::{Tus, sha256_hex};

const WAIT: Duration = Duration::from_secs(40);
const ENTERPRISE_NAME: &str = "济源市示例特钢有限公司";
const OFFICER: &str = "zhang.wei";
const LEADER: &str = "boss";

/// An officer of a town with one enterprise, and a district leader.
async fn seed(service: &Arc<SyncService>) -> anyhow::Result<EnterpriseId> {
    service
        .with_store(|s| {
            let enterprise =
                district::town_officers_with_enterprise(s, &[OFFICER], ENTERPRISE_NAME)?;
            let zone =
                district::org_unit(s, district::ZONE, shared::model::OrgUnitKind::Zone, None)?;
            district::user(s, LEADER, Role::Leader, zone)?;
            Ok(enterprise)
        })
        .await
        .context("the store thread stopped")?
}

struct World {
    served: Served,
    link: Link,
    driver: Chromedriver,
    enterprise: EnterpriseId,
    _dir: tempfile::TempDir,
}

async fn world() -> anyhow::Result<World> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    let enterprise = seed(&service).await?;
    let served = Served::start(server::app(AppState::new(site, service))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    Ok(World {
        served,
        link,
        driver,
        enterprise,
        _dir: dir,
    })
}

async fn officer(w: &World) -> anyhow::Result<Browser> {
    let b = Browser::launch(&w.driver).await?;
    b.log_in(
        &w.link.url("/"),
        OFFICER,
        district::PASSWORD,
        ".enterprise-card",
        WAIT,
    )
    .await?;
    b.wait_until(
        "the service worker to control the page",
        "navigator.serviceWorker.controller !== null",
        WAIT,
    )
    .await?;
    b.wait_synced("the first sync", WAIT).await?;
    Ok(b)
}

/// Records a visit with `notes` on the visit form and opens it.
async fn record_visit(b: &Browser, w: &World, notes: &str) -> anyhow::Result<()> {
    b.route(&format!("#/e/{}/visit", w.enterprise)).await?;
    b.wait_until("the visit form", "document.querySelector('#notes')", WAIT)
        .await?;
    b.fill("#notes", notes).await?;
    b.click("button.save", "").await?;
    b.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    b.click(".visit-card a", notes).await
}

/// Draws a short stroke with a finger on the canvas `css`.
async fn draw(b: &Browser, css: &str) -> anyhow::Result<()> {
    b.js(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
        vec![serde_json::json!(css)],
    )
    .await?;
    let pad = b.client.find(Locator::Css(css)).await?;
    let finger = TouchActions::new("finger".into())
        .then(PointerAction::MoveToElement {
            element: pad,
            duration: None,
            x: -100.0,
            y: 10.0,
        })
        .then(PointerAction::Down { button: 0 })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 40.0,
            y: -25.0,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 40.0,
            y: 30.0,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(100)),
            x: 60.0,
            y: -20.0,
        })
        .then(PointerAction::Up { button: 0 });
    b.client.perform_actions(finger).await.context("drawing")
}

/// Whether the signature image shows (loaded) and is signed by 张经理.
const SIGNATURE_SHOWN: &str = "(() => { const s = document.querySelector('.signed'); \
    const i = s && s.querySelector('.ph[data-s=ok] img'); \
    return !!i && i.complete && i.naturalWidth > 0 && s.textContent.includes('企业签字：张经理'); })()";

/// Whether the full bundle's own style sheet is loaded (with rules).
const FULL_SHEET: &str = "[...document.styleSheets].some(s => (s.href || '').endsWith('/client_full.css') \
    && s.cssRules.length > 0)";

/// A leader logged in, with the full bundle and its style sheet.
async fn leader(w: &World) -> anyhow::Result<Browser> {
    let leader = Browser::launch(&w.driver).await?;
    leader
        .log_in(
            &w.link.url("/"),
            LEADER,
            district::PASSWORD,
            "main.screen",
            WAIT,
        )
        .await?;
    leader
        .wait_until("the full bundle's style sheet", FULL_SHEET, WAIT)
        .await?;
    Ok(leader)
}

/// The district leader's own device, logged in straight to the server (past the link).
async fn leaders_device(w: &World) -> anyhow::Result<NativeDevice> {
    let direct = format!("http://{}", w.served.addr);
    NativeDevice::logged_in(9, &direct, LEADER, district::PASSWORD).await
}

/// Waits until blob `hash` is on the server, read as the district's leader.
async fn on_server(w: &World, hash: &str) -> anyhow::Result<()> {
    let leader = leaders_device(w).await?;
    let direct = format!("http://{}", w.served.addr);
    let tus = Tus::new(&direct, leader.token.as_deref().context("token")?);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let response = tus.blob(hash, false).await?;
        if response.status() == 200 {
            ensure!(
                sha256_hex(&response.bytes().await?) == hash,
                "the stored bytes"
            );
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{hash} not on the server: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_signed_offline_shows_after_a_reload_and_reaches_the_leaders_visit_list()
-> anyhow::Result<()> {
    let w = world().await?;
    let a = officer(&w).await?;

    // The officer bundle leaves the full bundle's style sheet out.
    ensure!(
        a.js(&format!("return {FULL_SHEET};"), vec![]).await? == serde_json::Value::Bool(false),
        "the officer bundle loaded client_full.css"
    );

    // 1. No signal: the visit is recorded and the enterprise's representative signs it.
    a.set_network(&w.link, false).await?;
    record_visit(&a, &w, "请企业签字确认").await?;
    a.wait_until(
        "the signature pad",
        "document.querySelector('#visit-sig[data-w] canvas')",
        WAIT,
    )
    .await?;
    a.click("button.sign-save", "").await?;
    a.wait_text(".sign-visit .hint", "请先在框内签字", WAIT)
        .await?;
    a.fill("#visit-sig-name", "张经理").await?;
    draw(&a, "#visit-sig canvas").await?;
    a.click("button.sign-save", "").await?;
    a.wait_until("the signature on the visit", SIGNATURE_SHOWN, WAIT)
        .await?;
    let hash = a
        .js_string("return document.querySelector('.signed .ph').dataset.h;")
        .await?;

    // 2. Reloaded with no network: the signature shows from the device, and in the history.
    a.client.refresh().await.context("reloading offline")?;
    a.wait_until(
        "the signature after an offline reload",
        SIGNATURE_SHOWN,
        WAIT,
    )
    .await?;
    a.js(
        "document.querySelector('a[href^=\"#/h/\"]').click();",
        vec![],
    )
    .await?;
    a.wait_text(".history-signatures", "企业签字：张经理", WAIT)
        .await?;
    let history_image = "document.querySelector('.history-signatures .ph[data-s=ok]') !== null";
    a.wait_until("the signature in the history", history_image, WAIT)
        .await?;

    // 3. The signal returns: the visit syncs and its signature follows to the server.
    a.set_network(&w.link, true).await?;
    a.wait_synced("the signed visit to sync", WAIT).await?;
    on_server(&w, &hash).await?;

    // 4. A leader's visit list shows who signed, and the signature.
    let leader = leader(&w).await?;
    leader.route("#/visits").await?;
    leader
        .wait_text("tr.visit-row td.signature", "企业签字：张经理", WAIT)
        .await?;
    leader
        .wait_until(
            "the signature's image on the leader's list",
            "(() => { const i = document.querySelector('td.signature .ph[data-s=ok] img'); \
             return !!i && i.complete && i.naturalWidth > 0; })()",
            WAIT,
        )
        .await?;
    leader.close().await;
    a.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problems_resolution_confirmed_offline_with_a_signature_reaches_the_server_and_a_leader()
-> anyhow::Result<()> {
    let w = world().await?;
    // The officer's other phone resolved a problem on the spot and synced it.
    let direct = format!("http://{}", w.served.addr);
    let mut other_phone = NativeDevice::logged_in(8, &direct, OFFICER, district::PASSWORD).await?;
    let owner = other_phone.actor.user;
    let problem = other_phone.resolved_on_site(1, w.enterprise, owner)?;
    other_phone.sync().await?;
    let a = officer(&w).await?;

    // 1. No signal: the enterprise's representative confirms the resolution and signs.
    a.set_network(&w.link, false).await?;
    a.route(&format!("#/p/{}", problem.root_id())).await?;
    a.wait_text("button.action", "企业确认", WAIT).await?;
    a.click("button.action", "企业确认").await?;
    a.wait_until(
        "the confirmation's signature pad",
        "document.querySelector('#confirm-sig[data-w] canvas')",
        WAIT,
    )
    .await?;
    a.fill("#confirm-sig-name", "张经理").await?;
    draw(&a, "#confirm-sig canvas").await?;
    a.fill("#reason", "线路已更换，确认解决").await?;
    a.click(".action-form button.primary", "").await?;
    a.wait_text(".badge", "企业已确认", WAIT).await?;
    a.wait_until("the signature in the problem's log", SIGNATURE_SHOWN, WAIT)
        .await?;
    let hash = a
        .js_string("return document.querySelector('.signed .ph').dataset.h;")
        .await?;

    // 2. Reloaded with no network: the signature shows from the device.
    a.client.refresh().await.context("reloading offline")?;
    a.wait_until(
        "the signature after an offline reload",
        SIGNATURE_SHOWN,
        WAIT,
    )
    .await?;

    // 3. The signal returns: the confirmation reaches the server with its signer, and the
    // signature's image follows with the right hash.
    a.set_network(&w.link, true).await?;
    a.wait_synced("the signed confirmation to sync", WAIT)
        .await?;
    on_server(&w, &hash).await?;
    let mut boss = leaders_device(&w).await?;
    boss.sync().await?;
    let signed = boss.problem(&problem)?.signatures;
    ensure!(
        signed.len() == 1 && signed[0].by_name == "张经理" && signed[0].signature.hash == hash,
        "the server's confirmation: {signed:?}"
    );

    // 4. A leader's browser shows who signed, and the signature, in the problem's log.
    let leader = leader(&w).await?;
    leader.route(&format!("#/p/{}", problem.root_id())).await?;
    leader
        .wait_until(
            "the signature on the leader's screen",
            SIGNATURE_SHOWN,
            WAIT,
        )
        .await?;
    leader.close().await;
    a.close().await;
    Ok(())
}
