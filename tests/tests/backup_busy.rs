//! A backup of a busy server completes: `lianxin-server backup` of a ~50 MB file, run while a
//! device keeps syncing new visits into it, finishes within a bound (SQLite's online backup
//! API restarts at every write by another process and never did), and its copy passes
//! `integrity_check` and holds the visits committed before it started.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use server::AppState;
use shared::model::EnterpriseId;
use tests::TestServer;
use tests::device::{NativeDevice, id_bytes};
use tests::district::{self, PASSWORD};
use tests::process::server_binary;

/// Notes that do not compress, so the file grows by pages.
fn notes(n: usize) -> String {
    (0..400)
        .map(|i| {
            char::from_u32(0x4E00 + ((n * 7919 + i * 104_729) % 20_000) as u32).unwrap_or('字')
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_a_device_keeps_syncing_completes_and_verifies() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    // A district's file is tens of megabytes: pad this one so copying it takes many steps.
    {
        let pad = rusqlite::Connection::open(&db)?;
        pad.execute_batch("CREATE TABLE test_padding (bytes BLOB NOT NULL)")?;
        for n in 0..48u8 {
            let bytes: Vec<u8> = (0..1_048_576u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ n)
                .collect();
            pad.execute("INSERT INTO test_padding (bytes) VALUES (?1)", [bytes])?;
        }
    }
    let service = tests::sync_service(dir.path())?;
    district::officer(&service, "wang", 0..10).await?;
    let server = TestServer::start(AppState::new(dir.path().join("no-site"), service)).await?;
    let mut wang = NativeDevice::logged_in(1, &server.url(""), "wang", PASSWORD).await?;
    let enterprise = |n: usize| EnterpriseId::from_random_bytes(id_bytes(5, (n % 10) as u64));
    for n in 0..300 {
        wang.record_visit(enterprise(n), &notes(n))?;
        if n % 50 == 49 {
            wang.sync().await?;
        }
    }
    wang.sync().await?;

    // The device keeps committing while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let synced = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, synced) = (stop.clone(), synced.clone());
        tokio::spawn(async move {
            let mut n = 300;
            while !stop.load(Ordering::Relaxed) && n < 5_300 {
                wang.record_visit(enterprise(n), &notes(n))?;
                wang.sync().await?;
                synced.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            anyhow::Ok(())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let copy = dir.path().join("copy.db");
    let mut backup = std::process::Command::new(server_binary()?)
        .arg("backup")
        .arg("--db")
        .arg(&db)
        .arg("--to")
        .arg(&copy)
        .env_remove("LIANXIN_DB")
        .spawn()?;
    let during = synced.load(Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = backup.try_wait()? {
            break Some(status);
        }
        if tokio::time::Instant::now() > deadline {
            let _ = backup.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);
    writer.await??;
    let status = status.ok_or_else(|| anyhow::anyhow!("the backup did not finish within 60 s"))?;
    assert!(status.success(), "the backup failed: {status}");
    assert!(
        synced.load(Ordering::Relaxed) > during,
        "the device did not sync while the backup ran"
    );

    let copy = rusqlite::Connection::open(&copy)?;
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(check, "ok");
    let visits: i64 =
        copy.query_row("SELECT COUNT(*) FROM docs WHERE kind = 'visit'", [], |r| {
            r.get(0)
        })?;
    assert!(visits >= 300, "the copy holds {visits} visits");
    Ok(())
}
