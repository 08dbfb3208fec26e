//! The hostile link of issue 12 (`cargo xtask bench --hostile-only`, also part of the full run):
//! S1 (cold upload of the workload's 1,000 records) and S2 (a fresh device catches up) for every
//! peer, with notes that do not compress, on three links: loopback, the weak link without loss,
//! and the weak link with a seeded random schedule of cuts and refusals. Owns the hostile copy of
//! the harness (`target/bench/hostile`), its runs, and the report's "Hostile link" section with
//! the goal's verdicts.
//!
//! The copy is the harness's with three files swapped in (the harness in shared/ is not
//! touched): `bench/workload-random-notes.mjs` as `workload.mjs` (random CJK notes, the same for
//! every peer), `bench/server-logged.js` in front of each peer's server program (logs how many
//! records the server holds at each of the harness's checks), and `bench/proxy-cuts.mjs` as the
//! proxy (as in the main copy), whose hostile schedule `LIANXIN_PROXY_HOSTILE_SEED` turns on.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::bench::{
    HarnessRun, PEERS, SHAPE, copy_files, kib, ms, num, step, verdict, wait_harness,
};
use crate::workspace::show;

/// The seed of the cut/refusal schedule: the same schedule in every window, for every peer.
pub const SEED: u64 = 12;
/// The harness's wait for one window, in seconds: a peer that has not converged by then "did
/// not finish in 15 min".
const WINDOW_LIMIT_SECS: u64 = 900;
/// One harness run (S1 then S2, one repetition) is stopped after this long.
const RUN_LIMIT: Duration = Duration::from_secs(1500);
/// The goal: Lianxin's S1 on the hostile link takes at most this many times its S1 on the same
/// link without cuts …
const GOAL_TIME_RATIO: f64 = 2.5;
/// … and sends at most this many times the bytes up it sends on loopback.
const GOAL_BYTES_RATIO: f64 = 1.2;
/// The section's heading in BENCHMARKS.md.
pub const HEADING: &str = "## Hostile link (issue 12)";

/// The three links, as the harness's `--tag` of each run.
const LINKS: &[(&str, &str)] = &[
    ("loopback", "loopback"),
    ("shaped", "300 ms / 256 kbit, no loss"),
    (
        "hostile",
        "300 ms / 256 kbit, cuts every 3–10 s, refusals for 1–5 s",
    ),
];

/// The hostile copy of the harness, beside the main one.
pub fn dir(bench_dir: &Path) -> PathBuf {
    bench_dir.join("hostile")
}

/// Builds the hostile copy from the main copy (which `prepare_harness` has just refreshed, with
/// its packages installed): the same files, its `node_modules` linked, our three files swapped
/// in.
fn prepare(workspace_root: &Path, main: &Path, dest: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dest.join("peers"))?;
    copy_files(main, dest)?;
    copy_files(&main.join("peers"), &dest.join("peers"))?;
    let modules = dest.join("node_modules");
    if fs::symlink_metadata(&modules).is_err() {
        std::os::unix::fs::symlink(main.join("node_modules"), &modules)
            .context("linking the harness's node_modules into the hostile copy")?;
    }
    let swap = |file: &str, ours: &str| -> anyhow::Result<()> {
        let path = dest.join(file);
        let (stem, ext) = file
            .rsplit_once('.')
            .context("a file name with an extension")?;
        let real = dest.join(format!("{stem}-harness.{ext}"));
        let _ = fs::remove_file(&real);
        fs::rename(&path, &real).with_context(|| format!("renaming {file}"))?;
        fs::copy(workspace_root.join("bench").join(ours), &path)
            .with_context(|| format!("copying bench/{ours} to {file}"))?;
        Ok(())
    };
    swap("workload.mjs", "workload-random-notes.mjs")?;
    for server in [
        "peers/automerge-server.mjs",
        "peers/pouchdb-server.cjs",
        "peers/lianxin-server.mjs",
    ] {
        swap(server, "server-logged.js")?;
    }
    Ok(())
}

/// One run of the hostile copy: one peer on one link, one repetition of S1 and S2.
fn start(
    hostile: &Path,
    bin_dir: &Path,
    peer: &str,
    tag: &'static str,
    port: u16,
) -> anyhow::Result<HarnessRun> {
    let mut cmd = Command::new("node");
    cmd.current_dir(hostile)
        .args([
            "bench.mjs",
            "--peer",
            peer,
            "--reps",
            "1",
            "--scenarios",
            "S1,S2",
        ])
        .args(["--tag", tag, "--timeout", &WINDOW_LIMIT_SECS.to_string()])
        .args(["--server-port", &port.to_string()])
        .env("LIANXIN_BIN_DIR", bin_dir)
        .env("LIANXIN_PROXY_CUT_EVERY_MS", "0")
        .env(
            "LIANXIN_PROXY_LOG",
            hostile
                .join("data")
                .join(format!("{peer}-{tag}.proxy.jsonl")),
        )
        .stdin(Stdio::null());
    if peer == "lianxin" {
        // Every request and timer of the devices (`tests::trace`), for the notes' analysis.
        cmd.env(
            "LIANXIN_BENCH_TRACE",
            hostile
                .join("data")
                .join(format!("{peer}-{tag}.trace.jsonl")),
        );
    }
    if tag != "loopback" {
        cmd.args(["--shape", SHAPE])
            .env("AM_FIND_CONCURRENCY", "100");
    }
    if tag == "hostile" {
        cmd.env("LIANXIN_PROXY_HOSTILE_SEED", SEED.to_string());
    }
    let shown = show(&cmd);
    let child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
    Ok(HarnessRun {
        started: Instant::now(),
        child,
        shown,
        peer: peer.to_string(),
        tag,
        results: hostile.join("results"),
    })
}

/// Runs every peer on the three links: loopback one peer after the other (CPU-bound), then the
/// six shaped runs side by side (they wait on their own 256 kbit/s links, ports 17500, 17510, …).
pub fn run(
    workspace_root: &Path,
    main: &Path,
    bench_dir: &Path,
    bin_dir: &Path,
    peers: &[String],
) -> anyhow::Result<()> {
    let hostile = dir(bench_dir);
    prepare(workspace_root, main, &hostile)?;
    // Only these peers' earlier results go: `--peers lianxin` keeps the others' beside.
    fs::create_dir_all(hostile.join("results"))?;
    fs::create_dir_all(hostile.join("data"))?;
    for folder in ["results", "data"] {
        for entry in fs::read_dir(hostile.join(folder))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if peers.iter().any(|p| name.starts_with(&format!("{p}-"))) {
                let path = entry.path();
                let _ = fs::remove_dir_all(&path);
                let _ = fs::remove_file(&path);
            }
        }
    }
    for peer in peers {
        step(&format!("hostile workload, {peer}: loopback, S1-S2"));
        wait_harness(
            start(&hostile, bin_dir, peer, "loopback", 17500)?,
            RUN_LIMIT,
        )?;
    }
    step(&format!(
        "hostile workload on the weak link, without and with cuts (seed {SEED}), side by side: {}",
        peers.join(", ")
    ));
    let mut runs = Vec::new();
    let mut port = 17510;
    for peer in peers {
        for tag in ["shaped", "hostile"] {
            runs.push(start(&hostile, bin_dir, peer, tag, port)?);
            port += 10;
        }
    }
    for run in runs {
        wait_harness(run, RUN_LIMIT)?;
    }
    Ok(())
}

/// One peer on one link: its S1 and S2 records, or why they are missing.
struct Outcome {
    s1: Option<Value>,
    s2: Option<Value>,
    error: Option<String>,
    /// The server's last answer to the harness's check: (matching, total).
    arrived: Option<(u64, u64)>,
    /// Cuts and refused connections in S1's window (the proxy's log; window 1).
    cuts: usize,
    refused: u64,
}

fn outcome(hostile: &Path, peer: &str, tag: &str) -> Outcome {
    let mut o = Outcome {
        s1: None,
        s2: None,
        error: None,
        arrived: None,
        cuts: 0,
        refused: 0,
    };
    let raw = hostile.join("results").join(format!("{peer}-{tag}.raw"));
    for line in fs::read_to_string(&raw).unwrap_or_default().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(e) = v.get("error") {
            o.error
                .get_or_insert_with(|| e.as_str().unwrap_or("?").to_string());
        } else if v["scenario"] == "S1" {
            o.s1 = Some(v);
        } else if v["scenario"] == "S2" {
            o.s2 = Some(v);
        }
    }
    let data = hostile.join("data");
    let checks = data.join(format!("{peer}-{tag}-1.checks.jsonl"));
    o.arrived = fs::read_to_string(checks).ok().and_then(|t| {
        let v: Value = serde_json::from_str(t.lines().last()?).ok()?;
        Some((v["matching"].as_u64()?, v["total"].as_u64()?))
    });
    let proxy = data.join(format!("{peer}-{tag}.proxy.jsonl"));
    for line in fs::read_to_string(proxy).unwrap_or_default().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["window"] != 1 {
            continue;
        }
        match v["event"].as_str() {
            Some("cut") => o.cuts += 1,
            Some("accepting") => o.refused = v["refused"].as_u64().unwrap_or(o.refused),
            _ => {}
        }
    }
    o
}

impl Outcome {
    fn s1_ms(&self) -> Option<f64> {
        self.s1.as_ref().map(|v| num(v, "ms"))
    }
    fn s1_up(&self) -> Option<f64> {
        self.s1.as_ref().map(|v| num(v, "bytesUp"))
    }
    /// S1's time, or what happened instead.
    fn s1_text(&self) -> String {
        // bench.mjs's words when a window's wait runs out (anything else failed otherwise).
        let timed_out = self
            .error
            .as_ref()
            .is_none_or(|e| e.contains("timeout waiting for server has all docs"));
        let arrived = self.arrived.map_or("nothing arrived".into(), |(m, t)| {
            format!("{m} of {t} records arrived")
        });
        match &self.s1 {
            Some(v) => ms(num(v, "ms")),
            None if timed_out => format!(
                "did not finish in {} min ({arrived})",
                WINDOW_LIMIT_SECS / 60
            ),
            None => format!("failed, see below ({arrived})"),
        }
    }
    fn s2_text(&self) -> String {
        match (&self.s2, &self.s1) {
            (Some(v), _) => format!("{}, {} down", ms(num(v, "ms")), kib(num(v, "bytesDown"))),
            (None, Some(_)) => "did not finish".into(),
            (None, None) => "–".into(),
        }
    }
}

/// A ratio as text, or a dash when either side is missing.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => format!("{:.2}", a / b),
        _ => "–".into(),
    }
}

/// The section's body (without its heading), or None when no hostile run has results.
pub fn section(bench_dir: &Path) -> Option<String> {
    let hostile = dir(bench_dir);
    let results = hostile.join("results");
    if !fs::read_dir(&results)
        .ok()?
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "raw"))
    {
        return None;
    }
    render(&hostile).ok()
}

fn render(hostile: &Path) -> anyhow::Result<String> {
    let mut o = String::new();
    writeln!(
        o,
        "The workload's 1,000 records with notes that do not compress (500 code points drawn \
         uniformly from U+4E00..U+9FFF, seeded per record, the same for every peer: \
         `bench/workload-random-notes.mjs`), S1 (cold upload) then S2 (a fresh device catches \
         up), one repetition per peer and link, each window capped at {} min. Links: loopback; \
         the harness's shaper (300 ms one way, 256 kbit/s) without loss; the same with a seeded \
         schedule (seed {SEED}, the same in every window and for every peer, \
         `bench/proxy-cuts.mjs`): up for 3–10 s, then every open connection is reset, then every \
         new connection is refused (reset at accept) for 1–5 s, and again. The shaper's reads \
         arrive segment by segment (1,460 B, each when its last byte is due; a link without cuts \
         is as fast as before), so a cut loses what is still on the link. Bytes lost in a cut \
         count as sent. The six shaped runs ran side by side (each on its own link), the \
         loopback runs one after the other. Server memory is not reported here (the harness \
         measures a logging wrapper).",
        WINDOW_LIMIT_SECS / 60
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "| peer | link | S1 time | S1 up | S1 down | S1 requests or frames up | S1 conns | cuts / refused conns in S1 | S2 |"
    )?;
    writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")?;
    let mut table = Vec::new();
    for peer in PEERS {
        for (tag, link) in LINKS {
            let out = outcome(hostile, peer, tag);
            if out.s1.is_none() && out.error.is_none() && out.arrived.is_none() {
                continue;
            }
            let s1 = out.s1.as_ref();
            let field = |k: &str| s1.map_or("–".to_string(), |v| v[k].to_string());
            writeln!(
                o,
                "| {peer} | {link} | {} | {} | {} | {} | {} | {} | {} |",
                out.s1_text(),
                s1.map_or("–".into(), |v| kib(num(v, "bytesUp"))),
                s1.map_or("–".into(), |v| kib(num(v, "bytesDown"))),
                field("messagesUp"),
                field("connections"),
                if *tag == "hostile" {
                    format!("{} / {}", out.cuts, out.refused)
                } else {
                    "–".into()
                },
                out.s2_text()
            )?;
            table.push((*peer, *tag, out));
        }
    }
    writeln!(o)?;
    let get = |peer: &str, tag: &str| {
        table
            .iter()
            .find(|(p, t, _)| *p == peer && *t == tag)
            .map(|(_, _, o)| o)
    };
    writeln!(
        o,
        "| peer | S1 time, cut link ÷ same link without cuts | S1 bytes up, cut link ÷ loopback |"
    )?;
    writeln!(o, "| --- | --- | --- |")?;
    for peer in PEERS {
        let cut = get(peer, "hostile");
        writeln!(
            o,
            "| {peer} | {} | {} |",
            ratio(
                cut.and_then(Outcome::s1_ms),
                get(peer, "shaped").and_then(Outcome::s1_ms)
            ),
            ratio(
                cut.and_then(Outcome::s1_up),
                get(peer, "loopback").and_then(Outcome::s1_up)
            )
        )?;
    }
    writeln!(o)?;
    let cut = get("lianxin", "hostile");
    let time = cut
        .and_then(Outcome::s1_ms)
        .zip(get("lianxin", "shaped").and_then(Outcome::s1_ms))
        .map(|(a, b)| a / b);
    let bytes = cut
        .and_then(Outcome::s1_up)
        .zip(get("lianxin", "loopback").and_then(Outcome::s1_up))
        .map(|(a, b)| a / b);
    writeln!(o, "| goal (Lianxin, S1) | measured | verdict |")?;
    writeln!(o, "| --- | --- | --- |")?;
    writeln!(
        o,
        "| converges on the hostile link | {} | {} |",
        cut.map_or("not run".into(), Outcome::s1_text),
        verdict(cut.is_some_and(|c| c.s1.is_some()), "did not converge")
    )?;
    writeln!(
        o,
        "| time ≤ {GOAL_TIME_RATIO}× its own on the link without cuts | {} | {} |",
        time.map_or("–".into(), |r| format!("{r:.2}×")),
        match time {
            Some(r) => verdict(r <= GOAL_TIME_RATIO, &format!("{r:.2}×")),
            None => "not measured".into(),
        }
    )?;
    writeln!(
        o,
        "| bytes up ≤ {GOAL_BYTES_RATIO}× its own on loopback | {} | {} |",
        bytes.map_or("–".into(), |r| format!("{r:.2}×")),
        match bytes {
            Some(r) => verdict(r <= GOAL_BYTES_RATIO, &format!("{r:.2}×")),
            None => "not measured".into(),
        }
    )?;
    writeln!(o)?;
    let errors: Vec<String> = table
        .iter()
        .filter_map(|(p, t, o)| o.error.as_ref().map(|e| format!("- {p} {t}: {e}")))
        .collect();
    if !errors.is_empty() {
        writeln!(o, "Runs that did not finish, as the harness said:")?;
        writeln!(o)?;
        for e in errors {
            writeln!(o, "{e}")?;
        }
        writeln!(o)?;
    }
    writeln!(
        o,
        "Raw figures: `target/bench/hostile/results/*.raw`; per run the server's answers to the \
         harness's checks (`data/*.checks.jsonl`) and the proxy's cuts (`data/*.proxy.jsonl`). \
         Rerun alone: `cargo xtask bench --hostile-only` (about 30 min)."
    )?;
    Ok(o)
}
