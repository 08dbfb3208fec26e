//! Several servers on one PostgreSQL (issue 16 item 4): two `lianxin-server serve` processes on
//! one throwaway database; officers' phones (native devices, several per officer so they edit
//! the same documents at once) switch server on every sync and edit shared visits in rounds;
//! one server is killed with SIGKILL while the round's syncs are in flight and started again
//! later. At the end nothing acknowledged is lost (every change a device saw acknowledged is in
//! the database and on every phone of that officer), the phones and the database hold the same
//! heads, and a reader that followed the change feed during the run, independently of the
//! servers, saw every document's last version (the feed had no gap it skipped).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use automerge::ChangeHash;
use shared::doc::DocKind;
use shared::model::EnterpriseId;
use shared::sync::client::Input;
use shared::sync::protocol::DocId;
use tests::device::NativeDevice;
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;

/// Officers of the demo district whose phones edit (`officer1` …).
const OFFICERS: usize = 1;
/// Phones of each officer: all edit the officer's shared visits at once.
const PHONES_EACH: usize = 8;
/// Phones in all.
const DEVICES: usize = OFFICERS * PHONES_EACH;
/// Visits each officer's phones all edit.
const SHARED_VISITS: usize = 1;
/// Rounds of edits; each phone edits every shared visit of its officer, then syncs.
const ROUNDS: usize = 12;
/// The round during whose syncs server A is killed.
const KILL_ROUND: usize = 2;
/// The round before which server A is started again.
const RESTART_ROUND: usize = 5;
/// How long one attempt to sync through one server may take before the phone tries the other.
const ATTEMPT: Duration = Duration::from_secs(4);
/// Attempts of one sync, alternating servers.
const ATTEMPTS: usize = 8;

/// A change a phone saw acknowledged, with the phone's officer.
type Acked = BTreeSet<(usize, DocId, ChangeHash)>;

/// Syncs `dev` until settled, through server `first` and then the other in turn (a phone
/// switching node on every request); which server settled it.
async fn sync_switching(
    dev: &mut NativeDevice,
    urls: &[String; 2],
    first: usize,
) -> anyhow::Result<usize> {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        let node = (first + attempt) % 2;
        dev.set_base_url(&urls[node]);
        match dev.run(Input::SyncNow, ATTEMPT).await {
            Ok(()) if dev.client.is_settled() => return Ok(node),
            Ok(()) => last = Some(anyhow::anyhow!("not settled")),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt")))
}

/// The acknowledged heads of `docs` on `dev`.
fn acked_of(dev: &NativeDevice, officer: usize, docs: &[DocId], into: &mut Acked) {
    for id in docs {
        if let Some(entry) = dev.client.replica().get(id) {
            for head in &entry.acked {
                into.insert((officer, id.clone(), *head));
            }
        }
    }
}

/// `id` as `dev` holds it.
fn held(dev: &mut NativeDevice, id: &DocId) -> anyhow::Result<automerge::AutoCommit> {
    let entry = dev
        .client
        .replica_mut()
        .get_mut(id)
        .ok_or_else(|| anyhow::anyhow!("{id} never reached this phone: its feed skipped it"))?;
    Ok(automerge::AutoCommit::load(&entry.saved())?)
}

/// `id` as the database holds it.
async fn stored(db: &tokio_postgres::Client, id: &DocId) -> anyhow::Result<automerge::AutoCommit> {
    let row = db
        .query_one(
            "SELECT snapshot FROM docs WHERE doc_id = $1",
            &[&id.as_str()],
        )
        .await?;
    let bytes: Vec<u8> = row.get(0);
    Ok(automerge::AutoCommit::load(&bytes)?)
}

/// Asserts that the database holds every change of `changes` (`when` says at which point).
async fn in_database(
    db: &tokio_postgres::Client,
    changes: impl IntoIterator<Item = &(usize, DocId, ChangeHash)>,
    when: &str,
) -> anyhow::Result<()> {
    let mut docs: BTreeMap<DocId, automerge::AutoCommit> = BTreeMap::new();
    for (_, id, hash) in changes {
        if !docs.contains_key(id) {
            docs.insert(id.clone(), stored(db, id).await?);
        }
        let doc = docs
            .get_mut(id)
            .ok_or_else(|| anyhow::anyhow!("{id} was just loaded"))?;
        assert!(
            doc.get_change_by_hash(hash).is_some(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_lose_no_acknowledged_edit_when_one_is_killed_mid_sync()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    // Server A migrates the empty database and seeds the demo district; B joins it.
    let a = ServerProcess::start_postgres(&url, free, true, cwd.path())?;
    let a_addr = a.addr;
    let mut a = Some(a);
    let b = ServerProcess::start_postgres(&url, free, false, cwd.path())?;
    let urls = [format!("http://{a_addr}"), b.url()];

    let mut devices = Vec::new();
    for i in 0..DEVICES {
        let officer = i / PHONES_EACH;
        let login = format!("officer{}", officer + 1);
        let dev = NativeDevice::logged_in(
            u8::try_from(i + 1)?,
            &urls[i % 2],
            &login,
            server::demo::DEMO_PASSWORD,
        )
        .await?;
        devices.push((officer, dev));
    }
    // Each officer's first phone records the visits all their phones will edit.
    let mut shared: Vec<Vec<DocId>> = vec![Vec::new(); OFFICERS];
    let mut places: Vec<EnterpriseId> = Vec::new();
    for (officer, dev) in devices.iter_mut().step_by(PHONES_EACH) {
        sync_switching(dev, &urls, 0).await?;
        let enterprise = dev
            .client
            .replica()
            .ids()
            .find(|id| id.kind() == DocKind::Enterprise)
            .map(|id| EnterpriseId::parse(id.root_id()))
            .ok_or_else(|| anyhow::anyhow!("officer {officer} sees no enterprise"))??;
        for v in 0..SHARED_VISITS {
            shared[*officer].push(dev.record_visit(enterprise, &format!("visit {v}:"))?);
        }
        places.push(enterprise);
        sync_switching(dev, &urls, 1).await?;
    }
    for (_, dev) in devices.iter_mut() {
        sync_switching(dev, &urls, 0).await?;
    }

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

    let (mut acked, mut made) = (Acked::new(), Acked::new());
    let db = connect(&url).await?;
    let (shared, places) = (Arc::new(shared), Arc::new(places));
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
        for (i, (officer, mut dev)) in devices.drain(..).enumerate() {
            let (urls, shared, places) = (urls.clone(), shared.clone(), places.clone());
            tasks.push(tokio::spawn(async move {
                // The change each edit makes: the phone's only head right after it.
                let mut made = Vec::new();
                let edited = (|| -> anyhow::Result<()> {
                    // Shared visits every other round; in the others the commits are of
                    // distinct documents only, which no document's row lock orders.
                    let shared_round = round % 2 == 0;
                    for id in shared[officer].iter().filter(|_| shared_round) {
                        let notes = dev.visit_notes(id)?;
                        dev.edit_visit_notes(id, &format!("{notes} d{i}r{round}"))?;
                        let entry = dev
                            .client
                            .replica_mut()
                            .get_mut(id)
                            .ok_or_else(|| anyhow::anyhow!("{id} left the phone"))?;
                        made.extend(entry.heads().into_iter().map(|h| (officer, id.clone(), h)));
                    }
                    // And a visit of its own: many documents committed at once, each once,
                    // whose only version a gap in the feed would hide.
                    let id = dev.record_visit(places[officer], &format!("d{i} r{round}"))?;
                    let entry = dev
                        .client
                        .replica_mut()
                        .get_mut(&id)
                        .ok_or_else(|| anyhow::anyhow!("{id} left the phone"))?;
                    made.extend(entry.heads().into_iter().map(|h| (officer, id.clone(), h)));
                    Ok(())
                })();
                // Every phone starts on another server than last round.
                let synced = match edited {
                    Ok(()) => sync_switching(&mut dev, &urls, (i + round) % 2).await,
                    Err(e) => Err(e),
                };
                (officer, dev, synced, made)
            }));
        }
        if round == KILL_ROUND {
            // The round's requests are on their way to both servers.
            tokio::time::sleep(Duration::from_millis(30)).await;
            if let Some(a) = a.take() {
                a.kill9()?;
            }
        }
        let (mut edited, mut acknowledged) = (Acked::new(), Acked::new());
        for task in tasks {
            let (officer, dev, synced, edits) = task.await?;
            synced.map_err(|e| anyhow::anyhow!("round {round}: {e}"))?;
            // Each phone ended the round settled: its edits were acknowledged.
            edited.extend(edits);
            acked_of(&dev, officer, &shared[officer], &mut acknowledged);
            devices.push((officer, dev));
        }
        // Durable as soon as acknowledged, not only once later syncs have merged again.
        let when = format!("after round {round}");
        in_database(&db, edited.iter().chain(&acknowledged), &when).await?;
        made.extend(edited);
        acked.extend(acknowledged);
    }
    // Every phone hears of every other's last edits: two passes, one server after the other.
    for pass in 0..2 {
        for (i, (officer, dev)) in devices.iter_mut().enumerate() {
            sync_switching(dev, &urls, (i + pass) % 2).await?;
            acked_of(dev, *officer, &shared[*officer], &mut acked);
        }
    }
    stop.store(true, Ordering::SeqCst);
    let seen = follower.await??;

    // Every edit made one change, and every phone ended settled: each was acknowledged.
    assert_eq!(
        made.len(),
        DEVICES * (ROUNDS.div_ceil(2) * SHARED_VISITS + ROUNDS)
    );
    // Nothing acknowledged is lost: in the database, and on every phone of that officer.
    for (officer, id, hash) in acked.iter().chain(&made) {
        let mut doc = stored(&db, id).await?;
        assert!(
            doc.get_change_by_hash(hash).is_some(),
            "acknowledged change {hash} of {id} is not in the database"
        );
        for (o, dev) in devices.iter_mut().filter(|(o, _)| o == officer) {
            let mut mine = held(dev, id)?;
            assert!(
                mine.get_change_by_hash(hash).is_some(),
                "acknowledged change {hash} of {id} is not on phone {} of officer {o} \
                 (its heads {:?}, the database's {:?}, its cursor {})",
                dev.actor.device,
                mine.get_heads(),
                doc.get_heads(),
                dev.client.replica().cursor,
            );
        }
    }
    // The phones and the database converge.
    for (officer, dev) in devices.iter_mut() {
        for id in &shared[*officer] {
            let mut on_phone = held(dev, id)?;
            let mut in_db = stored(&db, id).await?;
            let (mut phone, mut database) = (on_phone.get_heads(), in_db.get_heads());
            phone.sort();
            database.sort();
            assert_eq!(phone, database, "{id}: the phone and the database differ");
        }
    }
    // The reader that followed the feed saw every document's last version: no gap skipped.
    let rows = db.query("SELECT doc_id, seq FROM docs", &[]).await?;
    assert!(!rows.is_empty(), "the database holds no document");
    for row in rows {
        let (doc, seq): (String, i64) = (row.get(0), row.get(1));
        assert_eq!(
            seen.get(&doc),
            Some(&seq),
            "the feed's reader never saw {doc} at {seq}: it skipped a gap"
        );
    }
    drop(a);
    drop(b);
    Ok(())
}
