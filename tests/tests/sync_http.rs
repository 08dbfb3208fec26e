//! Sync over HTTP against the real server in-process with a real SQLite file, driven by native
//! devices running the same engine as the browser. Request counts and bytes are asserted (each
//! device reports a fixed round-trip time, so chunk sizes are deterministic), not times.

use std::sync::Arc;

use server::AppState;
use server::http::metrics::MetricsToken;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{EnterpriseId, ProblemClass, ProblemId, ProblemSource, Tier, Timestamp};
use shared::sync::protocol::{self, DocId, DocPush, Outcome, Refusal, SyncRequest, SyncResponse};
use tempfile::TempDir;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes};
use tests::district::{self, PASSWORD};
use tests::process::METRICS_TOKEN;

struct Setup {
    server: TestServer,
    service: Arc<SyncService>,
    _dir: TempDir,
}

async fn setup() -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let token = MetricsToken::new(METRICS_TOKEN).map_err(anyhow::Error::msg)?;
    let state =
        AppState::new(dir.path().join("no-site"), service.clone()).with_metrics_token(Some(token));
    let server = TestServer::start(state).await?;
    Ok(Setup {
        server,
        service,
        _dir: dir,
    })
}

/// `GET /metrics` with the token.
async fn metrics(s: &Setup) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .get(s.server.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "/metrics answered {}",
        response.status()
    );
    Ok(response.text().await?)
}

/// A device of officer `login`, who is assigned the test enterprises 0..50.
async fn officer(s: &Setup, n: u8, login: &str) -> anyhow::Result<NativeDevice> {
    district::officer(&s.service, login, 0..50).await?;
    NativeDevice::logged_in(n, &s.server.url(""), login, PASSWORD).await
}

fn enterprise(n: u64) -> EnterpriseId {
    EnterpriseId::from_random_bytes(id_bytes(5, n))
}

async fn doc_count(service: &Arc<SyncService>) -> u64 {
    service
        .with_store(|s| s.doc_count())
        .await
        .and_then(Result::ok)
        .unwrap_or(0)
}

async fn dump(service: &Arc<SyncService>) -> Vec<String> {
    service
        .with_store(|s| s.projection_dump())
        .await
        .and_then(Result::ok)
        .unwrap_or_default()
}

fn notes(n: usize) -> String {
    format!("第{n}次走访：企业反映用电紧张，新增生产线需要增容，用工缺口约30人，已记录连心卡。")
}

#[tokio::test]
async fn cold_upload_of_1000_visits_then_catch_up_then_100_small_edits() -> anyhow::Result<()> {
    let s = setup().await?;

    // Cold upload from an offline device. The test counts requests, so a slow debug-build merge on
    // a loaded machine must not time one out and add a retry.
    let mut wang = officer(&s, 1, "wang").await?;
    wang.timeout = std::time::Duration::from_secs(120);
    let ids: Vec<DocId> = (0..1000)
        .map(|n| wang.record_visit(enterprise(n as u64 % 40), &notes(n)))
        .collect::<Result<_, _>>()?;
    let doc_bytes: usize = ids
        .iter()
        .map(|id| {
            wang.client
                .replica_mut()
                .get_mut(id)
                .map(|e| e.saved().len())
                .unwrap_or(0)
        })
        .sum();
    wang.sync().await?;
    assert_eq!(doc_count(&s.service).await, 1000);
    assert_eq!(wang.status().waiting, 0);
    let up = wang.traffic;
    // 32 KiB doubling on fast rounds: 32+64+128+256+512 KiB covers the backlog; one more round
    // confirms. Requests are deflated, so they are smaller than the documents themselves.
    assert!(
        up.requests <= 7,
        "{} requests for {doc_bytes} bytes of documents",
        up.requests
    );
    assert!(
        up.bytes_up <= doc_bytes,
        "{} bytes up for {doc_bytes} bytes of documents",
        up.bytes_up
    );
    assert!(
        up.bytes_down < 1000 * 120,
        "{} bytes down: acknowledgements only",
        up.bytes_down
    );

    // Catch-up of a fresh device.
    let mut li = officer(&s, 2, "li").await?;
    li.timeout = std::time::Duration::from_secs(120);
    li.sync().await?;
    assert_eq!(li.client.replica().len(), 1000);
    for id in ids.iter().step_by(97) {
        assert_eq!(li.visit_notes(id)?, wang.visit_notes(id)?);
    }
    assert!(
        li.traffic.requests <= 8,
        "{} requests to catch up",
        li.traffic.requests
    );
    assert!(
        li.traffic.bytes_down <= doc_bytes * 11 / 10,
        "{} bytes down for {doc_bytes}",
        li.traffic.bytes_down
    );

    // 100 small edits propagate; only the edits travel.
    let (up0, down0, req0) = (
        wang.traffic.bytes_up,
        li.traffic.bytes_down,
        li.traffic.requests,
    );
    for id in ids.iter().take(100) {
        wang.edit_visit_notes(id, "回访：增容已完成，企业满意")?;
    }
    wang.sync().await?;
    li.sync().await?;
    for id in ids.iter().take(100) {
        assert_eq!(li.visit_notes(id)?, "回访：增容已完成，企业满意");
    }
    assert!(
        wang.traffic.bytes_up - up0 < 100 * 300,
        "{} bytes up for 100 edits",
        wang.traffic.bytes_up - up0
    );
    assert!(
        li.traffic.bytes_down - down0 < 100 * 300,
        "{} bytes down for 100 edits",
        li.traffic.bytes_down - down0
    );
    assert!(li.traffic.requests - req0 <= 2);
    Ok(())
}

#[tokio::test]
async fn a_no_change_sync_is_one_request_whose_response_does_not_grow_with_documents()
-> anyhow::Result<()> {
    let mut sizes = Vec::new();
    for n in [20usize, 2000] {
        let s = setup().await?;
        let mut dev = officer(&s, 1, "wang").await?;
        for i in 0..n {
            dev.record_visit(enterprise(i as u64 % 40), &notes(i))?;
        }
        dev.sync().await?;
        let before = dev.traffic;
        dev.sync().await?;
        assert_eq!(dev.traffic.requests - before.requests, 1, "{n} documents");
        sizes.push((
            dev.traffic.bytes_up - before.bytes_up,
            dev.traffic.bytes_down - before.bytes_down,
        ));
    }
    // Only the cursor's varint may be wider, and deflate's codes for the clock's bytes (8 or
    // 9 bits each, whatever the time) may add a byte or two.
    assert!(
        sizes[1].0 <= sizes[0].0 + 4 && sizes[1].1 <= sizes[0].1 + 4,
        "{sizes:?}"
    );
    assert!(sizes[1].0 + sizes[1].1 < 1000, "{sizes:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_pushing_edits_of_the_same_visits_at_once_both_keep_their_edits()
-> anyhow::Result<()> {
    // The server merges pushed documents outside its store lock; a document the other request
    // committed meanwhile is merged again before the commit, so neither edit is lost.
    let s = setup().await?;
    let mut wang = officer(&s, 1, "wang").await?;
    let ids: Vec<DocId> = (0..200)
        .map(|n| wang.record_visit(enterprise(n % 50), &notes(n as usize)))
        .collect::<Result<_, _>>()?;
    wang.sync().await?;
    let mut li = officer(&s, 2, "li").await?;
    li.sync().await?;
    for id in &ids {
        let base_text = wang.visit_notes(id)?;
        wang.edit_visit_notes(id, &format!("【王】{base_text}"))?;
        li.edit_visit_notes(id, &format!("{base_text}【李】"))?;
    }
    let (a, b) = tokio::join!(wang.sync(), li.sync());
    a?;
    b?;
    // Requests merge a few at a time (one per core); every slot is free again once answered.
    let metrics = metrics(&s).await?;
    assert!(
        metrics.contains("lianxin_sync_merges_running 0\n"),
        "{metrics}"
    );
    wang.sync().await?;
    li.sync().await?;
    for id in &ids {
        let text = wang.visit_notes(id)?;
        assert!(
            text.starts_with("【王】") && text.ends_with("【李】"),
            "{id}: {text}"
        );
        assert_eq!(text, li.visit_notes(id)?, "{id}");
    }
    Ok(())
}

#[tokio::test]
async fn two_devices_editing_offline_end_identical_in_either_order_with_identical_rows()
-> anyhow::Result<()> {
    let mut dumps = Vec::new();
    let mut texts = Vec::new();
    // Both runs claim the same visit time, one inside what each server saw (the server counts
    // a claim before a device's registration at the registration, which differs per run).
    let visited = tests::device::wall_clock();
    for wang_first in [true, false] {
        let s = setup().await?;
        let mut wang = officer(&s, 1, "wang").await?;
        let ids: Vec<DocId> = (0..30)
            .map(|n| wang.record_visit_at(enterprise(n), &notes(n as usize), visited))
            .collect::<Result<_, _>>()?;
        wang.sync().await?;
        let mut li = officer(&s, 2, "li").await?;
        li.sync().await?;
        for id in &ids {
            let base_text = wang.visit_notes(id)?;
            wang.edit_visit_notes(id, &format!("【王】{base_text}"))?;
            li.edit_visit_notes(id, &format!("{base_text}【李】"))?;
        }
        let (first, second) = if wang_first {
            (&mut wang, &mut li)
        } else {
            (&mut li, &mut wang)
        };
        first.sync().await?;
        second.sync().await?;
        first.sync().await?;
        for id in &ids {
            assert_eq!(wang.visit_notes(id)?, li.visit_notes(id)?);
        }
        texts.push(
            ids.iter()
                .map(|id| wang.visit_notes(id))
                .collect::<Result<Vec<_>, _>>()?,
        );
        dumps.push(dump(&s.service).await);
    }
    assert_eq!(
        texts[0], texts[1],
        "the same documents whichever device synced first"
    );
    assert!(
        texts[0]
            .iter()
            .all(|t| t.starts_with("【王】") && t.ends_with("【李】"))
    );
    assert!(!dumps[0].is_empty());
    assert_eq!(dumps[0], dumps[1], "identical projection rows");
    Ok(())
}

async fn post_raw(
    url: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}

#[tokio::test]
async fn bad_messages_get_a_4xx_with_a_clear_message_and_the_server_keeps_serving()
-> anyhow::Result<()> {
    let s = setup().await?;
    let url = s.server.url("/api/sync");
    let sun = officer(&s, 9, "sun").await?;
    let token = sun.token.clone().unwrap_or_default();
    let device = token.as_str();
    let good = protocol::encode(&SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: Timestamp(0),
        push: vec![],
        max_response_bytes: 65536,
        unsent: Some(0),
    });

    let (status, body) = post_raw(&url, b"hello, server".to_vec(), Some(device)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed")),
        "{body}"
    );

    let (status, body) = post_raw(&url, good[..good.len() - 3].to_vec(), Some(device)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed")),
        "truncated: {body}"
    );

    let mut wrong_version = good.clone();
    wrong_version[2] = protocol::PROTOCOL_VERSION + 1;
    let (status, body) = post_raw(&url, wrong_version, Some(device)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("protocol_version"))
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("update the app")),
        "{body}"
    );

    let (status, body) = post_raw(
        &url,
        vec![0u8; server::sync::MAX_REQUEST_BYTES + 1],
        Some(device),
    )
    .await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );

    let (status, body) = post_raw(&url, good.clone(), None).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthenticated"))
    );

    // Still serving.
    let mut dev = officer(&s, 3, "zhao").await?;
    dev.record_visit(enterprise(1), "仍可同步")?;
    dev.sync().await?;
    assert_eq!(doc_count(&s.service).await, 1);
    Ok(())
}

#[tokio::test]
async fn a_document_pushed_per_column_compressed_as_earlier_builds_did_is_still_accepted()
-> anyhow::Result<()> {
    // Devices now push whole documents uncompressed inside the deflated request; a device
    // still running an earlier build pushes Automerge's compressed `save()` instead.
    let s = setup().await?;
    let mut old = officer(&s, 5, "qian").await?;
    let notes = "旧版本客户端上传的走访记录，".repeat(40);
    let id = old.record_visit(enterprise(2), &notes)?;
    let doc = old
        .client
        .replica_mut()
        .doc_mut(&id)
        .ok_or_else(|| anyhow::anyhow!("recorded"))??;
    let data = doc.save();
    assert!(
        data.len() < doc.automerge().save_nocompress().len(),
        "the old form is compressed"
    );
    let heads = protocol::to_wire(&doc.heads());
    let request = protocol::encode(&SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: Timestamp(0),
        push: vec![DocPush {
            doc: id.clone(),
            base: vec![],
            heads: heads.clone(),
            data,
        }],
        max_response_bytes: 65536,
        unsent: Some(0),
    });
    let answer = reqwest::Client::new()
        .post(s.server.url("/api/sync"))
        .bearer_auth(old.token.clone().unwrap_or_default())
        .body(request)
        .send()
        .await?;
    assert_eq!(answer.status().as_u16(), 200);
    let response: SyncResponse = protocol::decode(&answer.bytes().await?)?;
    assert_eq!(response.results[0].outcome, Outcome::Accepted { heads });

    let mut li = officer(&s, 6, "li").await?;
    li.sync().await?;
    assert_eq!(li.visit_notes(&id)?, notes);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_devices_logging_in_at_once_all_get_a_session_and_sync() -> anyhow::Result<()> {
    // The server checks passwords a few at a time (one per core); the others wait their turn
    // instead of failing.
    let s = setup().await?;
    district::officer(&s.service, "wang", 0..50).await?;
    let mut logins = tokio::task::JoinSet::new();
    for n in 0..20u8 {
        let url = s.server.url("");
        logins.spawn(async move { NativeDevice::logged_in(20 + n, &url, "wang", PASSWORD).await });
    }
    let mut devices = Vec::new();
    while let Some(device) = logins.join_next().await {
        devices.push(device??);
    }
    assert_eq!(devices.len(), 20);
    for (n, dev) in devices.iter_mut().enumerate() {
        dev.record_visit(enterprise(n as u64), &notes(n))?;
        dev.sync().await?;
    }
    assert_eq!(doc_count(&s.service).await, 20);
    Ok(())
}

#[tokio::test]
async fn one_invalid_document_in_a_batch_of_50_is_refused_and_the_49_are_stored()
-> anyhow::Result<()> {
    let s = setup().await?;
    let mut dev = officer(&s, 4, "wang").await?;
    for n in 0..49 {
        dev.record_visit(enterprise(n), &notes(n as usize))?;
    }
    let mut local = Config::default();
    local.categories.push(shared::config::Category {
        code: "weather".into(),
        zh: "天气".into(),
        en: "Weather".into(),
    });
    let pid = ProblemId::from_random_bytes(id_bytes(50, 1));
    let new = NewProblem {
        id: pid,
        enterprise: enterprise(1),
        visit: None,
        source: ProblemSource::Hotline,
        category: "weather".into(),
        class: ProblemClass::B,
        tier: Tier::Department,
        owner: dev.actor.user,
        leader: None,
        deadline: Timestamp(1_800_000_000_000),
        description: "暴雨导致厂房进水".into(),
        expectation: "协调排水".into(),
    };
    let doc = ProblemDoc::create(
        &new,
        &local,
        &dev.actor,
        dev.actor_id.clone(),
        Timestamp(1_793_491_200_000),
    )?;
    let bad = DocId::new(DocKind::Problem, &pid.to_string());
    dev.client
        .replica_mut()
        .insert_new(bad.clone(), doc.into_record());

    dev.sync().await?;
    assert_eq!(doc_count(&s.service).await, 49);
    let status = dev.status();
    assert_eq!(status.refused.len(), 1);
    assert_eq!(status.refused[0].0, bad);
    assert!(
        matches!(&status.refused[0].1, Refusal::Invalid(m) if m.contains("weather")),
        "{:?}",
        status.refused
    );
    assert!(
        dev.client.replica().get(&bad).is_some(),
        "the device keeps the refused record"
    );
    let metrics = metrics(&s).await?;
    assert!(
        metrics.contains("lianxin_sync_documents_refused_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lianxin_sync_documents_merged_total 49"),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test]
async fn a_device_restarted_from_its_disk_sends_nothing_already_acknowledged() -> anyhow::Result<()>
{
    let s = setup().await?;
    let mut dev = officer(&s, 5, "wang").await?;
    let ids: Vec<DocId> = (0..100)
        .map(|n| dev.record_visit(enterprise(n), &notes(n as usize)))
        .collect::<Result<_, _>>()?;
    dev.sync().await?;

    // An edit saved to disk, then the app is closed before it could sync.
    dev.edit_visit_notes(&ids[3], "重启前的修改")?;
    dev.restart()?;
    assert_eq!(dev.status().waiting, 1, "the outbox survives the restart");
    let before = dev.traffic;
    dev.sync().await?;
    assert_eq!(
        dev.traffic.requests - before.requests,
        1,
        "offline edits converge in one round trip"
    );
    assert!(
        dev.traffic.bytes_up - before.bytes_up < 600,
        "only the one edit travels: {} bytes",
        dev.traffic.bytes_up - before.bytes_up
    );

    let mut li = officer(&s, 6, "li").await?;
    li.sync().await?;
    assert_eq!(li.visit_notes(&ids[3])?, "重启前的修改");
    Ok(())
}

#[tokio::test]
async fn the_push_channel_announces_committed_changes() -> anyhow::Result<()> {
    let s = setup().await?;
    let mut dev = officer(&s, 8, "wang").await?;
    let unauthenticated = reqwest::get(s.server.url("/api/events")).await?;
    assert_eq!(unauthenticated.status(), 401);
    let mut events = reqwest::Client::new()
        .get(s.server.url("/api/events"))
        .bearer_auth(dev.token.clone().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(
        events
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    dev.record_visit(enterprise(1), "推送测试")?;
    dev.sync().await?;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !(seen.contains("event: changed") && seen.ends_with("\n\n")) {
        let chunk = tokio::time::timeout_at(deadline, events.chunk()).await??;
        let Some(chunk) = chunk else { break };
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: changed\ndata: 1"), "{seen:?}");
    // The event carries the feed's sequence, which the sender's cursor already covers: the
    // notice of its own commit starts no round.
    let seq = protocol::notice_seq(&seen);
    assert!(
        seq.is_some_and(|seq| seq <= dev.client.replica().cursor),
        "{seen:?}"
    );
    let effects = dev.client.handle(
        shared::sync::client::Input::PushNotice { seq },
        tests::device::wall_clock(),
        1,
    );
    assert!(effects.is_empty(), "{effects:?}");
    Ok(())
}
