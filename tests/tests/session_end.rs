//! A session's end reaches what it holds open: logout revokes the device's refresh token too
//! and closes its event stream at once; a device revoked behind the server's back (the admin
//! CLI writes the file) loses its stream at the next re-check; one user cannot hold more
//! streams than the limit.

use std::sync::Arc;
use std::time::Duration;

use server::AppState;
use server::sync::SyncService;
use server::sync::events::EventStreams;
use tests::TestServer;
use tests::device::{NativeDevice, wall_clock};
use tests::district::{self, PASSWORD};

async fn start(
    streams: EventStreams,
) -> anyhow::Result<(TestServer, Arc<SyncService>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let state =
        AppState::new(dir.path().join("no-site"), service.clone()).with_event_streams(streams);
    let server = TestServer::start(state).await?;
    Ok((server, service, dir))
}

async fn officer(
    service: &Arc<SyncService>,
    server: &TestServer,
    n: u8,
    login: &str,
) -> anyhow::Result<NativeDevice> {
    district::officer(service, login, 0..3).await?;
    NativeDevice::logged_in(n, &server.url(""), login, PASSWORD).await
}

async fn open_events(server: &TestServer, dev: &NativeDevice) -> anyhow::Result<reqwest::Response> {
    Ok(reqwest::Client::new()
        .get(server.url("/api/events"))
        .bearer_auth(dev.token.clone().unwrap_or_default())
        .header("accept", "text/event-stream")
        .send()
        .await?)
}

/// Whether `stream` ends (the server closed it) within `wait`; events before the end are
/// skipped.
async fn ends_within(stream: &mut reqwest::Response, wait: Duration) -> anyhow::Result<bool> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.chunk()).await {
            Err(_) => return Ok(false),
            Ok(Ok(None)) => return Ok(true),
            Ok(Ok(Some(_))) => continue,
            Ok(Err(error)) => anyhow::bail!("the stream failed instead of ending: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_closes_the_event_stream_at_once_and_refuses_the_refresh_token()
-> anyhow::Result<()> {
    // A re-check far beyond the test: only the logout itself can close the stream.
    let (server, service, _dir) = start(EventStreams::new(Duration::from_secs(600), 8)).await?;
    let mut wang = officer(&service, &server, 1, "wang").await?;
    let mut stream = open_events(&server, &wang).await?;
    assert_eq!(stream.status(), 200);

    let logout = reqwest::Client::new()
        .post(server.url("/api/logout"))
        .bearer_auth(wang.token.clone().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(logout.status(), 204);

    assert!(
        ends_within(&mut stream, Duration::from_secs(5)).await?,
        "the event stream stayed open after logout"
    );
    let refreshed = wang.refresh().await?;
    assert_eq!(refreshed.status, 401, "{}", refreshed.body);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_revoked_in_the_database_loses_its_stream_at_the_next_recheck()
-> anyhow::Result<()> {
    let (server, service, _dir) = start(EventStreams::new(Duration::from_millis(300), 8)).await?;
    let wang = officer(&service, &server, 1, "wang").await?;
    let li = officer(&service, &server, 2, "li").await?;
    let mut wangs = open_events(&server, &wang).await?;
    let mut lis = open_events(&server, &li).await?;
    assert_eq!((wangs.status().as_u16(), lis.status().as_u16()), (200, 200));

    let device = wang.actor.device;
    service
        .with_store(move |s| s.revoke_device(device, wall_clock(), "test"))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;

    assert!(
        ends_within(&mut wangs, Duration::from_secs(5)).await?,
        "the revoked device's stream stayed open"
    );
    assert!(
        !ends_within(&mut lis, Duration::from_secs(1)).await?,
        "another device's stream was closed too"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_holds_at_most_the_limit_of_streams_and_others_are_not_counted()
-> anyhow::Result<()> {
    let (server, service, _dir) = start(EventStreams::new(Duration::from_secs(600), 2)).await?;
    let wang = officer(&service, &server, 1, "wang").await?;
    let li = officer(&service, &server, 2, "li").await?;
    let first = open_events(&server, &wang).await?;
    let second = open_events(&server, &wang).await?;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );

    let third = open_events(&server, &wang).await?;
    assert_eq!(third.status(), 429);
    let body: serde_json::Value = third.json().await?;
    assert_eq!(body["error"], "too_many_streams", "{body}");

    let lis = open_events(&server, &li).await?;
    assert_eq!(lis.status(), 200, "another user's stream was refused");
    Ok(())
}
