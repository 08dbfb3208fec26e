//! Benchmark of the server's CPU per pushed document (not a timed test): one officer's device
//! uploads N visit records (a visit and three problems each, the shape of the harness's S1
//! workload) to a temp-file `SqliteStore` in requests of `--chunk` documents, then edits every
//! document once and pushes the edits. Each request goes through the engine's phases as the
//! server runs them (`parse_pushes`, `read_pushed`, `merge_pushed`, `finish_sync`: together
//! `handle_sync`), with the server's authorship and role rules, each phase timed with
//! `Instant`. Building the documents on the "device" is not timed. Two baselines are measured
//! in the same run, over the same pushed bytes: Automerge's `load` of each document alone, and
//! SQLite storing the bytes (one row each, one transaction a request, the store's WAL and
//! `synchronous=FULL`); the cold upload is reported as ratios to them.
//!
//! ```text
//! cargo run --release -p server --example push_cpu -- [--records N] [--chunk N] [--reps N]
//!     [--note-chars N] [--keep FILE]
//! ```
//!
//! With `--reps` above 1 each run starts from a new store; the figures printed are the best
//! run's (the least disturbed by other load on the machine) and the median's.
//!
//! It also reports the store's size after the cold upload and after the edits: the database
//! file and its WAL as they are on disk (what the bench harness counts as the server's data
//! folder), and each table's and index's share of the file (SQLite's `dbstat`). With
//! `--note-chars 500` each visit's notes are as long as the harness workload's (S1).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use automerge::ChangeHash;
use server::auth::RoleRules;
use server::store::{Device, SqliteStore};
use shared::config::Config;
use shared::doc::{ActorId, DocKind, NewProblem, NewVisit, ProblemDoc, RecordDoc, VisitDoc};
use shared::model::{
    Actor, CheckIn, DeviceId, EnterpriseId, OperatingStatus, OrgUnitId, Position, PositionFix,
    ProblemClass, ProblemId, ProblemSource, Role, Tier, Timestamp, User, UserId, VisitId,
    VisitMethod,
};
use shared::sync::limits::Limits;
use shared::sync::protocol::{DocId, DocPush, Outcome, SyncRequest, to_wire};
use shared::sync::server::{
    SyncContext, WriteCheck, finish_sync, merge_pushed, parse_pushes, read_pushed,
};
use shared::sync::validate::Scope;

const T0: Timestamp = Timestamp(1_793_491_200_000);
const PROBLEMS_PER_VISIT: usize = 3;

struct Args {
    records: usize,
    chunk: usize,
    reps: usize,
    /// Visit notes padded to this many characters (0: a short sentence).
    note_chars: usize,
    /// Where to write the store, kept after the run (default: a temporary directory).
    keep: Option<std::path::PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        records: 1000,
        chunk: 100,
        reps: 3,
        note_chars: 0,
        keep: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--records" => a.records = value.parse()?,
            "--chunk" => a.chunk = value.parse()?,
            "--reps" => a.reps = value.parse()?,
            "--note-chars" => a.note_chars = value.parse()?,
            "--keep" => a.keep = Some(value.into()),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn bytes(tag: u8, n: usize) -> [u8; 16] {
    let mut b = [tag; 16];
    // Clear of the bits a UUID's version and variant take.
    b[10..16].copy_from_slice(&(n as u64).to_le_bytes()[..6]);
    b
}

/// One document on the device: its id, its Automerge document and what the server has of it.
struct DeviceDoc {
    id: DocId,
    doc: RecordDoc,
    acked: Vec<ChangeHash>,
}

/// Phrases of an inspection note, as the harness's workload writes them.
const PHRASES: [&str; 8] = [
    "企业现场检查发现",
    "消防通道堆放杂物",
    "灭火器压力不足",
    "要求企业立即整改",
    "限期十五日内完成整改",
    "负责人已签字确认",
    "，",
    "。",
];

/// Visit `n`'s notes: a sentence, padded with phrases to `chars` characters.
fn notes(n: usize, chars: usize) -> String {
    let mut s = format!("第{n}次走访：企业生产正常，用电平稳，反映用工和审批问题。");
    let mut k = n;
    while s.chars().count() < chars {
        k = k.wrapping_mul(2_654_435_761).wrapping_add(1) % 1_000_003;
        s.push_str(PHRASES[k % PHRASES.len()]);
    }
    if chars > 0 {
        s = s.chars().take(chars).collect();
    }
    s
}

/// The device's records: a visit (two changes, like the harness's) and its problems.
fn build(
    records: usize,
    note_chars: usize,
    actor: &Actor,
    actor_id: &ActorId,
    config: &Config,
) -> Vec<DeviceDoc> {
    let mut docs = Vec::with_capacity(records * (1 + PROBLEMS_PER_VISIT));
    for n in 0..records {
        let visit_id = VisitId::from_random_bytes(bytes(1, n));
        let enterprise = EnterpriseId::from_random_bytes(bytes(2, n % 40));
        let created = Timestamp(T0.0 + n as i64 * 60_000);
        let new = NewVisit {
            id: visit_id,
            enterprise,
            method: VisitMethod::OnSite,
            check_in: Some(CheckIn {
                device_time: created,
                position: PositionFix::Fixed(
                    Position::new(30.1 + n as f64 * 1e-4, 120.2, 10.0).expect("a position"),
                ),
                photo_hash: None,
            }),
            operating_status: OperatingStatus::Normal,
            notes: notes(n, note_chars),
        };
        let mut visit =
            VisitDoc::create(&new, actor, actor_id.clone(), created).expect("a new visit");
        let mut problems = Vec::new();
        for k in 0..PROBLEMS_PER_VISIT {
            let id = ProblemId::from_random_bytes(bytes(3 + k as u8, n));
            let new = NewProblem {
                id,
                enterprise,
                visit: Some(visit_id),
                source: ProblemSource::Visit,
                category: ["labour", "approvals", "power"][k].into(),
                class: ProblemClass::B,
                tier: Tier::OnSite,
                owner: actor.user,
                leader: None,
                deadline: Timestamp(created.0 + 7 * 86_400_000),
                description: format!("P-{n}-{k} 企业反映的问题，需要协调解决 第{k}条"),
                expectation: String::new(),
            };
            let doc = ProblemDoc::create(&new, config, actor, actor_id.clone(), created)
                .expect("a new problem");
            problems.push((id, doc));
        }
        visit
            .edit(actor, created, |e| {
                e.add_officer(actor.user)?;
                for (id, _) in &problems {
                    e.add_problem(*id)?;
                }
                e.confirm("企业负责人", created)
            })
            .expect("the visit's second change");
        docs.push(DeviceDoc {
            id: DocId::new(DocKind::Visit, &visit_id.to_string()),
            doc: visit.into_record(),
            acked: Vec::new(),
        });
        for (id, doc) in problems {
            docs.push(DeviceDoc {
                id: DocId::new(DocKind::Problem, &id.to_string()),
                doc: doc.into_record(),
                acked: Vec::new(),
            });
        }
    }
    docs
}

/// Time spent in each phase of the engine.
#[derive(Default, Clone, Copy)]
struct Phases {
    parse: Duration,
    read: Duration,
    merge: Duration,
    finish: Duration,
    docs: usize,
}

impl Phases {
    fn total(&self) -> Duration {
        self.parse + self.read + self.merge + self.finish
    }

    fn per_doc_ms(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e3 / self.docs.max(1) as f64
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name}: {:.4} ms/doc (parse {:.4}, read {:.4}, merge {:.4}, finish {:.4}) over {} docs",
            self.per_doc_ms(self.total()),
            self.per_doc_ms(self.parse),
            self.per_doc_ms(self.read),
            self.per_doc_ms(self.merge),
            self.per_doc_ms(self.finish),
            self.docs
        )
    }
}

/// The device's sync position.
struct SyncPosition {
    cursor: u64,
    ack: u64,
}

/// Pushes every document's changes after its acknowledged heads, `chunk` documents a request,
/// timing the server's phases.
fn push_all(
    store: &mut SqliteStore,
    ctx: &SyncContext<'_>,
    docs: &mut [DeviceDoc],
    chunk: usize,
    at: &mut SyncPosition,
) -> anyhow::Result<Phases> {
    let mut phases = Phases::default();
    for group in docs.chunks_mut(chunk) {
        let push: Vec<DocPush> = group
            .iter_mut()
            .map(|d| {
                let heads = d.doc.heads();
                let data = if d.acked.is_empty() {
                    d.doc.automerge().save_nocompress()
                } else {
                    d.doc.automerge().save_after(&d.acked)
                };
                DocPush {
                    doc: d.id.clone(),
                    base: to_wire(&d.acked),
                    heads: to_wire(&heads),
                    data,
                }
            })
            .collect();
        let req = SyncRequest {
            cursor: at.cursor,
            ack: at.ack,
            device_time: ctx.now,
            push,
            max_response_bytes: 1 << 20,
            unsent: Some(0),
        };
        let t = Instant::now();
        let parsed = parse_pushes(&ctx.limits, &req).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t1 = Instant::now();
        let read = read_pushed(store, ctx, &req, parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t2 = Instant::now();
        let prepared = merge_pushed(ctx, &req, read);
        let t3 = Instant::now();
        let response = finish_sync(store, ctx, &req, prepared)?;
        let t4 = Instant::now();
        phases.parse += t1 - t;
        phases.read += t2 - t1;
        phases.merge += t3 - t2;
        phases.finish += t4 - t3;
        phases.docs += group.len();
        for (d, r) in group.iter_mut().zip(&response.results) {
            match &r.outcome {
                Outcome::Accepted { .. } => d.acked = d.doc.heads(),
                other => {
                    anyhow::bail!("{} (acked {:?}) was not accepted: {other:?}", d.id, d.acked)
                }
            }
        }
        at.cursor = response.cursor;
        at.ack = response.delivery;
    }
    Ok(phases)
}

/// The store's size on disk, and each table's and index's bytes in the database file.
struct Disk {
    file: u64,
    wal: u64,
    /// Each table's and index's bytes in the file, and how many of them are unused.
    by_name: Vec<(String, u64, u64)>,
}

impl Disk {
    fn measure(db: &Path) -> anyhow::Result<Disk> {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let conn = rusqlite::Connection::open(db)?;
        let mut stmt = conn.prepare(
            "SELECT name, SUM(pgsize), SUM(unused) FROM dbstat GROUP BY name \
             HAVING SUM(pgsize) > 16384 ORDER BY 2 DESC",
        )?;
        let by_name = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Disk {
            file: size(db),
            wal: size(Path::new(&wal)),
            by_name,
        })
    }

    fn lines(&self, name: &str, records: usize) -> String {
        let kib = |b: u64| b as f64 / 1024.0;
        let mut out = format!(
            "{name}: {:.0} KiB on disk ({:.0} KiB database + {:.0} KiB WAL), {:.0} bytes a record",
            kib(self.file + self.wal),
            kib(self.file),
            kib(self.wal),
            (self.file + self.wal) as f64 / records.max(1) as f64
        );
        for (table, bytes, unused) in &self.by_name {
            out.push_str(&format!(
                "\n    {table}: {:.0} KiB ({:.0} unused)",
                kib(*bytes),
                kib(*unused)
            ));
        }
        out
    }
}

/// Baselines measured in the same run, per document of the cold upload: Automerge's `load` of
/// each pushed document alone, and SQLite storing the same bytes (one row each, keyed by the
/// document's id, one transaction per request, WAL with `synchronous=FULL` as the store).
#[derive(Default, Clone, Copy)]
struct Baselines {
    load: Duration,
    insert: Duration,
    docs: usize,
}

fn baselines(dir: &Path, docs: &mut [DeviceDoc], chunk: usize) -> anyhow::Result<Baselines> {
    let pushed: Vec<(String, Vec<u8>)> = docs
        .iter_mut()
        .map(|d| (d.id.to_string(), d.doc.automerge().save_nocompress()))
        .collect();
    let t = Instant::now();
    for (_, bytes) in &pushed {
        std::hint::black_box(automerge::AutoCommit::load(bytes)?);
    }
    let load = t.elapsed();
    let mut conn = rusqlite::Connection::open(dir.join("baseline.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch("CREATE TABLE docs (id TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL)")?;
    let t = Instant::now();
    for group in pushed.chunks(chunk) {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO docs (id, bytes) VALUES (?1, ?2)")?;
            for (id, bytes) in group {
                insert.execute(rusqlite::params![id, bytes])?;
            }
        }
        tx.commit()?;
    }
    Ok(Baselines {
        load,
        insert: t.elapsed(),
        docs: pushed.len(),
    })
}

fn run(args: &Args, config: &Config) -> anyhow::Result<(Phases, Phases, Disk, Disk, Baselines)> {
    let dir = tempfile::tempdir()?;
    let db = match &args.keep {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            path.clone()
        }
        None => dir.path().join("push_cpu.db"),
    };
    let mut store = SqliteStore::open(&db)?;
    let user = User {
        id: UserId::from_random_bytes([11; 16]),
        login: "wang".into(),
        name: "王芳".into(),
        role: Role::Officer,
        org_unit: OrgUnitId::from_random_bytes([12; 16]),
    };
    let actor_id = ActorId::from([13u8; 16]);
    let device = Device {
        id: DeviceId::from_random_bytes([14; 16]),
        user: user.id,
        name: "王芳的手机".into(),
        actor_id: actor_id.to_hex_string(),
        registered_at: T0,
        revoked_at: None,
        last_seen: T0,
    };
    let actor = Actor {
        user: user.id,
        device: device.id,
        role: Role::Officer,
    };
    let mut docs = build(args.records, args.note_chars, &actor, &actor_id, config);
    let base = baselines(dir.path(), &mut docs, args.chunk)?;
    let rules = RoleRules::new(user, &device, Timestamp(T0.0 + 86_400_000));
    let check: &dyn WriteCheck = &rules;
    let ctx = SyncContext {
        declared: None,
        device: device.id,
        read: &Scope::All,
        write: &Scope::All,
        config,
        now: Timestamp(T0.0 + 86_400_000),
        limits: Limits::DEVICE,
        authorship: Some(check),
    };
    let mut at = SyncPosition { cursor: 0, ack: 0 };
    let cold = push_all(&mut store, &ctx, &mut docs, args.chunk, &mut at)?;
    let cold_disk = Disk::measure(&db)?;
    let later = Timestamp(T0.0 + 2 * 86_400_000);
    for (n, d) in docs.iter_mut().enumerate() {
        let record = d.doc.clone();
        d.doc = match d.id.kind() {
            DocKind::Visit => {
                let mut v = VisitDoc::from_record(record)?;
                v.edit(&actor, later, |e| {
                    e.set_notes(&format!("回访{n}：问题已协调"))
                })?;
                v.into_record()
            }
            _ => {
                let mut p = ProblemDoc::from_record(record)?;
                p.edit(config, &actor, later, |e| {
                    e.set_description(&format!("P-{n} 企业反映的问题，已协调电力部门"))
                })?;
                p.into_record()
            }
        };
    }
    let edits = push_all(&mut store, &ctx, &mut docs, args.chunk, &mut at)?;
    let edits_disk = Disk::measure(&db)?;
    Ok((cold, edits, cold_disk, edits_disk, base))
}

fn median(mut v: Vec<Phases>) -> Phases {
    v.sort_by_key(Phases::total);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let config = Config::default();
    let mut colds = Vec::new();
    let mut edits = Vec::new();
    let mut disks = None;
    let mut bases = Vec::new();
    for _ in 0..args.reps.max(1) {
        let (cold, edit, cold_disk, edit_disk, base) = run(&args, &config)?;
        disks = Some((cold_disk, edit_disk));
        bases.push(base);
        eprintln!("{}", cold.line("  run: cold upload"));
        eprintln!("{}", edit.line("  run: one edit each"));
        colds.push(cold);
        edits.push(edit);
    }
    let best = |v: &[Phases]| *v.iter().min_by_key(|p| p.total()).expect("one run");
    println!(
        "records {}, documents {}, {} documents a request, {} runs",
        args.records,
        colds[0].docs,
        args.chunk,
        colds.len()
    );
    let best_cold = best(&colds);
    let per_doc = |d: Duration, n: usize| d.as_secs_f64() * 1e3 / n.max(1) as f64;
    let load = bases
        .iter()
        .map(|b| per_doc(b.load, b.docs))
        .fold(f64::MAX, f64::min);
    let insert = bases
        .iter()
        .map(|b| per_doc(b.insert, b.docs))
        .fold(f64::MAX, f64::min);
    let server = best_cold.per_doc_ms(best_cold.total());
    println!(
        "baselines, best: Automerge load {load:.4} ms/doc, SQLite insert of the same bytes \
         {insert:.4} ms/doc; cold upload ÷ load {:.2}, ÷ insert {:.2}, ÷ (load + insert) {:.2}",
        server / load,
        server / insert,
        server / (load + insert)
    );
    println!("{}", best_cold.line("cold upload, best"));
    println!("{}", median(colds).line("cold upload, median"));
    println!("{}", best(&edits).line("one edit each, best"));
    println!("{}", median(edits).line("one edit each, median"));
    if let Some((cold, edits)) = disks {
        println!("{}", cold.lines("disk after the cold upload", args.records));
        println!("{}", edits.lines("disk after one edit each", args.records));
    }
    Ok(())
}
