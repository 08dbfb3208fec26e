//! Unsent photos at logout (issue 14 item 1: nothing lost), in headless Chromium at 360×780
//! against the real server. A photo still on the phone holds back a logout, named as such,
//! until the server has it: the record alone syncing first does not free it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use fantoccini::Locator;
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::EnterpriseId;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::district;
use tests::uploads::noise_png;

const WAIT: Duration = Duration::from_secs(40);
const ENTERPRISE_NAME: &str = "济源市示例特钢有限公司";
const OFFICER: &str = "zhang.wei";

/// An officer of a town with one enterprise.
async fn seed(service: &Arc<SyncService>) -> anyhow::Result<EnterpriseId> {
    service
        .with_store(|s| district::town_officers_with_enterprise(s, &[OFFICER], ENTERPRISE_NAME))
        .await
        .context("the store thread stopped")?
}

struct World {
    _served: Served,
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
        _served: served,
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

/// The PATCHes of photo uploads wait until `window.__go`.
const HOLD_PATCHES: &str = "window.__go = false; const f = window.fetch; \
    window.fetch = async (url, init) => { \
      if (init && init.method === 'PATCH') while (!window.__go) await new Promise(r => setTimeout(r, 100)); \
      return f(url, init); };";

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
