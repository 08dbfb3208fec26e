//! `hostile`: what a hostile client at the sync boundary's limits costs everyone else. Honest
//! officers' devices edit and sync in a loop, first alone, then while window clerks (a real,
//! low-privilege login) send the worst requests `shared::sync::limits` lets through, in a
//! loop; measured: the honest syncs' p50/p99 in each phase and the server's peak RSS.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use server::store::SqliteStore;
use shared::doc::{ActorId, DocKind, NewVisit, RecordDoc, VisitDoc};
use shared::model::{Actor, DeviceId, OperatingStatus, Role, Timestamp, VisitId, VisitMethod};
use shared::sync::limits::{MAX_DOC_BYTES, MAX_PUSHES, MAX_REQUEST_BYTES};
use shared::sync::protocol::{self, DocId, DocPush};
use tests::attack;
use tests::device::{NativeDevice, id_bytes};
use tests::district::{PASSWORD, enterprise, officer_in};
use tests::process::ServerProcess;
use tests::raw::{Answer, RawSession, commit_as_server, doc_id, push_edit, push_new};

use crate::percentile;

const T0: Timestamp = Timestamp(1_795_000_000_000);
/// The most heads a push may claim (`shared::sync::server`'s bound).
const MAX_CLAIMED_HEADS: usize = 1024;
/// Honest officers' devices.
const HONEST: u8 = 4;
/// Visits each honest device holds and edits in turn.
const HONEST_VISITS: usize = 10;
/// Notes of the stored large visit: 630,000 characters that do not compress, about 1.9 MB
/// (the size that took the server past 2 GiB before the limits).
const LARGE_CHARS: usize = 630_000;

/// The 17 bytes that made Automerge's column decoder panic (see the reproducer's README).
const CRASHER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/tests/fuzz-crashers/automerge-hexane-unpack.bin"
));

fn visit(id: VisitId, enterprise_n: u64, notes: String) -> NewVisit {
    NewVisit {
        id,
        enterprise: enterprise(enterprise_n),
        method: VisitMethod::OnSite,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes,
    }
}

/// A new visit made on the clerk's own device (window clerks may not create visits).
fn own_visit(session: &RawSession, n: u64, notes: String) -> anyhow::Result<(DocId, RecordDoc)> {
    let v = visit(VisitId::from_random_bytes(id_bytes(0x71, n)), 0, notes);
    let doc = VisitDoc::create(&v, &session.actor, session.actor_id.clone(), T0)?.into_record();
    Ok((doc_id(DocKind::Visit, v.id), doc))
}

/// The worst requests the limits let through, each encoded once: (name, body).
fn attacks(
    clerk: &RawSession,
    large: &DocId,
    large_doc: &RecordDoc,
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut rng = ChaCha8Rng::seed_from_u64(20261206);
    let mut out = Vec::new();
    // 1. The most pushes a request may carry, all of one small signed edit of the large visit,
    //    which is outside the clerk's scope.
    let large_heads = large_doc.clone().heads();
    let loaded = RecordDoc::load(&large_doc.clone().save(), clerk.actor_id.clone())?;
    let mut edited = VisitDoc::from_record(loaded)?;
    // One character appended: replacing the whole note would make Automerge's text diff
    // (Myers, quadratic in a rewrite of 630,000 characters) run for minutes on the client.
    let notes = format!("{}改", edited.read()?.notes);
    edited.edit(&clerk.actor, T0, |e| e.set_notes(&notes))?;
    let edit = push_edit(large.clone(), &mut edited.into_record(), &large_heads);
    out.push((
        "duplicatesOfLargeOutOfScope",
        protocol::encode(&attack::request(vec![edit; MAX_PUSHES], T0)),
    ));
    // 2. The most pushes, each a distinct bit-flipped document with a valid checksum, and the
    //    bytes that made Automerge panic.
    let mut flipped = Vec::new();
    for n in 0..(MAX_PUSHES as u64 - 1) {
        let (id, mut doc) = own_visit(clerk, n, "走访记录：企业反映用工紧张".into())?;
        let mut push = push_new(id, &mut doc);
        push.data = attack::bit_flipped(push.data, 37 * n as usize + 11);
        flipped.push(push);
    }
    let (id, mut doc) = own_visit(clerk, 999, "走访记录".into())?;
    let mut crasher = push_new(id, &mut doc);
    crasher.data = CRASHER.to_vec();
    flipped.push(crasher);
    out.push((
        "bitFlipped",
        protocol::encode(&attack::request(flipped, T0)),
    ));
    // 3. Valid new documents just under the pushed-document limit, as many as the wire takes.
    let mut big = Vec::new();
    let mut chars = MAX_DOC_BYTES as usize / 3;
    for n in 0..8u64 {
        let (id, mut doc) = own_visit(clerk, 1000 + n, attack::cjk(&mut rng, chars))?;
        let mut push = push_new(id, &mut doc);
        if push.data.len() > MAX_DOC_BYTES as usize
            || push.data.len() < MAX_DOC_BYTES as usize * 9 / 10
        {
            // Size the notes so the saved document is 98 % of the limit, and make it again.
            chars =
                (chars as f64 * (MAX_DOC_BYTES as f64 * 0.98) / push.data.len() as f64) as usize;
            let (id, mut doc) = own_visit(clerk, 1000 + n, attack::cjk(&mut rng, chars))?;
            push = push_new(id, &mut doc);
        }
        big.push(push);
        if protocol::encode(&attack::request(big.clone(), T0)).len() > MAX_REQUEST_BYTES {
            big.pop();
            break;
        }
    }
    out.push((
        "maxSizeDocuments",
        protocol::encode(&attack::request(big, T0)),
    ));
    // 4. A body at the wire limit: documents of random bytes at the pushed-document limit.
    let (id, mut doc) = own_visit(clerk, 2000, "模板".into())?;
    let template = push_new(id, &mut doc);
    out.push((
        "wireLimit",
        attack::at_wire_limit(&mut rng, &template, MAX_DOC_BYTES as usize, T0),
    ));
    // 5. A body that inflates to the decoded limit at just under the allowed ratio.
    let (body, _ratio) = attack::at_inflation_limit(&mut rng, &template, 1 << 20, T0);
    out.push(("inflationLimit", body));
    // 6. Pushes each claiming the most heads (that name no change), as many as the wire takes.
    let per_push = MAX_CLAIMED_HEADS * 33 + 1024;
    let n = (MAX_REQUEST_BYTES * 9 / 10 / per_push).min(MAX_PUSHES);
    let mut heads_pushes: Vec<DocPush> = Vec::new();
    for k in 0..n as u64 {
        let (id, mut doc) = own_visit(clerk, 3000 + k, "走访".into())?;
        let mut push = push_new(id, &mut doc);
        push.heads = attack::random_heads(&mut rng, MAX_CLAIMED_HEADS);
        heads_pushes.push(push);
    }
    out.push((
        "maxClaimedHeads",
        protocol::encode(&attack::request(heads_pushes, T0)),
    ));
    Ok(out)
}

/// One phase's honest syncs: each device edits one of its visits and syncs, in a loop, until
/// `stop`. Returns the devices, every sync's latency in ms and the failed syncs.
async fn honest_loop(
    devs: Vec<(NativeDevice, Vec<DocId>)>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(Vec<(NativeDevice, Vec<DocId>)>, Vec<f64>, u64)> {
    let mut set = tokio::task::JoinSet::new();
    for (mut dev, ids) in devs {
        let stop = stop.clone();
        set.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut k = 0usize;
            // Bounded: one sync per round, rounds until told to stop (at most 100,000).
            while !stop.load(Ordering::Relaxed) && k < 100_000 {
                let id = &ids[k % ids.len()];
                k += 1;
                if let Err(e) = dev.edit_visit_notes(id, &format!("复查第{k}次：已整改")) {
                    return (dev, ids, latencies, errors, Err(e));
                }
                let t = Instant::now();
                if dev.sync().await.is_err() {
                    errors += 1;
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                dev.persisted.clear();
            }
            (dev, ids, latencies, errors, Ok(()))
        });
    }
    let mut out = Vec::new();
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = set.join_next().await {
        let (dev, ids, latencies, e, result) = r?;
        result?;
        all.extend(latencies);
        errors += e;
        out.push((dev, ids));
    }
    all.sort_by(f64::total_cmp);
    Ok((out, all, errors))
}

/// Hostile clients sending every attack in turn until `stop`; per attack: how often it was
/// sent, its answers by status, and its mean time.
async fn hostile_loop(
    sessions: Vec<RawSession>,
    attacks: Arc<Vec<(&'static str, Vec<u8>)>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Value> {
    let mut set = tokio::task::JoinSet::new();
    for (k, session) in sessions.into_iter().enumerate() {
        let attacks = attacks.clone();
        let stop = stop.clone();
        set.spawn(async move {
            let mut seen: BTreeMap<&'static str, (u64, BTreeMap<String, u64>, f64)> =
                BTreeMap::new();
            let mut i = k;
            while !stop.load(Ordering::Relaxed) && i < 1_000_000 {
                let (name, body) = &attacks[i % attacks.len()];
                i += 1;
                let t = Instant::now();
                let status = match session.sync_body(body.clone()).await {
                    Ok(Answer::Ok(_)) => "200".to_string(),
                    Ok(answer) => answer
                        .error_code()
                        .map(|(s, code)| format!("{s} {code}"))
                        .unwrap_or_else(|| "error".into()),
                    Err(_) => "no answer".to_string(),
                };
                let entry = seen.entry(name).or_default();
                entry.0 += 1;
                *entry.1.entry(status).or_default() += 1;
                entry.2 += t.elapsed().as_secs_f64() * 1000.0;
            }
            seen
        });
    }
    let mut merged: BTreeMap<&'static str, (u64, BTreeMap<String, u64>, f64)> = BTreeMap::new();
    while let Some(r) = set.join_next().await {
        for (name, (n, statuses, ms)) in r? {
            let e = merged.entry(name).or_default();
            e.0 += n;
            for (s, c) in statuses {
                *e.1.entry(s).or_default() += c;
            }
            e.2 += ms;
        }
    }
    let sizes: BTreeMap<&str, usize> = attacks.iter().map(|(n, b)| (*n, b.len())).collect();
    Ok(Value::Object(
        merged
            .into_iter()
            .map(|(name, (n, statuses, ms))| {
                (
                    name.to_string(),
                    json!({"sent": n, "bodyBytes": sizes.get(name), "answers": statuses,
                           "meanMs": if n > 0 { ms / n as f64 } else { 0.0 }}),
                )
            })
            .collect(),
    ))
}

pub async fn hostile(bin: &Path, dir: &Path, quick: bool) -> anyhow::Result<Value> {
    let (alone_s, hostile_s, clients) = if quick { (8, 15, 2) } else { (30, 60, 2) };
    eprintln!(
        "== hostile: {HONEST} honest devices sync {alone_s} s alone, then {hostile_s} s beside \
         {clients} window clerks sending the limits' worst cases"
    );
    let db = dir.join("hostile.db");
    let t = Instant::now();
    let (large, large_doc) = {
        let mut store = SqliteStore::open(&db)?;
        for i in 0..HONEST {
            officer_in(&mut store, &format!("honest-{i}"), [u64::from(i)])?;
        }
        let owner = officer_in(&mut store, "owner", [100])?;
        let town = tests::district::town(&mut store, "town-1")?;
        tests::district::user(&mut store, "clerk", Role::WindowClerk, town)?;
        let author = Actor {
            user: owner.id,
            device: DeviceId::from_random_bytes([0x77; 16]),
            role: Role::Officer,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let v = visit(
            VisitId::from_random_bytes(id_bytes(0x72, 0)),
            100,
            attack::cjk(&mut rng, LARGE_CHARS),
        );
        let doc = VisitDoc::create(&v, &author, ActorId::from([0x77u8; 16]), T0)?.into_record();
        let id = doc_id(DocKind::Visit, v.id);
        commit_as_server(&mut store, vec![(id.clone(), doc.clone())], T0)?;
        (id, doc)
    };
    let server = ServerProcess::start_binary(bin, &db, "127.0.0.1:0".parse()?)?;
    let url = server.url();
    let mut devs = Vec::new();
    for i in 0..HONEST {
        let mut dev = NativeDevice::logged_in(i, &url, &format!("honest-{i}"), PASSWORD).await?;
        dev.fixed_elapsed_ms = None;
        dev.timeout = Duration::from_secs(60);
        let ids: Vec<DocId> = (0..HONEST_VISITS)
            .map(|k| dev.record_visit(enterprise(u64::from(i)), &format!("走访{k}：企业生产正常")))
            .collect::<anyhow::Result<_>>()?;
        dev.sync()
            .await
            .context("the honest device's first upload")?;
        dev.persisted.clear();
        devs.push((dev, ids));
    }
    let mut sessions = Vec::new();
    for k in 0..clients {
        sessions.push(
            RawSession::login(
                &url,
                "clerk",
                PASSWORD,
                DeviceId::from_random_bytes(id_bytes(0x70, k)),
            )
            .await?,
        );
    }
    let attacks = Arc::new(attacks(&sessions[0], &large, &large_doc)?);
    eprintln!(
        "   setup in {:.1} s; attacks: {}",
        t.elapsed().as_secs_f64(),
        attacks
            .iter()
            .map(|(n, b)| format!("{n} {} KiB", b.len() / 1024))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Alone.
    let rss_start = server.rss()?;
    server.reset_peak()?;
    let stop = Arc::new(AtomicBool::new(false));
    let honest = tokio::spawn(honest_loop(devs, stop.clone()));
    tokio::time::sleep(Duration::from_secs(alone_s)).await;
    stop.store(true, Ordering::Relaxed);
    let (devs, alone, alone_errors) = honest.await??;
    let peak_alone = server.peak_rss()?;
    let rss_alone = server.rss()?;

    // Beside the hostile clients.
    server.reset_peak()?;
    let stop = Arc::new(AtomicBool::new(false));
    let hostile = tokio::spawn(hostile_loop(sessions, attacks.clone(), stop.clone()));
    let honest = tokio::spawn(honest_loop(devs, stop.clone()));
    tokio::time::sleep(Duration::from_secs(hostile_s)).await;
    stop.store(true, Ordering::Relaxed);
    let (_devs, beside, beside_errors) = honest.await??;
    let attacks_seen = hostile.await??;
    let peak_hostile = server.peak_rss()?;
    let rss_after = server.rss()?;
    let mut server = server;
    let running = server.is_running();

    let p = |v: &[f64], q: f64| percentile(v, q);
    let result = json!({
        "honestDevices": HONEST, "hostileClients": clients,
        "aloneSeconds": alone_s, "hostileSeconds": hostile_s,
        "alone": {"syncs": alone.len(), "errors": alone_errors, "p50Ms": p(&alone, 0.5), "p99Ms": p(&alone, 0.99)},
        "hostile": {"syncs": beside.len(), "errors": beside_errors, "p50Ms": p(&beside, 0.5), "p99Ms": p(&beside, 0.99)},
        "p99Ratio": p(&beside, 0.99) / p(&alone, 0.99).max(0.001),
        "serverRssStartBytes": rss_start, "serverPeakAloneBytes": peak_alone,
        "serverRssAloneBytes": rss_alone, "serverPeakHostileBytes": peak_hostile,
        "serverRssAfterBytes": rss_after,
        "peakGrowthBytes": peak_hostile.saturating_sub(peak_alone),
        "serverStillRunning": running, "attacks": attacks_seen,
    });
    eprintln!("   {result}");
    Ok(result)
}
