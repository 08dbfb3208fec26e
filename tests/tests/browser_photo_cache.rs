//! The phone's photo store under its budget (issue 14 item 1), in headless Chromium against
//! the real server: an officer's own photo that has not reached the server yet is never
//! evicted; photos fetched from the server (a colleague's, cached on the phone) are evicted
//! least recently shown first once the store is over its budget (set small here through
//! `localStorage.lxpb`), and an evicted photo is fetched from the server again when
//! it is shown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use fantoccini::Locator;
use serde_json::{Value, json};
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::VisitDoc;
use shared::model::{EnterpriseId, Photo, Timestamp};
use tests::browser::{Browser, Chromedriver, Served, require_site};
use tests::device::{NativeDevice, wall_clock};
use tests::district;
use tests::uploads::{Tus, noise_png, sha256_hex};

const WAIT: Duration = Duration::from_secs(40);
const ENTERPRISE_NAME: &str = "济源市示例特钢有限公司";
const OFFICER: &str = "zhang.wei";
const COLLEAGUE: &str = "li.na";

/// The photo store's entries: hash, bytes, and whether the server has it.
const STORE: &str = "return new Promise((ok, no) => { \
      const r = indexedDB.open('lianxin-photos'); \
      r.onerror = () => no(String(r.error)); \
      r.onsuccess = () => { \
        const d = r.result; const t = d.transaction('p'); const s = t.objectStore('p'); \
        const k = s.getAllKeys(); const v = s.getAll(); \
        t.oncomplete = () => { d.close(); \
          ok(k.result.map((h, i) => ({ h, n: v.result[i].n, sent: !!v.result[i].d }))); }; \
      }; });";

/// The page's uploads fail (no signal for them) and its photo fetches are logged.
const HOLD_UPLOADS: &str = "window.__blobs = []; window.__up = 0; const f = window.fetch; \
    window.fetch = (url, init) => { \
      if (String(url).includes('/api/uploads')) { window.__up++; \
        return Promise.reject(new TypeError('no signal for uploads')); } \
      if (String(url).includes('/api/blobs/')) window.__blobs.push(String(url)); \
      return f(url, init); };";

/// One entry of the store as [`STORE`] reads it.
#[derive(Debug, Clone)]
struct Stored {
    hash: String,
    bytes: u64,
    sent: bool,
}

async fn store(b: &Browser) -> anyhow::Result<Vec<Stored>> {
    let v = b.js(STORE, vec![]).await?;
    v.as_array()
        .context("the photo store")?
        .iter()
        .map(|e| {
            Ok(Stored {
                hash: e["h"].as_str().context("hash")?.to_string(),
                bytes: e["n"].as_u64().context("size")?,
                sent: e["sent"] == true,
            })
        })
        .collect()
}

/// The colleague's phone records a visit with one photo (noise numbered `seed`), syncs it and
/// uploads the photo; the visit's id and the photo's hash.
async fn colleagues_visit(
    dev: &mut NativeDevice,
    tus: &Tus,
    enterprise: EnterpriseId,
    seed: u64,
) -> anyhow::Result<(String, String)> {
    let bytes = noise_png(480, 360, seed)?;
    let hash = sha256_hex(&bytes);
    let id = dev.record_visit(enterprise, &format!("同事走访 {seed}"))?;
    let photo = Photo {
        hash: hash.clone(),
        size: bytes.len() as u64,
        media_type: "image/png".into(),
        caption: String::new(),
        taken_at: Timestamp(1_793_491_200_000),
        position: None,
    };
    dev.edit_offline(&id, |doc, actor| {
        let mut visit = VisitDoc::from_record(doc)?;
        visit.edit(actor, wall_clock(), |e| e.add_photo(&photo))?;
        Ok(visit.into_record())
    })?;
    dev.sync().await?;
    let done = tus.upload(&bytes, 1 << 20).await?;
    ensure!(done.status == 204, "the colleague's upload: {done:?}");
    Ok((id.root_id().to_string(), hash))
}

/// Opens visit `id`'s page and waits until its photo shows.
async fn show_visit(b: &Browser, id: &str) -> anyhow::Result<()> {
    b.route(&format!("#/v/{id}")).await?;
    b.wait_until(
        "the visit's photo",
        &format!(
            "location.hash === '#/v/{id}' && Array.from(document.querySelectorAll('.ph[data-s=ok] img')) \
             .some(i => i.complete && i.naturalWidth > 0)"
        ),
        WAIT,
    )
    .await?;
    // Each showing gets its own millisecond in the store's record of when it was shown.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_budget_the_phone_evicts_the_least_recently_shown_cached_photo_never_its_own_unsent_one()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    let enterprise = service
        .with_store(|s| {
            district::town_officers_with_enterprise(s, &[OFFICER, COLLEAGUE], ENTERPRISE_NAME)
        })
        .await
        .context("the store thread stopped")??;
    let served = Served::start(server::app(AppState::new(site, service))).await?;
    let base = format!("http://{}", served.addr);

    // A colleague's three visits, each with a photo on the server.
    let mut colleague = NativeDevice::logged_in(2, &base, COLLEAGUE, district::PASSWORD).await?;
    let tus = Tus::new(&base, colleague.token.clone().context("token")?.as_str());
    let mut theirs = Vec::new();
    for seed in [21, 22, 23] {
        theirs.push(colleagues_visit(&mut colleague, &tus, enterprise, seed).await?);
    }
    let [(v1, h1), (v2, h2), (v3, h3)] =
        <[(String, String); 3]>::try_from(theirs).map_err(|_| anyhow::anyhow!("three visits"))?;

    let driver = Chromedriver::start().await?;
    let b = Browser::launch(&driver).await?;
    b.log_in(
        &format!("{base}/"),
        OFFICER,
        district::PASSWORD,
        ".enterprise-card",
        WAIT,
    )
    .await?;
    b.wait_synced("the first sync", WAIT).await?;
    b.js(HOLD_UPLOADS, vec![]).await?;

    // The officer's own visit with a photo, which cannot upload.
    let files = tempfile::tempdir()?;
    let own_file = files.path().join("gate.png");
    std::fs::write(&own_file, noise_png(1200, 900, 1)?)?;
    b.route(&format!("#/e/{enterprise}/visit")).await?;
    b.wait_until("the visit form", "document.querySelector('#photos')", WAIT)
        .await?;
    b.client
        .find(Locator::Css("#photos"))
        .await?
        .send_keys(&own_file.display().to_string())
        .await?;
    b.wait_until(
        "the own photo in the form",
        "document.querySelectorAll('.ph[data-s=ok]').length === 1",
        WAIT,
    )
    .await?;
    b.fill("#notes", "本人走访").await?;
    b.click("button.save", "").await?;
    b.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    b.wait_synced("the own visit to sync", WAIT).await?;
    let own = store(&b).await?;
    ensure!(
        own.len() == 1 && !own[0].sent,
        "the own photo, unsent: {own:?}"
    );
    let own = own[0].hash.clone();

    // Two of the colleague's photos shown: fetched and kept. The budget then leaves room for
    // about half another one.
    show_visit(&b, &v1).await?;
    show_visit(&b, &v2).await?;
    let held = store(&b).await?;
    ensure!(held.len() == 3, "own photo and two cached: {held:?}");
    let total: u64 = held.iter().map(|e| e.bytes).sum();
    let cached: u64 = held.iter().filter(|e| e.sent).map(|e| e.bytes).sum();
    let budget = total + cached / 4;
    b.js(
        "localStorage.setItem('lxpb', String(arguments[0]));",
        vec![json!(budget)],
    )
    .await?;

    // The first shown again, then the third: over budget, the second (least recently shown)
    // goes; the own unsent photo stays.
    show_visit(&b, &v1).await?;
    show_visit(&b, &v3).await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    let after = loop {
        let now = store(&b).await?;
        if !now.iter().any(|e| e.hash == h2) || tokio::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let has = |h: &str| after.iter().any(|e| e.hash == h);
    ensure!(
        !has(&h2),
        "the least recently shown photo evicted: {after:?}"
    );
    ensure!(
        has(&h1) && has(&h3),
        "the recently shown photos kept: {after:?}"
    );
    ensure!(
        after.iter().any(|e| e.hash == own && !e.sent),
        "the own unsent photo kept: {after:?}"
    );
    ensure!(
        after.iter().map(|e| e.bytes).sum::<u64>() <= budget,
        "within the budget of {budget}: {after:?}"
    );

    // The evicted photo shown again: fetched from the server again.
    show_visit(&b, &v2).await?;
    let fetched: Value = b.js("return window.__blobs;", vec![]).await?;
    let times = fetched
        .as_array()
        .context("the fetch log")?
        .iter()
        .filter(|u| u.as_str().is_some_and(|u| u.contains(&h2)))
        .count();
    ensure!(times == 2, "the evicted photo fetched again: {fetched}");
    let up = b.js("return window.__up;", vec![]).await?;
    ensure!(
        up.as_u64().is_some_and(|n| n > 0),
        "the own photo tried to upload: {up}"
    );
    let end = store(&b).await?;
    ensure!(
        end.iter().any(|e| e.hash == own && !e.sent),
        "the own unsent photo still kept: {end:?}"
    );
    b.close().await;
    Ok(())
}
