//! A PATCH the server refuses costs the link nothing but its headers (issue 14 item 2): a
//! PATCH behind the upload's offset (a browser resending a cut PATCH by itself, as Chromium
//! does) gets its 409 before any of its body is sent, and the connection closes; a PATCH
//! whose link went silent mid-body does not make the next request for its upload wait, and
//! the bytes it delivered are kept, counted once. Raw TCP, against the real
//! `lianxin-server`, so the test controls exactly which bytes are sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use server::store::SqliteStore;
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD};
use tests::process::ServerProcess;
use tests::uploads::{Tus, noise_png, sha256_hex, visit_with_photo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long an answer given from the headers may take (the server waits 30 s for a silent
/// body, `blobs::limits::UPLOAD_IDLE`, before it takes the connection for cut).
const BOUND: Duration = Duration::from_secs(5);

const CHUNK: usize = 64 * 1024;

/// The server with officer `wang`, whose visit references a noise photo, an upload of that
/// photo created and its first `CHUNK` bytes acknowledged: the server, wang's token, the
/// photo, the upload's location.
async fn upload_one_chunk_in()
-> anyhow::Result<(tempfile::TempDir, ServerProcess, String, Vec<u8>, String)> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    let mut store = SqliteStore::open(&db)?;
    district::officer_in(&mut store, "wang", 0..3)?;
    drop(store);
    let server = ServerProcess::start(&db, SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let mut wang = NativeDevice::logged_in(1, &server.url(), "wang", PASSWORD).await?;
    let photo = noise_png(400, 400, 41)?;
    visit_with_photo(&mut wang, 1, district::enterprise(0), &sha256_hex(&photo))?;
    wang.sync().await?;
    let token = wang.token.clone().unwrap_or_default();
    let tus = Tus::new(&server.url(), &token);
    let created = tus
        .create(photo.len() as u64, &sha256_hex(&photo), "image/png")
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let location = created.location.context("no Location")?;
    let first = tus.patch(&location, 0, &photo[..CHUNK]).await?;
    assert_eq!(first.status, 204, "{first:?}");
    assert_eq!(first.offset, Some(CHUNK as u64));
    Ok((dir, server, token, photo, location))
}

/// Opens a connection and sends a PATCH's headers for `content_length` bytes at `offset`,
/// then `body` (which may be less than announced: the rest never comes).
async fn send_patch(
    addr: SocketAddr,
    token: &str,
    location: &str,
    offset: u64,
    content_length: usize,
    body: &[u8],
) -> anyhow::Result<TcpStream> {
    let mut raw = TcpStream::connect(addr).await?;
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: {offset}\r\nContent-Length: {content_length}\r\n\r\n"
    );
    raw.write_all(head.as_bytes()).await?;
    raw.write_all(body).await?;
    raw.flush().await?;
    Ok(raw)
}

/// An answer read to the connection's end: status and headers (names in lower case).
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
}

/// Reads `raw` until the server closes it, within `BOUND` of the call; fails if the answer
/// or the close does not come in time.
async fn answer_then_close(mut raw: TcpStream) -> anyhow::Result<Answer> {
    let started = Instant::now();
    let mut bytes = Vec::new();
    tokio::time::timeout(BOUND, raw.read_to_end(&mut bytes))
        .await
        .with_context(|| {
            format!(
                "no answer and close within {BOUND:?} ({} bytes came: {:?})",
                bytes.len(),
                String::from_utf8_lossy(&bytes)
            )
        })??;
    let text = String::from_utf8_lossy(&bytes).to_string();
    let (head, _) = text.split_once("\r\n\r\n").context("no complete answer")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    eprintln!("answered in {:?}:\n{head}", started.elapsed());
    Ok(Answer { status, headers })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_behind_the_offset_gets_its_409_before_its_body_is_sent_and_the_connection_closes()
-> anyhow::Result<()> {
    let (_dir, server, token, photo, location) = upload_one_chunk_in().await?;
    // The resend of a PATCH the server already took: the same offset, a body of the rest of
    // the photo announced, none of it sent.
    let raw = send_patch(server.addr, &token, &location, 0, photo.len(), &[]).await?;

    let answer = answer_then_close(raw).await?;
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.headers.get("upload-offset").map(String::as_str),
        Some(CHUNK.to_string().as_str()),
        "the offset to continue from"
    );
    assert_eq!(
        answer.headers.get("connection").map(String::as_str),
        Some("close"),
        "the client is told to stop sending on this connection"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_whose_link_went_silent_is_stopped_by_the_next_request_and_its_bytes_are_kept()
-> anyhow::Result<()> {
    let (_dir, server, token, photo, location) = upload_one_chunk_in().await?;
    // The second chunk's connection delivers half of it, then nothing more (a phone whose
    // link dropped: the server is not told).
    let half = CHUNK / 2;
    let silent = send_patch(
        server.addr,
        &token,
        &location,
        CHUNK as u64,
        CHUNK,
        &photo[CHUNK..CHUNK + half],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The phone's resend of that chunk, on a new connection, headers first.
    let resend = send_patch(server.addr, &token, &location, CHUNK as u64, CHUNK, &[]).await?;

    let resent = answer_then_close(resend).await?;
    let kept = (CHUNK + half).to_string();
    assert_eq!(resent.status, 409, "the half that arrived is the upload's");
    assert_eq!(
        resent.headers.get("upload-offset"),
        Some(&kept),
        "the offset counts the silent request's bytes once"
    );
    assert_eq!(
        resent.headers.get("connection").map(String::as_str),
        Some("close")
    );
    let stopped = answer_then_close(silent).await?;
    assert_eq!(stopped.status, 204);
    assert_eq!(stopped.headers.get("upload-offset"), Some(&kept));

    let tus = Tus::new(&server.url(), &token);
    let mut offset = (CHUNK + half) as u64;
    while offset < photo.len() as u64 {
        let at = offset as usize;
        let end = (at + CHUNK).min(photo.len());
        let answer = tus.patch(&location, offset, &photo[at..end]).await?;
        assert_eq!(answer.status, 204, "{answer:?}");
        offset = answer.offset.context("no Upload-Offset")?;
    }
    let stored = tus.blob(&sha256_hex(&photo), false).await?;
    assert_eq!(stored.status(), 200);
    assert_eq!(
        sha256_hex(&stored.bytes().await?),
        sha256_hex(&photo),
        "no byte lost, none twice"
    );
    Ok(())
}
