//! Two tabs of the app share one session while the server rotates refresh tokens (a used
//! refresh token presented again logs the device out): a tab refreshes under a lock the tabs
//! share and takes the session another tab already refreshed, so neither presents a used token.
//! The server answers refreshes slowly here, so two tabs refreshing together overlap.

use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{Next, from_fn};
use axum::response::Response;
use fantoccini::wd::WindowHandle;
use server::AppState;
use server::auth::AuthConfig;
use server::sync::SyncService;
use shared::model::Role;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::district;

const WAIT: Duration = Duration::from_secs(40);
const OFFICER: &str = "zhao.lei";
/// The access tokens' lifetime here: each round below starts with them expired.
const ACCESS_TTL: Duration = Duration::from_secs(3);

/// How long the server takes to answer a refresh here: long enough that two tabs refreshing
/// at the same moment overlap.
const REFRESH_DELAY: Duration = Duration::from_millis(500);

/// Holds every `POST /api/refresh` for [`REFRESH_DELAY`] before the server handles it.
async fn slow_refresh(request: axum::extract::Request, next: Next) -> Response {
    if request.uri().path() == "/api/refresh" {
        tokio::time::sleep(REFRESH_DELAY).await;
    }
    next.run(request).await
}

/// How many times a used refresh token was presented again: found a theft
/// (`refresh_token_reused`) or forgiven as a lost answer (`refresh_retried`).
async fn used_tokens_presented(service: &Arc<SyncService>) -> anyhow::Result<usize> {
    let entries = service
        .with_store(|s| s.audit_log(0, 1_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .iter()
        .filter(|e| e.action == "refresh_token_reused" || e.action == "refresh_retried")
        .count())
}

/// Switches to `tab`, presses "sync now" there and waits until its sync round is over: the tab
/// still shows the app (not the login screen) and has synced.
async fn synced_in(b: &Browser, tab: &WindowHandle, name: &str) -> anyhow::Result<()> {
    b.client.switch_to_window(tab.clone()).await?;
    b.click(".sync-now", "").await.ok();
    b.wait_until(
        &format!("{name}'s sync round"),
        "document.querySelector('#login') || (\
         document.querySelector('.sync-bar').dataset.waiting === '0' \
         && document.querySelector('.sync-bar').dataset.online === 'true' \
         && !document.querySelector('.sync-state.syncing'))",
        WAIT,
    )
    .await?;
    anyhow::ensure!(
        b.js("return document.querySelector('#login') === null", vec![])
            .await?
            .as_bool()
            == Some(true),
        "{name} was logged out"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_keep_their_session_through_rotated_refreshes() -> anyhow::Result<()> {
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
    let state = AppState::new(site, service.clone()).with_auth_config(AuthConfig {
        access_ttl_ms: i64::try_from(ACCESS_TTL.as_millis())?,
        refreshes_per_device: 1_000,
        ..AuthConfig::default()
    });
    let served = Served::start(server::app(state).layer(from_fn(slow_refresh))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let b = Browser::launch(&driver).await?;

    // One officer, logged in in one tab, opens the app in a second tab of the same browser.
    b.log_in(
        &link.url("/"),
        OFFICER,
        district::PASSWORD,
        ".sync-bar",
        WAIT,
    )
    .await?;
    b.wait_synced("the first tab's first sync", WAIT).await?;
    let first = b.client.window().await?;
    let second = b.client.new_window(true).await?.handle;
    b.client.switch_to_window(second.clone()).await?;
    b.goto(&link.url("/")).await?;
    b.wait_until(
        "the second tab",
        "document.querySelector('.sync-bar')",
        WAIT,
    )
    .await?;

    // Several rounds, each after the access tokens expired: one after the other, then both
    // tabs at the same moment (one tells the other through a BroadcastChannel).
    for round in 0..3 {
        tokio::time::sleep(ACCESS_TTL + Duration::from_millis(500)).await;
        synced_in(&b, &first, &format!("the first tab (round {round})")).await?;
        synced_in(&b, &second, &format!("the second tab (round {round})")).await?;
    }
    let listen = "window.__tabs = new BroadcastChannel('tabs-test'); \
                  window.__tabs.onmessage = () => document.querySelector('.sync-now').click();";
    b.client.switch_to_window(first.clone()).await?;
    b.js(listen, vec![]).await?;
    b.client.switch_to_window(second.clone()).await?;
    b.js(listen, vec![]).await?;
    for round in 0..3 {
        tokio::time::sleep(ACCESS_TTL + Duration::from_millis(500)).await;
        b.js(
            "window.__tabs.postMessage('sync'); document.querySelector('.sync-now').click();",
            vec![],
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        synced_in(&b, &first, &format!("the first tab (together, {round})")).await?;
        synced_in(&b, &second, &format!("the second tab (together, {round})")).await?;
    }
    // Neither tab was logged out meanwhile (a round may have ended after its wait above).
    synced_in(&b, &first, "the first tab, at the end").await?;
    synced_in(&b, &second, "the second tab, at the end").await?;

    assert_eq!(
        used_tokens_presented(&service).await?,
        0,
        "no tab presented a used refresh token"
    );
    b.close().await;
    Ok(())
}
