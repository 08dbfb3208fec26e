//! The service worker's update path, in headless Chromium: a browser that has build A cached
//! gets build B after a deploy — the new worker installs B's shell into a new cache, takes over,
//! tells the page (the app offers a reload), the reload runs B, and A's cache is gone.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;
use server::AppState;
use tests::browser::{Browser, Chromedriver, Served, require_site};

const WAIT: Duration = Duration::from_secs(40);

/// Copies the built site to `to`, stamped as build `build` (instead of the real build id), and
/// without the precompressed copies of the two stamped files.
/// The files get modification times `age` from now: the server answers conditional requests
/// by `Last-Modified` (whole seconds), so two builds written in the same second would look
/// unchanged to the browser's update check; real deploys are minutes apart.
fn copy_site(from: &Path, to: &Path, build: &str, age: Duration) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    let page = std::fs::read_to_string(to.join("index.html"))?;
    let real = page
        .split("name=\"lianxin-build\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("index.html names its build")?
        .to_string();
    for name in ["sw.js", "index.html"] {
        let text = std::fs::read_to_string(to.join(name))?;
        ensure!(text.contains(&real), "{name} carries the build id {real}");
        std::fs::write(to.join(name), text.replace(&real, build))?;
        for sibling in [format!("{name}.br"), format!("{name}.gz")] {
            let _ = std::fs::remove_file(to.join(sibling));
        }
    }
    let modified = std::time::SystemTime::now() + age;
    for entry in std::fs::read_dir(to)? {
        std::fs::File::options()
            .write(true)
            .open(entry?.path())?
            .set_modified(modified)?;
    }
    Ok(())
}

async fn build_shown(browser: &Browser) -> anyhow::Result<String> {
    browser
        .js_string("const m = document.querySelector('meta[name=lianxin-build]'); return m ? m.content : '';")
        .await
}

async fn cache_names(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let v = browser.js("return caches.keys();", vec![]).await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deploy_replaces_the_cached_shell_after_a_reload() -> anyhow::Result<()> {
    let built = require_site()?;
    let dir = tempfile::tempdir()?;
    let site = dir.path().join("site");
    copy_site(&built, &site, "test-build-a", Duration::ZERO)?;
    copy_site(
        &built,
        &dir.path().join("site-b"),
        "test-build-b",
        Duration::from_secs(120),
    )?;
    let service = tests::sync_service(dir.path())?;
    let served = Served::start(server::app(AppState::new(&site, service))).await?;
    let url = format!("http://{}/", served.addr);
    let driver = Chromedriver::start().await?;
    let browser = Browser::launch(&driver).await?;

    browser.goto(&url).await?;
    browser
        .wait_until(
            "build A's worker to control the page",
            "navigator.serviceWorker.controller !== null",
            WAIT,
        )
        .await?;
    ensure!(build_shown(&browser).await? == "test-build-a");
    ensure!(cache_names(&browser).await? == vec!["lianxin-shell-test-build-a".to_string()]);

    // Deploy build B the way `cargo xtask build-client` does: swap the folder.
    std::fs::rename(&site, dir.path().join("site-a"))?;
    std::fs::rename(dir.path().join("site-b"), &site)?;

    // The next load still runs A (from its cache) while B installs; B then takes over and the
    // app offers a reload.
    browser.client.refresh().await?;
    let offered = browser
        .wait_until(
            "the app to offer the new version",
            "document.querySelector('.update-banner') !== null",
            WAIT,
        )
        .await;
    if let Err(e) = offered {
        let state = browser
            .js(
                "return navigator.serviceWorker.getRegistration().then(r => JSON.stringify({ \
                   active: r && r.active && r.active.state, waiting: r && r.waiting && r.waiting.state, \
                   installing: r && r.installing && r.installing.state, flag: window.__lianxinUpdate || null })) \
                   .then(s => caches.keys().then(k => s + ' caches=' + k.join(','))) \
                   .then(s => fetch('/sw.js', {cache: 'no-store'}).then(r => r.text()).then(t => s + ' sw=' + (t.match(/BUILD ?= ?['\"][^'\"]*['\"]/) || ['no BUILD'])[0])) \
                   .then(s => navigator.serviceWorker.getRegistration().then(r => r.update()).then(() => s + ' update=ok', e => s + ' update=' + e));",
                vec![],
            )
            .await?;
        bail!("{e:#}\nservice worker: {state}");
    }
    browser.screenshot("16-update-ready").await?;
    browser.click(".update-banner button", "").await?;
    let deadline = Instant::now() + WAIT;
    loop {
        if build_shown(&browser).await.unwrap_or_default() == "test-build-b" {
            break;
        }
        if Instant::now() > deadline {
            bail!("build B never replaced build A after reloads");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    browser
        .wait_until("the app to start", "document.querySelector('#login')", WAIT)
        .await?;
    ensure!(
        cache_names(&browser).await? == vec!["lianxin-shell-test-build-b".to_string()],
        "build A's cache is deleted"
    );

    // And B's shell is what opens with the server gone.
    drop(served);
    browser.client.refresh().await?;
    browser
        .wait_until(
            "the app to open offline",
            "document.querySelector('#login')",
            WAIT,
        )
        .await?;
    ensure!(build_shown(&browser).await? == "test-build-b");
    browser.close().await;
    Ok(())
}
