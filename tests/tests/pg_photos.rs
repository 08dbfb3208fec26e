//! Photos on PostgreSQL (issues 14 and 16): two `lianxin-server serve` processes on one
//! throwaway PostgreSQL database and one blob folder (`--blobs DIR`). An officer's phone
//! uploads a photo through tus to one server, the connection is cut in the middle of a chunk,
//! and the upload continues on the other server from the bytes the first received; the photo
//! is then readable with its hash by someone whose scope holds the visit, a 404 to an officer
//! of another town, and stored once. An upload for a hash no record references is refused as
//! on SQLite; a server started without a blob folder says how to give it one.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use shared::doc::DocKind;
use shared::model::EnterpriseId;
use tests::device::NativeDevice;
use tests::pg::Throwaway;
use tests::process::ServerProcess;
use tests::raw::demo_token;
use tests::uploads::{Tus, noise_png, sha256_hex, visit_with_photo};

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A server on `database` keeping photos in `blobs`, seeding the demo first when `demo`.
fn server(database: &Throwaway, blobs: &Path, demo: bool) -> anyhow::Result<ServerProcess> {
    let cwd = tempfile::tempdir()?;
    ServerProcess::start_postgres_with(
        &database.url(),
        any_port(),
        demo,
        cwd.path(),
        &[std::ffi::OsStr::new("--blobs"), blobs.as_os_str()],
    )
}

/// The first enterprise `phone` holds.
fn some_enterprise(phone: &NativeDevice) -> anyhow::Result<EnterpriseId> {
    let id = phone
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == DocKind::Enterprise)
        .context("the officer sees no enterprise")?;
    Ok(EnterpriseId::parse(id.root_id())?)
}

/// Sends a tus `PATCH` declaring `declared` bytes at `offset` to `server`, writes only `sent`
/// of them and closes the connection: a link cut in the middle of the chunk.
async fn cut_patch(
    server: SocketAddr,
    location: &str,
    token: &str,
    offset: u64,
    declared: usize,
    sent: &[u8],
) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: {offset}\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(sent).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(())
}

/// Files named by hash in the blob folder.
fn stored_files(blobs: &Path) -> anyhow::Result<usize> {
    match std::fs::read_dir(blobs.join("sha256")) {
        Ok(entries) => Ok(entries.count()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_cut_mid_upload_on_one_server_is_finished_on_the_other_and_read_in_scope_only()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let folder = tempfile::tempdir()?;
    let blobs = folder.path().join("blobs");
    let a = server(&database, &blobs, true)?;
    let b = server(&database, &blobs, false)?;
    // officer1 records a visit with a photo and syncs it (through server A).
    let mut phone =
        NativeDevice::logged_in(1, &a.url(), "officer1", server::demo::DEMO_PASSWORD).await?;
    phone.sync().await?;
    let photo = noise_png(200, 150, 16)?;
    let hash = sha256_hex(&photo);
    let enterprise = some_enterprise(&phone)?;
    visit_with_photo(&mut phone, 1, enterprise, &hash)?;
    phone.sync().await?;
    let token = phone.token.clone().context("the phone has no token")?;

    // The upload starts on A; the link is cut in the middle of its one chunk.
    let on_a = Tus::new(&a.url(), &token);
    let created = on_a.create(photo.len() as u64, &hash, "image/png").await?;
    assert_eq!(created.status, 201, "{created:?}");
    let location = created.location.context("no Location")?;
    let half = photo.len() / 2;
    cut_patch(a.addr, &location, &token, 0, photo.len(), &photo[..half]).await?;

    // The phone asks server B where to continue: the bytes A received (asked until A has
    // noticed the cut, at most 10 s).
    let on_b = Tus::new(&b.url(), &token);
    let mut offset = None;
    for _ in 0..200 {
        let head = on_b.head(&location).await?;
        assert_eq!(head.status, 200, "{head:?}");
        if head.offset == Some(half as u64) {
            offset = head.offset;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offset = offset.context("server B never gave the offset of the bytes A received")?;
    let done = on_b
        .patch(&location, offset, &photo[offset as usize..])
        .await?;
    assert_eq!(
        (done.status, done.offset),
        (204, Some(photo.len() as u64)),
        "{done:?}"
    );

    // Someone whose scope holds the visit reads it by its hash, on either server; an officer
    // of another town is told there is no such file.
    let leader = Tus::new(&b.url(), &demo_token(&a.url(), "leader1", 31).await?);
    let read = leader.blob(&hash, false).await?;
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(read.bytes().await?.as_ref(), photo.as_slice());
    let own = on_a.blob(&hash, false).await?;
    assert_eq!(own.status().as_u16(), 200);
    let stranger = Tus::new(&a.url(), &demo_token(&b.url(), "officer3", 32).await?);
    assert_eq!(stranger.blob(&hash, false).await?.status().as_u16(), 404);

    // Stored once: the same photo uploaded again completes at once without a byte sent.
    let again = on_a.create(photo.len() as u64, &hash, "image/png").await?;
    assert_eq!(
        (again.status, again.offset),
        (201, Some(photo.len() as u64)),
        "{again:?}"
    );
    assert_eq!(stored_files(&blobs)?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_for_a_hash_no_record_references_is_refused_on_postgres() -> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let folder = tempfile::tempdir()?;
    let blobs = folder.path().join("blobs");
    let a = server(&database, &blobs, true)?;
    let tus = Tus::new(&a.url(), &demo_token(&a.url(), "officer1", 33).await?);
    let photo = noise_png(64, 64, 17)?;
    let refused = tus
        .create(photo.len() as u64, &sha256_hex(&photo), "image/png")
        .await?;
    assert_eq!(
        (refused.status, refused.error.as_deref()),
        (403, Some("unreferenced")),
        "{refused:?}"
    );
    assert_eq!(stored_files(&blobs)?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_server_without_a_blob_folder_says_how_to_give_it_one() -> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let a = ServerProcess::start_postgres(&database.url(), any_port(), true, cwd.path())?;
    let token = demo_token(&a.url(), "officer1", 34).await?;
    let photo = noise_png(64, 64, 18)?;
    let hash = sha256_hex(&photo);
    let create = Tus::new(&a.url(), &token)
        .create(photo.len() as u64, &hash, "image/png")
        .await?;
    assert_eq!(
        (create.status, create.error.as_deref()),
        (503, Some("no_blob_folder")),
        "{create:?}"
    );
    let read = reqwest::Client::new()
        .get(format!("{}/api/blobs/{hash}", a.url()))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(read.status().as_u16(), 503);
    let body: serde_json::Value = read.json().await?;
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("--blobs DIR"), "{body}");
    Ok(())
}
