//! Photos on the phone (issue 14 items 1–2), in headless Chromium against the real server: an
//! officer with no signal records a visit with two photos from the file chooser (a file that
//! is no image is refused with a message); the photos show from the device after an offline
//! reload; when the signal returns the visit syncs first and the photos follow on tus, the
//! link cut in the middle of an upload, which resumes at the server's offset without sending
//! an acknowledged byte again; both are on the server with their hashes; a second officer
//! sees "uploading from the officer's phone" before they arrive, and the thumbnails after.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use fantoccini::Locator;
use serde_json::Value;
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::{EnterpriseId, Role};
use tests::browser::{Browser, Chromedriver, Served, require_site};
use tests::device::NativeDevice;
use tests::district;
use tests::uploads::{Tus, noise_png, sha256_hex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(40);
const ENTERPRISE_NAME: &str = "济源市示例特钢有限公司";
const OFFICER: &str = "zhang.wei";
const COLLEAGUE: &str = "li.na";
const LEADER: &str = "boss";

/// A link the test cuts: down, it refuses connections and cuts the open ones; armed with a
/// byte count, it forwards that many more bytes from the browser, then cuts every connection
/// (in the middle of whatever request was going up) and refuses new ones for 1.5 s.
struct CuttingLink {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: Arc<watch::Sender<u64>>,
    /// Bytes from the browser still to forward before the armed cut (0: not armed).
    budget: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl CuttingLink {
    async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(watch::channel(0u64).0);
        let budget = Arc::new(AtomicU64::new(0));
        let (is_up, cutter, left) = (up.clone(), cut.clone(), budget.clone());
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !is_up.load(Ordering::SeqCst) {
                    continue;
                }
                let mut cuts = cutter.subscribe();
                cuts.borrow_and_update();
                let (cutter, left, is_up) = (cutter.clone(), left.clone(), is_up.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut from_browser, mut to_browser) = inbound.into_split();
                    let (mut from_server, mut to_server) = outbound.into_split();
                    let upward = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = from_browser.read(&mut buf).await.unwrap_or(0);
                            if n == 0 {
                                return;
                            }
                            let armed = left.load(Ordering::SeqCst);
                            if armed > 0 && armed <= n as u64 {
                                left.store(0, Ordering::SeqCst);
                                let _ = to_server.write_all(&buf[..armed as usize]).await;
                                let _ = to_server.flush().await;
                                // Let the server take what arrived before the cut.
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                // The signal is gone for a moment: the browser's own retry
                                // of the request fails too, and the app must resume.
                                is_up.store(false, Ordering::SeqCst);
                                let back = is_up.clone();
                                tokio::spawn(async move {
                                    tokio::time::sleep(Duration::from_millis(1500)).await;
                                    back.store(true, Ordering::SeqCst);
                                });
                                cutter.send_modify(|c| *c += 1);
                                return;
                            }
                            if armed > 0 {
                                left.fetch_sub(n as u64, Ordering::SeqCst);
                            }
                            if to_server.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    tokio::select! {
                        () = upward => {}
                        _ = tokio::io::copy(&mut from_server, &mut to_browser) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Ok(CuttingLink {
            addr,
            up,
            cut,
            budget,
            task,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.cut.send_modify(|c| *c += 1);
        }
    }

    /// Cuts every connection once `bytes` more have gone up from the browser.
    fn cut_after(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::SeqCst);
    }
}

impl Drop for CuttingLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Two officers of one town sharing an enterprise, and a district leader.
async fn seed(service: &Arc<SyncService>) -> anyhow::Result<EnterpriseId> {
    service
        .with_store(|s| {
            let enterprise =
                district::town_officers_with_enterprise(s, &[OFFICER, COLLEAGUE], ENTERPRISE_NAME)?;
            let zone =
                district::org_unit(s, district::ZONE, shared::model::OrgUnitKind::Zone, None)?;
            district::user(s, LEADER, Role::Leader, zone)?;
            Ok(enterprise)
        })
        .await
        .context("the store thread stopped")?
}

async fn log_in(b: &Browser, link: &CuttingLink, login: &str) -> anyhow::Result<()> {
    b.log_in(
        &link.url("/"),
        login,
        district::PASSWORD,
        ".enterprise-card",
        WAIT,
    )
    .await?;
    b.wait_until(
        "the service worker to control the page",
        "navigator.serviceWorker.controller !== null",
        WAIT,
    )
    .await?;
    b.wait_synced("the first sync", WAIT).await
}

async fn set_network(b: &Browser, link: &CuttingLink, up: bool) -> anyhow::Result<()> {
    link.set_up(up);
    b.set_offline(!up).await
}

/// Chooses `files` in the file input `css`, as a person does in the file chooser.
async fn choose(b: &Browser, css: &str, files: &[&std::path::Path]) -> anyhow::Result<()> {
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    b.client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no file input {css}"))?
        .send_keys(&paths.join("\n"))
        .await
        .context("choosing files")?;
    Ok(())
}

/// How many photos show a picture on the page.
fn shown(n: usize) -> String {
    format!(
        "Array.from(document.querySelectorAll('.ph[data-s=ok] img')).filter(i => i.complete && i.naturalWidth > 0).length === {n}"
    )
}

/// The fetch of the page logs every PATCH (offset, length, answer) and holds PATCHes until
/// `window.__go`.
const WATCH_PATCHES: &str = "window.__log = []; window.__go = false; const f = window.fetch; \
    window.fetch = async (url, init) => { \
      if (!init || init.method !== 'PATCH') return f(url, init); \
      while (!window.__go) await new Promise(r => setTimeout(r, 100)); \
      const e = { url: String(url), off: +init.headers['Upload-Offset'], len: init.body.size, status: -1, ack: -1 }; \
      window.__log.push(e); \
      const r = await f(url, init); \
      e.status = r.status; e.ack = +r.headers.get('Upload-Offset'); return r; };";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_taken_offline_reach_the_server_through_a_cut_and_show_to_a_colleague()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    let enterprise = seed(&service).await?;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let link = CuttingLink::start(served.addr).await?;
    let driver = Chromedriver::start().await?;

    // Two photos (noise, so they stay a few hundred KB as JPEG) and a file that is no image.
    let files = tempfile::tempdir()?;
    let first = files.path().join("crack.png");
    let second = files.path().join("gate.png");
    let text = files.path().join("notes.txt");
    std::fs::write(&first, noise_png(1200, 900, 1)?)?;
    std::fs::write(&second, noise_png(900, 1200, 2)?)?;
    std::fs::write(&text, "不是图片")?;

    let a = Browser::launch(&driver).await?;
    log_in(&a, &link, OFFICER).await?;

    // 1. No signal: the visit form takes photos; a text file is refused with a message.
    set_network(&a, &link, false).await?;
    a.route(&format!("#/e/{enterprise}/visit")).await?;
    a.wait_until("the visit form", "document.querySelector('#photos')", WAIT)
        .await?;
    choose(&a, "#photos", &[&text]).await?;
    a.wait_text(".photo-section .field-error", "不是图片", WAIT)
        .await?;
    choose(&a, "#photos", &[&first, &second]).await?;
    a.wait_until("both photos in the form", &shown(2), WAIT)
        .await?;
    a.fill("#notes", "厂房外墙有裂缝，已拍照").await?;
    a.click("button.save", "").await?;
    a.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    a.click(".visit-card a", "厂房外墙").await?;
    a.wait_until("the visit's photos", &shown(2), WAIT).await?;
    let visit_url = a.js_string("return location.hash;").await?;

    // 2. Reloaded with no network: the photos show from the device.
    a.client.refresh().await.context("reloading offline")?;
    a.wait_until("the photos after an offline reload", &shown(2), WAIT)
        .await?;
    let hashes: Vec<String> = a
        .js(
            "return Array.from(document.querySelectorAll('.ph')).map(e => e.dataset.h);",
            vec![],
        )
        .await?
        .as_array()
        .context("hashes")?
        .iter()
        .filter_map(|h| h.as_str().map(str::to_string))
        .collect();
    ensure!(hashes.len() == 2, "two photos: {hashes:?}");

    // 3. The signal returns: the visit syncs; the photos wait (held by the test) and say so.
    a.js(WATCH_PATCHES, vec![]).await?;
    set_network(&a, &link, true).await?;
    a.wait_synced("the visit to sync", WAIT).await?;
    a.wait_text(".sync-photos", "照片 1/2 上传中", WAIT).await?;

    // A colleague opens the visit: the photos are still on the officer's phone.
    let b = Browser::launch(&driver).await?;
    log_in(&b, &link, COLLEAGUE).await?;
    b.route(&visit_url).await?;
    b.wait_until(
        "photos marked as still uploading",
        "document.querySelectorAll('.ph[data-s=up]').length === 2 \
         && document.querySelector('.ph').dataset.t === '正在从干部手机上传'",
        WAIT,
    )
    .await?;

    // 4. The uploads go; the link is cut 100 KB into them (inside the second chunk).
    link.cut_after(100_000);
    a.js("window.__go = true;", vec![]).await?;

    // 5. Both reach the server with their hashes (read as the district's leader).
    let direct = format!("http://{}", served.addr);
    let mut leader = NativeDevice::new(9, &direct);
    ensure!(leader.login(LEADER, district::PASSWORD).await?.status == 200);
    let tus = Tus::new(&direct, leader.token.as_deref().context("token")?);
    for hash in &hashes {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let response = tus.blob(hash, false).await?;
            if response.status() == 200 {
                let bytes = response.bytes().await?;
                ensure!(
                    &sha256_hex(&bytes) == hash,
                    "the stored bytes are the photo"
                );
                break;
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "photo {hash} not on the server: {}; PATCHes: {}",
                response.status(),
                a.js("return window.__log;", vec![]).await?
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let log = a.js("return window.__log;", vec![]).await?;
    check_no_acknowledged_byte_sent_twice(&log)?;
    a.wait_until(
        "the sync bar to stop counting photos",
        "!document.querySelector('.sync-photos')",
        WAIT,
    )
    .await?;

    // 6. The colleague sees the thumbnails.
    b.client.refresh().await?;
    b.wait_until("the colleague sees both thumbnails", &shown(2), WAIT)
        .await?;
    b.close().await;
    a.close().await;
    Ok(())
}

/// Every PATCH of an upload starts at or after the end of everything the server acknowledged
/// before it; a PATCH was cut; the acknowledged PATCHes add up to each photo exactly.
fn check_no_acknowledged_byte_sent_twice(log: &Value) -> anyhow::Result<()> {
    let entries = log.as_array().context("the PATCH log")?;
    let mut uploads: Vec<(&str, u64)> = Vec::new();
    let mut cut = false;
    for e in entries {
        let url = e["url"].as_str().context("url")?;
        let off = e["off"].as_u64().context("off")?;
        let status = e["status"].as_i64().unwrap_or(-1);
        let acked = match uploads.iter_mut().find(|(u, _)| *u == url) {
            Some((_, acked)) => acked,
            None => {
                uploads.push((url, 0));
                &mut uploads.last_mut().context("just pushed")?.1
            }
        };
        ensure!(
            off >= *acked,
            "a PATCH at {off} re-sends bytes the server acknowledged up to {acked}: {log}"
        );
        match status {
            204 => {
                *acked = e["ack"].as_u64().context("ack")?;
                ensure!(*acked == off + e["len"].as_u64().context("len")?, "{log}");
            }
            -1 => cut = true,
            other => anyhow::bail!("a PATCH answered {other}: {log}"),
        }
    }
    ensure!(uploads.len() == 2, "two uploads: {log}");
    ensure!(cut, "the link was cut in the middle of a PATCH: {log}");
    Ok(())
}
