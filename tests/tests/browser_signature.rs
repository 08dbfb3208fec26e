//! The enterprise's signature and unsent photos at logout (issue 14 items 4 and 1), in headless
//! Chromium at 360×780 against the real server. An officer with no signal has the enterprise's
//! representative sign a visit on the screen (a finger drawn by WebDriver pointer actions):
//! it shows at once and after an offline reload, reaches the server when the signal returns,
//! and a leader's visit list shows it. A photo still on the phone holds back a logout, named
//! as such, until the server has it.

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
use tests::uploads::{Tus, noise_png, sha256_hex};

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

/// Whether the signature image shows (loaded) and is signed by 张经理.
const SIGNATURE_SHOWN: &str = "(() => { const s = document.querySelector('.signed'); \
    const i = s && s.querySelector('.ph[data-s=ok] img'); \
    return !!i && i.complete && i.naturalWidth > 0 && s.textContent.includes('企业签字：张经理'); })()";

/// The PATCHes of photo uploads wait until `window.__go`.
const HOLD_PATCHES: &str = "window.__go = false; const f = window.fetch; \
    window.fetch = async (url, init) => { \
      if (init && init.method === 'PATCH') while (!window.__go) await new Promise(r => setTimeout(r, 100)); \
      return f(url, init); };";

/// Waits until blob `hash` is on the server, read as the district's leader.
async fn on_server(w: &World, hash: &str) -> anyhow::Result<()> {
    let direct = format!("http://{}", w.served.addr);
    let mut leader = NativeDevice::new(9, &direct);
    ensure!(leader.login(LEADER, district::PASSWORD).await?.status == 200);
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

    // 1. No signal: the visit is recorded and the enterprise's representative signs it.
    a.set_network(&w.link, false).await?;
    record_visit(&a, &w, "请企业签字确认").await?;
    a.wait_until(
        "the signature pad",
        "document.querySelector('canvas.sg[data-w]')",
        WAIT,
    )
    .await?;
    a.click("button.sign-save", "").await?;
    a.wait_text(".sign-visit .hint", "请先在框内签字", WAIT)
        .await?;
    a.fill("#visit-sig-name", "张经理").await?;
    let pad = a.client.find(Locator::Css("#visit-sig")).await?;
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
    a.client.perform_actions(finger).await.context("drawing")?;
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

/// The text of the logout refusal, once a press of "log out" shows one that satisfies `check`.
async fn refused_logout(b: &Browser, what: &str, check: &str) -> anyhow::Result<()> {
    b.click("button.danger", "退出登录").await?;
    b.wait_until(
        what,
        &format!(
            "(() => {{ const p = document.querySelector('.logout-blocked'); \
             const t = p ? p.textContent : ''; return {check}; }})()"
        ),
        WAIT,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_still_on_the_phone_holds_back_the_logout_until_the_server_has_it()
-> anyhow::Result<()> {
    let w = world().await?;
    let a = officer(&w).await?;
    let files = tempfile::tempdir()?;
    let photo = files.path().join("gate.png");
    std::fs::write(&photo, noise_png(600, 400, 3)?)?;

    // 1. No signal: a visit with a photo. Logout is refused: the record and the photo.
    a.set_network(&w.link, false).await?;
    a.route(&format!("#/e/{}/visit", w.enterprise)).await?;
    a.wait_until("the visit form", "document.querySelector('#photos')", WAIT)
        .await?;
    a.client
        .find(Locator::Css("#photos"))
        .await?
        .send_keys(&photo.display().to_string())
        .await
        .context("choosing the photo")?;
    a.wait_until(
        "the photo in the form",
        "document.querySelectorAll('.ph[data-s=ok]').length === 1",
        WAIT,
    )
    .await?;
    a.fill("#notes", "大门照片").await?;
    a.click("button.save", "").await?;
    a.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    a.route("#/sync").await?;
    refused_logout(
        &a,
        "logout refused for the record and its photo",
        "t.includes('1 条更改') && t.includes('1 张照片尚未上传')",
    )
    .await?;

    // 2. The signal returns: the record is taken, the photo's upload is held back. Logout is
    //    still refused, for the photo alone.
    a.js(HOLD_PATCHES, vec![]).await?;
    a.set_network(&w.link, true).await?;
    a.wait_synced("the visit to sync", WAIT).await?;
    refused_logout(
        &a,
        "logout refused for the photo alone",
        "t.includes('1 张照片尚未上传') && !t.includes('更改')",
    )
    .await?;

    // 3. The photo uploads: logout is allowed.
    a.js("window.__go = true;", vec![]).await?;
    a.wait_until(
        "the upload to finish",
        "!document.querySelector('.sync-photos')",
        WAIT,
    )
    .await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        a.click("button.danger", "退出登录").await.ok();
        tokio::time::sleep(Duration::from_millis(500)).await;
        if a.js("return document.querySelector('#login') !== null;", vec![])
            .await?
            == serde_json::Value::Bool(true)
        {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "logout still refused: {}",
            a.text(".logout-blocked").await.unwrap_or_default()
        );
    }
    a.close().await;
    Ok(())
}
