//! A sync request cut in transit: the real server keeps every push that arrived whole before
//! the cut, through the same checks and commit as a whole request, and nothing of the push the
//! cut went through; the device, which never got an answer, then learns what was kept from its
//! probe and converges with each change stored once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use server::AppState;
use server::sync::SyncService;
use shared::model::EnterpriseId;
use shared::sync::client::{Effect, Input};
use shared::sync::cut::decode_cut_request;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::district::{self, PASSWORD};
use tokio::io::AsyncWriteExt as _;

async fn start() -> anyhow::Result<(TestServer, Arc<SyncService>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    Ok((server, service, dir))
}

/// 500 code points drawn from the CJK block: notes that deflate leaves mostly as they are.
fn random_notes(seed: u64) -> String {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    (0..500)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from_u32(0x4E00 + ((x >> 33) % 0x5200) as u32).unwrap_or('走')
        })
        .collect()
}

/// The shortest prefix of `body` in which `pushes` pushes arrived whole.
fn prefix_with(body: &[u8], pushes: usize) -> usize {
    let arrived = |cut: usize| decode_cut_request(&body[..cut]).map_or(0, |(r, _)| r.push.len());
    let (mut lo, mut hi) = (0, body.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if arrived(mid) >= pushes {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Sends `received` as the start of a `POST /api/sync` of `declared` bytes, then closes the
/// connection: the body is cut there.
async fn send_cut(
    server: &TestServer,
    token: &str,
    declared: usize,
    received: &[u8],
) -> anyhow::Result<()> {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await?;
    let head = format!(
        "POST /api/sync HTTP/1.1\r\nhost: lianxin\r\nauthorization: Bearer {token}\r\n\
         content-type: application/x-lianxin-sync\r\ncontent-length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(received).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(())
}

/// Whether the server stores `doc`.
async fn stored(service: &Arc<SyncService>, doc: &DocId) -> anyhow::Result<bool> {
    let doc = doc.clone();
    service
        .with_store(move |store| store.load_doc(&doc).map(|d| d.is_some()))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))?
        .map_err(anyhow::Error::from)
}

/// How many documents the server stores.
async fn doc_count(service: &Arc<SyncService>) -> anyhow::Result<u64> {
    service
        .with_store(|store| store.doc_count())
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))?
        .map_err(anyhow::Error::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cut_inside_its_fourth_push_keeps_the_first_three_and_nothing_of_the_fourth()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    district::officer(&service, "wang", 0..10).await?;
    let mut wang = NativeDevice::logged_in(1, &server.url(""), "wang", PASSWORD).await?;
    let enterprise = EnterpriseId::from_random_bytes(id_bytes(5, 0));
    for n in 0..6 {
        wang.record_visit(enterprise, &random_notes(n))?;
    }
    let effects = wang.client.handle(Input::SyncNow, wall_clock(), 1);
    let [Effect::Send { body, pushed: 6 }] = effects.as_slice() else {
        anyhow::bail!("expected one request of six pushes, got {effects:?}");
    };
    let order: Vec<DocId> = decode_cut_request(body)?
        .0
        .push
        .into_iter()
        .map(|p| p.doc)
        .collect();
    // Everything of the fourth push but its last byte arrives.
    let cut = prefix_with(body, 4) - 1;
    assert_eq!(decode_cut_request(&body[..cut])?.0.push.len(), 3);
    let token = wang.token.clone().unwrap_or_default();
    send_cut(&server, &token, body.len(), &body[..cut]).await?;

    let deadline = Instant::now() + Duration::from_secs(30);
    for doc in &order[..3] {
        while !stored(&service, doc).await? {
            anyhow::ensure!(Instant::now() < deadline, "{doc} was not kept");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The three were committed together; a moment more changes nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for doc in &order[3..] {
        assert!(
            !stored(&service, doc).await?,
            "{doc}: nothing of it is kept"
        );
    }

    // The device never got an answer: it probes, learns the server has three, sends the rest.
    wang.connection_lost();
    wang.run(Input::Tick, Duration::from_secs(60)).await?;
    assert!(wang.client.replica_mut().pending().is_empty());
    for doc in &order {
        assert!(stored(&service, doc).await?, "{doc}");
    }
    let changes = service
        .with_store(|store| store.change_count())
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    assert_eq!(changes, 6, "each visit's one change stored once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cut_before_its_first_push_ended_stores_nothing_and_the_server_serves_on()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    district::officer(&service, "wang", 0..10).await?;
    let mut wang = NativeDevice::logged_in(1, &server.url(""), "wang", PASSWORD).await?;
    let enterprise = EnterpriseId::from_random_bytes(id_bytes(5, 0));
    for n in 0..2 {
        wang.record_visit(enterprise, &random_notes(n))?;
    }
    let effects = wang.client.handle(Input::SyncNow, wall_clock(), 1);
    let [Effect::Send { body, .. }] = effects.as_slice() else {
        anyhow::bail!("expected one request, got {effects:?}");
    };
    let before = doc_count(&service).await?;
    let cut = prefix_with(body, 1) - 1;
    let token = wang.token.clone().unwrap_or_default();
    send_cut(&server, &token, body.len(), &body[..cut]).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(doc_count(&service).await?, before, "nothing stored");
    wang.connection_lost();
    wang.run(Input::Tick, Duration::from_secs(60)).await?;
    assert!(wang.client.replica_mut().pending().is_empty());
    Ok(())
}
