//! After `restore`, every device re-synchronises what it lacks, with no silent gap: devices
//! sync, a backup is taken, two devices keep committing (new visits and edits), the server is
//! stopped and the backup restored. Once it runs again, the changes made after the backup are
//! pushed again by the devices that made them, devices whose cursors are above the restored
//! feed's sequence are served from the start although a fresh device's new visits have
//! meanwhile moved the feed past those cursors, and the fresh device receives everything: all
//! three converge on every document.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use server::store::SqliteStore;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD};
use tests::process::{ServerProcess, server_binary};

/// Runs `lianxin-server <args> --db db` and requires success.
fn admin(db: &Path, args: &[&str], path: &Path) -> anyhow::Result<()> {
    let out = Command::new(server_binary()?)
        .args(args)
        .arg(path)
        .arg("--db")
        .arg(db)
        .env_remove("LIANXIN_DB")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Every document id a device holds.
fn ids(dev: &NativeDevice) -> BTreeSet<DocId> {
    dev.client.replica().ids().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_every_device_converges_on_the_changes_made_after_the_backup()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let copy = dir.path().join("before.db");
    {
        let mut store = SqliteStore::open(&db)?;
        for login in ["ana", "bo", "cai"] {
            district::officer_in(&mut store, login, 0..4)?;
        }
    }
    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let mut a = NativeDevice::logged_in(1, &server.url(), "ana", PASSWORD).await?;
    let mut b = NativeDevice::logged_in(2, &server.url(), "bo", PASSWORD).await?;

    // Before the backup: a visit each, known to both.
    let a1 = a.record_visit(district::enterprise(0), "备份前：甲的走访")?;
    let b1 = b.record_visit(district::enterprise(1), "备份前：乙的走访")?;
    a.sync().await?;
    b.sync().await?;
    a.sync().await?;
    admin(&db, &["backup", "--to"], &copy)?;

    // After the backup: new visits and edits, synced by both, so each device's cursor is above the backup's feed and its changes acknowledged.
    let a2 = a.record_visit(district::enterprise(2), "备份后：甲的新走访")?;
    a.edit_visit_notes(&a1, "备份后：甲改了自己的")?;
    a.sync().await?;
    b.sync().await?;
    let b2 = b.record_visit(district::enterprise(3), "备份后：乙的新走访")?;
    b.edit_visit_notes(&b1, "备份后：乙改了自己的")?;
    for n in 0..6 {
        b.record_visit(
            district::enterprise(n % 4),
            &format!("备份后：乙的第{n}次走访"),
        )?;
    }
    b.sync().await?;
    a.sync().await?;
    b.sync().await?;
    assert!(a.status().waiting == 0 && b.status().waiting == 0);
    let cursor_before = a.client.replica().cursor;

    server.kill9()?;
    admin(&db, &["restore", "--from"], &copy)?;
    let lost = {
        let mut store = SqliteStore::open(&db)?;
        let seq = store.latest_seq()?;
        assert!(
            store.load_doc(&a2)?.is_none() && store.load_doc(&b2)?.is_none(),
            "the restored database lacks what was written after the backup"
        );
        seq
    };
    assert!(
        shared::sync::protocol::cursor_seq(cursor_before) > lost,
        "the devices' cursors are above the restored feed"
    );

    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    a.set_base_url(&server.url());
    b.set_base_url(&server.url());
    // A fresh device comes first and writes enough that the restored feed passes the old
    // devices' cursors: a cursor read as a sequence of the restored feed would skip its visits.
    let mut c = NativeDevice::logged_in(3, &server.url(), "cai", PASSWORD).await?;
    c.sync().await?;
    for n in 0..12 {
        c.record_visit(
            district::enterprise(n % 4),
            &format!("恢复后：丙的第{n}次走访"),
        )?;
    }
    c.sync().await?;
    {
        let mut store = SqliteStore::open(&db)?;
        assert!(
            store.latest_seq()? >= shared::sync::protocol::cursor_seq(cursor_before),
            "the restored feed has caught up with A's old cursor"
        );
    }
    b.sync().await?;
    a.sync().await?;
    b.sync().await?;
    c.sync().await?;

    let all = ids(&a);
    assert!(all.contains(&a2) && all.contains(&b2) && all.contains(&b1));
    assert_eq!(all.len(), 2 + 2 + 6 + 12, "every visit on A");
    assert_eq!(ids(&b), all, "B holds every document");
    assert_eq!(ids(&c), all, "the fresh device holds every document");
    for id in &all {
        let heads = |d: &NativeDevice| d.client.replica().get(id).map(|e| e.acked.clone());
        let mut on_a = a.client.replica().get(id).cloned().expect("listed");
        let mut on_b = b.client.replica().get(id).cloned().expect("listed");
        let mut on_c = c.client.replica().get(id).cloned().expect("listed");
        assert_eq!(on_a.heads(), on_b.heads(), "{id}: A and B differ");
        assert_eq!(on_a.heads(), on_c.heads(), "{id}: A and C differ");
        assert_eq!(heads(&c), Some(on_c.heads()), "{id}: acknowledged on C");
    }
    assert_eq!(c.visit_notes(&a1)?, "备份后：甲改了自己的");
    assert_eq!(c.visit_notes(&b1)?, "备份后：乙改了自己的");
    assert_eq!(c.visit_notes(&a2)?, "备份后：甲的新走访");
    assert_eq!(c.visit_notes(&b2)?, "备份后：乙的新走访");
    assert_eq!(a.status().waiting + b.status().waiting, 0);
    Ok(())
}
