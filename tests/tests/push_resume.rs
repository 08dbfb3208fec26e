//! The push channel after a drop: a device whose event stream was down while another device
//! committed reconnects with the last event id it saw (`Last-Event-ID`), gets the notice it
//! missed at once, and has the change within seconds.

use std::sync::Arc;
use std::time::Duration;

use server::AppState;
use server::sync::SyncService;
use shared::model::EnterpriseId;
use shared::sync::client::Input;
use shared::sync::protocol::notice_seq;
use shared::sync::server::ServerStore as _;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes};
use tests::district::{self, PASSWORD};

async fn start() -> anyhow::Result<(TestServer, Arc<SyncService>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    Ok((server, service, dir))
}

async fn officer(
    service: &Arc<SyncService>,
    server: &TestServer,
    n: u8,
    login: &str,
) -> anyhow::Result<NativeDevice> {
    district::officer(service, login, 0..10).await?;
    NativeDevice::logged_in(n, &server.url(""), login, PASSWORD).await
}

fn enterprise(n: u64) -> EnterpriseId {
    EnterpriseId::from_random_bytes(id_bytes(5, n % 10))
}

/// Opens `GET /api/events` as `dev`, with `Last-Event-ID: last` when given.
async fn open_events(
    server: &TestServer,
    dev: &NativeDevice,
    last: Option<u64>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = reqwest::Client::new()
        .get(server.url("/api/events"))
        .bearer_auth(dev.token.clone().unwrap_or_default())
        .header("accept", "text/event-stream");
    if let Some(last) = last {
        request = request.header("last-event-id", last.to_string());
    }
    let response = request.send().await?;
    anyhow::ensure!(response.status() == 200, "{}", response.status());
    Ok(response)
}

/// The next `changed` event on `stream` within `wait`: its `id:` and its data's sequence;
/// `None` if none came in time.
async fn next_changed(
    stream: &mut reqwest::Response,
    wait: Duration,
) -> anyhow::Result<Option<(Option<u64>, Option<u64>)>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pending = String::new();
    loop {
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if event.lines().any(|l| l.trim() == "event: changed") {
                let id = event
                    .lines()
                    .find_map(|l| l.strip_prefix("id:"))
                    .and_then(|v| v.trim().parse().ok());
                return Ok(Some((id, notice_seq(&event))));
            }
        }
        match tokio::time::timeout_at(deadline, stream.chunk()).await {
            Err(_) => return Ok(None),
            Ok(chunk) => match chunk? {
                Some(bytes) => pending.push_str(&String::from_utf8_lossy(&bytes)),
                None => anyhow::bail!("the stream ended"),
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reconnecting_with_its_last_event_id_gets_the_notice_it_missed_at_once()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    let mut wang = officer(&service, &server, 1, "wang").await?;
    let mut li = officer(&service, &server, 2, "li").await?;
    let visit = wang.record_visit(enterprise(1), "第一次走访")?;
    wang.sync().await?;
    li.sync().await?;

    // Li's stream is up while Wang edits: the notice carries its id.
    let mut stream = open_events(&server, &li, None).await?;
    wang.edit_visit_notes(&visit, "王：已协调供电公司")?;
    wang.sync().await?;
    let (id, seq) = next_changed(&mut stream, Duration::from_secs(5))
        .await?
        .expect("the notice of Wang's edit");
    let last = id.expect("events carry an id");
    assert_eq!(Some(last), seq, "the id is the feed's sequence");
    li.run(Input::PushNotice { seq }, Duration::from_secs(10))
        .await?;

    // The stream drops; Wang edits again meanwhile.
    drop(stream);
    wang.edit_visit_notes(&visit, "王：企业用电已恢复")?;
    wang.sync().await?;

    // Reconnecting with the last id it saw, Li hears of the missed edit at once (nothing is
    // committed after the reconnect, so only the resume can bring the notice; the bound leaves
    // room for a loaded machine).
    let mut stream = open_events(&server, &li, Some(last)).await?;
    let (id, seq) = next_changed(&mut stream, Duration::from_secs(5))
        .await?
        .expect("the missed notice, at once");
    assert!(id.is_some_and(|id| id > last), "{id:?} after {last}");
    let started = std::time::Instant::now();
    li.run(Input::PushNotice { seq }, Duration::from_secs(10))
        .await?;
    assert_eq!(li.visit_notes(&visit)?, "王：企业用电已恢复");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "within seconds"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reconnecting_up_to_date_or_without_an_id_gets_no_notice_until_the_feed_moves()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    let mut wang = officer(&service, &server, 1, "wang").await?;
    wang.record_visit(enterprise(1), "第一次走访")?;
    wang.sync().await?;
    let latest = service
        .with_store(|store| store.latest_seq())
        .await
        .expect("the store thread ran")?;
    assert!(latest > 0);
    for last in [Some(latest), None] {
        let mut stream = open_events(&server, &wang, last).await?;
        let early = next_changed(&mut stream, Duration::from_millis(500)).await?;
        assert_eq!(early, None, "Last-Event-ID {last:?}");
    }
    Ok(())
}
