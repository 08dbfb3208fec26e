//! Logging out ends the session on the server (issue 17 item 2): the app calls
//! `POST /api/logout`, which revokes every token of the device (and audits it); an officer who
//! logs out while the server cannot be reached has it sent as soon as the signal is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use server::AppState;
use server::sync::SyncService;
use shared::model::Role;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::district;

const WAIT: Duration = Duration::from_secs(40);
const OFFICER: &str = "zhao.lei";

/// How many logouts the server has audited.
async fn logouts(service: &Arc<SyncService>) -> anyhow::Result<usize> {
    let entries = service
        .with_store(|s| s.audit_log(0, 1_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .iter()
        .filter(|e| e.action == "logout" && e.actor == OFFICER)
        .count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_made_offline_reaches_the_server_when_the_signal_is_back() -> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    service
        .with_store(|s| -> anyhow::Result<()> {
            let town = district::town(s, "yuquan")?;
            district::user(s, OFFICER, Role::Officer, town)?;
            Ok(())
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let b = Browser::launch(&driver).await?;
    b.log_in(
        &link.url("/"),
        OFFICER,
        district::PASSWORD,
        ".sync-bar",
        WAIT,
    )
    .await?;
    b.wait_synced("the first sync", WAIT).await?;

    // Without signal, the officer logs out: the app shows the login screen at once.
    b.set_network(&link, false).await?;
    b.route("#/sync").await?;
    b.click("button.danger", "退出登录").await?;
    b.wait_until(
        "the login screen",
        "document.querySelector('#login') !== null",
        WAIT,
    )
    .await?;
    assert_eq!(logouts(&service).await?, 0, "the server was out of reach");

    // The signal comes back: the logout goes.
    b.set_network(&link, true).await?;
    let deadline = Instant::now() + WAIT;
    while logouts(&service).await? == 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no logout reached the server within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.close().await;
    Ok(())
}
