//! Acknowledged means durable: the server process is killed with SIGKILL at seeded random
//! moments during 20 sync batches and restarted on the same SQLite file. Every change a device
//! saw acknowledged is still there, nothing is stored twice, and the file passes
//! `PRAGMA integrity_check`.

use std::time::Duration;

use automerge::ChangeHash;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server::store::SqliteStore;
use shared::model::EnterpriseId;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore;
use tests::device::{NativeDevice, id_bytes};
use tests::process::ServerProcess;

/// Checks, with the server dead, that every acknowledged head is in the database file.
fn acknowledged_changes_are_stored(
    db: &std::path::Path,
    dev: &NativeDevice,
) -> anyhow::Result<usize> {
    let mut store = SqliteStore::open(db)?;
    assert_eq!(store.integrity_check()?, "ok");
    let mut checked = 0;
    let ids: Vec<DocId> = dev.client.replica().ids().cloned().collect();
    for id in ids {
        let entry = dev.client.replica().get(&id).expect("listed");
        if entry.acked.is_empty() {
            continue;
        }
        let stored = store
            .load_doc(&id)?
            .unwrap_or_else(|| panic!("acknowledged document {id} is missing"));
        let mut doc = automerge::AutoCommit::load(&stored.bytes)?;
        for head in &entry.acked {
            assert!(
                doc.get_change_by_hash(head).is_some(),
                "acknowledged change {head} of {id} is missing"
            );
        }
        let in_snapshot = doc.get_changes(&[]).len();
        let rows = store.change_hashes(&id)?.len();
        assert_eq!(
            rows, in_snapshot,
            "change rows of {id}: each stored exactly once"
        );
        checked += 1;
    }
    Ok(checked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_20_sync_batches_loses_no_acknowledged_change() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let mut rng = ChaCha8Rng::seed_from_u64(20261128);
    {
        let mut store = SqliteStore::open(&db)?;
        tests::district::officer_in(&mut store, "wang", 0..7)?;
    }
    let mut server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let mut dev =
        NativeDevice::logged_in(7, &server.url(), "wang", tests::district::PASSWORD).await?;
    dev.timeout = Duration::from_secs(5);
    let mut docs: Vec<DocId> = Vec::new();
    let mut kills = 0;
    let mut interrupted = 0;
    for batch in 0..20u64 {
        for n in 0..30u64 {
            let e = EnterpriseId::from_random_bytes(id_bytes(5, n % 7));
            docs.push(dev.record_visit(
                e,
                &format!("批次{batch}-{n}：企业反映用工紧张，需要人社部门对接招聘会"),
            )?);
        }
        for id in docs.iter().step_by(11) {
            dev.edit_visit_notes(id, &format!("批次{batch}复查：已对接"))?;
        }
        let kill_after = Duration::from_millis(rng.random_range(0..40));
        let outcome = tokio::time::timeout(kill_after, dev.sync()).await;
        if outcome.is_err() {
            interrupted += 1;
            dev.connection_lost();
        }
        server.kill9()?;
        kills += 1;
        acknowledged_changes_are_stored(&db, &dev)?;
        // A fresh port each time: another process on the machine may have taken the old one
        // while the server was down.
        server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
        dev.set_base_url(&server.url());
    }
    dev.sync().await?;
    assert_eq!(dev.status().waiting, 0);
    server.kill9()?;
    let checked = acknowledged_changes_are_stored(&db, &dev)?;
    assert_eq!(
        checked,
        docs.len(),
        "every document acknowledged in the end"
    );
    let store = SqliteStore::open(&db)?;
    assert_eq!(store.doc_count()? as usize, docs.len());
    assert_eq!(kills, 20);
    eprintln!("{interrupted} of 20 kills interrupted a sync in flight");
    assert!(
        interrupted >= 3,
        "only {interrupted} kills hit a sync in flight"
    );
    // The final heads on the server are the device's heads.
    let mut store = store;
    for id in docs.iter().step_by(37) {
        let stored = store.load_doc(id)?.expect("stored");
        let heads: Vec<ChangeHash> = dev
            .client
            .replica_mut()
            .get_mut(id)
            .expect("on the device")
            .heads();
        assert_eq!(stored.heads, heads);
    }
    Ok(())
}
