//! Heavy sync work cannot crowd out honest syncs (`server::sync::lanes`): against the real
//! `lianxin-server` process on a real SQLite file, an officer's two phones send valid, heavy
//! requests without pause (new visits of ~100,000 characters for an enterprise outside the
//! officer's scope: the server builds and validates each before the scope refuses it, so the
//! same request costs that every time), while another officer records visits and syncs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use server::store::SqliteStore;
use shared::doc::{DocKind, NewVisit, RecordDoc, VisitDoc};
use shared::model::{DeviceId, OperatingStatus, Timestamp, VisitId, VisitMethod};
use shared::sync::protocol::{self, DocPush, Outcome, Refusal};
use tests::attack::cjk;
use tests::district::{PASSWORD, enterprise, officer_in};
use tests::process::ServerProcess;
use tests::raw::{Answer, RawSession, doc_id, push_new};
use tokio::time::timeout;

const T0: Timestamp = Timestamp(1_795_000_000_000);
/// Characters of each heavy visit's notes (random CJK: one operation and 3 bytes each).
const HEAVY_CHARS: usize = 100_000;
/// Heavy visits per request.
const HEAVY_PER_REQUEST: usize = 3;
/// Honest syncs measured while the heavy requests run.
const HONEST_SYNCS: u8 = 8;
/// How long the test waits for any answer before it fails.
const BOUND: Duration = Duration::from_secs(120);

fn new_visit(session: &RawSession, n: u8, enterprise_n: u64, notes: String) -> (DocPush, u8) {
    let v = NewVisit {
        id: VisitId::from_random_bytes([n; 16]),
        enterprise: enterprise(enterprise_n),
        method: VisitMethod::OnSite,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes,
    };
    let mut doc: RecordDoc = VisitDoc::create(&v, &session.actor, session.actor_id.clone(), T0)
        .expect("a valid visit")
        .into_record();
    (push_new(doc_id(DocKind::Visit, v.id), &mut doc), n)
}

/// Peak RSS growth allowed while the heavy requests run (one heavy request's documents are
/// built at a time; measured: +18 MiB in a debug build).
const PEAK_GROWTH: u64 = 150 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_sync_waits_for_no_heavy_merge_and_heavy_merges_run_one_at_a_time()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    {
        let mut store = SqliteStore::open(&db)?;
        officer_in(&mut store, "wang", 0..4)?;
        officer_in(&mut store, "li", 10..12)?;
    }
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let base = server.url();
    let mut phones = Vec::new();
    for n in 1..=2u8 {
        phones.push(
            RawSession::login(
                &base,
                "wang",
                PASSWORD,
                DeviceId::from_random_bytes([n; 16]),
            )
            .await?,
        );
    }
    let li = RawSession::login(&base, "li", PASSWORD, DeviceId::from_random_bytes([9; 16])).await?;
    // Valid visits signed by Wang's phone, of Li's enterprise: built, validated, then refused.
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let heavy: Vec<DocPush> = (0..HEAVY_PER_REQUEST as u8)
        .map(|n| new_visit(&phones[0], 100 + n, 10, cjk(&mut rng, HEAVY_CHARS)).0)
        .collect();
    let body = protocol::encode(&tests::attack::request(heavy, T0));
    let before = server.rss()?;
    server.reset_peak()?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut hostile = tokio::task::JoinSet::new();
    for (k, phone) in phones.iter().enumerate() {
        // The second phone signs with its own actor: the same body would be refused as not its own.
        let body = if k == 0 {
            body.clone()
        } else {
            let mut rng = ChaCha8Rng::seed_from_u64(13);
            let pushes = (0..HEAVY_PER_REQUEST as u8)
                .map(|n| new_visit(phone, 110 + n, 10, cjk(&mut rng, HEAVY_CHARS)).0)
                .collect();
            protocol::encode(&tests::attack::request(pushes, T0))
        };
        let (phone, stop) = (phone.clone(), stop.clone());
        hostile.spawn(async move {
            let mut times = Vec::new();
            // Bounded: until told to stop, at most 1,000 requests.
            while !stop.load(Ordering::Relaxed) && times.len() < 1000 {
                let t = Instant::now();
                let answer = phone.sync_body(body.clone()).await?;
                times.push(t.elapsed());
                let Answer::Ok(response) = answer else {
                    anyhow::bail!("a heavy request was answered {answer:?}");
                };
                anyhow::ensure!(
                    response
                        .results
                        .iter()
                        .all(|r| r.outcome == Outcome::Refused(Refusal::OutOfScope)),
                    "each heavy visit is refused as out of scope: {:?}",
                    response.results
                );
            }
            Ok(times)
        });
    }
    // Once the heavy requests run, Li records a visit and syncs, several times.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut honest = Vec::new();
    for n in 0..HONEST_SYNCS {
        let (push, _) = new_visit(&li, n + 1, 10, format!("走访{n}：企业生产正常"));
        let t = Instant::now();
        let outcomes = timeout(BOUND, li.push(vec![push]))
            .await
            .context("Li's sync was not answered")??;
        honest.push(t.elapsed());
        assert!(
            matches!(outcomes[0].1, Outcome::Accepted { .. }),
            "{outcomes:?}"
        );
    }
    // The heavy requests go on for a while, for the memory they hold.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut heavy_times = Vec::new();
    while let Some(done) = timeout(BOUND, hostile.join_next())
        .await
        .context("a heavy request hung")?
    {
        heavy_times.extend(done??);
    }
    let heavy_mean = heavy_times.iter().sum::<Duration>() / heavy_times.len().max(1) as u32;
    let slowest = honest.iter().max().copied().unwrap_or_default();
    let growth = server.peak_rss()?.saturating_sub(before);
    eprintln!(
        "{} heavy requests, {heavy_mean:?} on average; Li's syncs {honest:?}; peak RSS +{} MiB",
        heavy_times.len(),
        growth >> 20
    );
    assert!(
        heavy_times.len() >= 2,
        "the heavy requests ran: {heavy_times:?}"
    );
    assert!(
        slowest * 3 < heavy_mean,
        "Li's slowest sync took {slowest:?}; a heavy request {heavy_mean:?} on average"
    );
    let growth = server.peak_rss()?.saturating_sub(before);
    assert!(
        growth < PEAK_GROWTH,
        "the server's peak memory grew by {growth} bytes"
    );
    let metrics = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(tests::process::METRICS_TOKEN)
        .send()
        .await?
        .text()
        .await?;
    let heavy_merged: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lianxin_sync_heavy_requests_total "))
        .and_then(|n| n.trim().parse().ok())
        .context("no heavy lane counter in /metrics")?;
    assert!(
        heavy_merged >= heavy_times.len() as u64,
        "every heavy request ran in the heavy lane"
    );
    Ok(())
}
