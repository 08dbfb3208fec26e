//! Floods of the 连心卡's public page, behind a trusted proxy so each flooding task has its
//! own client address: made-up tokens from many addresses leave the limiters bounded (no key
//! per made-up token, a bounded number of addresses) and the real card answering; and while
//! a flood runs, an officer's sync keeps its pace (the card's work is capped and cannot take
//! what syncs need) and the flood is answered 429 and 503 with `Retry-After`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use rand::Rng as _;
use server::card::CardLimits;
use server::demo::DEMO_PASSWORD;
use server::http::client_addr::TrustedProxies;
use tests::card::{CardDemo, answered};
use tests::device::NativeDevice;

/// The two floods run one after the other: the sync's pace is measured against its own
/// baseline, not against the other flood.
static ONE_FLOOD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn loopback_proxy() -> anyhow::Result<TrustedProxies> {
    Ok(TrustedProxies::new(vec!["127.0.0.1".parse()?]))
}

/// The `n`th flooding client's address (outside the trusted proxy's).
fn client(n: usize) -> String {
    format!("100.{}.{}.{}", 64 + (n >> 16) % 64, (n >> 8) & 255, n & 255)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_tokens_from_many_addresses_keep_the_limiters_bounded_and_the_card_answering()
-> anyhow::Result<()> {
    const FLOOD: usize = 20_000;
    const TASKS: usize = 32;
    const MAX_KEYS: usize = 1_000;
    let _alone = ONE_FLOOD_AT_A_TIME.lock().await;
    let limits = CardLimits {
        max_keys: MAX_KEYS,
        ..CardLimits::default()
    };
    let demo = Arc::new(CardDemo::start(limits, loopback_proxy()?).await?);
    let (link, _, _) = demo.answered_card().await?;

    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let (demo, next) = (demo.clone(), next.clone());
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= FLOOD {
                    return Ok::<_, anyhow::Error>(statuses);
                }
                let token: u128 = rand::rng().random();
                let url = demo.server.url(&format!("/k/{token:032x}{n:08x}"));
                statuses.push(demo.get(&url, Some(&client(n))).await?.status);
            }
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.extend(done??);
    }
    ensure!(statuses.len() == FLOOD);
    ensure!(
        statuses.iter().all(|s| matches!(s, 404 | 503)),
        "a made-up token is unknown (or waits its turn): {:?}",
        statuses.iter().find(|s| !matches!(s, 404 | 503))
    );
    ensure!(statuses.contains(&404));

    let (addresses, cards) = demo.state.card().tracked();
    ensure!(
        addresses <= MAX_KEYS,
        "{addresses} addresses kept, at most {MAX_KEYS}"
    );
    ensure!(
        cards == 0,
        "made-up tokens are not counted per token: {cards}"
    );
    let page = demo.get(&link, Some(&client(FLOOD + 1))).await?;
    ensure!(page.status == 200, "the real card answers: {}", page.status);
    ensure!(demo.state.card().tracked().1 == 1);
    Ok(())
}

/// Median of the times.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Records `visits` new visits on the officer's device and syncs them; the sync's time.
async fn timed_sync(
    device: &mut NativeDevice,
    enterprise: shared::model::EnterpriseId,
    visits: usize,
) -> anyhow::Result<Duration> {
    for n in 0..visits {
        device.record_visit(enterprise, &format!("巡查记录 {n}"))?;
    }
    let started = Instant::now();
    device.sync().await?;
    let status = device.status();
    ensure!(
        status.waiting == 0 && status.refused.is_empty() && status.error.is_none(),
        "everything was acknowledged: {status:?}"
    );
    Ok(started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officers_sync_keeps_its_pace_while_the_card_page_is_flooded() -> anyhow::Result<()> {
    /// Flooding tasks, each its own client address, and the requests each makes: more than
    /// an address may (so the flood sees 429s), all at once (so it also sees 503s).
    const TASKS: usize = 48;
    const PER_TASK: usize = 60;
    /// How much slower than without the flood the sync may be (a noisy, shared machine),
    /// and the least baseline the ratio is taken of (a very fast baseline is noise).
    const RATIO: u32 = 10;
    const FLOOR: Duration = Duration::from_millis(20);
    const SYNCS: usize = 3;
    const VISITS: usize = 10;
    let _alone = ONE_FLOOD_AT_A_TIME.lock().await;
    let limits = CardLimits {
        per_token: 2_000,
        per_address: 20,
        window_ms: 600_000,
        max_keys: 4096,
    };
    let demo = Arc::new(CardDemo::start(limits, loopback_proxy()?).await?);
    let (enterprise, _, officer) = answered(&demo.district)?;
    let link = demo.card_link(enterprise, &officer).await?;
    let mut device =
        NativeDevice::logged_in(5, &demo.server.url(""), &officer, DEMO_PASSWORD).await?;
    // A page worth flooding: the most problems a card's page reads.
    let owner = demo
        .district
        .users
        .iter()
        .find(|u| u.user.login == officer)
        .context("the officer")?
        .user
        .id;
    for n in 0..server::card::MAX_PROBLEMS as u64 {
        device.resolved_on_site(n, enterprise, owner)?;
    }
    device.sync().await?;

    let mut baseline = Vec::new();
    for _ in 0..SYNCS {
        baseline.push(timed_sync(&mut device, enterprise, VISITS).await?);
    }
    let baseline = median(baseline);

    let sent = Arc::new(AtomicUsize::new(0));
    let mut flood = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (demo, link, sent) = (demo.clone(), link.clone(), sent.clone());
        flood.spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..PER_TASK {
                let page = demo.get(&link, Some(&client(task))).await?;
                sent.fetch_add(1, Ordering::Relaxed);
                answers.push((page.status, page.header("retry-after").to_string()));
            }
            Ok::<_, anyhow::Error>(answers)
        });
    }
    // The flood is in full swing before the sync is timed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent.load(Ordering::Relaxed) < 2 * TASKS {
        ensure!(Instant::now() < deadline, "the flood did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut flooded = Vec::new();
    for _ in 0..SYNCS {
        flooded.push(timed_sync(&mut device, enterprise, VISITS).await?);
    }
    let during = sent.load(Ordering::Relaxed);
    let mut answers = Vec::new();
    while let Some(done) = flood.join_next().await {
        answers.extend(done??);
    }
    let flooded = median(flooded);

    ensure!(
        during < TASKS * PER_TASK,
        "the flood was still running when the last sync finished ({during} sent)"
    );
    let count = |status: u16| answers.iter().filter(|(s, _)| *s == status).count();
    let (ok, limited, busy) = (count(200), count(429), count(503));
    let bound = baseline.max(FLOOR) * RATIO;
    eprintln!(
        "sync of {VISITS} visits: {baseline:?} alone, {flooded:?} during a flood of {} requests \
         ({ok} pages, {limited} limited, {busy} busy); bound {bound:?}",
        answers.len()
    );
    ensure!(
        ok + limited + busy == answers.len(),
        "only pages, 429 and 503: {:?}",
        answers.iter().find(|(s, _)| !matches!(s, 200 | 429 | 503))
    );
    ensure!(limited > 0, "the flood sees 429s ({ok} ok, {busy} busy)");
    ensure!(
        answers
            .iter()
            .filter(|(s, _)| matches!(s, 429 | 503))
            .all(|(_, retry)| retry.parse::<u64>().is_ok_and(|s| s >= 1)),
        "every refusal says when to try again"
    );
    ensure!(
        flooded <= bound,
        "the sync took {flooded:?} during the flood, {baseline:?} without (bound {bound:?})"
    );
    Ok(())
}
