//! The photo scenario of `cargo xtask bench` (issue 14's benchmark; `--photos-only` runs it
//! alone): one officer's phone, offline, records a visit with 20 photos of about 250 KB through
//! the real web app in headless Chromium, then the signal returns, on each link (loopback, the
//! weak link with its 20 s cuts, the hostile link of issue 12). Owns the step's runs
//! (`target/bench/photos`), its figures and the report's "Photos" section.
//!
//! Per link: a fresh demo district on the release server, a fresh browser profile, a login
//! online (through the proxy, unshaped), then the proxy of the link (`bench/photo-proxy.mjs`:
//! the harness's counting proxy with `bench/proxy-cuts.mjs`'s cuts and shaper, unchanged). The
//! officer records a visit without photos offline and the signal returns (the baseline), then
//! the same visit with 20 photos. Each return is one window of the proxy (its counters and cut
//! schedule restart): the page notes when its sync bar counts no record waiting (the server
//! acknowledged the visit) and when `photos.js` holds no photo the server has not taken; the
//! proxy logs every request to /api/uploads (offset, length, body bytes it read), from which
//! the bytes sent twice are read; the server's `/metrics` says what it stored.
//!
//! The photos are noise (they do not compress), made in the same Chromium so the stored JPEG
//! (the device's own downscale to 1600 px and JPEG 0.8) is about 250 KB: 3200×2400 sources of
//! 2×2-pixel noise blocks, whose amplitude is searched until the device's pipeline, run on a
//! trial source in the page, gives 250 KB.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, thread};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};

use crate::bench::{SHAPE, step};
use crate::webdriver::{
    CHROMEDRIVER, CHROMIUM, Process, Session, copy_dir, free_port, load_average, read_answer,
};

/// The section's heading in BENCHMARKS.md.
pub const HEADING: &str = "## Photos (issue 14)";
/// Photos on the visit (the most a record may hold: `shared::model::MAX_PHOTOS`).
const PHOTOS: usize = 20;
/// The stored size aimed at, in bytes.
const TARGET_BYTES: f64 = 250_000.0;
/// The source photos' size (the device halves it to its 1600 px).
const SOURCE: (u32, u32) = (3200, 2400);
/// One link's scenario (login, both visits, both returns) is given up after this long.
const SCENARIO_LIMIT: Duration = Duration::from_secs(600);
/// The demo district's officer whose phone is measured, and its password.
const OFFICER: &str = "officer1";
const PASSWORD: &str = "lianxin-demo";
/// Goals of issue 14: bytes up ÷ photo bytes.
const GOAL_RATIO_LOOPBACK: f64 = 1.05;
const GOAL_RATIO_CUTS: f64 = 1.15;
/// The metrics token the bench's server is started with (`/metrics` is off without one).
const METRICS_TOKEN: &str = "photo-bench-metrics-token";

/// One link of the step.
struct Link {
    tag: &'static str,
    words: &'static str,
    /// The proxy's environment: the cut schedule.
    env: &'static [(&'static str, &'static str)],
    shaped: bool,
}

const LINKS: &[Link] = &[
    Link {
        tag: "loopback",
        words: "loopback (the proxy, not shaped)",
        env: &[],
        shaped: false,
    },
    Link {
        tag: "weak",
        words: "weak link: 300 ms one way, 256 kbit/s, every connection cut every 20 s",
        env: &[("LIANXIN_PROXY_CUT_EVERY_MS", "20000")],
        shaped: true,
    },
    Link {
        tag: "hostile",
        words: "hostile link: 300 ms, 256 kbit/s, cut every 3–10 s, refused for 1–5 s (seed 12)",
        env: &[
            ("LIANXIN_PROXY_CUT_EVERY_MS", "0"),
            ("LIANXIN_PROXY_HOSTILE_SEED", "12"),
        ],
        shaped: true,
    },
];

/// The step's folder.
pub fn dir(bench_dir: &Path) -> PathBuf {
    bench_dir.join("photos")
}

/// Where the step writes its figures.
fn results_file(bench_dir: &Path) -> PathBuf {
    dir(bench_dir).join("photos.json")
}

/// Runs the step on `links` (tags of [`LINKS`]; all when empty) and writes its figures.
/// `server` is the release `lianxin-server`, `site` the built client (a copy is served),
/// `harness_proxy` the harness's `proxy.mjs`.
pub fn run(
    workspace_root: &Path,
    bench_dir: &Path,
    server: &Path,
    site: &Path,
    harness_proxy: &Path,
    links: &[String],
) -> anyhow::Result<Value> {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        ensure!(
            Path::new(path).exists(),
            "{path} is missing: install Debian's {package}"
        );
    }
    let dir = dir(bench_dir);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let served_site = dir.join("site");
    copy_dir(site, &served_site)?;
    let proxy_dir = dir.join("proxy");
    fs::create_dir_all(&proxy_dir)?;
    fs::copy(harness_proxy, proxy_dir.join("proxy-harness.mjs"))
        .with_context(|| format!("copying {}", harness_proxy.display()))?;
    for file in ["proxy-cuts.mjs", "photo-proxy.mjs"] {
        fs::copy(
            workspace_root.join("bench").join(file),
            proxy_dir.join(file),
        )
        .with_context(|| format!("copying bench/{file}"))?;
    }
    let load_before = load_average();
    let driver_port = free_port()?;
    let _driver = Process::start(
        Command::new(CHROMEDRIVER).arg(format!("--port={driver_port}")),
        driver_port,
        "chromedriver",
    )?;
    step("making 20 noise photos of about 250 KB once the device has stored them");
    let (photos, amplitude) = make_photos(driver_port, &dir)?;
    let mut figures = json!({
        "chromium": crate::bench::output_of(CHROMIUM, &["--version"]),
        "amplitude": amplitude,
        "sources": photos.iter().map(|(_, bytes)| bytes).collect::<Vec<_>>(),
        "links": {},
    });
    let paths: Vec<PathBuf> = photos.into_iter().map(|(p, _)| p).collect();
    let chosen: Vec<&Link> = LINKS
        .iter()
        .filter(|link| links.is_empty() || links.iter().any(|l| l == link.tag))
        .collect();
    let one = |link: &Link| -> Value {
        let started = Instant::now();
        let mut result = match run_link(link, &dir, server, &served_site, driver_port, &paths) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("    the {} scenario failed: {e:#}", link.tag);
                json!({ "error": format!("{e:#}") })
            }
        };
        result["minutes"] = json!(started.elapsed().as_secs_f64() / 60.0);
        result
    };
    // Loopback alone (its times are the CPU's); the shaped links side by side, each on its own
    // link, server and browser (their times are the link's), as the hostile step runs them.
    for link in chosen.iter().filter(|l| !l.shaped) {
        step(&format!("photos on the {}", link.words));
        figures["links"][link.tag] = one(link);
    }
    let shaped: Vec<&&Link> = chosen.iter().filter(|l| l.shaped).collect();
    if !shaped.is_empty() {
        step(&format!(
            "photos on the shaped links, side by side: {}",
            shaped.iter().map(|l| l.tag).collect::<Vec<_>>().join(", ")
        ));
        let results: Vec<(&str, Value)> = thread::scope(|s| {
            let running: Vec<_> = shaped
                .iter()
                .map(|link| (link.tag, s.spawn(|| one(link))))
                .collect();
            running
                .into_iter()
                .map(|(tag, h)| {
                    (
                        tag,
                        h.join().unwrap_or_else(
                            |_| json!({ "error": "the scenario's thread panicked" }),
                        ),
                    )
                })
                .collect()
        });
        for (tag, result) in results {
            figures["links"][tag] = result;
        }
    }
    figures["load"] = json!([load_before, load_average()]);
    figures["when"] = json!(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    figures["site"] = json!(crate::build_client::officer_bytes(&served_site));
    let file = results_file(bench_dir);
    fs::write(&file, serde_json::to_string_pretty(&figures)?)?;
    Ok(figures)
}

/// Draws a 3200×2400 source of 2×2-pixel noise blocks (seed, amplitude around mid-grey) as a
/// JPEG 0.92, runs the device's pipeline on it (`photos.js` `prep`: decode with orientation,
/// downscale to 1600 px, JPEG 0.8) and answers both sizes, and the source in base64 if asked.
const MAKE_PHOTO: &str = r"const [seed, amp, keep, w, h] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const small = new ImageData(w / 2, h / 2);
  const px = small.data;
  for (let i = 0; i < px.length; i += 4) {
    px[i] = 128 + amp * (2 * rand() - 1);
    px[i + 1] = 128 + amp * (2 * rand() - 1);
    px[i + 2] = 128 + amp * (2 * rand() - 1);
    px[i + 3] = 255;
  }
  const s = document.createElement('canvas');
  s.width = w / 2; s.height = h / 2;
  s.getContext('2d').putImageData(small, 0, 0);
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  const x = c.getContext('2d');
  x.imageSmoothingEnabled = false;
  x.drawImage(s, 0, 0, w, h);
  const src = await new Promise((ok) => c.toBlob(ok, 'image/jpeg', 0.92));
  const bm = await createImageBitmap(src, { imageOrientation: 'from-image' });
  const k = Math.min(1, 1600 / Math.max(bm.width, bm.height));
  const d = document.createElement('canvas');
  d.width = Math.max(1, Math.round(bm.width * k));
  d.height = Math.max(1, Math.round(bm.height * k));
  d.getContext('2d').drawImage(bm, 0, 0, d.width, d.height);
  bm.close();
  const out = await new Promise((ok) => d.toBlob(ok, 'image/jpeg', 0.8));
  let data = null;
  if (keep) {
    data = await new Promise((ok) => {
      const r = new FileReader();
      r.onload = () => ok(String(r.result).split(',')[1]);
      r.readAsDataURL(src);
    });
  }
  done({ stored: out.size, source: src.size, data });
})().catch((e) => done({ error: String(e) }));";

/// The 20 source photos (files and sizes) and the noise amplitude found.
fn make_photos(driver_port: u16, dir: &Path) -> anyhow::Result<(Vec<(PathBuf, u64)>, f64)> {
    let b = Session::open(driver_port, &dir.join("profile-make"))?;
    let result = (|| {
        b.goto("about:blank")?;
        let trial = |seed: u64, amp: f64, keep: bool| -> anyhow::Result<Value> {
            let v = b.js_async_with(MAKE_PHOTO, json!([seed, amp, keep, SOURCE.0, SOURCE.1]))?;
            if let Some(e) = v["error"].as_str() {
                bail!("making a photo in the page: {e}");
            }
            Ok(v)
        };
        // The stored size grows with the amplitude: bisect on one seed.
        let (mut lo, mut hi) = (1.0f64, 127.0f64);
        for _ in 0..8 {
            let mid = (lo + hi) / 2.0;
            let stored = trial(1000, mid, false)?["stored"].as_f64().unwrap_or(0.0);
            eprintln!("    amplitude {mid:.1}: {stored:.0} B stored");
            if stored < TARGET_BYTES {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let amp = (lo + hi) / 2.0;
        let sources = dir.join("sources");
        fs::create_dir_all(&sources)?;
        let mut out = Vec::new();
        for i in 0..PHOTOS {
            let v = trial(i as u64 + 1, amp, true)?;
            let data = v["data"].as_str().context("the photo's bytes")?;
            let bytes = base64_decode(data)?;
            let path = sources.join(format!("photo-{:02}.jpg", i + 1));
            fs::write(&path, &bytes)?;
            out.push((path, bytes.len() as u64));
        }
        Ok((out, amp))
    })();
    b.close();
    result
}

/// Standard base64 (the page's `FileReader.readAsDataURL`), without a crate for it.
fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for group in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= value(c).context("not base64")? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    Ok(out)
}

/// The link's proxy: `bench/photo-proxy.mjs` under node, driven a line at a time.
struct Proxy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Proxy {
    fn start(
        dir: &Path,
        port: u16,
        server_port: u16,
        link: Option<&Link>,
        log: &Path,
    ) -> anyhow::Result<Proxy> {
        let mut cmd = Command::new("node");
        cmd.current_dir(dir.join("proxy"))
            .arg("photo-proxy.mjs")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--target", &format!("127.0.0.1:{server_port}")])
            .env("LIANXIN_PROXY_LOG", log.with_extension("cuts.jsonl"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(fs::File::create(log)?));
        if let Some(link) = link {
            if link.shaped {
                cmd.args(["--shape", SHAPE]);
            }
            for (k, v) in link.env {
                cmd.env(k, v);
            }
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().context("starting node photo-proxy.mjs")?;
        let stdin = child.stdin.take().context("the proxy's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the proxy's stdout")?);
        let mut proxy = Proxy {
            child,
            stdin,
            stdout,
        };
        let ready = proxy.line()?;
        ensure!(ready["ready"] == true, "the proxy said {ready}");
        Ok(proxy)
    }

    fn line(&mut self) -> anyhow::Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("the proxy stopped (see its log in target/bench/photos)");
        }
        serde_json::from_str(&line).with_context(|| format!("the proxy said {line:?}"))
    }

    fn say(&mut self, cmd: &str) -> anyhow::Result<Value> {
        writeln!(self.stdin, "{cmd}")?;
        self.stdin.flush()?;
        self.line()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The photos `photos.js` holds: `[hash, stored bytes, taken by the server]`.
const STORED_PHOTOS: &str = r"const done = arguments[arguments.length - 1];
const r = indexedDB.open('lianxin-photos');
r.onerror = () => done({ error: String(r.error) });
r.onsuccess = () => {
  const db = r.result;
  const out = [];
  const q = db.transaction('p', 'readonly').objectStore('p').openCursor();
  q.onsuccess = () => {
    const c = q.result;
    if (!c) { db.close(); return done(out); }
    out.push([c.key, c.value.n, c.value.d]);
    c.continue();
  };
  q.onerror = () => done({ error: String(q.error) });
};";

/// From now on the page notes, against `performance.now()`, when its sync bar first counts
/// no record waiting (`rec`) and, when `hashes` are given, when `photos.js` first holds none
/// of them that the server has not taken (`ph`). Answers the count waiting now.
const WATCH: &str = r"const hs = arguments[0];
const t0 = performance.now();
window.__pb = { rec: null, ph: null, left: null };
const waiting = () => {
  const b = document.querySelector('.sync-bar');
  return b ? b.dataset.waiting : null;
};
const tick = async () => {
  if (__pb.rec === null && waiting() === '0') __pb.rec = performance.now() - t0;
  if (hs && __pb.ph === null) {
    const n = await lxp.un(hs);
    __pb.left = n;
    if (n === 0) __pb.ph = performance.now() - t0;
  }
  if (__pb.rec === null || (hs && __pb.ph === null)) setTimeout(tick, 50);
};
const now = waiting();
tick();
return now;";

/// One link: fresh server and profile, login, the visit without photos, the visit with them.
fn run_link(
    link: &Link,
    dir: &Path,
    server: &Path,
    site: &Path,
    driver_port: u16,
    photos: &[PathBuf],
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + SCENARIO_LIMIT;
    let here = dir.join(link.tag);
    fs::create_dir_all(&here)?;
    let db = here.join("lianxin.db");
    crate::workspace::run_checked(
        Command::new(server)
            .arg("demo")
            .arg("--db")
            .arg(&db)
            .stdout(Stdio::null()),
    )?;
    let server_port = free_port()?;
    let _server = Process::start(
        Command::new(server)
            .arg("serve")
            .arg("--db")
            .arg(&db)
            .arg("--listen")
            .arg(format!("127.0.0.1:{server_port}"))
            .arg("--site")
            .arg(site)
            .env("LIANXIN_METRICS_TOKEN", METRICS_TOKEN),
        server_port,
        "lianxin-server",
    )?;
    let port = free_port()?;
    // The login goes through an unshaped proxy on the same port (the same origin for the
    // service worker); the link's proxy takes its place before the officer goes offline.
    let login_proxy = Proxy::start(dir, port, server_port, None, &here.join("login-proxy.log"))?;
    let b = Session::open(driver_port, &here.join("profile"))?;
    let result = (|| {
        b.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": true }),
        )?;
        b.log_in_officer(&format!("http://127.0.0.1:{port}/"), OFFICER, PASSWORD)?;
        let enterprise = b
            .js(
                "return document.querySelector('.enterprise-card a').getAttribute('href');",
                json!([]),
            )?
            .as_str()
            .context("no enterprise link on the list")?
            .to_string();
        drop(login_proxy);
        let mut proxy = Proxy::start(dir, port, server_port, Some(link), &here.join("proxy.log"))?;
        b.cdp("Network.enable", json!({}))?;

        eprintln!("    {}: the visit without photos (the baseline)", link.tag);
        offline(&b, &mut proxy)?;
        record_visit(&b, &enterprise, &[], deadline)?;
        let baseline = back_online(&b, &mut proxy, "", deadline)?;

        eprintln!("    {}: the visit with {} photos", link.tag, photos.len());
        offline(&b, &mut proxy)?;
        let stored = record_visit(&b, &enterprise, photos, deadline)?;
        let hashes: Vec<&str> = stored.iter().filter_map(|p| p[0].as_str()).collect();
        let with_photos = back_online(&b, &mut proxy, &hashes.join(" "), deadline)?;
        let metrics = http_get(server_port, "/metrics", METRICS_TOKEN)?;
        let metric = |name: &str| -> Option<u64> {
            metrics.lines().find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == name).then(|| v.trim().parse().ok()).flatten()
            })
        };
        Ok(json!({
            "baseline": baseline,
            "photos": with_photos,
            "stored": stored,
            "server": { "blobs": metric("lianxin_blobs"), "bytes": metric("lianxin_blob_bytes") },
        }))
    })();
    b.close();
    result
}

/// No signal: the proxy refuses and cuts every connection, and the page is told it is offline.
fn offline(b: &Session, proxy: &mut Proxy) -> anyhow::Result<()> {
    proxy.say("down")?;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({ "offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    )?;
    Ok(())
}

/// Records a visit on the enterprise page `enterprise` (`#/e/<id>`) with `photos` chosen in
/// the file chooser, saves it, and answers what `photos.js` holds then.
fn record_visit(
    b: &Session,
    enterprise: &str,
    photos: &[PathBuf],
    deadline: Instant,
) -> anyhow::Result<Vec<Value>> {
    b.js(
        "location.hash = arguments[0]; return true;",
        json!([format!("{enterprise}/visit")]),
    )?;
    b.wait_until("the visit form", "document.querySelector('#notes')")?;
    if !photos.is_empty() {
        b.choose_files("#photos", photos)?;
        b.wait_for(
            "every photo stored and shown in the form",
            &format!(
                "Array.from(document.querySelectorAll('.ph[data-s=ok] img')).filter(i => i.complete && i.naturalWidth > 0).length === {}",
                photos.len()
            ),
            deadline.saturating_duration_since(Instant::now()),
        )?;
    }
    b.fill("#attendees", "王总经理")?;
    b.fill("#notes", "企业生产正常，厂房外墙有裂缝，已拍照。")?;
    b.js(
        "document.querySelector('button.save').click(); return true;",
        json!([]),
    )?;
    b.wait_until(
        "the app to say saved",
        "!location.hash.endsWith('/visit') \
         && Array.from(document.querySelectorAll('.flash')).some((e) => e.textContent.includes('已保存'))",
    )?;
    if photos.is_empty() {
        return Ok(Vec::new());
    }
    let stored = b.js_async(STORED_PHOTOS)?;
    if let Some(e) = stored["error"].as_str() {
        bail!("reading the photo store: {e}");
    }
    let stored = stored.as_array().cloned().unwrap_or_default();
    ensure!(
        stored.len() == photos.len(),
        "{} photos chosen, {} stored",
        photos.len(),
        stored.len()
    );
    Ok(stored)
}

/// The signal returns: a new window of the proxy, the page's watch, the page told it is
/// online; waits until the record (and the photos among `hashes`) are taken, then answers the
/// page's times and the proxy's window.
fn back_online(
    b: &Session,
    proxy: &mut Proxy,
    hashes: &str,
    deadline: Instant,
) -> anyhow::Result<Value> {
    proxy.say("reset")?;
    proxy.say("up")?;
    let waiting = b.js(WATCH, json!([hashes]))?;
    ensure!(
        waiting.as_str().is_some_and(|w| w != "0"),
        "the sync bar counted {waiting} records waiting before the signal returned"
    );
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    )?;
    let mut page;
    loop {
        page = b.js("return window.__pb;", json!([]))?;
        let done = !page["rec"].is_null() && (hashes.is_empty() || !page["ph"].is_null());
        if done || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(250));
    }
    let window = proxy.say("snapshot")?;
    Ok(json!({ "page": page, "proxy": window }))
}

/// `GET path` on the server itself (not through the proxy) with a bearer token: the body.
fn http_get(port: u16, path: &str, token: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )?;
    read_answer(&mut stream)
}

/// What the proxy's log of uploads says about one window.
#[derive(Debug, Default, PartialEq)]
struct Uploads {
    /// PATCH requests, and body bytes the proxy read in them.
    patches: usize,
    body: u64,
    /// Bytes sent again after a cut: for each PATCH, what it carried past the offset the next
    /// PATCH of the same upload started at (the server's offset, from HEAD or a 409).
    resent: u64,
    /// PATCHes that were followed by one starting before their end (cut ones).
    cut_patches: usize,
    /// Median PATCH length (a chunk), in bytes.
    chunk: u64,
    /// A PATCH that started before an earlier PATCH of its upload had started: bytes the
    /// server had acknowledged would have been sent again.
    went_back: bool,
    /// Uploads created (POST).
    created: usize,
}

fn uploads(log: &Value) -> Uploads {
    let mut u = Uploads::default();
    let mut lens = Vec::new();
    let mut last: Vec<(String, u64, u64)> = Vec::new(); // path, start, end of its last PATCH
    for r in log.as_array().into_iter().flatten() {
        let method = r["method"].as_str().unwrap_or_default();
        if method == "POST" {
            u.created += 1;
        }
        if method != "PATCH" {
            continue;
        }
        let path = r["path"].as_str().unwrap_or_default().to_string();
        let off = r["off"].as_u64().unwrap_or(0);
        let got = r["got"].as_u64().unwrap_or(0);
        u.patches += 1;
        u.body += got;
        lens.push(r["len"].as_u64().unwrap_or(0));
        match last.iter_mut().find(|(p, _, _)| *p == path) {
            Some(entry) => {
                if off < entry.2 {
                    u.resent += entry.2 - off;
                    u.cut_patches += 1;
                }
                if off < entry.1 {
                    u.went_back = true;
                }
                entry.1 = off;
                entry.2 = off + got;
            }
            None => last.push((path, off, off + got)),
        }
    }
    lens.sort_unstable();
    u.chunk = lens.get(lens.len() / 2).copied().unwrap_or(0);
    u
}

/// The last figures, if any.
pub fn load(bench_dir: &Path) -> Option<Value> {
    serde_json::from_str(&fs::read_to_string(results_file(bench_dir)).ok()?).ok()
}

fn secs(ms: Option<f64>) -> String {
    ms.map_or("–".into(), crate::bench::ms)
}

/// The records' time with photos against without, as a verdict on "no slower".
fn records_verdict(without: Option<f64>, with: Option<f64>) -> String {
    match (without, with) {
        (Some(a), Some(b)) if a > 0.0 => {
            let r = b / a;
            crate::bench::verdict(r <= 1.0, &format!("{r:.2}×, {:.0} ms slower", b - a))
        }
        _ => "not measured".into(),
    }
}

/// The section's body (without its heading), or what to run when there are no figures.
pub fn section(figures: Option<&Value>) -> String {
    let Some(f) = figures else {
        return "Not measured yet (`cargo xtask bench --photos-only`).".into();
    };
    render(f).unwrap_or_else(|e| format!("The figures could not be read: {e}"))
}

fn render(f: &Value) -> anyhow::Result<String> {
    let mut o = String::new();
    let when = f["when"]
        .as_u64()
        .map(crate::bench::utc)
        .unwrap_or_else(|| "?".into());
    let sources: Vec<u64> = f["sources"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    writeln!(
        o,
        "Measured at {when} by `cargo xtask bench --photos-only` (also part of the full run), \
         {} headless through chromedriver, the real officer app (a copy of `target/site`) on \
         the release server, a fresh demo district and a fresh browser profile per link, the \
         demo's `{OFFICER}` at 360×780. Per link: log in online, then no signal (the proxy \
         refuses and cuts every connection; DevTools says offline), record a visit (attendees, \
         notes) and save it, signal back, until the server has it (the baseline); then no \
         signal, the same visit with {PHOTOS} photos chosen in the file chooser, saved, signal \
         back, until the server has the visit and every photo. Times count from the signal's \
         return, in the page (`performance.now()`): \"records\" until the sync bar counts no \
         record waiting (the server acknowledged the visit), \"photos\" until `photos.js` holds \
         no photo the server has not taken (its last PATCH answered, the file verified). The \
         link is the harness's counting proxy with `bench/proxy-cuts.mjs` \
         (`bench/photo-proxy.mjs`); each return is one of its windows (counters and cut \
         schedule restart). Bytes up are every byte the browser sent through the proxy in the \
         window (records, sync, tus headers, photos), counted when the proxy reads them, so \
         bytes lost in a cut count as sent. Load average {} before, {} after (2 cores shared \
         with other sessions' builds).",
        f["chromium"].as_str().unwrap_or("Chromium"),
        f["load"][0].as_str().unwrap_or("?"),
        f["load"][1].as_str().unwrap_or("?"),
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "The photos: {PHOTOS} noise JPEGs of {}×{} (2×2-pixel blocks, amplitude ±{:.1} around \
         mid-grey, {} to {} as files) made in the same Chromium; the app downscales each to \
         1600×1200 and stores it as JPEG 0.8.",
        SOURCE.0,
        SOURCE.1,
        f["amplitude"].as_f64().unwrap_or(0.0),
        crate::bench::kib(sources.iter().copied().min().unwrap_or(0) as f64),
        crate::bench::kib(sources.iter().copied().max().unwrap_or(0) as f64),
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "| link | photos stored (bytes) | records on the server: without photos → with (no slower?) | all photos on the server | bytes up ÷ photo bytes (goal) | PATCH body bytes ÷ photo bytes | cuts / bytes re-sent per cut (a chunk) | server holds |"
    )?;
    writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- |")?;
    for link in LINKS {
        let l = &f["links"][link.tag];
        if l.is_null() {
            continue;
        }
        if let Some(e) = l["error"].as_str() {
            writeln!(
                o,
                "| {} | failed: {} | | | | | | |",
                link.tag,
                e.lines().next().unwrap_or_default().replace('|', "/")
            )?;
            continue;
        }
        let sizes: Vec<u64> = l["stored"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p[1].as_u64()).collect())
            .unwrap_or_default();
        let total: u64 = sizes.iter().sum();
        let base = &l["baseline"];
        let with = &l["photos"];
        let up = with["proxy"]["counters"]["bytesUp"].as_f64().unwrap_or(0.0);
        let ratio = up / total.max(1) as f64;
        let goal = if link.shaped {
            GOAL_RATIO_CUTS
        } else {
            GOAL_RATIO_LOOPBACK
        };
        let u = uploads(&with["proxy"]["uploads"]);
        let cuts = with["proxy"]["cuts"].as_u64().unwrap_or(0);
        let left = with["page"]["left"].as_u64();
        let photos_time = match with["page"]["ph"].as_f64() {
            Some(ms) => secs(Some(ms)),
            None => format!(
                "not all in {} min ({} of {PHOTOS} left)",
                SCENARIO_LIMIT.as_secs() / 60,
                left.map_or("?".into(), |n| n.to_string())
            ),
        };
        let per_cut = if cuts > 0 {
            format!(
                "{cuts} / {}",
                crate::bench::kib(u.resent as f64 / cuts as f64)
            )
        } else {
            format!("0 / – ({} re-sent)", crate::bench::kib(u.resent as f64))
        };
        writeln!(
            o,
            "| {} | {} ({} to {}) | {} → {} ({}) | {} | {:.3} ({}: {}) | {:.3} | {} ({}) | {} blobs, {} |",
            link.words,
            crate::bench::kib(total as f64),
            sizes.iter().min().copied().unwrap_or(0),
            sizes.iter().max().copied().unwrap_or(0),
            secs(base["page"]["rec"].as_f64()),
            secs(with["page"]["rec"].as_f64()),
            records_verdict(base["page"]["rec"].as_f64(), with["page"]["rec"].as_f64()),
            photos_time,
            ratio,
            goal,
            crate::bench::verdict(
                ratio <= goal,
                &format!("{:.1}% over", (ratio / goal - 1.0) * 100.0)
            ),
            u.body as f64 / total.max(1) as f64,
            per_cut,
            crate::bench::kib(u.chunk as f64),
            l["server"]["blobs"],
            crate::bench::kib(l["server"]["bytes"].as_f64().unwrap_or(0.0)),
        )?;
        if u.went_back {
            writeln!(
                o,
                "| | **a PATCH started before an earlier one of its upload: acknowledged bytes were sent again** | | | | | | |"
            )?;
        }
    }
    writeln!(o)?;
    writeln!(
        o,
        "Bytes re-sent: per upload, each PATCH's bytes past the offset the next PATCH of that \
         upload starts at (the server's offset after the cut, from HEAD); a chunk is the median \
         PATCH. The officer bundle served in this run: {}. Raw figures: \
         `target/bench/photos/photos.json` (with every request to /api/uploads as the proxy saw \
         it); proxy logs beside. Rerun alone: `cargo xtask bench --photos-only` \
         (`--photo-links loopback,weak,hostile` to choose links). bench/NOTES.md \"Photos on a cut link\" has \
         what the figures mean.",
        f["site"]
            .as_u64()
            .map_or("?".into(), |b| format!("{b} B brotli")),
    )?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_past_the_servers_offset_after_a_cut_count_as_resent() {
        let log = json!([
            { "method": "POST", "path": "/api/uploads", "off": null, "len": 0, "got": 0 },
            { "method": "PATCH", "path": "/api/uploads/a", "off": 0, "len": 65536, "got": 65536 },
            // Cut: the proxy read 100,000 bytes, the server kept 120,000 in all.
            { "method": "PATCH", "path": "/api/uploads/a", "off": 65536, "len": 131072, "got": 100000 },
            { "method": "HEAD", "path": "/api/uploads/a", "off": null, "len": 0, "got": 0 },
            { "method": "PATCH", "path": "/api/uploads/a", "off": 120000, "len": 130000, "got": 130000 },
            { "method": "PATCH", "path": "/api/uploads/b", "off": 0, "len": 250000, "got": 250000 },
        ]);
        let u = uploads(&log);
        assert_eq!(u.patches, 4);
        assert_eq!(u.created, 1);
        assert_eq!(u.body, 65536 + 100000 + 130000 + 250000);
        assert_eq!(u.resent, 65536 + 100000 - 120000);
        assert_eq!(u.cut_patches, 1);
        assert!(!u.went_back);
    }

    #[test]
    fn a_patch_before_an_acknowledged_offset_is_flagged() {
        let log = json!([
            { "method": "PATCH", "path": "/u/a", "off": 0, "len": 1000, "got": 1000 },
            { "method": "PATCH", "path": "/u/a", "off": 1000, "len": 1000, "got": 1000 },
            { "method": "PATCH", "path": "/u/a", "off": 500, "len": 1500, "got": 1500 },
        ]);
        assert!(uploads(&log).went_back);
    }

    #[test]
    fn base64_is_decoded_with_and_without_padding() {
        assert_eq!(base64_decode("aGVsbG8=").ok(), Some(b"hello".to_vec()));
        assert_eq!(base64_decode("aGk").ok(), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("AAEC").ok(), Some(vec![0, 1, 2]));
    }
}
