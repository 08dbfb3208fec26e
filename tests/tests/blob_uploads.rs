//! Photos by hash against the real `lianxin-server` process (issue 14, items 2 and 3): a tus
//! client nobody here wrote uploads through a proxy that cuts connections; `kill -9` mid-upload
//! loses no acknowledged byte; a photo is served only to those who may read a record that
//! references it; uploads the server must refuse are refused; garbage collection keeps every
//! referenced photo and removes one unreferenced for 30 days; backup and restore carry the
//! blobs.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use server::store::SqliteStore;
use sha2::Digest as _;
use shared::model::{OrgUnitKind, Role};
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD};
use tests::process::ServerProcess;
use tests::proxy::{FaultConfig, FaultProxy};
use tests::uploads::{
    Tus, noise_png, replace_visit_photo, sha256_hex, upload_with_tus_js, visit_with_photo,
};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A database with officer `wang` (test enterprises 0–2), officer `li` (5–7) and `boss`, a
/// leader of the zone (who reads every record).
fn district_db() -> anyhow::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let mut store = SqliteStore::open(&db)?;
    district::officer_in(&mut store, "wang", 0..3)?;
    district::officer_in(&mut store, "li", 5..8)?;
    let zone = district::org_unit(&mut store, district::ZONE, OrgUnitKind::Zone, None)?;
    district::user(&mut store, "boss", Role::Leader, zone)?;
    Ok((dir, db))
}

fn any_port() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Where the server keeps blob `hash` of database `db`.
fn blob_file(db: &Path, hash: &str) -> PathBuf {
    server::blobs::blob_dir(db).join("sha256").join(hash)
}

fn token(dev: &NativeDevice) -> String {
    dev.token.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_uploads_a_photo_whole_through_a_proxy_that_cuts_connections()
-> anyhow::Result<()> {
    let (dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let photo = noise_png(320, 300, 1)?;
    let hash = sha256_hex(&photo);
    visit_with_photo(&mut wang, 1, district::enterprise(0), &hash)?;
    wang.sync().await?;
    let proxy = FaultProxy::start(
        server.addr,
        FaultConfig {
            drop_request: 0.15,
            drop_response: 0.2,
            truncate_response: 0.1,
            duplicate_request: 0.25,
            seed: 14,
            max_faults: Some(16),
            ..FaultConfig::default()
        },
    )
    .await?;
    let file = dir.path().join("photo.png");
    std::fs::File::create(&file)?.write_all(&photo)?;
    let (endpoint, bearer, sha) = (proxy.url("/api/uploads"), token(&wang), hash.clone());
    let output = tokio::task::spawn_blocking(move || {
        upload_with_tus_js(&endpoint, &bearer, &file, &sha, "image/png")
    })
    .await??;
    let stats = proxy.stats();
    eprintln!("tus-js-client through the fault proxy: {stats:?}\n{output}");
    assert!(
        stats.cut >= 3,
        "the proxy cut the upload's connections: {stats:?}"
    );
    let got = Tus::new(&server.url(), &token(&wang))
        .blob(&hash, false)
        .await?;
    assert_eq!(got.status(), 200, "{output}");
    let bytes = got.bytes().await?;
    assert_eq!(sha256_hex(&bytes), hash);
    assert_eq!(bytes.len(), photo.len());
    assert_eq!(
        std::fs::read(blob_file(&db, &hash))?,
        photo,
        "stored once, whole"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_upload_loses_no_acknowledged_chunk_and_the_upload_completes_after_restart()
-> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let (_dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let photo = noise_png(400, 400, 2)?;
    let hash = sha256_hex(&photo);
    visit_with_photo(&mut wang, 2, district::enterprise(1), &hash)?;
    wang.sync().await?;
    let tus = Tus::new(&server.url(), &token(&wang));
    let created = tus.create(photo.len() as u64, &hash, "image/png").await?;
    assert_eq!(created.status, 201, "{created:?}");
    let location = created.location.clone().unwrap_or_default();
    const CHUNK: usize = 64 * 1024;
    let mut acknowledged = 0u64;
    for _ in 0..2 {
        let at = acknowledged as usize;
        let answer = tus
            .patch(&location, acknowledged, &photo[at..at + CHUNK])
            .await?;
        assert_eq!(answer.status, 204, "{answer:?}");
        acknowledged = answer.offset.unwrap_or_default();
    }
    assert_eq!(acknowledged, 2 * CHUNK as u64);
    // A third chunk is on the wire, half sent, when the server is killed.
    let mut raw = tokio::net::TcpStream::connect(server.addr).await?;
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: {acknowledged}\r\nContent-Length: {CHUNK}\r\n\r\n",
        server.addr,
        token(&wang)
    );
    raw.write_all(head.as_bytes()).await?;
    let at = acknowledged as usize;
    raw.write_all(&photo[at..at + CHUNK / 2]).await?;
    raw.flush().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill9()?;
    drop(raw);

    let server = ServerProcess::start(&db, any_port())?;
    let tus = Tus::new(&server.url(), &token(&wang));
    let resumed = tus.head(&location).await?;
    assert_eq!(resumed.status, 200, "{resumed:?}");
    let mut offset = resumed.offset.unwrap_or_default();
    eprintln!("acknowledged {acknowledged} bytes before the kill; offset after it {offset}");
    assert!(
        offset >= acknowledged,
        "the offset after the kill ({offset}) is before the last acknowledged one ({acknowledged})"
    );
    while offset < photo.len() as u64 {
        let at = offset as usize;
        let end = (at + CHUNK).min(photo.len());
        let answer = tus.patch(&location, offset, &photo[at..end]).await?;
        assert_eq!(answer.status, 204, "{answer:?}");
        offset = answer.offset.unwrap_or_default();
    }
    let got = tus.blob(&hash, false).await?;
    assert_eq!(got.status(), 200);
    assert_eq!(sha256_hex(&got.bytes().await?), hash);
    Ok(())
}

/// The server with `wang`'s visit at enterprise 0 whose photo (returned with its hash) is
/// uploaded, and `li`, whose enterprises are others.
async fn one_uploaded_photo() -> anyhow::Result<(
    tempfile::TempDir,
    PathBuf,
    ServerProcess,
    NativeDevice,
    NativeDevice,
    Vec<u8>,
    String,
)> {
    let (dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let li = NativeDevice::logged_in(2, &server.url(), "li", PASSWORD).await?;
    let photo = noise_png(200, 150, 3)?;
    let hash = sha256_hex(&photo);
    visit_with_photo(&mut wang, 3, district::enterprise(0), &hash)?;
    wang.sync().await?;
    let done = Tus::new(&server.url(), &token(&wang))
        .upload(&photo, 32 * 1024)
        .await?;
    assert_eq!(
        (done.status, done.offset),
        (204, Some(photo.len() as u64)),
        "{done:?}"
    );
    Ok((dir, db, server, wang, li, photo, hash))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_served_immutable_to_readers_of_its_record_and_is_a_404_to_anyone_else()
-> anyhow::Result<()> {
    let (_dir, _db, server, wang, li, photo, hash) = one_uploaded_photo().await?;
    let outsider = Tus::new(&server.url(), &token(&li))
        .blob(&hash, false)
        .await?;
    assert_eq!(outsider.status(), 404, "outside li's scope");
    let body: serde_json::Value = outsider.json().await?;
    assert_eq!(body["error"], "not_found");
    let outsider_thumb = Tus::new(&server.url(), &token(&li))
        .blob(&hash, true)
        .await?;
    assert_eq!(outsider_thumb.status(), 404);

    let reader = Tus::new(&server.url(), &token(&wang));
    let got = reader.blob(&hash, false).await?;
    assert_eq!(got.status(), 200);
    let etag = got.headers()["etag"].to_str()?.to_string();
    assert_eq!(etag, format!("\"{hash}\""));
    assert_eq!(
        got.headers()["cache-control"],
        "private, max-age=31536000, immutable"
    );
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await?.as_ref(), photo.as_slice());
    let again = reqwest::Client::new()
        .get(server.url() + &format!("/api/blobs/{hash}"))
        .bearer_auth(token(&wang))
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(again.status(), 304);
    let thumb = reader.blob(&hash, true).await?;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    assert!(!thumb.bytes().await?.is_empty());
    let boss = NativeDevice::logged_in(3, &server.url(), "boss", PASSWORD).await?;
    let leader = Tus::new(&server.url(), &token(&boss))
        .blob(&hash, true)
        .await?;
    assert_eq!(leader.status(), 200, "the zone's leader reads every record");
    let anonymous = reqwest::get(server.url() + &format!("/api/blobs/{hash}")).await?;
    assert_eq!(anonymous.status(), 401);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_for_unreferenced_or_out_of_scope_hashes_too_large_files_and_wrong_bytes_are_refused()
-> anyhow::Result<()> {
    let (_dir, _db, server, mut wang, li, photo, hash) = one_uploaded_photo().await?;
    let discovery = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url() + "/api/uploads")
        .send()
        .await?;
    assert_eq!(discovery.status(), 204);
    assert_eq!(discovery.headers()["tus-version"], "1.0.0");
    assert_eq!(discovery.headers()["tus-max-size"], "10485760");
    assert_eq!(discovery.headers()["tus-extension"], "creation,checksum");
    let as_li = Tus::new(&server.url(), &token(&li));
    let refused = as_li.create(photo.len() as u64, &hash, "image/png").await?;
    assert_eq!(
        (refused.status, refused.error.as_deref()),
        (403, Some("unreferenced")),
        "a record references it, but none li may read"
    );
    let as_wang = Tus::new(&server.url(), &token(&wang));
    let nobody = sha256_hex(b"a file no record names");
    let refused = as_wang.create(100, &nobody, "image/png").await?;
    assert_eq!(
        (refused.status, refused.error.as_deref()),
        (403, Some("unreferenced"))
    );

    // A second photo is referenced, but the bytes sent are not the ones declared.
    let other = noise_png(64, 64, 4)?;
    let other_hash = sha256_hex(&other);
    visit_with_photo(&mut wang, 4, district::enterprise(1), &other_hash)?;
    wang.sync().await?;
    let too_large = as_wang
        .create(10 * 1024 * 1024 + 1, &other_hash, "image/png")
        .await?;
    assert_eq!(
        (too_large.status, too_large.error.as_deref()),
        (413, Some("too_large"))
    );
    let wrong = noise_png(64, 64, 5)?;
    assert_eq!(wrong.len(), other.len(), "same size, other bytes");
    let created = as_wang
        .create(wrong.len() as u64, &other_hash, "image/png")
        .await?;
    let location = created.location.clone().unwrap_or_default();
    let mismatched = as_wang.patch(&location, 0, &wrong).await?;
    assert_eq!(
        (mismatched.status, mismatched.error.as_deref()),
        (422, Some("hash_mismatch")),
        "{mismatched:?}"
    );
    assert_eq!(as_wang.head(&location).await?.status, 404, "discarded");
    let missing = as_wang.blob(&other_hash, false).await?;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await?;
    assert_eq!(body["error"], "not_uploaded");

    // A chunk that does not match its Upload-Checksum is not kept (tus checksum extension).
    let good = noise_png(64, 64, 11)?;
    let good_hash = sha256_hex(&good);
    visit_with_photo(&mut wang, 11, district::enterprise(2), &good_hash)?;
    wang.sync().await?;
    let created = as_wang
        .create(good.len() as u64, &good_hash, "image/png")
        .await?;
    let location = created.location.clone().unwrap_or_default();
    let sum_of_first = sha2::Sha256::digest(&good[..100]);
    let refused = as_wang
        .patch_checked(&location, 0, &wrong[..100], Some(sum_of_first.as_slice()))
        .await?;
    assert_eq!(
        (refused.status, refused.error.as_deref(), refused.offset),
        (460, Some("checksum_mismatch"), Some(0))
    );
    let kept = as_wang
        .patch_checked(&location, 0, &good[..100], Some(sum_of_first.as_slice()))
        .await?;
    assert_eq!((kept.status, kept.offset), (204, Some(100)));

    // The photo already stored completes at once.
    let again = as_wang
        .create(photo.len() as u64, &hash, "image/png")
        .await?;
    assert_eq!(
        (again.status, again.offset),
        (201, Some(photo.len() as u64))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_the_daily_budget_are_refused() -> anyhow::Result<()> {
    let (_dir, db) = district_db()?;
    let server =
        ServerProcess::start_with_env(&db, any_port(), &[("LIANXIN_UPLOAD_DAILY_MB", "1")])?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let first = noise_png(450, 450, 6)?;
    let second = noise_png(450, 450, 7)?;
    visit_with_photo(&mut wang, 6, district::enterprise(0), &sha256_hex(&first))?;
    visit_with_photo(&mut wang, 7, district::enterprise(1), &sha256_hex(&second))?;
    wang.sync().await?;
    let tus = Tus::new(&server.url(), &token(&wang));
    let done = tus.upload(&first, 256 * 1024).await?;
    assert_eq!(done.status, 204, "{done:?}");
    let refused = tus
        .create(second.len() as u64, &sha256_hex(&second), "image/png")
        .await?;
    assert_eq!(
        (refused.status, refused.error.as_deref()),
        (429, Some("daily_budget")),
        "{} + {} bytes is past 1 MB",
        first.len(),
        second.len()
    );
    Ok(())
}

/// Waits (at most 15 s) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if done()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("{what} did not happen within 15 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_keeps_referenced_photos_and_removes_one_unreferenced_for_30_days()
-> anyhow::Result<()> {
    let (_dir, db) = district_db()?;
    let server = ServerProcess::start(&db, any_port())?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let kept = noise_png(100, 100, 8)?;
    let dropped = noise_png(100, 100, 9)?;
    let unfinished = noise_png(100, 100, 10)?;
    let (kept_hash, dropped_hash) = (sha256_hex(&kept), sha256_hex(&dropped));
    let unfinished_hash = sha256_hex(&unfinished);
    visit_with_photo(&mut wang, 8, district::enterprise(0), &kept_hash)?;
    let visit = visit_with_photo(&mut wang, 9, district::enterprise(1), &dropped_hash)?;
    visit_with_photo(&mut wang, 10, district::enterprise(2), &unfinished_hash)?;
    wang.sync().await?;
    let tus = Tus::new(&server.url(), &token(&wang));
    for photo in [&kept, &dropped] {
        assert_eq!(tus.upload(photo, 64 * 1024).await?.status, 204);
    }
    let partial = tus
        .create(unfinished.len() as u64, &unfinished_hash, "image/png")
        .await?;
    let partial_at = partial.location.clone().unwrap_or_default();
    assert_eq!(
        tus.patch(&partial_at, 0, &unfinished[..1000]).await?.status,
        204
    );
    // The second visit's photo is replaced: no record references the dropped one any more.
    replace_visit_photo(&mut wang, &visit, &unfinished_hash).await?;
    wang.sync().await?;
    drop(server);

    // At start-up garbage collection finds the dropped photo unreferenced, from now on.
    let server = ServerProcess::start(&db, any_port())?;
    let orphan_since = || -> anyhow::Result<Option<i64>> {
        let conn = rusqlite::Connection::open(&db)?;
        let mut q = conn.prepare("SELECT since FROM blob_orphans WHERE hash = ?1")?;
        let mut rows = q.query([&dropped_hash])?;
        Ok(match rows.next()? {
            Some(r) => Some(r.get(0)?),
            None => None,
        })
    };
    eventually("marking the unreferenced photo", || {
        Ok(orphan_since()?.is_some())
    })?;
    drop(server);
    assert!(blob_file(&db, &dropped_hash).exists(), "kept while young");

    // 31 days later (the rows aged as the clock would): the kept photo was once unreferenced
    // for longer still, but is referenced now; the partial upload is four days old.
    {
        let conn = rusqlite::Connection::open(&db)?;
        conn.execute("UPDATE blob_orphans SET since = since - ?1", [31 * DAY_MS])?;
        conn.execute(
            "INSERT OR REPLACE INTO blob_orphans (hash, since) VALUES (?1, ?2)",
            rusqlite::params![kept_hash, server::auth::now().0 - 40 * DAY_MS],
        )?;
        conn.execute(
            "UPDATE uploads SET created_at = created_at - ?1 WHERE finished_at IS NULL",
            [4 * DAY_MS],
        )?;
    }
    let partial_file = server::blobs::blob_dir(&db)
        .join("uploads")
        .join(partial_at.rsplit('/').next().unwrap_or_default());
    assert!(partial_file.exists());
    let server = ServerProcess::start(&db, any_port())?;
    eventually("removing the photo unreferenced for 31 days", || {
        Ok(!blob_file(&db, &dropped_hash).exists())
    })?;
    assert!(
        blob_file(&db, &kept_hash).exists(),
        "a referenced photo is kept"
    );
    let tus = Tus::new(&server.url(), &token(&wang));
    assert_eq!(tus.blob(&kept_hash, false).await?.status(), 200);
    eventually("removing the four-day-old partial upload", || {
        Ok(!partial_file.exists())
    })?;
    assert_eq!(tus.head(&partial_at).await?.status, 404);
    let metrics = reqwest::Client::new()
        .get(server.url() + "/metrics")
        .bearer_auth(tests::process::METRICS_TOKEN)
        .send()
        .await?
        .text()
        .await?;
    assert!(metrics.contains("\nlianxin_blobs 1\n"), "{metrics}");
    assert!(
        metrics.contains(&format!("\nlianxin_blob_bytes {}\n", kept.len())),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_carry_the_photos() -> anyhow::Result<()> {
    let (dir, db, server, _wang, _li, photo, hash) = one_uploaded_photo().await?;
    let bin = tests::process::server_binary()?;
    let backup = dir.path().join("backup.db");
    let out = std::process::Command::new(&bin)
        .args(["backup", "--db"])
        .arg(&db)
        .arg("--to")
        .arg(&backup)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(blob_file(&backup, &hash))?, photo);
    drop(server);
    let restored = dir.path().join("restored.db");
    let out = std::process::Command::new(&bin)
        .args(["restore", "--db"])
        .arg(&restored)
        .arg("--from")
        .arg(&backup)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(blob_file(&restored, &hash))?, photo);
    Ok(())
}
