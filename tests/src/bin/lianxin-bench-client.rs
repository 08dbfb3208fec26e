//! The client side of the benchmark harness's Lianxin peer (`bench/lianxin.mjs`): one process
//! hosting many named native devices, each running the real sync engine over HTTP, driven by
//! newline-delimited JSON commands on stdin and answering on stdout. With `inspect --db FILE`
//! it instead reads a running server's SQLite file and answers the harness's server-side
//! questions (which versions the server holds, and what the documents say).
//!
//! One harness document (a workload "visit record") is a group of Lianxin documents: one visit
//! document and one problem document per workload problem (3), linked both ways. BENCHMARKS.md
//! lists how each workload field maps. A group's version is every head of its documents, in
//! hex, sorted and joined with commas.
//!
//! Device commands (`{"id":1,"cmd":"new","dev":"A"}` → `{"id":1,"ok":true,...}`):
//! `new`, `create` (docs), `online`, `offline`, `edit` (id, status, severities, note), `read`
//! (id), `close`, `stats`. Inspector commands: `expect` (expected), `check`, `read` (ids).
//!
//! Devices log in like the app (`POST /api/login`, then a bearer token and the Automerge actor
//! the server made for the device). `setup --db FILE` writes the users they log in as, with
//! their 包联 assignments, into a new database before the server starts (a JSON plan on stdin:
//! `{"users":[{"login":"bench-a","enterprises":["E000123",…]}]}`, workload enterprise keys).
//! `sizes` reads workload records (a JSON array) on stdin and prints how many bytes pushing
//! them takes on the wire as the engine encodes documents today (`save()`, columns deflated one
//! document at a time) and with uncompressed documents in the deflated request.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use shared::config::Config;
use shared::doc::{ActorId, NewProblem, NewVisit, ProblemDoc, RecordDoc, VisitDoc};
use shared::model::{
    Actor, CheckIn, DeviceId, EnterpriseId, OperatingStatus, Position, PositionFix, ProblemClass,
    ProblemId, ProblemSource, Role, Tier, Timestamp, UserId, VisitId, VisitMethod,
};
use shared::sync::client::{Effect, Failure, Input};
use shared::sync::protocol::{DocId, notice_seq};
use shared::sync::server::ServerStore as _;
use tests::device::{NativeDevice, wall_clock};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("inspect") => {
            let db = args
                .iter()
                .position(|a| a == "--db")
                .and_then(|i| args.get(i + 1))
                .context("usage: lianxin-bench-client inspect --db FILE")?;
            inspect(PathBuf::from(db))
        }
        Some("setup") => {
            let db = args
                .iter()
                .position(|a| a == "--db")
                .and_then(|i| args.get(i + 1))
                .context("usage: lianxin-bench-client setup --db FILE < plan.json")?;
            setup(PathBuf::from(db))
        }
        Some("sizes") => sizes(),
        None | Some("devices") => devices(),
        Some(other) => {
            bail!("unknown mode {other:?}: use `devices`, `setup --db FILE` or `inspect --db FILE`")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The workload's visit record, mapped onto Lianxin's documents
// ---------------------------------------------------------------------------------------------

/// 16 bytes from a text, deterministically (two FNV-1a passes), for ids made from workload keys.
fn bytes_of(text: &str) -> [u8; 16] {
    let fnv = |seed: u64| {
        text.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325).to_be_bytes());
    out[8..].copy_from_slice(&fnv(0x6c62_272e_07bb_0142).to_be_bytes());
    out
}

/// The `k`-th problem of a visit: its id follows from the visit's, so the server-side inspector
/// finds a group's documents from the visit id alone.
fn problem_id(visit: VisitId, k: usize) -> ProblemId {
    let mut b = *visit.as_bytes();
    b[0] ^= 0x5a;
    b[15] = b[15].wrapping_add(1 + k as u8);
    ProblemId::from_random_bytes(b)
}

/// Problems per workload visit (`workload.mjs`: `problemsPerDoc`).
const PROBLEMS_PER_VISIT: usize = 3;

/// The documents of one harness document.
fn group_of(harness_id: &str) -> anyhow::Result<Vec<DocId>> {
    let visit = DocId::parse(harness_id).map_err(|e| anyhow!("{e}"))?;
    let vid = VisitId::parse(visit.root_id()).map_err(|e| anyhow!("{e}"))?;
    let mut out = vec![visit];
    for k in 0..PROBLEMS_PER_VISIT {
        out.push(DocId::new(
            shared::doc::DocKind::Problem,
            &problem_id(vid, k).to_string(),
        ));
    }
    Ok(out)
}

const STATUS: [(&str, OperatingStatus); 5] = [
    ("draft", OperatingStatus::Normal),
    ("submitted", OperatingStatus::Reduced),
    ("in_review", OperatingStatus::Suspended),
    ("rectifying", OperatingStatus::UnderConstruction),
    ("closed", OperatingStatus::Closed),
];

/// The workload's visit `status` as an operating status: the five workload codes one to one,
/// any other text (S4's `reviewed-by-cNN`) by the number it ends with, modulo 5.
fn status_code(status: &str) -> OperatingStatus {
    if let Some((_, s)) = STATUS.iter().find(|(w, _)| *w == status) {
        return *s;
    }
    let digits: String = status.chars().filter(char::is_ascii_digit).collect();
    let n: usize = digits.parse().unwrap_or(0);
    STATUS[n % STATUS.len()].1
}

fn status_name(status: OperatingStatus) -> &'static str {
    STATUS
        .iter()
        .find(|(_, s)| *s == status)
        .map(|(w, _)| *w)
        .unwrap_or("draft")
}

const SEVERITY: [(&str, ProblemClass); 4] = [
    ("critical", ProblemClass::A),
    ("high", ProblemClass::B),
    ("medium", ProblemClass::C),
    ("low", ProblemClass::D),
];

fn severity_class(severity: &str) -> ProblemClass {
    SEVERITY
        .iter()
        .find(|(w, _)| *w == severity)
        .map(|(_, c)| *c)
        .unwrap_or(ProblemClass::D)
}

fn class_severity(class: ProblemClass) -> &'static str {
    SEVERITY
        .iter()
        .find(|(_, c)| *c == class)
        .map(|(w, _)| *w)
        .unwrap_or("low")
}

/// Workload hazard categories onto the district's configured problem categories.
fn category_code(category: &str) -> &'static str {
    match category {
        "fire" => "safety",
        "electrical" => "power",
        "chemical" => "environment",
        "machinery" => "technology",
        "dust" => "labour",
        "confined_space" => "infrastructure",
        _ => "other",
    }
}

fn method_of(visit_type: &str) -> VisitMethod {
    match visit_type {
        "followup" => VisitMethod::Phone,
        "complaint" => VisitMethod::Window,
        _ => VisitMethod::OnSite,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` as a timestamp.
fn parse_time(text: &str) -> anyhow::Result<Timestamp> {
    let num = |r: std::ops::Range<usize>| -> anyhow::Result<i64> {
        text.get(r)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad date {text:?}"))
    };
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    let secs = if text.len() >= 19 {
        num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?
    } else {
        0
    };
    Ok(Timestamp((days * 86_400 + secs) * 1000))
}

fn str_field<'a>(v: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .with_context(|| format!("workload field {key} missing"))
}

fn f64_field(v: &Value, key: &str) -> anyhow::Result<f64> {
    v.get(key)
        .and_then(Value::as_f64)
        .with_context(|| format!("workload field {key} missing"))
}

/// Creates the documents of one workload visit record on `dev`; returns the harness id.
fn create_group(dev: &mut NativeDevice, w: &Value, config: &Config) -> anyhow::Result<String> {
    let visit_id = VisitId::from_random_bytes(bytes_of(str_field(w, "visitId")?));
    let enterprise = EnterpriseId::from_random_bytes(bytes_of(str_field(w, "enterpriseId")?));
    let officer = UserId::from_random_bytes(bytes_of(str_field(w, "officerId")?));
    let co_officer = UserId::from_random_bytes(bytes_of(str_field(w, "coOfficerId")?));
    let created = parse_time(str_field(w, "createdAt")?)?;
    // Changes name the logged-in user and device (the server refuses anything else); the
    // workload's officers are the visit's officers.
    let actor = dev.actor;
    let position = Position::new(f64_field(w, "lat")?, f64_field(w, "lon")?, 10.0)
        .map_err(|e| anyhow!("{e}"))?;
    let new = NewVisit {
        id: visit_id,
        enterprise,
        method: method_of(str_field(w, "visitType")?),
        check_in: Some(CheckIn {
            device_time: created,
            position: PositionFix::Fixed(position),
            photo_hash: None,
        }),
        operating_status: status_code(str_field(w, "status")?),
        notes: str_field(w, "note")?.to_string(),
    };
    let mut visit = VisitDoc::create(&new, &actor, dev.actor_id.clone(), created)?;
    let problems = w
        .get("problems")
        .and_then(Value::as_array)
        .context("workload field problems missing")?;
    let signed = w
        .get("signedByEnterprise")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut problem_docs = Vec::new();
    for (k, p) in problems.iter().enumerate().take(PROBLEMS_PER_VISIT) {
        let id = problem_id(visit_id, k);
        let new = NewProblem {
            id,
            enterprise,
            visit: Some(visit_id),
            source: ProblemSource::Visit,
            category: category_code(str_field(p, "category")?).to_string(),
            class: severity_class(str_field(p, "severity")?),
            tier: Tier::OnSite,
            owner: officer,
            leader: None,
            deadline: parse_time(str_field(p, "deadline")?)?,
            description: format!(
                "{} {} {}",
                str_field(p, "code")?,
                str_field(p, "title")?,
                str_field(p, "clause")?
            ),
            expectation: String::new(),
        };
        let doc = ProblemDoc::create(&new, config, &actor, dev.actor_id.clone(), created)?;
        problem_docs.push((
            DocId::new(shared::doc::DocKind::Problem, &id.to_string()),
            doc,
        ));
    }
    // The second change: the officers, the problems raised, the enterprise's signature.
    visit.edit(&actor, created, |e| {
        e.add_officer(officer)?;
        e.add_officer(co_officer)?;
        for k in 0..problem_docs.len() {
            e.add_problem(problem_id(visit_id, k))?;
        }
        if signed {
            e.confirm("企业负责人", created)?;
        }
        Ok(())
    })?;
    let visit_doc_id = DocId::new(shared::doc::DocKind::Visit, &visit_id.to_string());
    let replica = dev.client.replica_mut();
    replica.insert_new(visit_doc_id.clone(), visit.into_record());
    for (id, doc) in problem_docs {
        replica.insert_new(id, doc.into_record());
    }
    Ok(visit_doc_id.to_string())
}

/// What a group's documents say: the version, the content (every hydrated record, as the app
/// reads it), the workload-shaped fields an edit may change, and whether any scalar field holds
/// concurrent values awaiting a decision.
fn describe(docs: &mut [RecordDoc]) -> anyhow::Result<Value> {
    let mut heads: Vec<String> = Vec::new();
    for d in docs.iter_mut() {
        heads.extend(d.heads().iter().map(|h| h.to_string()));
    }
    heads.sort();
    let (visit_doc, problem_docs) = docs.split_first().context("empty group")?;
    let visit = VisitDoc::from_record(visit_doc.clone())?.read()?;
    let mut problems = Vec::new();
    for p in problem_docs {
        problems.push(ProblemDoc::from_record(p.clone())?.read()?);
    }
    let conflicted =
        !visit.needs_decision.is_empty() || problems.iter().any(|p| !p.needs_decision.is_empty());
    let view = json!({
        "status": status_name(visit.operating_status),
        "note": visit.notes,
        "problems": problems.iter().map(|p| json!({"severity": class_severity(p.class)})).collect::<Vec<_>>(),
    });
    Ok(json!({
        "version": heads.join(","),
        "content": {"visit": visit, "problems": problems},
        "view": view,
        "conflicted": conflicted,
    }))
}

// ---------------------------------------------------------------------------------------------
// Line protocol plumbing
// ---------------------------------------------------------------------------------------------

/// Writes one JSON reply per line on stdout, from any thread.
#[derive(Clone)]
struct Out(mpsc::UnboundedSender<String>);

impl Out {
    fn start() -> Out {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            let stdout = std::io::stdout();
            while let Some(line) = rx.blocking_recv() {
                let mut lock = stdout.lock();
                let mut lines = vec![line];
                while let Ok(more) = rx.try_recv() {
                    lines.push(more);
                }
                for l in lines {
                    if writeln!(lock, "{l}").is_err() {
                        return;
                    }
                }
                if lock.flush().is_err() {
                    return;
                }
            }
        });
        Out(tx)
    }

    fn reply(&self, id: &Value, result: anyhow::Result<Value>) {
        let line = match result {
            Ok(Value::Object(mut map)) => {
                map.insert("id".into(), id.clone());
                map.insert("ok".into(), Value::Bool(true));
                Value::Object(map)
            }
            Ok(other) => json!({"id": id, "ok": true, "value": other}),
            Err(e) => json!({"id": id, "error": format!("{e:#}")}),
        };
        let _ = self.0.send(line.to_string());
    }
}

/// Lines of stdin, parsed, on a channel (tokio's stdin needs a feature the crate does not use).
fn stdin_lines() -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("[lianxin-bench-client] bad command line: {e}"),
            }
        }
    });
    rx
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

/// Totals over every device, for the harness's error report.
#[derive(Default)]
struct Totals {
    requests: AtomicU64,
    failures: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    refused: AtomicU64,
}

/// One command for a device task, with where to answer.
struct Cmd {
    id: Value,
    body: Value,
}

fn devices() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let out = Out::start();
        let mut lines = stdin_lines();
        let totals = Arc::new(Totals::default());
        let mut devices: HashMap<String, mpsc::UnboundedSender<Cmd>> = HashMap::new();
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        let mut next_number: u64 = 0;
        while let Some(body) = lines.recv().await {
            let id = body.get("id").cloned().unwrap_or(Value::Null);
            let cmd = body.get("cmd").and_then(Value::as_str).unwrap_or("");
            let dev = body
                .get("dev")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match cmd {
                "new" => {
                    let url = body.get("url").and_then(Value::as_str).unwrap_or("");
                    let login = body
                        .get("login")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    next_number += 1;
                    let (tx, rx) = mpsc::unbounded_channel();
                    let device = Device::new(next_number, url, login, totals.clone());
                    tasks.push(tokio::spawn(device.run(rx, out.clone())));
                    devices.insert(dev, tx);
                    out.reply(&id, Ok(json!({})));
                }
                "stats" => out.reply(
                    &id,
                    Ok(json!({
                        "requests": totals.requests.load(Ordering::Relaxed),
                        "failures": totals.failures.load(Ordering::Relaxed),
                        "bytesUp": totals.bytes_up.load(Ordering::Relaxed),
                        "bytesDown": totals.bytes_down.load(Ordering::Relaxed),
                        "refused": totals.refused.load(Ordering::Relaxed),
                    })),
                ),
                "quit" => {
                    out.reply(&id, Ok(json!({})));
                    break;
                }
                _ => match devices.get(&dev) {
                    Some(tx) => {
                        if tx
                            .send(Cmd {
                                id: id.clone(),
                                body,
                            })
                            .is_err()
                        {
                            out.reply(&id, Err(anyhow!("device {dev} is closed")));
                        }
                    }
                    None => out.reply(&id, Err(anyhow!("no device {dev:?}"))),
                },
            }
        }
        drop(devices);
        for t in tasks {
            t.abort();
        }
    });
    // Give the writer thread a moment to flush the last replies.
    std::thread::sleep(Duration::from_millis(50));
    Ok(())
}

/// One device: the engine, its documents grouped as the harness sees them, and its links.
struct Device {
    native: NativeDevice,
    base_url: String,
    http: reqwest::Client,
    config: Config,
    groups: BTreeMap<String, Vec<DocId>>,
    online: bool,
    events: Option<JoinHandle<()>>,
    /// Push notices from the events listener, each with the sequence it announced.
    notices: (
        mpsc::UnboundedSender<Option<u64>>,
        mpsc::UnboundedReceiver<Option<u64>>,
    ),
    totals: Arc<Totals>,
    refused: u64,
    login: String,
    logged_in: bool,
    /// The device's number, as the request trace names it (`tests::trace`).
    number: u64,
}

type Sent = Result<(Vec<u8>, i64), Failure>;

impl Device {
    fn new(number: u64, base_url: &str, login: String, totals: Arc<Totals>) -> Device {
        let mut native = NativeDevice::new(0, base_url);
        // NativeDevice numbers devices with a u8; the harness may need more, so identities are
        // made here from the full number.
        native.actor = Actor {
            user: UserId::from_random_bytes(tests::device::id_bytes(11, number)),
            device: DeviceId::from_random_bytes(tests::device::id_bytes(12, number)),
            role: Role::Officer,
        };
        native.actor_id = ActorId::from(tests::device::id_bytes(13, number));
        native.client = shared::sync::client::SyncClient::new(shared::sync::replica::Replica::new(
            native.actor_id.clone(),
        ));
        native.fixed_elapsed_ms = None;
        native.timeout = Duration::from_secs(120);
        // A new device is offline until the harness says otherwise.
        let _ = native.client.handle(Input::Online(false), wall_clock(), 0);
        Device {
            native,
            base_url: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .unwrap_or_default(),
            config: Config::default(),
            groups: BTreeMap::new(),
            online: false,
            events: None,
            notices: mpsc::unbounded_channel(),
            totals,
            refused: 0,
            login,
            logged_in: false,
            number,
        }
    }

    /// Logs in once, as the app does before it works offline: the device then writes with the
    /// actor the server registered for it.
    async fn ensure_login(&mut self) -> anyhow::Result<()> {
        if self.logged_in {
            return Ok(());
        }
        let started = Instant::now();
        let info = self
            .native
            .login(&self.login, tests::district::PASSWORD)
            .await?;
        if info.status != 200 {
            bail!("login as {} refused: {}", self.login, info.body);
        }
        if self.native.client.replica().is_empty() {
            self.native.client = shared::sync::client::SyncClient::new(
                shared::sync::replica::Replica::new(self.native.actor_id.clone()),
            );
            let _ = self
                .native
                .client
                .handle(Input::Online(self.online), wall_clock(), 0);
        }
        self.logged_in = true;
        eprintln!(
            "[lianxin-bench-client] {} logged in in {} ms",
            self.login,
            started.elapsed().as_millis()
        );
        Ok(())
    }

    /// The device's event loop: commands, responses, timers and push notices, one at a time;
    /// every decision is the engine's.
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>, out: Out) {
        let mut inflight: Option<oneshot::Receiver<Sent>> = None;
        let mut wake: Option<tokio::time::Instant> = None;
        loop {
            let input = tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    let (result, input) = self.command(&cmd.body).await;
                    out.reply(&cmd.id, result);
                    if cmd.body.get("cmd").and_then(Value::as_str) == Some("close") {
                        break;
                    }
                    match input { Some(i) => i, None => continue }
                }
                sent = async { inflight.as_mut().expect("guarded").await }, if inflight.is_some() => {
                    inflight = None;
                    match sent {
                        Ok(Ok((body, elapsed_ms))) => {
                            tests::trace::event(self.number, json!({"ev": "ok", "down": body.len(), "ms": elapsed_ms}));
                            self.totals.bytes_down.fetch_add(body.len() as u64, Ordering::Relaxed);
                            Input::Response { body, elapsed_ms }
                        }
                        Ok(Err(f)) => {
                            tests::trace::event(self.number, json!({"ev": "failed", "why": format!("{f:?}")}));
                            self.totals.failures.fetch_add(1, Ordering::Relaxed);
                            self.native.traffic.failures += 1;
                            Input::Failed(f)
                        }
                        Err(_) => Input::Failed(Failure::Network),
                    }
                }
                () = async { tokio::time::sleep_until(wake.expect("guarded")).await }, if wake.is_some() => {
                    wake = None;
                    Input::Tick
                }
                Some(seq) = self.notices.1.recv(), if self.online => Input::PushNotice { seq },
            };
            let answered = matches!(input, Input::Response { .. });
            let mut queue = vec![input];
            while let Some(input) = queue.pop() {
                let random = rand::random::<u32>();
                for effect in self.native.client.handle(input, wall_clock(), random) {
                    match effect {
                        Effect::Send { body, .. } => {
                            tests::trace::event(
                                self.number,
                                json!({"ev": "send", "up": body.len()}),
                            );
                            self.native.traffic.requests += 1;
                            self.native.traffic.bytes_up += body.len();
                            self.totals.requests.fetch_add(1, Ordering::Relaxed);
                            self.totals
                                .bytes_up
                                .fetch_add(body.len() as u64, Ordering::Relaxed);
                            let (tx, rx) = oneshot::channel();
                            let request = self.post(body);
                            tokio::spawn(async move {
                                let _ = tx.send(request.await);
                            });
                            inflight = Some(rx);
                        }
                        // Documents live in memory for the bench: a batch is stored at once.
                        Effect::Persist(_) => queue.push(Input::Persisted),
                        Effect::WakeAt(t) => {
                            let wait = (t.0 - wall_clock().0).max(0) as u64;
                            tests::trace::event(self.number, json!({"ev": "wake", "in": wait}));
                            wake = Some(tokio::time::Instant::now() + Duration::from_millis(wait));
                        }
                    }
                }
            }
            if answered {
                let status = self.native.client.status();
                if let Some(error) = status.error {
                    eprintln!("[lianxin-bench-client] sync stopped: {error}");
                }
                let refused = status.refused.len() as u64;
                if refused != self.refused {
                    for (doc, why) in &status.refused {
                        eprintln!("[lianxin-bench-client] {doc} refused: {why}");
                    }
                    self.totals
                        .refused
                        .fetch_add(refused.saturating_sub(self.refused), Ordering::Relaxed);
                    self.refused = refused;
                }
            }
        }
        if let Some(events) = self.events.take() {
            events.abort();
        }
    }

    /// The request as the browser sends it: POST /api/sync with the device header.
    fn post(&self, body: Vec<u8>) -> impl Future<Output = Sent> + Send + 'static {
        let request = self
            .http
            .post(format!("{}/api/sync", self.base_url))
            .bearer_auth(self.native.token.clone().unwrap_or_default())
            .header("content-type", "application/x-lianxin-sync")
            .timeout(self.native.timeout)
            .body(body);
        async move {
            let started = Instant::now();
            let response = request.send().await.map_err(|_| Failure::Network)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|_| Failure::Network)?;
            if !status.is_success() {
                return Err(Failure::Http {
                    status: status.as_u16(),
                    message: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
            Ok((bytes.to_vec(), started.elapsed().as_millis() as i64))
        }
    }

    /// Listens to `GET /api/events` while online and turns each event into a push notice, as
    /// the browser does: each connect sends the last event id seen as `Last-Event-ID`, and a
    /// reconnect is a notice of its own (changes may have landed while the stream was down).
    fn listen(&mut self) {
        let url = format!("{}/api/events", self.base_url);
        let token = self.native.token.clone().unwrap_or_default();
        let http = self.http.clone();
        let notices = self.notices.0.clone();
        let mut last_id = Some(self.native.client.replica().cursor);
        self.events = Some(tokio::spawn(async move {
            let mut reconnect = false;
            loop {
                let mut request = http
                    .get(&url)
                    .bearer_auth(&token)
                    .header("accept", "text/event-stream");
                if let Some(id) = last_id {
                    request = request.header("last-event-id", id.to_string());
                }
                if let Ok(mut response) = request.send().await {
                    if reconnect && response.status().is_success() {
                        let _ = notices.send(None);
                    }
                    // Events end with a blank line; an unfinished one waits for the next chunk.
                    let mut pending = String::new();
                    while let Ok(Some(chunk)) = response.chunk().await {
                        pending.push_str(&String::from_utf8_lossy(&chunk));
                        while let Some(end) = pending.find("\n\n") {
                            let event: String = pending.drain(..end + 2).collect();
                            if event.contains("event:") {
                                let seq = notice_seq(&event);
                                last_id = last_id.max(seq);
                                let _ = notices.send(seq);
                            }
                        }
                    }
                }
                reconnect = true;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }

    async fn command(&mut self, body: &Value) -> (anyhow::Result<Value>, Option<Input>) {
        let cmd = body.get("cmd").and_then(Value::as_str).unwrap_or("");
        match cmd {
            "create" => match self.ensure_login().await {
                Ok(()) => (self.create(body), None),
                Err(e) => (Err(e), None),
            },
            "online" => {
                if let Err(e) = self.ensure_login().await {
                    return (Err(e), None);
                }
                self.online = true;
                if self.events.is_none() {
                    self.listen();
                }
                (Ok(json!({})), Some(Input::Online(true)))
            }
            "offline" | "close" => {
                self.online = false;
                if let Some(events) = self.events.take() {
                    events.abort();
                }
                let t = self.native.traffic;
                let result = json!({
                    "requests": t.requests, "bytesUp": t.bytes_up,
                    "bytesDown": t.bytes_down, "failures": t.failures,
                });
                (Ok(result), Some(Input::Online(false)))
            }
            "edit" => match self.edit(body) {
                Ok(changed) => (
                    Ok(json!({"changed": changed})),
                    changed.then_some(Input::LocalEdit),
                ),
                Err(e) => (Err(e), None),
            },
            "read" => (self.read(body), None),
            other => (Err(anyhow!("unknown device command {other:?}")), None),
        }
    }

    fn create(&mut self, body: &Value) -> anyhow::Result<Value> {
        let docs = body
            .get("docs")
            .and_then(Value::as_array)
            .context("create needs docs")?;
        let mut ids = Vec::with_capacity(docs.len());
        for w in docs {
            let id = create_group(&mut self.native, w, &self.config)?;
            self.groups.insert(id.clone(), group_of(&id)?);
            ids.push(id);
        }
        Ok(json!({"ids": ids}))
    }

    fn group(&mut self, id: &str) -> anyhow::Result<Vec<DocId>> {
        if let Some(g) = self.groups.get(id) {
            return Ok(g.clone());
        }
        let g = group_of(id)?;
        self.groups.insert(id.to_string(), g.clone());
        Ok(g)
    }

    fn read(&mut self, body: &Value) -> anyhow::Result<Value> {
        let id = body
            .get("docId")
            .and_then(Value::as_str)
            .context("read needs docId")?;
        let group = self.group(id)?;
        // Polling reads are cheap: the heads first, the whole group only when it changed.
        let mut heads: Vec<String> = Vec::new();
        for d in &group {
            match self.native.client.replica_mut().get_mut(d) {
                Some(entry) => heads.extend(entry.heads().iter().map(|h| h.to_string())),
                None => return Ok(json!({"doc": null})),
            }
        }
        heads.sort();
        let version = heads.join(",");
        if body.get("have").and_then(Value::as_str) == Some(version.as_str()) {
            return Ok(json!({"doc": {"version": version, "same": true}}));
        }
        let mut docs = Vec::with_capacity(group.len());
        for d in &group {
            let doc = self.native.client.replica().read(d).context("vanished")??;
            docs.push(doc.into_owned());
        }
        Ok(json!({"doc": describe(&mut docs)?}))
    }

    /// Applies a workload edit as typed edits: one change per document it touches. Returns
    /// whether anything changed (setting a field to the value it holds changes nothing).
    fn edit(&mut self, body: &Value) -> anyhow::Result<bool> {
        let id = body
            .get("docId")
            .and_then(Value::as_str)
            .context("edit needs docId")?;
        let group = self.group(id)?;
        let actor = self.native.actor;
        let now = wall_clock();
        let replica = self.native.client.replica_mut();
        let mut changed = false;
        let status = body.get("status").and_then(Value::as_str);
        let note = body.get("note").and_then(Value::as_str);
        if status.is_some() || note.is_some() {
            let stored = replica
                .doc_mut(&group[0])
                .context("no such visit on the device")??;
            let before = stored.heads();
            let mut visit = VisitDoc::from_record(stored.clone())?;
            visit.edit(&actor, now, |e| {
                if let Some(s) = status {
                    e.set_operating_status(status_code(s))?;
                }
                if let Some(n) = note {
                    e.set_notes(n)?;
                }
                Ok(())
            })?;
            *stored = visit.into_record();
            changed |= stored.heads() != before;
        }
        if let Some(severities) = body.get("severities").and_then(Value::as_array) {
            for pair in severities {
                let k = pair
                    .get(0)
                    .and_then(Value::as_u64)
                    .context("severity index")? as usize;
                let sev = pair
                    .get(1)
                    .and_then(Value::as_str)
                    .context("severity value")?;
                let doc = group.get(1 + k).context("no such problem")?;
                let stored = replica
                    .doc_mut(doc)
                    .context("no such problem on the device")??;
                let before = stored.heads();
                let mut problem = ProblemDoc::from_record(stored.clone())?;
                problem.edit(&self.config, &actor, now, |e| {
                    e.set_class(severity_class(sev))
                })?;
                *stored = problem.into_record();
                changed |= stored.heads() != before;
            }
        }
        Ok(changed)
    }
}

// ---------------------------------------------------------------------------------------------
// The server-side inspector
// ---------------------------------------------------------------------------------------------

fn inspect(db: PathBuf) -> anyhow::Result<()> {
    let mut store = server::store::SqliteStore::open(&db)
        .with_context(|| format!("opening {}", db.display()))?;
    let out = Out::start();
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    let mut matched: std::collections::BTreeSet<String> = Default::default();
    let mut want_docs: u64 = 0;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let body: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("[lianxin-bench-client inspect] bad line: {e}");
                continue;
            }
        };
        let id = body.get("id").cloned().unwrap_or(Value::Null);
        let result = match body.get("cmd").and_then(Value::as_str).unwrap_or("") {
            "expect" => {
                expected = body
                    .get("expected")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                matched.clear();
                want_docs = (expected.len() * (1 + PROBLEMS_PER_VISIT)) as u64;
                Ok(json!({}))
            }
            "check" => check(&mut store, &expected, &mut matched, want_docs),
            "read" => read_server(&mut store, &body),
            "quit" => break,
            other => Err(anyhow!("unknown inspector command {other:?}")),
        };
        out.reply(&id, result);
    }
    std::thread::sleep(Duration::from_millis(50));
    Ok(())
}

fn server_version(
    store: &mut server::store::SqliteStore,
    group: &[DocId],
) -> anyhow::Result<Option<String>> {
    let mut heads = Vec::new();
    for d in group {
        match store.load_doc(d)? {
            Some(stored) => heads.extend(stored.heads.iter().map(|h| h.to_string())),
            None => return Ok(None),
        }
    }
    heads.sort();
    Ok(Some(heads.join(",")))
}

fn check(
    store: &mut server::store::SqliteStore,
    expected: &BTreeMap<String, String>,
    matched: &mut std::collections::BTreeSet<String>,
    want_docs: u64,
) -> anyhow::Result<Value> {
    let total = expected.len();
    // Cheap first: until the server holds as many documents, nothing can match.
    let present = store.doc_count()?;
    if present < want_docs {
        let groups = (present / (1 + PROBLEMS_PER_VISIT as u64)) as usize;
        return Ok(json!({"matching": groups.min(total), "total": total, "precheck": true}));
    }
    for (id, version) in expected {
        if matched.contains(id) {
            continue;
        }
        if server_version(store, &group_of(id)?)?.as_deref() == Some(version.as_str()) {
            matched.insert(id.clone());
        }
    }
    Ok(json!({"matching": matched.len(), "total": total}))
}

fn read_server(store: &mut server::store::SqliteStore, body: &Value) -> anyhow::Result<Value> {
    let ids = body
        .get("ids")
        .and_then(Value::as_array)
        .context("read needs ids")?;
    let mut docs = serde_json::Map::new();
    for id in ids.iter().filter_map(Value::as_str) {
        let mut group = Vec::new();
        for d in group_of(id)? {
            match store.load_doc(&d)? {
                Some(stored) => group.push(
                    RecordDoc::load(&stored.bytes, ActorId::from([0u8; 16]))
                        .map_err(|e| anyhow!("{e}"))?,
                ),
                None => break,
            }
        }
        let value = if group.len() == 1 + PROBLEMS_PER_VISIT {
            let mut d = describe(&mut group)?;
            json!({"version": d["version"].take(), "content": d["content"].take()})
        } else {
            Value::Null
        };
        docs.insert(id.to_string(), value);
    }
    Ok(json!({"docs": docs}))
}

// ---------------------------------------------------------------------------------------------
// Setup: the users the harness's devices log in as
// ---------------------------------------------------------------------------------------------

/// Writes officers and their assignments into the database at `db` (created when missing),
/// from a JSON plan on stdin; workload enterprise keys become the ids the visits use.
fn setup(db: PathBuf) -> anyhow::Result<()> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
    let plan: Value = serde_json::from_str(&text).context("the setup plan is not JSON")?;
    let mut store = server::store::SqliteStore::open(&db)
        .with_context(|| format!("opening {}", db.display()))?;
    let town = tests::district::town(&mut store, "bench-town")?;
    let users = plan
        .get("users")
        .and_then(Value::as_array)
        .context("the plan needs users")?;
    for u in users {
        let login = u.get("login").and_then(Value::as_str).context("login")?;
        let user = tests::district::user(&mut store, login, Role::Officer, town)?;
        let enterprises: Vec<EnterpriseId> = u
            .get("enterprises")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|e| EnterpriseId::from_random_bytes(bytes_of(e)))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect()
            })
            .unwrap_or_default();
        tests::district::assign(&mut store, user.id, enterprises)?;
    }
    eprintln!("[lianxin-bench-client] setup: {} users", users.len());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sizes: what the documents cost on the wire, encoded two ways
// ---------------------------------------------------------------------------------------------

/// Requests of `docs`, split as the engine splits its outbox (`budget` bytes of documents
/// before compression per request), encoded as on the wire; returns (requests, bytes).
fn wire_bytes(
    docs: &[(DocId, Vec<u8>, Vec<shared::sync::protocol::Hash>)],
    budget: usize,
) -> (usize, usize) {
    use shared::sync::protocol::{DocPush, SyncRequest, encode};
    let (mut requests, mut total) = (0, 0);
    let mut push = Vec::new();
    let mut used = 0;
    let flush = |push: &mut Vec<DocPush>, requests: &mut usize, total: &mut usize| {
        let req = SyncRequest {
            cursor: 0,
            ack: 0,
            device_time: Timestamp(0),
            push: std::mem::take(push),
            max_response_bytes: 65_536,
            unsent: Some(0),
        };
        *requests += 1;
        *total += encode(&req).len();
    };
    for (id, data, heads) in docs {
        if !push.is_empty() && used + data.len() > budget {
            flush(&mut push, &mut requests, &mut total);
            used = 0;
        }
        used += data.len();
        push.push(DocPush {
            doc: id.clone(),
            base: Vec::new(),
            heads: heads.clone(),
            data: data.clone(),
        });
    }
    if !push.is_empty() {
        flush(&mut push, &mut requests, &mut total);
    }
    (requests, total)
}

fn sizes() -> anyhow::Result<()> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
    let records: Vec<Value> = serde_json::from_str(&text).context("a JSON array of records")?;
    let mut dev = NativeDevice::new(0, "http://127.0.0.1:1");
    let config = Config::default();
    for w in &records {
        create_group(&mut dev, w, &config)?;
    }
    let ids: Vec<DocId> = dev.client.replica().ids().cloned().collect();
    let (mut compressed, mut raw) = (Vec::new(), Vec::new());
    for id in ids {
        let doc = dev
            .client
            .replica_mut()
            .doc_mut(&id)
            .context("vanished")??;
        let heads = shared::sync::protocol::to_wire(&doc.heads());
        compressed.push((id.clone(), doc.save(), heads.clone()));
        raw.push((id, doc.automerge().save_nocompress(), heads));
    }
    let sum = |v: &[(DocId, Vec<u8>, Vec<shared::sync::protocol::Hash>)]| -> usize {
        v.iter().map(|(_, d, _)| d.len()).sum()
    };
    let mut out = serde_json::Map::new();
    out.insert("records".into(), json!(records.len()));
    out.insert("documents".into(), json!(compressed.len()));
    for (label, docs) in [("save", &compressed), ("save_nocompress", &raw)] {
        let (r32, b32) = wire_bytes(docs, 32 * 1024);
        let (r1m, b1m) = wire_bytes(docs, 1024 * 1024);
        out.insert(
            label.into(),
            json!({"documentBytes": sum(docs), "wire32KiB": {"requests": r32, "bytes": b32},
                   "wire1MiB": {"requests": r1m, "bytes": b1m}}),
        );
    }
    println!("{}", Value::Object(out));
    Ok(())
}
