//! Lianxin's own scale scenarios, natively: the real `lianxin-server` binary on a real SQLite
//! file, driven by native devices running the shared sync engine over HTTP (`NativeDevice`).
//! Run by `cargo xtask bench` (which builds it in release); prints a summary and writes the
//! figures as JSON to `--out FILE`.
//!
//! - `district`: 1,000 officers' devices, each holding 10 visits the server already has, edit
//!   each visit once offline and then all sync at once: time until every edit is merged and
//!   acknowledged, latency per device sync (p50/p99), errors.
//! - `province`: a server holding 100k documents: its RSS and disk, the time for a fresh
//!   device to catch up its 200 documents, and a no-change sync of a device holding 2,000.
//! - `weak`: one device uploads visits through the userspace link shaper of `tests::proxy`
//!   (300 ms one way, 256 kbit/s), once on a stable link and once with the link cut every
//!   3–10 s for 1–5 s (the harness's shaper cannot cut connections).
//!
//! - `hostile`: honest devices' sync p99 and the server's peak RSS, alone and while window
//!   clerks send the worst requests the sync limits allow (`lianxin-scale/hostile.rs`).
//! - `crash`: 100 SIGKILLs of the server during continuous syncs; integrity and every
//!   acknowledged change checked after each (`lianxin-scale/crash.rs`).
//!
//! `--quick` shrinks every scenario (fewer devices, documents and visits).

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};
use server::auth::{Secret, password};
use server::store::{NewUser, SqliteStore};
use shared::doc::{DocKind, NewVisit, VisitDoc};
use shared::model::{
    Actor, CheckIn, DeviceId, EnterpriseId, OperatingStatus, Position, PositionFix, Role,
    Timestamp, User, UserId, VisitId, VisitMethod,
};
use shared::sync::client::Input;
use shared::sync::protocol::DocId;
use shared::sync::server::{Commit, DocCommit, NewChange, ServerStore as _};
use shared::sync::validate::Projection;
use tests::device::{NativeDevice, id_bytes};
use tests::proxy::{ShapeConfig, ShapingProxy};

#[path = "lianxin-scale/crash.rs"]
mod crash;
#[path = "lianxin-scale/hostile.rs"]
mod hostile;

/// Phrases of a visit note (as the peer harness's workload uses).
const PHRASES: &[&str] = &[
    "企业现场检查发现",
    "消防通道堆放杂物",
    "灭火器压力不足",
    "安全出口指示灯损坏",
    "危险化学品储存不规范",
    "员工未佩戴防护用品",
    "电气线路私拉乱接",
    "特种作业人员无证上岗",
    "安全生产责任制未落实",
    "应急预案未按期演练",
    "隐患排查台账不完整",
    "设备防护罩缺失",
    "要求企业立即整改",
    "限期十五日内完成整改",
    "复查时需提供整改照片",
    "负责人已签字确认",
    "，",
    "。",
    "经核实",
    "建议加强日常巡查",
];

/// A deterministic 500-character note.
fn note(seed: u64) -> String {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut s = String::new();
    while s.chars().count() < 500 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        s.push_str(PHRASES[((x >> 33) % PHRASES.len() as u64) as usize]);
    }
    s.chars().take(500).collect()
}

fn enterprise(n: u64) -> EnterpriseId {
    EnterpriseId::from_random_bytes(id_bytes(0x61, n))
}

fn new_visit(id: VisitId, enterprise: EnterpriseId, seed: u64) -> NewVisit {
    NewVisit {
        id,
        enterprise,
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: Timestamp(1_793_491_200_000),
            position: PositionFix::Fixed(
                Position::new(31.2, 121.4, 10.0).unwrap_or_else(|_| unreachable!()),
            ),
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: note(seed),
    }
}

// ---------------------------------------------------------------------------------------------
// The server process and the directory
// ---------------------------------------------------------------------------------------------

/// The real server binary, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let l = StdListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?)
}

impl Server {
    fn start(bin: &Path, db: &Path) -> anyhow::Result<Server> {
        let addr = free_port()?;
        let child = Command::new(bin)
            .args(["serve", "--listen", &addr.to_string(), "--site"])
            .arg(db.with_extension("no-site"))
            .arg("--db")
            .arg(db)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                use std::io::{Read as _, Write as _};
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                    return Ok(server);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("lianxin-server did not answer within 30 s")
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// VmRSS and VmHWM in KiB.
    fn memory(&self) -> (u64, u64) {
        let text =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let kb = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (kb("VmRSS:"), kb("VmHWM:"))
    }

    /// CPU seconds the process has used (user + system).
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.pid()))
    }

    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds a process has used (user + system), from its `/proc/<pid>/stat`: the fields
/// after the command name (in parentheses), utime the 12th and stime the 13th, in ticks of
/// 1/100 s.
fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let rest = text.rsplit(')').next().unwrap_or("");
    let field = |i: usize| -> f64 {
        rest.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / 100.0
}

/// Bytes of the database file and of its write-ahead log.
fn disk(db: &Path) -> Value {
    let len = |suffix: &str| {
        std::fs::metadata(format!("{}{suffix}", db.display()))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    json!({"db": len(""), "wal": len("-wal")})
}

/// Officers `login-<n>` with the test password, each assigned `enterprises(n)`. One argon2
/// hash serves every user (hashing 1,000 passwords would only slow the setup).
fn officers(db: &Path, logins: &[(String, Vec<EnterpriseId>)]) -> anyhow::Result<Vec<User>> {
    let mut store = SqliteStore::open(db)?;
    let town = tests::district::town(&mut store, "scale-town")?;
    let hash = password::hash(&Secret::new(tests::district::PASSWORD))?;
    let mut users = Vec::new();
    for (login, enterprises) in logins {
        let user = User {
            id: UserId::from_random_bytes(tests::device::id_bytes(0x62, users.len() as u64)),
            login: login.clone(),
            name: login.clone(),
            role: Role::Officer,
            org_unit: town,
        };
        store.add_user(
            &NewUser {
                user: user.clone(),
                password_hash: hash.clone(),
            },
            Timestamp(0),
        )?;
        tests::district::assign(&mut store, user.id, enterprises.iter().copied())?;
        users.push(user);
    }
    Ok(users)
}

/// A device numbered `n` (any size) logged in as `login`.
async fn device(n: u64, url: &str, login: &str) -> anyhow::Result<NativeDevice> {
    let mut dev = NativeDevice::new(0, url);
    dev.actor.device = DeviceId::from_random_bytes(id_bytes(0x63, n));
    let info = dev.login(login, tests::district::PASSWORD).await?;
    ensure!(info.status == 200, "login {login}: {}", info.body);
    dev.fixed_elapsed_ms = None;
    dev.timeout = Duration::from_secs(120);
    Ok(dev)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

// ---------------------------------------------------------------------------------------------
// district: 1,000 devices × 10 edits at once
// ---------------------------------------------------------------------------------------------

async fn district(bin: &Path, dir: &Path, devices: u64, visits: u64) -> anyhow::Result<Value> {
    eprintln!("== district: {devices} devices x {visits} visits, one edit each, all at once");
    let db = dir.join("district.db");
    let logins: Vec<(String, Vec<EnterpriseId>)> = (0..devices)
        .map(|n| (format!("officer-{n}"), vec![enterprise(n)]))
        .collect();
    let t = Instant::now();
    officers(&db, &logins)?;
    let server = Server::start(bin, &db)?;
    let url = server.url();
    // Setup: log in (two at a time: argon2), create the visits, sync them; not timed.
    let mut devs = Vec::new();
    for chunk in (0..devices).collect::<Vec<_>>().chunks(2) {
        let mut set = tokio::task::JoinSet::new();
        for &n in chunk {
            let url = url.clone();
            let login = logins[n as usize].0.clone();
            set.spawn(async move { (n, device(n, &url, &login).await) });
        }
        while let Some(r) = set.join_next().await {
            let (n, dev) = r?;
            devs.push((n, dev?));
        }
    }
    let mut ids: Vec<Vec<DocId>> = vec![Vec::new(); devices as usize];
    for (n, dev) in devs.iter_mut() {
        let mut mine = Vec::new();
        for v in 0..visits {
            let id = VisitId::from_random_bytes(id_bytes(0x64, *n * 1000 + v));
            let doc = VisitDoc::create(
                &new_visit(id, enterprise(*n), *n * 1000 + v),
                &dev.actor,
                dev.actor_id.clone(),
                Timestamp(1_793_491_200_000),
            )?;
            let doc_id = DocId::new(DocKind::Visit, &id.to_string());
            dev.client
                .replica_mut()
                .insert_new(doc_id.clone(), doc.into_record());
            mine.push(doc_id);
        }
        ids[*n as usize] = mine;
    }
    let devs = run_all(devs, 32).await?;
    eprintln!(
        "   setup (users, logins, {} visits stored) in {:.1} s",
        devices * visits,
        t.elapsed().as_secs_f64()
    );
    // Offline: each device edits each of its visits once.
    let mut devs = devs;
    for (n, dev) in devs.iter_mut() {
        for (k, id) in ids[*n as usize].iter().enumerate() {
            let notes = dev.visit_notes(id)?;
            dev.edit_visit_notes(id, &format!("{notes} 复查{k}：已整改"))?;
        }
        dev.traffic = Default::default();
        dev.persisted.clear();
    }
    eprintln!("   offline edits made; all devices sync now");
    let (rss_before, _) = server.memory();
    server.reset_peak();
    let cpu_before = server.cpu_seconds();
    let own_cpu_before = cpu_seconds("/proc/self/stat");
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (n, mut dev) in devs {
        set.spawn(async move {
            let t = Instant::now();
            let result = dev.sync().await;
            (n, dev, t.elapsed(), result)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut requests = 0usize;
    let (mut up, mut down, mut failures) = (0usize, 0usize, 0usize);
    let mut done = Vec::new();
    while let Some(r) = set.join_next().await {
        let (n, mut dev, took, result) = r?;
        if let Err(e) = &result {
            errors += 1;
            eprintln!("   device {n}: {e:#}");
        }
        let status = dev.status();
        errors += status.refused.len() as u64;
        latencies.push(took.as_secs_f64() * 1000.0);
        requests += dev.traffic.requests;
        failures += dev.traffic.failures;
        up += dev.traffic.bytes_up;
        down += dev.traffic.bytes_down;
        done.push((n, dev));
    }
    let all_merged = started.elapsed();
    let server_cpu = server.cpu_seconds() - cpu_before;
    let devices_cpu = cpu_seconds("/proc/self/stat") - own_cpu_before;
    let (_, peak) = server.memory();
    // Every edit is on the server: its heads equal the device's.
    let mut store = SqliteStore::open(&db)?;
    let mut missing = 0u64;
    for (n, dev) in done.iter_mut() {
        for id in &ids[*n as usize] {
            let want = dev
                .client
                .replica_mut()
                .get_mut(id)
                .map(|e| e.heads())
                .unwrap_or_default();
            let have = store.load_doc(id)?.map(|s| s.heads).unwrap_or_default();
            if want != have {
                missing += 1;
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let result = json!({
        "devices": devices, "editsPerDevice": visits,
        "allMergedMs": all_merged.as_millis() as u64,
        "syncP50Ms": percentile(&latencies, 0.5), "syncP99Ms": percentile(&latencies, 0.99),
        "syncMaxMs": latencies.last().copied().unwrap_or(0.0),
        "serverCpuSeconds": server_cpu, "devicesCpuSeconds": devices_cpu,
        "requests": requests, "failedRequests": failures, "errors": errors + failures as u64,
        "notMerged": missing, "bytesUp": up, "bytesDown": down,
        "serverRssBeforeKB": rss_before, "serverPeakRssKB": peak, "diskBytes": disk(&db),
    });
    eprintln!("   {result}");
    Ok(result)
}

/// Syncs every device until settled, `parallel` at a time.
async fn run_all(
    devs: Vec<(u64, NativeDevice)>,
    parallel: usize,
) -> anyhow::Result<Vec<(u64, NativeDevice)>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut set = tokio::task::JoinSet::new();
    for (n, mut dev) in devs {
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire().await;
            let r = dev.sync().await;
            dev.persisted.clear();
            (n, dev, r)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        let (n, dev, result) = r?;
        result.with_context(|| format!("setup sync of device {n}"))?;
        out.push((n, dev));
    }
    out.sort_by_key(|(n, _)| *n);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// province: 100k documents
// ---------------------------------------------------------------------------------------------

/// Seeds `docs` visits (10 per enterprise) straight through the store's commit, as the sync
/// path would store them (merge and validation skipped: they are new, valid documents).
fn seed(db: &Path, docs: u64, author: &User, device: DeviceId) -> anyhow::Result<()> {
    let mut store = SqliteStore::open(db)?;
    let actor = Actor {
        user: author.id,
        device,
        role: Role::Officer,
    };
    let batch = 1000u64;
    let make = |range: std::ops::Range<u64>| -> anyhow::Result<Vec<DocCommit>> {
        let mut out = Vec::new();
        for i in range {
            let id = VisitId::from_random_bytes(id_bytes(0x65, i));
            let mut doc = VisitDoc::create(
                &new_visit(id, enterprise(i / 10), i),
                &actor,
                shared::doc::ActorId::from(id_bytes(0x66, 0)),
                Timestamp(1_793_491_200_000),
            )?;
            let visit = doc.read()?;
            let record = doc.record();
            let heads = record.heads();
            let changes = record
                .automerge()
                .get_changes(&[])
                .iter()
                .map(|c| NewChange {
                    hash: c.hash(),
                    actor: c.actor_id().to_hex_string(),
                    device_time: Timestamp(c.timestamp()),
                    author: c.message().and_then(shared::doc::Author::parse),
                })
                .collect();
            out.push(DocCommit {
                doc: DocId::new(DocKind::Visit, &id.to_string()),
                changes,
                snapshot: record.save(),
                compacted: true,
                heads: heads.clone(),
                base: None,
                device_heads: heads,
                projection: Projection::Visit(visit),
            });
        }
        Ok(out)
    };
    let mut next = 0u64;
    while next < docs {
        // Two builders (the machine has 2 cores), one committer.
        let a = next..(next + batch / 2).min(docs);
        let b = a.end..(next + batch).min(docs);
        next = b.end;
        let (da, db_) = std::thread::scope(|s| {
            let ha = s.spawn(|| make(a));
            let hb = s.spawn(|| make(b));
            (ha.join(), hb.join())
        });
        let mut commit_docs = da.map_err(|_| anyhow::anyhow!("builder panicked"))??;
        commit_docs.extend(db_.map_err(|_| anyhow::anyhow!("builder panicked"))??);
        store.commit(&Commit {
            device,
            received_at: Timestamp(1_793_491_200_000),
            device_time: Timestamp(1_793_491_200_000),
            docs: commit_docs,
            sla: Default::default(),
            clock: Default::default(),
        })?;
    }
    Ok(())
}

async fn province(bin: &Path, dir: &Path, docs: u64, mine: u64, big: u64) -> anyhow::Result<Value> {
    eprintln!("== province: a server holding {docs} documents");
    let db = dir.join("province.db");
    let per_enterprise = 10;
    let small: Vec<EnterpriseId> = (0..mine / per_enterprise).map(enterprise).collect();
    let large: Vec<EnterpriseId> = (0..big / per_enterprise)
        .map(|e| enterprise(docs / per_enterprise - 1 - e))
        .collect();
    let users = officers(
        &db,
        &[
            ("seeder".into(), Vec::new()),
            ("officer-small".into(), small),
            ("officer-large".into(), large),
        ],
    )?;
    let t = Instant::now();
    seed(
        &db,
        docs,
        &users[0],
        DeviceId::from_random_bytes(id_bytes(0x67, 0)),
    )?;
    let seed_s = t.elapsed().as_secs_f64();
    eprintln!("   seeded in {seed_s:.1} s");
    let server = Server::start(bin, &db)?;
    let url = server.url();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle_rss, _) = server.memory();
    let disk_bytes = disk(&db);

    // A fresh device catches up its documents.
    server.reset_peak();
    let mut dev = device(1, &url, "officer-small").await?;
    dev.traffic = Default::default();
    let t = Instant::now();
    dev.sync().await?;
    let catch_up = t.elapsed();
    let got = dev.client.replica().len();
    let small_traffic = dev.traffic;
    let (_, peak_small) = server.memory();

    // A device holding many documents: catch up (not timed), then a sync with no change.
    let mut big_dev = device(2, &url, "officer-large").await?;
    let t = Instant::now();
    big_dev
        .run(Input::SyncNow, Duration::from_secs(600))
        .await?;
    let big_catch_up = t.elapsed();
    big_dev.persisted.clear();
    let held = big_dev.client.replica().len();
    big_dev.traffic = Default::default();
    let t = Instant::now();
    big_dev.sync().await?;
    let no_change = t.elapsed();
    let nc = big_dev.traffic;
    let (rss_after, peak) = server.memory();
    let result = json!({
        "docs": docs, "seedSeconds": seed_s, "diskBytes": disk_bytes,
        "serverIdleRssKB": idle_rss, "serverRssAfterKB": rss_after, "serverPeakRssKB": peak.max(peak_small),
        "catchUp": {"docs": got, "ms": catch_up.as_millis() as u64, "requests": small_traffic.requests,
            "bytesUp": small_traffic.bytes_up, "bytesDown": small_traffic.bytes_down},
        "bigCatchUp": {"docs": held, "ms": big_catch_up.as_millis() as u64},
        "noChange": {"docsHeld": held, "ms": no_change.as_millis() as u64, "requests": nc.requests,
            "bytesUp": nc.bytes_up, "bytesDown": nc.bytes_down},
    });
    eprintln!("   {result}");
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// weak: a cut link
// ---------------------------------------------------------------------------------------------

async fn weak(bin: &Path, dir: &Path, visits: u64) -> anyhow::Result<Value> {
    eprintln!("== weak: {visits} visits uploaded over 300 ms / 256 kbit/s, stable then cut");
    let mut out = serde_json::Map::new();
    for (label, shape) in [
        ("stable", ShapeConfig::stable(300, 256)),
        (
            "cut",
            ShapeConfig {
                seed: 7,
                ..ShapeConfig::default()
            },
        ),
    ] {
        let db = dir.join(format!("weak-{label}.db"));
        officers(&db, &[("officer-weak".into(), vec![enterprise(0)])])?;
        let server = Server::start(bin, &db)?;
        let mut dev = device(3, &server.url(), "officer-weak").await?;
        for v in 0..visits {
            let id = VisitId::from_random_bytes(id_bytes(0x68, v));
            let doc = VisitDoc::create(
                &new_visit(id, enterprise(0), v),
                &dev.actor,
                dev.actor_id.clone(),
                Timestamp(1_793_491_200_000),
            )?;
            dev.client.replica_mut().insert_new(
                DocId::new(DocKind::Visit, &id.to_string()),
                doc.into_record(),
            );
        }
        let proxy = ShapingProxy::start(server.addr, shape).await?;
        dev.set_base_url(&proxy.url(""));
        dev.timeout = Duration::from_secs(60);
        dev.traffic = Default::default();
        let t = Instant::now();
        let result = dev.run(Input::SyncNow, Duration::from_secs(900)).await;
        let took = t.elapsed();
        let link = proxy.stats();
        let stored = SqliteStore::open(&db)?.doc_count()?;
        out.insert(
            label.into(),
            json!({
                "visits": visits, "ms": took.as_millis() as u64, "ok": result.is_ok(),
                "error": result.err().map(|e| format!("{e:#}")), "stored": stored,
                "requests": dev.traffic.requests, "failedRequests": dev.traffic.failures,
                "bytesUp": link.bytes_up, "bytesDown": link.bytes_down, "cuts": link.cuts,
            }),
        );
        eprintln!("   {label}: {}", out[label]);
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = flag("--quick");
    let exe = std::env::current_exe()?;
    let bin = value("--server")
        .map(PathBuf::from)
        .or_else(|| exe.parent().map(|d| d.join("lianxin-server")))
        .context("where is lianxin-server?")?;
    let only: Option<Vec<String>> =
        value("--only").map(|s| s.split(',').map(str::to_string).collect());
    let wants = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    let work = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut out = serde_json::Map::new();
    out.insert("quick".into(), Value::Bool(quick));
    runtime.block_on(async {
        if wants("district") {
            let (devices, visits) = if quick { (200, 10) } else { (1000, 10) };
            let r = district(&bin, work.path(), devices, visits).await;
            out.insert("district".into(), outcome(r));
        }
        if wants("province") {
            let docs = if quick { 20_000 } else { 100_000 };
            let r = province(&bin, work.path(), docs, 200, 2000).await;
            out.insert("province".into(), outcome(r));
        }
        if wants("weak") {
            let visits = if quick { 100 } else { 300 };
            let r = weak(&bin, work.path(), visits).await;
            out.insert("weak".into(), outcome(r));
        }
        if wants("hostile") {
            let r = hostile::hostile(&bin, work.path(), quick).await;
            out.insert("hostile".into(), outcome(r));
        }
        if wants("crash") {
            let kills = if quick { 20 } else { 100 };
            let r = crash::crash(&bin, work.path(), kills).await;
            out.insert("crash".into(), outcome(r));
        }
    });
    let text = serde_json::to_string_pretty(&Value::Object(out))?;
    match value("--out") {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {path}"))?,
        None => println!("{text}"),
    }
    Ok(())
}

fn outcome(r: anyhow::Result<Value>) -> Value {
    r.unwrap_or_else(|e| {
        eprintln!("   failed: {e:#}");
        json!({"error": format!("{e:#}")})
    })
}
