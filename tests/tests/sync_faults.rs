//! Sync through a hostile network: a proxy that drops, truncates, duplicates and delays
//! requests and responses (seeded, bounded), a weak, flapping mobile link (300 ms one way,
//! 256 kbit/s, cut every 3–10 s and down for 1–5 s, seeded), and a 1 Mbit/s link with no delay
//! cut as often. Documents converge, nothing is stored twice, on the weak link the bytes sent
//! stay within 1.5× of loopback, and 1,000 visits whose notes do not compress all land on the
//! link that is cut every few seconds. A phone whose requests a balancer hands strictly in turn
//! to a live and a dead node uploads all the same.

use std::sync::Arc;
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use server::AppState;
use server::sync::SyncService;
use shared::model::EnterpriseId;
use shared::sync::client::Input;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes};
use tests::district::{self, PASSWORD};
use tests::proxy::{CountingProxy, FaultConfig, FaultProxy, ShapeConfig, ShapingProxy};

async fn start() -> anyhow::Result<(TestServer, Arc<SyncService>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    Ok((server, service, dir))
}

/// A device of officer `login` (assigned the test enterprises 0..40), logged in directly at
/// `server`, then syncing through `sync_url`.
async fn officer(
    service: &Arc<SyncService>,
    server: &TestServer,
    n: u8,
    login: &str,
    sync_url: &str,
) -> anyhow::Result<NativeDevice> {
    district::officer(service, login, 0..40).await?;
    let mut dev = NativeDevice::logged_in(n, &server.url(""), login, PASSWORD).await?;
    dev.set_base_url(sync_url);
    Ok(dev)
}

fn enterprise(n: u64) -> EnterpriseId {
    EnterpriseId::from_random_bytes(id_bytes(5, n % 40))
}

fn notes(n: u64) -> String {
    format!("第{n}次走访：企业反映用电紧张，新增生产线需要增容，用工缺口约30人，已记录连心卡。")
}

/// Every document of `dev` is stored with exactly the device's heads, each change once.
async fn stored_exactly_once(service: &Arc<SyncService>, dev: &NativeDevice) -> anyhow::Result<()> {
    let ids: Vec<DocId> = dev.client.replica().ids().cloned().collect();
    let mut expected = Vec::new();
    for id in &ids {
        let mut doc = dev
            .client
            .replica()
            .read(id)
            .expect("listed")
            .expect("builds")
            .into_owned();
        expected.push((
            id.clone(),
            doc.heads(),
            doc.automerge().get_changes(&[]).len(),
        ));
    }
    let problems = service
        .with_store(move |store| -> anyhow::Result<Vec<String>> {
            let mut problems = Vec::new();
            for (id, heads, changes) in expected {
                match store.load_doc(&id)? {
                    Some(stored) if stored.heads == heads => {}
                    Some(_) => problems.push(format!("{id}: other heads")),
                    None => problems.push(format!("{id}: missing")),
                }
                let rows = store.change_hashes(&id)?.len();
                if rows != changes {
                    problems.push(format!("{id}: {rows} change rows for {changes} changes"));
                }
            }
            Ok(problems)
        })
        .await
        .expect("the store thread ran")?;
    assert!(problems.is_empty(), "{problems:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_truncated_duplicated_and_delayed_messages_still_converge_without_duplicates()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    let proxy = FaultProxy::start(
        server_addr(&server)?,
        FaultConfig {
            drop_request: 0.15,
            drop_response: 0.15,
            truncate_response: 0.15,
            duplicate_request: 0.15,
            delay: (0.2, 300),
            seed: 7,
            max_faults: Some(60),
        },
    )
    .await?;
    let mut wang = officer(&service, &server, 1, "wang", &proxy.url("")).await?;
    for n in 0..300 {
        wang.record_visit(enterprise(n), &notes(n))?;
    }
    wang.run(Input::SyncNow, Duration::from_secs(180)).await?;
    let mut li = officer(&service, &server, 2, "li", &proxy.url("")).await?;
    li.run(Input::SyncNow, Duration::from_secs(180)).await?;
    // Concurrent edits by both, through the same faults.
    let ids: Vec<DocId> = wang.client.replica().ids().cloned().collect();
    for id in ids.iter().take(40) {
        wang.edit_visit_notes(id, "王：已协调供电公司")?;
    }
    for id in ids.iter().skip(20).take(40) {
        li.edit_visit_notes(id, "李：用工问题已对接人社局")?;
    }
    wang.run(Input::SyncNow, Duration::from_secs(180)).await?;
    li.run(Input::SyncNow, Duration::from_secs(180)).await?;
    wang.run(Input::SyncNow, Duration::from_secs(180)).await?;
    for id in &ids {
        assert_eq!(wang.visit_notes(id)?, li.visit_notes(id)?, "{id}");
    }
    stored_exactly_once(&service, &wang).await?;
    stored_exactly_once(&service, &li).await?;
    let stats = proxy.stats();
    assert!(
        stats.dropped_requests > 0 && stats.dropped_responses > 0,
        "{stats:?}"
    );
    assert!(
        stats.truncated_responses > 0 && stats.duplicated_requests > 0,
        "{stats:?}"
    );
    assert!(wang.traffic.failures + li.traffic.failures > 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_whose_requests_alternate_strictly_between_a_live_and_a_dead_node_uploads()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    // The dead node: each request is read and then cut, none reaching the server, behind a
    // link 150 ms away: the cut comes late enough that the request could have arrived.
    let dead = FaultProxy::start(
        server_addr(&server)?,
        FaultConfig {
            drop_request: 1.0,
            ..FaultConfig::default()
        },
    )
    .await?;
    let far = ShapingProxy::start(
        dead.addr(),
        ShapeConfig {
            one_way_delay_ms: 150,
            ..ShapeConfig::transparent()
        },
    )
    .await?;
    let mut wang = officer(&service, &server, 1, "wang", &server.url("")).await?;
    wang.sync().await?;
    for n in 0..5 {
        wang.record_visit(enterprise(n), &notes(n))?;
    }
    // A balancer without health checks: every other request to the dead node, from the first.
    wang.alternate_strictly(&[far.url(""), server.url("")]);
    let before = wang.traffic.requests;
    wang.run(Input::SyncNow, Duration::from_secs(30)).await?;
    // Cut on the dead node, asked for again by the live one, cut again, and then taken there.
    let requests = wang.traffic.requests - before;
    assert!(requests <= 6, "{requests} requests");
    assert!(dead.stats().dropped_requests >= 2, "{:?}", dead.stats());
    stored_exactly_once(&service, &wang).await?;
    Ok(())
}

fn server_addr(server: &TestServer) -> anyhow::Result<std::net::SocketAddr> {
    let url = server.url("");
    Ok(url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_upload_of_1000_visits_completes_on_a_weak_flapping_link_within_1_5x_the_loopback_bytes()
-> anyhow::Result<()> {
    // Loopback, through a counting proxy: the reference.
    let (server, service, _dir) = start().await?;
    let counting = CountingProxy::start(server_addr(&server)?).await?;
    let mut reference = officer(&service, &server, 1, "wang", &counting.url("")).await?;
    reference.fixed_elapsed_ms = None;
    for n in 0..1000 {
        reference.record_visit(enterprise(n), &notes(n))?;
    }
    reference.sync().await?;
    let loopback_up = counting.stats().bytes_up;

    // The same upload on a weak, flapping link.
    let (server, service, _dir2) = start().await?;
    let link = ShapingProxy::start(
        server_addr(&server)?,
        ShapeConfig {
            one_way_delay_ms: 300,
            kbit_per_s: 256,
            cut_every_ms: Some((3_000, 10_000)),
            down_for_ms: (1_000, 5_000),
            seed: 42,
            max_cuts: Some(40),
        },
    )
    .await?;
    let mut phone = officer(&service, &server, 1, "wang", &link.url("")).await?;
    phone.fixed_elapsed_ms = None;
    phone.timeout = Duration::from_secs(15);
    for n in 0..1000 {
        phone.record_visit(enterprise(n), &notes(n))?;
    }
    phone.run(Input::SyncNow, Duration::from_secs(400)).await?;
    stored_exactly_once(&service, &phone).await?;
    let stats = link.stats();
    assert!(stats.cuts >= 1, "the link never flapped: {stats:?}");
    let ratio = stats.bytes_up as f64 / loopback_up as f64;
    eprintln!(
        "weak link: {} bytes up vs {loopback_up} on loopback ({ratio:.2}×), {} requests, {} failed, {} cuts",
        stats.bytes_up, phone.traffic.requests, phone.traffic.failures, stats.cuts
    );
    assert!(ratio <= 1.5, "{ratio:.2}× the loopback bytes");
    Ok(())
}

/// Notes that do not compress, as officers' free text does not across records: `chars`
/// characters drawn from 4,096 common CJK ones, seeded by `n`.
fn incompressible_notes(n: u64, chars: usize) -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n);
    (0..chars)
        .map(|_| char::from_u32(0x4E00 + rng.random_range(0..4096u32)).unwrap_or('访'))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_upload_of_1000_incompressible_visits_lands_whole_on_a_link_cut_every_few_seconds()
-> anyhow::Result<()> {
    let (server, service, _dir) = start().await?;
    // No delay, but 1 Mbit/s: the upload (about 2.5 MB once deflated) cannot finish before
    // the first cut, however fast the machine. Every connection is cut every 3–10 s and new
    // ones are refused for 1–5 s after each cut.
    let link = ShapingProxy::start(
        server_addr(&server)?,
        ShapeConfig {
            kbit_per_s: 1_000,
            cut_every_ms: Some((3_000, 10_000)),
            down_for_ms: (1_000, 5_000),
            seed: 12,
            ..ShapeConfig::transparent()
        },
    )
    .await?;
    let mut phone = officer(&service, &server, 1, "wang", &link.url("")).await?;
    phone.fixed_elapsed_ms = None;
    phone.timeout = Duration::from_secs(15);
    for n in 0..1000 {
        phone.record_visit(enterprise(n), &incompressible_notes(n, 1_500))?;
    }
    let started = std::time::Instant::now();
    phone.run(Input::SyncNow, Duration::from_secs(180)).await?;
    let took = started.elapsed();
    stored_exactly_once(&service, &phone).await?;
    let stored = service
        .with_store(|store| store.doc_count())
        .await
        .expect("the store thread ran")?;
    assert_eq!(stored, 1000, "every visit is stored");
    let stats = link.stats();
    eprintln!(
        "cut link: {:.1} s, {} requests, {} failed, {} bytes up, {stats:?}",
        took.as_secs_f64(),
        phone.traffic.requests,
        phone.traffic.failures,
        stats.bytes_up
    );
    // The first up-period lasts at most 10 s and the upload needs longer: it met cuts, and
    // requests failed, yet everything above was stored exactly once.
    assert!(
        took > Duration::from_secs(10),
        "the upload outran the first cut: {took:?}"
    );
    assert!(stats.cuts >= 1 && phone.traffic.failures >= 1, "{stats:?}");
    Ok(())
}
