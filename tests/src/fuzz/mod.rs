//! A small mutational fuzzer on stable Rust: seeded with real documents and sync messages
//! ([`seeds`]), it mutates them deterministically from a ChaCha8 stream ([`mutate`]) and feeds
//! them to the decoders the server runs on what devices send ([`Target`]), each execution under
//! `catch_unwind` with a silent panic hook. Panics are counted per target and the first input of
//! each panic location is kept; a panic where none may happen fails the run.
//!
//! No coverage instrumentation: a mutant that ends in an outcome not seen before (an error
//! message with its numbers left out) joins the corpus, a cheap stand-in for new coverage.
//!
//! Run it with `lianxin-fuzz` (`tests/src/bin/lianxin-fuzz.rs`); `tests/tests/fuzz_smoke.rs` is
//! the bounded CI run and `cargo xtask bench --fuzz-only` the long one (10 million executions).

pub mod minimize;
pub mod mutate;
mod panics;
pub mod seeds;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use shared::config::Config;
use shared::doc::RecordDoc;
use shared::model::DeviceId;
use shared::sync::memory::MemoryStore;
use shared::sync::protocol::{
    DocId, DocPush, Outcome, SyncRequest, SyncResponse, decode, decode_request, to_wire,
};
use shared::sync::server::{ServerStore as _, SyncContext, handle_sync};
use shared::sync::validate::{Scope, validate};

use self::mutate::Mutator;
pub use self::panics::{Caught, QuietPanics, catching};
use self::seeds::{Form, Seed, T0};

/// What the fuzzer feeds mutants to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// `decode_request` and `decode::<SyncResponse>` on any bytes: must not panic.
    Wire,
    /// `AutoCommit::load` (then `get_changes` on what it loaded), and `load_incremental` onto
    /// the seed's base: automerge's own panics are counted and kept, not failures (automerge
    /// 0.12 has some).
    Load,
    /// Load, then `RecordDoc::from_automerge` and `validate`: after a load that returned, no
    /// panic.
    Validate,
    /// `handle_sync` on a `MemoryStore` with the mutant pushed beside a good visit: returns, and
    /// the good visit is stored.
    Merge,
}

impl Target {
    /// Every target, in run order.
    pub const ALL: [Target; 4] = [Target::Wire, Target::Load, Target::Validate, Target::Merge];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Wire => "wire",
            Target::Load => "load",
            Target::Validate => "validate",
            Target::Merge => "merge",
        }
    }

    /// The target named `name`.
    pub fn parse(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What one execution came to.
enum Verdict {
    /// Ran to the end; the outcome's class (for corpus growth).
    Done(String),
    /// Automerge panicked inside a load (expected today).
    AutomergePanic(Caught),
}

/// One seed prepared for a target.
struct Prepared {
    seed: Seed,
    /// The document a change seed applies to, loaded (an empty document for whole documents).
    base: AutoCommit,
    /// For merges: a store holding the base already.
    store: MemoryStore,
}

/// The run's fixed context.
struct Context {
    config: Config,
    device: DeviceId,
    good_id: DocId,
    good_bytes: Vec<u8>,
    /// The good visit's heads, claimed by its push (so the response carries no copy back).
    good_heads: Vec<shared::sync::protocol::Hash>,
}

/// An outcome's class: an error message up to its first quote or bracket (values, hashes and
/// ids follow those), without its numbers, at most 60 characters.
fn class(prefix: &str, text: &str) -> String {
    let mut out = String::from(prefix);
    out.extend(
        text.chars()
            .take_while(|c| !matches!(c, '"' | '(' | '[' | '{'))
            .filter(|c| !c.is_ascii_digit())
            .take(60),
    );
    out
}

fn sync_context<'a>(config: &'a Config, device: DeviceId) -> SyncContext<'a> {
    SyncContext {
        declared: None,
        device,
        read: &Scope::All,
        write: &Scope::All,
        config,
        now: T0,
        limits: shared::sync::limits::Limits::DEVICE,
        authorship: None,
    }
}

/// A request pushing `data` as `doc` (no base, no claimed heads: it goes all the way to
/// validation) and then the good visit with its heads.
fn request(doc: &DocId, data: &[u8], ctx: &Context) -> SyncRequest {
    SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push: vec![
            DocPush {
                doc: doc.clone(),
                base: vec![],
                heads: vec![],
                data: data.to_vec(),
            },
            DocPush {
                doc: ctx.good_id.clone(),
                base: vec![],
                heads: ctx.good_heads.clone(),
                data: ctx.good_bytes.clone(),
            },
        ],
        max_response_bytes: 1 << 20,
        unsent: Some(0),
    }
}

impl Target {
    /// The seeds this target mutates, prepared.
    fn prepare(self, ctx: &Context) -> Vec<Prepared> {
        seeds::all()
            .into_iter()
            .filter(|s| match self {
                Target::Wire => true,
                Target::Load => s.direct && !matches!(s.form, Form::Wire),
                Target::Validate => s.direct && s.doc.is_some(),
                Target::Merge => s.doc.is_some(),
            })
            .map(|seed| {
                let (base, store) = match &seed.form {
                    Form::Changes { base } => {
                        let doc = AutoCommit::load(base).expect("a seed's base loads");
                        let mut store = MemoryStore::new();
                        if self == Target::Merge
                            && let Some(id) = &seed.doc
                        {
                            let sync = sync_context(&ctx.config, ctx.device);
                            let _ = handle_sync(&mut store, &sync, &request(id, base, ctx));
                            // Only the base: the good visit is pushed by every execution.
                            store.forget(&ctx.good_id);
                        }
                        (doc, store)
                    }
                    _ => (AutoCommit::new(), MemoryStore::new()),
                };
                Prepared { seed, base, store }
            })
            .collect()
    }

    /// One execution on `data`, mutated from `input`.
    fn exec(self, input: &Prepared, data: &[u8], ctx: &Context) -> Verdict {
        match self {
            Target::Wire => {
                let request = match decode_request(data) {
                    Ok((r, v)) => format!("request v{v} {} pushes", r.push.len().min(3)),
                    Err(e) => class("request: ", &e.to_string()),
                };
                let response = match decode::<SyncResponse>(data) {
                    Ok(_) => "response".to_string(),
                    Err(e) => class("response: ", &e.to_string()),
                };
                Verdict::Done(format!("{request} / {response}"))
            }
            Target::Load => {
                let loaded = match catching(|| AutoCommit::load(data)) {
                    Err(c) => return Verdict::AutomergePanic(c),
                    Ok(Ok(mut doc)) => {
                        // What the server does next with a loaded push.
                        if let Err(c) = catching(|| doc.get_changes(&[]).len()) {
                            return Verdict::AutomergePanic(c);
                        }
                        "load ok".to_string()
                    }
                    Ok(Err(e)) => class("load: ", &e.to_string()),
                };
                let mut base = input.base.clone();
                let incremental = match catching(|| base.load_incremental(data)) {
                    Err(c) => return Verdict::AutomergePanic(c),
                    Ok(Ok(n)) => format!("incremental ok {}", n.min(1)),
                    Ok(Err(e)) => class("incremental: ", &e.to_string()),
                };
                Verdict::Done(format!("{loaded} / {incremental}"))
            }
            Target::Validate => {
                let Some(id) = &input.seed.doc else {
                    return Verdict::Done("no document".into());
                };
                let mut doc = input.base.clone();
                match catching(|| doc.load_incremental(data)) {
                    Err(c) => return Verdict::AutomergePanic(c),
                    Ok(Err(e)) => return Verdict::Done(class("incremental: ", &e.to_string())),
                    Ok(Ok(_)) => {}
                }
                // From here on, nothing may panic.
                let record = match RecordDoc::from_automerge(doc) {
                    Ok(r) => r,
                    Err(e) => return Verdict::Done(class("record: ", &e.to_string())),
                };
                Verdict::Done(match validate(id, &record, &ctx.config) {
                    Ok(_) => "valid".into(),
                    Err(r) => class("refused: ", &r.to_string()),
                })
            }
            Target::Merge => {
                let Some(id) = &input.seed.doc else {
                    return Verdict::Done("no document".into());
                };
                let mut store = input.store.clone();
                let sync = sync_context(&ctx.config, ctx.device);
                let req = request(id, data, ctx);
                let response = match handle_sync(&mut store, &sync, &req) {
                    Ok(r) => r,
                    Err(e) => panic!("the memory store failed: {e}"),
                };
                let good = response.results.iter().find(|r| r.doc == ctx.good_id);
                assert!(
                    matches!(good.map(|r| &r.outcome), Some(Outcome::Accepted { .. })),
                    "the good visit pushed beside the mutant is accepted"
                );
                assert!(
                    matches!(store.load_doc(&ctx.good_id), Ok(Some(_))),
                    "the good visit pushed beside the mutant is stored"
                );
                Verdict::Done(match &response.results[0].outcome {
                    Outcome::Accepted { .. } => "accepted".into(),
                    Outcome::Resend { .. } => "resend".into(),
                    Outcome::Refused(r) => class("refused: ", &r.to_string()),
                })
            }
        }
    }
}

/// One distinct panic (by target and location).
#[derive(Debug, Clone)]
pub struct Crash {
    /// Where and what.
    pub caught: Caught,
    /// Automerge's own panic inside a load (expected today), not a failure.
    pub expected: bool,
    /// How many executions ended in it.
    pub count: u64,
    /// The seed the first such input was mutated from.
    pub seed: String,
    /// The first such input.
    pub input: Vec<u8>,
    /// Where the input was saved.
    pub saved: Option<PathBuf>,
}

/// What a run of one target found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target.
    pub target: Target,
    /// Executions run.
    pub execs: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Distinct outcome classes seen (errors by message without numbers).
    pub outcomes: usize,
    /// Inputs in the corpus at the end (seeds and kept mutants).
    pub corpus: usize,
    /// Distinct panics by location.
    pub crashes: BTreeMap<String, Crash>,
}

impl Report {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Panics that fail the run (anything but automerge's own inside a load).
    pub fn failures(&self) -> u64 {
        self.crashes
            .values()
            .filter(|c| !c.expected)
            .map(|c| c.count)
            .sum()
    }

    /// Automerge's own panics inside a load.
    pub fn expected_panics(&self) -> u64 {
        self.crashes
            .values()
            .filter(|c| c.expected)
            .map(|c| c.count)
            .sum()
    }

    /// One line per target, then one per distinct panic.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{:<9} {:>10} execs in {:>7.1} s = {:>8.0}/s; {} outcome classes, corpus {}; \
             panics: {} failing, {} automerge (expected)",
            self.target.name(),
            self.execs,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.outcomes,
            self.corpus,
            self.failures(),
            self.expected_panics(),
        );
        for (location, c) in &self.crashes {
            out.push_str(&format!(
                "\n    {} x{} at {location}: {} (seed {}, {} bytes{})",
                if c.expected { "expected" } else { "FAILING" },
                c.count,
                c.caught.message,
                c.seed,
                c.input.len(),
                c.saved
                    .as_ref()
                    .map(|p| format!(", saved {}", p.display()))
                    .unwrap_or_default()
            ));
        }
        out
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Executions per target.
    pub execs: u64,
    /// The PRNG seed: the same seed and count give the same inputs.
    pub seed: u64,
    /// Where to save the first input of each distinct panic (`<target>-<location>.bin`, and a
    /// `.txt` saying what it did).
    pub crashes: Option<PathBuf>,
}

/// Most mutants kept beside the seeds.
const MAX_KEPT: usize = 512;

fn slug(location: &str) -> String {
    location
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn save(dir: &Path, target: Target, crash: &Crash) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let stem = format!("{}-{}", target.name(), slug(&crash.caught.location));
    let bin = dir.join(format!("{stem}.bin"));
    std::fs::write(&bin, &crash.input).ok()?;
    let text = format!(
        "target: {}\nlocation: {}\nmessage: {}\nexpected (automerge inside a load): {}\n\
         mutated from seed: {}\nbytes: {}\n",
        target.name(),
        crash.caught.location,
        crash.caught.message,
        crash.expected,
        crash.seed,
        crash.input.len()
    );
    std::fs::write(dir.join(format!("{stem}.txt")), text).ok()?;
    Some(bin)
}

/// Fuzzes one target for `options.execs` executions.
pub fn run(target: Target, options: &Options) -> Report {
    let (good_id, good) = seeds::new_visit(200);
    let mut good = good.into_record();
    let ctx = Context {
        config: Config::default(),
        device: DeviceId::from_random_bytes([2; 16]),
        good_id,
        good_bytes: good.automerge().save_nocompress(),
        good_heads: to_wire(&good.heads()),
    };
    let inputs = target.prepare(&ctx);
    let mut corpus: Vec<(usize, Vec<u8>)> = inputs
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.seed.bytes.clone()))
        .collect();
    let seeds = corpus.len();
    let mut mutator = Mutator::new(ChaCha8Rng::seed_from_u64(
        options.seed ^ (target as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    ));
    let mut classes: BTreeSet<String> = BTreeSet::new();
    let mut crashes: BTreeMap<String, Crash> = BTreeMap::new();
    let quiet = QuietPanics::install();
    let started = Instant::now();
    for n in 0..options.execs {
        // The seeds themselves first, then mutants.
        let (origin, data) = if (n as usize) < corpus.len().min(seeds) {
            corpus[n as usize].clone()
        } else {
            let (origin, parent) = &corpus[mutator.below(corpus.len())];
            let donor = &corpus[mutator.below(corpus.len())].1;
            (*origin, mutator.mutate(parent, donor))
        };
        let input = &inputs[origin];
        let (verdict, expected) = match catching(|| target.exec(input, &data, &ctx)) {
            Ok(Verdict::Done(class)) => {
                if classes.len() < 100_000 && classes.insert(class) && n as usize >= seeds {
                    if corpus.len() - seeds < MAX_KEPT {
                        corpus.push((origin, data));
                    } else {
                        let at = seeds + mutator.below(MAX_KEPT);
                        corpus[at] = (origin, data);
                    }
                }
                continue;
            }
            Ok(Verdict::AutomergePanic(c)) => (c, true),
            Err(c) => (c, false),
        };
        let crash = crashes
            .entry(verdict.location.clone())
            .or_insert_with(|| Crash {
                caught: verdict.clone(),
                expected,
                count: 0,
                seed: input.seed.name.clone(),
                input: data.clone(),
                saved: None,
            });
        crash.count += 1;
        if crash.count == 1
            && let Some(dir) = &options.crashes
        {
            crash.saved = save(dir, target, crash);
        }
    }
    let elapsed = started.elapsed();
    drop(quiet);
    Report {
        target,
        execs: options.execs,
        elapsed,
        outcomes: classes.len(),
        corpus: corpus.len(),
        crashes,
    }
}

/// Automerge's panic on `data` in either load (`AutoCommit::load` and `get_changes` on what
/// it loaded, or `load_incremental` onto an empty document and onto `base`), if any. Call with
/// [`QuietPanics`] installed.
pub fn load_panic(data: &[u8], base: Option<&AutoCommit>) -> Option<Caught> {
    match catching(|| AutoCommit::load(data)) {
        Err(c) => return Some(c),
        Ok(Ok(mut doc)) => {
            if let Err(c) = catching(|| doc.get_changes(&[]).len()) {
                return Some(c);
            }
        }
        Ok(Err(_)) => {}
    }
    if let Err(c) = catching(|| AutoCommit::new().load_incremental(data)) {
        return Some(c);
    }
    let mut doc = base?.clone();
    catching(|| doc.load_incremental(data)).err()
}
