//! How the phone's photo upload (`client/static/photos.js`, issue 14 item 2) uses a link: its
//! chunks follow the rate the link shows (about 3 s of it, 16 KiB to 256 KiB), so a cut costs
//! at most about one chunk whatever the link, and its retry pause comes back to 3 s as soon as
//! the server acknowledges a PATCH. The real photos.js runs in Node (`vm`) on a fake browser:
//! a fake tus server behind `fetch` that advances a fake clock by each request's time on a
//! link of the scenario's round trip and rate, a Map for IndexedDB, and timers that record
//! the pauses asked for and fire at once.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};

/// The fake browser. `SCENARIO` (environment): JSON `{rttMs, rate (bytes/s), photos (sizes),
/// fail (indexes of requests, counted from 0, whose connection is cut)}`. Loads photos.js
/// (path in `PHOTOS_JS`), stores the photos as unsent, calls `lxp.up`, and prints
/// `{patches: [{off, size}], pauses: [ms], done}` once every photo is taken (or after 10 s).
const HARNESS: &str = r#"
const vm = require('vm');
const fs = require('fs');
const sc = JSON.parse(process.env.SCENARIO);
let clock = 0;
const out = { patches: [], pauses: [], done: false };
const data = new Map();
sc.photos.forEach((n, i) =>
  data.set('h' + i, { b: new Blob([Buffer.alloc(n, i)]), t: 'image/jpeg', n, u: '', d: 0 }));
const req = (result) => ({ result });
const store = {
  get: (k) => req(data.get(k)),
  put: (v, k) => (data.set(k, v), req(k)),
  getAllKeys: () => req([...data.keys()]),
  getAll: () => req([...data.values()]),
  delete: (k) => (data.delete(k), req(undefined)),
};
const idb = {
  transaction() {
    const t = { objectStore: () => store };
    setImmediate(() => t.oncomplete && t.oncomplete());
    return t;
  },
};
const uploads = [];
let requests = 0;
async function fakeFetch(url, o = {}) {
  const i = requests++;
  const m = o.method || 'GET';
  const h = o.headers || {};
  const size = o.body ? o.body.size : 0;
  clock += sc.rttMs + (size * 1000) / sc.rate;
  if (m === 'PATCH') out.patches.push({ off: +h['Upload-Offset'], size });
  if (sc.fail.includes(i)) throw new TypeError('Failed to fetch');
  if (m === 'POST') {
    uploads.push({ n: +h['Upload-Length'], off: 0 });
    return new Response(null, {
      status: 201,
      headers: { Location: '/api/uploads/' + (uploads.length - 1) },
    });
  }
  const u = uploads[+url.split('/').pop()];
  if (!u) return new Response(null, { status: 404 });
  if (m === 'HEAD') return new Response(null, { status: 200, headers: { 'Upload-Offset': '' + u.off } });
  if (+h['Upload-Offset'] !== u.off)
    return new Response(null, { status: 409, headers: { 'Upload-Offset': '' + u.off } });
  u.off = Math.min(u.off + size, u.n);
  return new Response(null, { status: 204, headers: { 'Upload-Offset': '' + u.off } });
}
const page = {
  Blob, URL, Response, crypto, btoa, console,
  fetch: fakeFetch,
  performance: { now: () => clock },
  setTimeout: (f, ms) => { out.pauses.push(ms); setImmediate(f); },
  location: { href: 'http://phone.test/' },
  localStorage: {},
  document: { querySelectorAll: () => [] },
  MutationObserver: class { observe() {} },
  indexedDB: {
    open() {
      const r = {};
      setImmediate(() => { r.result = idb; r.onsuccess(); });
      return r;
    },
  },
};
vm.createContext(page);
vm.runInContext(fs.readFileSync(process.env.PHOTOS_JS, 'utf8'), page);
page.lxp.up('token', [...data.keys()].join(' '));
const end = () => { console.log(JSON.stringify(out)); process.exit(0); };
const started = Date.now();
setInterval(() => {
  out.done = [...data.values()].every((e) => e.d === 1);
  if (out.done || Date.now() - started > 10000) end();
}, 5);
"#;

/// Runs photos.js on the fake browser with `scenario`; its JSON report.
fn run(scenario: Value) -> anyhow::Result<Value> {
    let photos_js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../client/static/photos.js");
    let out = Command::new("node")
        .args(["-e", HARNESS])
        .env("SCENARIO", scenario.to_string())
        .env("PHOTOS_JS", &photos_js)
        .output()
        .context("running node (Node 20 is needed for this test)")?;
    ensure!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("node printed {}", String::from_utf8_lossy(&out.stdout)))?;
    eprintln!("{report}");
    ensure!(
        report["done"] == true,
        "not every photo was taken: {report}"
    );
    Ok(report)
}

/// `(offset, size)` of every PATCH sent.
fn patches(report: &Value) -> Vec<(u64, u64)> {
    report["patches"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["off"].as_u64().unwrap_or(0),
                p["size"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn on_a_slow_link_every_chunk_after_the_first_is_two_to_four_seconds_of_its_rate()
-> anyhow::Result<()> {
    // The bench's weak link: 600 ms round trip, 256 kbit/s; two photos of 252 KB.
    let rate = 32_000u64;
    let photo = 252_000u64;
    let report = run(json!({"rttMs": 600, "rate": rate, "photos": [photo, photo], "fail": []}))?;
    let sent = patches(&report);
    for (i, &(off, size)) in sent.iter().enumerate().skip(1) {
        assert!(
            size <= 4 * rate,
            "PATCH {i} carries {size} bytes: more than 4 s of the link ({sent:?})"
        );
        let last_piece = off + size == photo;
        assert!(
            last_piece || size >= 2 * rate,
            "PATCH {i} carries {size} bytes: less than 2 s of the link, not a photo's end \
             ({sent:?})"
        );
    }
    Ok(())
}

#[test]
fn on_a_fast_link_chunks_grow_to_256_kib_and_no_further() -> anyhow::Result<()> {
    // Loopback-like: 2 ms round trip, 50 MB/s; one 2 MB photo.
    let report = run(json!({"rttMs": 2, "rate": 50_000_000, "photos": [2_000_000], "fail": []}))?;
    let largest = patches(&report).iter().map(|p| p.1).max().unwrap_or(0);
    assert_eq!(largest, 256 * 1024, "{report}");
    Ok(())
}

#[test]
fn the_retry_pause_is_back_to_3_s_once_a_patch_is_acknowledged() -> anyhow::Result<()> {
    // Requests 0 and 1 (the creation, twice) are cut: pauses of 3 s, then 6 s. Request 2
    // creates, 3 is a PATCH the server acknowledges, 4 (the next PATCH) is cut.
    let report =
        run(json!({"rttMs": 600, "rate": 32_000, "photos": [252_000], "fail": [0, 1, 4]}))?;
    assert_eq!(report["pauses"], json!([3000, 6000, 3000]), "{report}");
    Ok(())
}
