//! Several servers on one PostgreSQL (issue 16 item 4) while the network and a server fail: two
//! `lianxin-server serve` processes on one throwaway database, each reached only through a
//! flapping link (`ShapingProxy`: every connection cut every 2–6 s and new ones refused for
//! 0.3–1.5 s after each cut, at most [`CUTS`] cuts a link) in front of a fault proxy
//! (`FaultProxy`: requests dropped, answers dropped or cut short, requests sent twice, delays;
//! at most [`FAULTS`] a node). [`PHONES`] native phones of the demo district's six officers
//! (phone `i` is officer `i % 6`'s: nine phones each for officer1 and officer2, eight for the
//! others) switch server on every request. One of officer1's enterprises is also assigned to
//! officer4 (a row added to `assignments` before anyone logs in: the admin API does not run on
//! PostgreSQL yet), so those two officers' scopes overlap there and the others' are apart.
//!
//! In each of [`ROUNDS`] rounds every phone records a visit of its own, at its officer's
//! enterprises in turn (officer4's phones also write into officer1's scope), and in every other
//! round edits its officer's shared visit, which all that officer's phones edit at once; then
//! all phones sync at the same time until settled. Server A is killed with SIGKILL while
//! requests of round [`KILL_ROUND`] are inside it and started again before round
//! [`RESTART_ROUND`]; at the end every phone syncs once more.
//!
//! Checked: after each round, every change a phone saw acknowledged is in the database; at the
//! end every edit made one change and all were acknowledged; every phone holds every document
//! of its scope with the database's heads, and each acknowledged change of it; a reader that
//! followed `docs` directly during the run, independently of the servers, saw every document's
//! last version; and, per phone, against a log of every version the feed held (a trigger the
//! test installs, `tests::feed`), its cursor never passed a version of its scope it did not
//! then hold. And that the faults happened: cuts, dropped, cut and repeated exchanges, phones'
//! failed requests, and requests inside server A when it was killed.
//!
//! Size: 50 phones × 5 rounds = 250 visits and 150 edits of the 6 shared visits, 1,300 to
//! 3,200 requests (more the slower the run: the links' cuts and the dead node's rests cost
//! retries); about 75 s alone on two cores (debug build, 25 s of it the logins), up to 200 s
//! beside a clippy build. Every wait is bounded: a sync by
//! [`SYNC_BUDGET`] per run and [`RUNS`] runs, the kill's wait for requests in flight by 10 s.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use automerge::ChangeHash;
use shared::model::EnterpriseId;
use shared::sync::client::Input;
use shared::sync::protocol::DocId;
use tests::device::NativeDevice;
use tests::feed::{self, decode_heads};
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;
use tests::proxy::{FaultConfig, FaultProxy, FaultStats, ShapeConfig, ShapingProxy};

/// Phones in all.
const PHONES: usize = 50;
/// Officers of the demo district (`officer1` …); phone `i` is officer `i % OFFICERS`'s.
const OFFICERS: usize = 6;
/// Rounds of edits.
const ROUNDS: usize = 5;
/// The round during whose syncs server A is killed.
const KILL_ROUND: usize = 1;
/// The round before which server A is started again.
const RESTART_ROUND: usize = 2;
/// Cuts of each node's link, at most.
const CUTS: usize = 20;
/// Faulted exchanges of each node's fault proxy, at most.
const FAULTS: usize = 150;
/// The longest one run of "sync now" may take.
const SYNC_BUDGET: Duration = Duration::from_secs(60);
/// Runs of "sync now" until a phone is settled.
const RUNS: usize = 3;
/// Logins sent at once.
const LOGINS_AT_ONCE: usize = 4;

/// A change a phone saw acknowledged or made: its document and hash.
type Changes = BTreeSet<(DocId, ChangeHash)>;

/// A phone, its officer (0-based) and its number among all phones.
struct Phone {
    n: usize,
    officer: usize,
    dev: NativeDevice,
}

/// Syncs until settled: at most [`RUNS`] runs of [`SYNC_BUDGET`].
async fn settle(dev: &mut NativeDevice) -> anyhow::Result<()> {
    for _ in 0..RUNS {
        if let Err(e) = dev.run(Input::SyncNow, SYNC_BUDGET).await {
            anyhow::bail!("{e}: {:?} {:?}", dev.traffic, dev.client.status());
        }
        if dev.client.is_settled() {
            return Ok(());
        }
    }
    anyhow::bail!("not settled after {RUNS} runs")
}

/// Syncs every phone at once until settled; the phones back, in order.
async fn settle_all(phones: Vec<Phone>, what: &str) -> anyhow::Result<Vec<Phone>> {
    let tasks: Vec<_> = phones
        .into_iter()
        .map(|mut p| {
            tokio::spawn(async move {
                let synced = settle(&mut p.dev).await;
                (p, synced)
            })
        })
        .collect();
    let mut back = Vec::new();
    for task in tasks {
        let (p, synced) = task.await?;
        synced.with_context(|| format!("{what}: phone {}", p.n))?;
        back.push(p);
    }
    Ok(back)
}

/// The acknowledged heads of each of `docs` that `dev` holds.
fn acked_of(dev: &NativeDevice, docs: &BTreeSet<DocId>, into: &mut Changes) {
    for id in docs {
        if let Some(entry) = dev.client.replica().get(id) {
            into.extend(entry.acked.iter().map(|h| (id.clone(), *h)));
        }
    }
}

/// The enterprises each officer looks after, as the database's directory says.
async fn scopes(db: &tokio_postgres::Client) -> anyhow::Result<Vec<BTreeSet<String>>> {
    let mut out = Vec::new();
    for o in 0..OFFICERS {
        let rows = db
            .query(
                "SELECT a.enterprise FROM assignments a JOIN users u ON u.id = a.user_id \
                 WHERE u.login = $1 AND a.valid_to IS NULL",
                &[&format!("officer{}", o + 1)],
            )
            .await?;
        out.push(rows.iter().map(|r| r.get(0)).collect());
    }
    Ok(out)
}

/// Every document in the database: its enterprise, its heads (as its row and its snapshot
/// both say) and its snapshot, loaded.
async fn stored_docs(
    db: &tokio_postgres::Client,
) -> anyhow::Result<BTreeMap<DocId, (String, Vec<ChangeHash>, automerge::AutoCommit)>> {
    let rows = db
        .query("SELECT doc_id, enterprise, heads, snapshot FROM docs", &[])
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let id = DocId::parse(row.get(0))?;
        let heads = decode_heads(row.get(2))?;
        let mut doc = automerge::AutoCommit::load(row.get(3))?;
        let mut snapshot_heads = doc.get_heads();
        snapshot_heads.sort();
        assert_eq!(
            snapshot_heads, heads,
            "{id}: its row's heads are not its snapshot's"
        );
        out.insert(id, (row.get(1), heads, doc));
    }
    Ok(out)
}

/// Asserts that the database holds every change of `changes` (`when` says at which point).
async fn in_database(
    db: &tokio_postgres::Client,
    changes: &Changes,
    when: &str,
) -> anyhow::Result<()> {
    let mut docs: BTreeMap<&DocId, automerge::AutoCommit> = BTreeMap::new();
    for (id, hash) in changes {
        if !docs.contains_key(id) {
            let row = db
                .query_one(
                    "SELECT snapshot FROM docs WHERE doc_id = $1",
                    &[&id.as_str()],
                )
                .await
                .with_context(|| format!("{when}: acknowledged {id} is not in the database"))?;
            docs.insert(id, automerge::AutoCommit::load(row.get(0))?);
        }
        let doc = docs.get_mut(id).context("just loaded")?;
        assert!(
            doc.get_change_meta_by_hash(hash).is_some(),
            "{when}: acknowledged change {hash} of {id} is not in the database"
        );
    }
    Ok(())
}

/// Reads the change feed as a device would, straight from the database and independently of
/// the servers: every `seq` after its cursor, each read one statement, the cursor moved to the
/// largest seen. Keeps the last `seq` it saw of each document.
async fn follow_feed(
    db: &tokio_postgres::Client,
    cursor: &mut i64,
    seen: &mut BTreeMap<String, i64>,
) -> anyhow::Result<()> {
    let rows = db
        .query(
            "SELECT doc_id, seq FROM docs WHERE seq > $1 ORDER BY seq",
            &[&*cursor],
        )
        .await?;
    for row in rows {
        let (doc, seq): (String, i64) = (row.get(0), row.get(1));
        *cursor = (*cursor).max(seq);
        seen.insert(doc, seq);
    }
    Ok(())
}

/// Exchanges a fault proxy has taken and not yet finished.
fn in_flight(stats: &FaultStats) -> u64 {
    stats
        .accepted
        .saturating_sub(stats.delivered + stats.cut + stats.refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_phones_over_two_servers_behind_faults_lose_nothing_and_skip_no_feed_entry_when_one_is_killed_mid_sync()
-> anyhow::Result<()> {
    let started = Instant::now();
    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    // Server A migrates the empty database and seeds the demo district; then, before B joins
    // and anyone logs in, the feed's versions are logged and officer4 shares an enterprise.
    let a = ServerProcess::start_postgres(&url, free, true, cwd.path())?;
    let a_addr = a.addr;
    let mut a = Some(a);
    let db = connect(&url).await?;
    feed::record_versions(&db).await?;
    db.execute(
        "INSERT INTO assignments (enterprise, user_id, valid_from) \
         SELECT a.enterprise, o4.id, a.valid_from FROM assignments a \
         JOIN users o1 ON o1.id = a.user_id AND o1.login = 'officer1' \
         JOIN users o4 ON o4.login = 'officer4' ORDER BY a.enterprise LIMIT 1",
        &[],
    )
    .await?;
    let scopes = scopes(&db).await?;
    for (o, scope) in scopes.iter().enumerate() {
        for (p, other) in scopes.iter().enumerate().skip(o + 1) {
            let shared = scope.intersection(other).count();
            let expected = usize::from((o, p) == (0, 3));
            assert_eq!(shared, expected, "officers {o} and {p} share {shared}");
        }
    }
    let b = ServerProcess::start_postgres(&url, free, false, cwd.path())?;
    let direct = [format!("http://{a_addr}"), b.url()];

    // Logged in directly, a few at a time (argon2 is slow on purpose).
    let mut phones = Vec::new();
    for batch in (0..PHONES).collect::<Vec<_>>().chunks(LOGINS_AT_ONCE) {
        let logins: Vec<_> = batch
            .iter()
            .map(|&n| {
                let officer = n % OFFICERS;
                let url = direct[n % 2].clone();
                tokio::spawn(async move {
                    let login = format!("officer{}", officer + 1);
                    let number = u8::try_from(n + 1)?;
                    let dev =
                        NativeDevice::logged_in(number, &url, &login, server::demo::DEMO_PASSWORD)
                            .await?;
                    anyhow::Ok(Phone { n, officer, dev })
                })
            })
            .collect();
        for login in logins {
            let mut phone = login.await??;
            phone.dev.applied = Some(Vec::new());
            phone.dev.timeout = Duration::from_secs(10);
            phones.push(phone);
        }
    }
    let logged_in = started.elapsed();

    // Each node behind its fault proxy behind its flapping link; the phones see only the links.
    let mut faults = Vec::new();
    let mut links = Vec::new();
    for (node, addr) in [a_addr, b.addr].into_iter().enumerate() {
        let fault = FaultProxy::start(
            addr,
            FaultConfig {
                drop_request: 0.03,
                drop_response: 0.04,
                truncate_response: 0.04,
                duplicate_request: 0.04,
                delay: (0.1, 200),
                seed: 16 + node as u64,
                max_faults: Some(FAULTS),
            },
        )
        .await?;
        let link = ShapingProxy::start(
            fault.addr(),
            ShapeConfig {
                cut_every_ms: Some((2_000, 6_000)),
                down_for_ms: (300, 1_500),
                seed: 160 + node as u64,
                max_cuts: Some(CUTS),
                ..ShapeConfig::transparent()
            },
        )
        .await?;
        faults.push(fault);
        links.push(link);
    }
    let urls = [links[0].url(""), links[1].url("")];
    for p in &mut phones {
        p.dev.switch_on_every_request(&urls);
    }

    // Every phone takes its scope; each officer's first phone records the visit all their
    // phones will edit, and every phone receives it.
    let mut phones = settle_all(phones, "first sync").await?;
    let places: Vec<Vec<EnterpriseId>> = scopes
        .iter()
        .map(|s| s.iter().map(|e| EnterpriseId::parse(e)).collect())
        .collect::<Result<_, _>>()?;
    let mut shared_visits = Vec::new();
    for p in phones.iter_mut().take(OFFICERS) {
        shared_visits.push(p.dev.record_visit(places[p.officer][0], "shared visit:")?);
        settle(&mut p.dev).await?;
    }
    let mut phones = settle_all(phones, "receiving the shared visits").await?;
    let mut made_docs: BTreeSet<DocId> = shared_visits.iter().cloned().collect();

    // The independent reader of the feed, for the whole run.
    let reader = connect(&url).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut cursor, mut seen) = (0_i64, BTreeMap::new());
            while !stop.load(Ordering::SeqCst) {
                follow_feed(&reader, &mut cursor, &mut seen).await?;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            follow_feed(&reader, &mut cursor, &mut seen).await?;
            anyhow::Ok(seen)
        })
    };

    let (mut acked, mut made) = (Changes::new(), Changes::new());
    let mut killed_in_flight = None;
    let (shared_visits, places) = (Arc::new(shared_visits), Arc::new(places));
    for round in 0..ROUNDS {
        if round == RESTART_ROUND {
            a = Some(ServerProcess::start_postgres(
                &url,
                a_addr,
                false,
                cwd.path(),
            )?);
        }
        let mut tasks = Vec::new();
        for mut p in phones.drain(..) {
            let (shared_visits, places) = (shared_visits.clone(), places.clone());
            tasks.push(tokio::spawn(async move {
                // The change each edit makes: the phone's only head of it right after.
                let mut made = Vec::new();
                let mut edited = || -> anyhow::Result<()> {
                    let mut edit = |dev: &mut NativeDevice, id: &DocId| -> anyhow::Result<()> {
                        let entry = dev
                            .client
                            .replica_mut()
                            .get_mut(id)
                            .context("the edited visit left the phone")?;
                        made.extend(entry.heads().into_iter().map(|h| (id.clone(), h)));
                        Ok(())
                    };
                    if round % 2 == 0 {
                        let id = &shared_visits[p.officer];
                        let notes = p.dev.visit_notes(id)?;
                        p.dev
                            .edit_visit_notes(id, &format!("{notes} p{}r{round}", p.n))?;
                        edit(&mut p.dev, id)?;
                    }
                    let mine = &places[p.officer];
                    let at = mine[(p.n / OFFICERS + round) % mine.len()];
                    let id = p.dev.record_visit(at, &format!("p{} r{round}", p.n))?;
                    edit(&mut p.dev, &id)?;
                    Ok(())
                };
                let synced = match edited() {
                    Ok(()) => settle(&mut p.dev).await,
                    Err(e) => Err(e),
                };
                (p, synced, made)
            }));
        }
        if round == KILL_ROUND {
            // Killed once requests of the round are inside it (or on their way in).
            let deadline = Instant::now() + Duration::from_secs(10);
            while in_flight(&faults[0].stats()) < 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            killed_in_flight = Some(in_flight(&faults[0].stats()));
            if let Some(a) = a.take() {
                a.kill9()?;
            }
        }
        let (mut edited, mut acknowledged) = (Changes::new(), Changes::new());
        for task in tasks {
            let (p, synced, edits) = task.await?;
            synced.with_context(|| format!("round {round}: phone {}", p.n))?;
            made_docs.extend(edits.iter().map(|(id, _)| id.clone()));
            edited.extend(edits);
            phones.push(p);
        }
        // Each phone ended the round settled: its edits were acknowledged, and what it saw
        // acknowledged is durable at once, not only once later syncs merged it again.
        for p in &phones {
            acked_of(&p.dev, &made_docs, &mut acknowledged);
        }
        let when = format!("after round {round}");
        in_database(&db, &edited.union(&acknowledged).cloned().collect(), &when).await?;
        made.extend(edited);
        acked.extend(acknowledged);
    }
    // Every phone hears of every other's last edits.
    let mut phones = settle_all(phones, "the last sync").await?;
    stop.store(true, Ordering::SeqCst);
    let seen = follower.await??;
    let synced = started.elapsed();

    // Every edit made one change of its own (each phone ended each round settled, so all were
    // acknowledged): a visit each round, and the shared visit every other round.
    assert_eq!(made.len(), PHONES * (ROUNDS + ROUNDS.div_ceil(2)));
    assert_eq!(made_docs.len(), OFFICERS + PHONES * ROUNDS);

    // The reader that followed the feed saw every document's last version: no gap skipped.
    let docs = stored_docs(&db).await?;
    for id in docs.keys() {
        let row = db
            .query_one("SELECT seq FROM docs WHERE doc_id = $1", &[&id.as_str()])
            .await?;
        let seq: i64 = row.get(0);
        assert_eq!(
            seen.get(id.as_str()),
            Some(&seq),
            "the feed's reader never saw {id} at {seq}: it skipped a gap"
        );
    }
    // Each phone's cursor never passed a version of its scope it did not then hold.
    let versions = feed::versions(&db).await?;
    let (mut gaps, mut checked) = (Vec::new(), 0);
    for p in &mut phones {
        let found = feed::passed_unheld(&mut p.dev, &scopes[p.officer], &versions)?;
        assert!(found.checked > 0, "phone {} passed no version", p.n);
        checked += found.checked;
        gaps.extend(found.gaps.iter().map(|g| format!("phone {}: {g}", p.n)));
    }
    assert!(gaps.is_empty(), "feed gaps:\n{}", gaps.join("\n"));

    // Every document of a phone's scope is on it with the database's heads, holding each
    // acknowledged change: nothing acknowledged is lost, on any phone that should see it.
    let mut by_doc: BTreeMap<&DocId, Vec<ChangeHash>> = BTreeMap::new();
    for (id, hash) in made.union(&acked) {
        by_doc.entry(id).or_default().push(*hash);
    }
    for (id, hashes) in &by_doc {
        let (_, _, doc) = docs.get(*id).context("an acknowledged document is gone")?;
        let mut doc = doc.clone();
        for hash in hashes {
            assert!(
                doc.get_change_meta_by_hash(hash).is_some(),
                "acknowledged change {hash} of {id} is not in the database"
            );
        }
    }
    for p in &mut phones {
        let scope = &scopes[p.officer];
        for (id, (enterprise, heads, _)) in docs.iter().filter(|(_, d)| scope.contains(&d.0)) {
            let record =
                p.dev.client.replica_mut().doc_mut(id).with_context(|| {
                    format!("{id} (of {enterprise}) never reached phone {}", p.n)
                })??;
            let on_phone = record.heads();
            assert_eq!(
                &on_phone, heads,
                "{id}: phone {} and the database differ",
                p.n
            );
            let am = record.automerge();
            for hash in by_doc.get(id).into_iter().flatten() {
                assert!(
                    am.get_change_meta_by_hash(hash).is_some(),
                    "acknowledged change {hash} of {id} is not on phone {}",
                    p.n
                );
            }
        }
    }

    // And the faults happened.
    let stats: Vec<FaultStats> = faults.iter().map(FaultProxy::stats).collect();
    let cuts: u64 = links.iter().map(|l| l.stats().cuts).sum();
    let failures: usize = phones.iter().map(|p| p.dev.traffic.failures).sum();
    let requests: usize = phones.iter().map(|p| p.dev.traffic.requests).sum();
    eprintln!(
        "{PHONES} phones, {ROUNDS} rounds: logged in at {logged_in:?}, synced at {synced:?}, \
         checked at {:?}; {requests} requests, {failures} failed; {cuts} cuts; {} in flight \
         at the kill; {} versions, {checked} checked on phones; faults {stats:?}",
        started.elapsed(),
        killed_in_flight.unwrap_or(0),
        versions.len(),
    );
    assert!(
        killed_in_flight.is_some_and(|n| n > 0),
        "no request was inside server A"
    );
    assert!(cuts > 0 && failures > 0, "the links were never cut");
    for s in &stats {
        assert!(
            s.dropped_requests + s.dropped_responses > 0
                && s.truncated_responses > 0
                && s.duplicated_requests > 0,
            "a node's faults never happened: {s:?}"
        );
    }
    drop(a);
    drop(b);
    Ok(())
}
