//! `crash`: acknowledged means durable, 100 times over. Officers' devices keep recording,
//! editing and syncing; the server process is SIGKILLed at a seeded random moment, and with
//! it dead the database file must pass `PRAGMA integrity_check` and hold every change a device
//! saw acknowledged (read with the store's own code); then it restarts on the same file. CI
//! runs the shorter `tests/tests/sync_crash.rs`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use server::store::SqliteStore;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use tests::device::NativeDevice;
use tests::district::{PASSWORD, enterprise, officer_in};
use tests::process::ServerProcess;

/// Officers' devices syncing at once.
const DEVICES: u8 = 4;

/// What one check of the dead server's file found.
#[derive(Debug, Default)]
struct Check {
    /// Documents with acknowledged changes.
    docs: u64,
    /// Acknowledged heads looked up.
    heads: u64,
    /// Acknowledged heads not in the file.
    lost: u64,
    /// Documents whose change rows are not each stored once.
    rows_mismatched: u64,
    /// `integrity_check` said something else than "ok".
    integrity_failed: bool,
}

/// With the server dead: the file's integrity, and every head each device saw acknowledged.
fn check(db: &Path, devs: &[(NativeDevice, Vec<DocId>)]) -> anyhow::Result<Check> {
    let mut store = SqliteStore::open(db)?;
    let mut c = Check {
        integrity_failed: store.integrity_check()? != "ok",
        ..Check::default()
    };
    for (dev, _) in devs {
        let ids: Vec<DocId> = dev.client.replica().ids().cloned().collect();
        for id in ids {
            let Some(entry) = dev.client.replica().get(&id) else {
                continue;
            };
            if entry.acked.is_empty() {
                continue;
            }
            c.docs += 1;
            c.heads += entry.acked.len() as u64;
            let Some(stored) = store.load_doc(&id)? else {
                c.lost += entry.acked.len() as u64;
                continue;
            };
            let mut doc = automerge::AutoCommit::load(&stored.bytes)?;
            for head in &entry.acked {
                if doc.get_change_by_hash(head).is_none() {
                    c.lost += 1;
                }
            }
            if store.change_hashes(&id)?.len() != doc.get_changes(&[]).len() {
                c.rows_mismatched += 1;
            }
        }
    }
    Ok(c)
}

/// Each device records or edits a visit and syncs, in a loop, until `stop`; a sync cut short
/// by the stop counts as interrupted (the engine is told its connection was lost).
async fn edit_loop(
    mut dev: NativeDevice,
    docs: Vec<DocId>,
    round: u64,
    stop: Arc<AtomicBool>,
) -> (NativeDevice, Vec<DocId>, u64, u64, anyhow::Result<()>) {
    let mut docs = docs;
    let (mut syncs, mut interrupted) = (0u64, 0u64);
    // Bounded: at most 1,000 edits per round.
    for k in 0..1000u64 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let edited = if k % 3 == 0 || docs.is_empty() {
            dev.record_visit(
                enterprise(k % 3),
                &format!("第{round}轮-{k}：企业反映用工紧张，需要人社部门对接招聘会"),
            )
            .map(|id| docs.push(id))
        } else {
            let id = docs[(k as usize * 7) % docs.len()].clone();
            dev.edit_visit_notes(&id, &format!("第{round}轮复查{k}：已对接"))
        };
        if let Err(e) = edited {
            return (dev, docs, syncs, interrupted, Err(e));
        }
        // The sync is dropped when the stop comes (the server is about to die or dead).
        let outcome = tokio::select! {
            r = dev.sync() => Some(r),
            _ = wait_for(&stop) => None,
        };
        match outcome {
            Some(_) => syncs += 1,
            None => {
                interrupted += 1;
                dev.connection_lost();
            }
        }
        dev.persisted.clear();
    }
    (dev, docs, syncs, interrupted, Ok(()))
}

async fn wait_for(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub async fn crash(bin: &Path, dir: &Path, kills: u64) -> anyhow::Result<Value> {
    eprintln!(
        "== crash: {DEVICES} devices edit and sync; the server is SIGKILLed {kills} times and \
         restarted on the same file"
    );
    let db = dir.join("crash.db");
    {
        let mut store = SqliteStore::open(&db)?;
        for i in 0..DEVICES {
            officer_in(&mut store, &format!("crash-{i}"), 0..3)?;
        }
    }
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(20261206);
    let mut server = ServerProcess::start_binary(bin, &db, "127.0.0.1:0".parse()?)?;
    let mut devs: Vec<(NativeDevice, Vec<DocId>)> = Vec::new();
    for i in 0..DEVICES {
        let mut dev =
            NativeDevice::logged_in(10 + i, &server.url(), &format!("crash-{i}"), PASSWORD).await?;
        dev.timeout = Duration::from_secs(5);
        devs.push((dev, Vec::new()));
    }
    let mut total = Check::default();
    let (mut syncs, mut interrupted, mut integrity_failures, mut restart_ms) = (0, 0, 0, 0.0f64);
    for round in 0..kills {
        let stop = Arc::new(AtomicBool::new(false));
        let mut set = tokio::task::JoinSet::new();
        for (dev, docs) in devs.drain(..) {
            set.spawn(edit_loop(dev, docs, round, stop.clone()));
        }
        // The kill lands at a random moment of the devices' edit-and-sync loop.
        let kill_after = Duration::from_millis(rng.random_range(20..400));
        tokio::time::sleep(kill_after).await;
        server.kill9()?;
        stop.store(true, Ordering::Relaxed);
        while let Some(r) = set.join_next().await {
            let (dev, docs, s, i, result) = r?;
            result?;
            syncs += s;
            interrupted += i;
            devs.push((dev, docs));
        }
        let c = check(&db, &devs)?;
        total.docs = c.docs;
        total.heads += c.heads;
        total.lost += c.lost;
        total.rows_mismatched += c.rows_mismatched;
        integrity_failures += u64::from(c.integrity_failed);
        let t = Instant::now();
        server = ServerProcess::start_binary(bin, &db, "127.0.0.1:0".parse()?)?;
        restart_ms += t.elapsed().as_secs_f64() * 1000.0;
        for (dev, _) in devs.iter_mut() {
            dev.set_base_url(&server.url());
        }
        if round % 10 == 9 {
            eprintln!(
                "   {} kills, {} syncs ({} cut short), {} acknowledged heads checked, {} lost",
                round + 1,
                syncs,
                interrupted,
                total.heads,
                total.lost
            );
        }
    }
    // In the end every device settles and everything it holds is acknowledged and stored.
    let mut unsettled = 0u64;
    for (dev, _) in devs.iter_mut() {
        if dev.sync().await.is_err() || dev.status().waiting > 0 {
            unsettled += 1;
        }
    }
    server.kill9()?;
    let last = check(&db, &devs)?;
    let recorded: usize = devs.iter().map(|(_, d)| d.len()).sum();
    let stored = SqliteStore::open(&db)?.doc_count()?;
    let result = json!({
        "devices": DEVICES, "kills": kills, "syncs": syncs, "syncsCutShort": interrupted,
        "ackedHeadsChecked": total.heads + last.heads, "lostAckedChanges": total.lost + last.lost,
        "integrityFailures": integrity_failures + u64::from(last.integrity_failed),
        "changeRowMismatches": total.rows_mismatched + last.rows_mismatched,
        "docsRecorded": recorded, "docsStored": stored, "docsAckedAtEnd": last.docs,
        "unsettledAtEnd": unsettled, "meanRestartMs": restart_ms / kills.max(1) as f64,
        "seconds": started.elapsed().as_secs_f64(),
    });
    eprintln!("   {result}");
    Ok(result)
}
