//! `cargo xtask bench`: Lianxin side by side with automerge-repo and PouchDB on the peer
//! harness of `../shared/bench/peers` (copied into `target/bench/harness`, our adapter from
//! `bench/` added), then Lianxin's own scale scenarios (`tests/src/bin/lianxin-scale.rs`), and
//! the report: `BENCHMARKS.md` at the workspace root. Not part of the CI test run.
//! `--fuzz-only` runs the fuzzer's long run instead (`tests/src/bin/lianxin-fuzz.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::bench_browser;
use crate::bench_hostile;
use crate::workspace::{Workspace, cargo, run_checked, show};

/// The peers, in report order.
pub(crate) const PEERS: &[&str] = &["automerge", "pouchdb", "lianxin"];
/// Scenarios in the order the harness opens their windows.
const WINDOWS: &[&str] = &["S1", "S2", "S3", "S4-setup", "S4"];
/// The weak link of the issue: 300 ms one way, 256 kbit/s.
pub(crate) const SHAPE: &str = "300,256";
/// The weak link's loss, by default: every open connection is cut every 20 s
/// (`bench/proxy-cuts.mjs`; the schedule restarts at each measurement window).
const CUT_EVERY_SECS: u64 = 20;
/// Written beside the harness's results: the weak link's shape and cuts of those results.
const WEAK_LINK_FILE: &str = "weak-link.json";

/// The weak link's cuts, in words.
fn cuts_text(cut_every: u64) -> String {
    match cut_every {
        0 => "no loss".into(),
        s => format!("every connection cut every {s} s"),
    }
}

/// Flags of `cargo xtask bench`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// One repetition; weak-link runs of Lianxin only; smaller scale scenarios.
    #[arg(long)]
    pub quick: bool,
    /// Only these peers (comma-separated: automerge,pouchdb,lianxin).
    #[arg(long, value_delimiter = ',')]
    pub peers: Option<Vec<String>>,
    /// Skip the peer harness (keep its last results) and run only the scale scenarios.
    #[arg(long)]
    pub skip_peers: bool,
    /// Skip the scale scenarios (keep their last results). With --skip-peers: only rewrite
    /// BENCHMARKS.md from the last run's results (e.g. after editing bench/NOTES.md).
    #[arg(long)]
    pub skip_scale: bool,
    /// Where the peer harness is (default: ../shared/bench/peers beside the workspace).
    #[arg(long)]
    pub harness: Option<PathBuf>,
    /// Only the browser figures (app size, opening offline at 4× CPU throttle, saving a
    /// visit): builds the release client and server, measures in headless Chromium, and
    /// rewrites the Browser section of BENCHMARKS.md, leaving the other sections as they are.
    #[arg(long)]
    pub browser_only: bool,
    /// Only the fuzzer (`lianxin-fuzz` in release): 10 million executions over its four
    /// targets, about 10 minutes (a tenth with --quick), results in target/bench/fuzz-*.json; fails when a target
    /// that must not panic did. BENCHMARKS.md is left as it is.
    #[arg(long)]
    pub fuzz_only: bool,
    /// Only these scale scenarios (comma-separated: district,province,weak,hostile,crash):
    /// rewrites only their section of BENCHMARKS.md (`bench_scale::scale_only`); with
    /// --skip-scale, only rewrites it from the last run's `target/bench/scale-only.json`.
    #[arg(long, value_delimiter = ',')]
    pub scale_only: Option<Vec<String>>,
    /// Skip the browser step (keep its last figures).
    #[arg(long)]
    pub skip_browser: bool,
    /// On the weak link, cut every open connection every this many seconds (0: no cuts, the
    /// harness's lossless shaper).
    #[arg(long, default_value_t = CUT_EVERY_SECS)]
    pub cut_every: u64,
    /// Only the hostile link of issue 12 (random CJK notes; loopback, the weak link, the weak
    /// link with cuts every 3–10 s and refusals for 1–5 s; S1-S2 for every peer, about 30 min):
    /// rewrites the "Hostile link" section of BENCHMARKS.md, leaving the others as they are.
    /// With --skip-peers: only rewrites that section from the last hostile runs' results.
    #[arg(long)]
    pub hostile_only: bool,
    /// Skip the hostile-link runs (keep their last results; --skip-peers skips them too).
    #[arg(long)]
    pub skip_hostile: bool,
    /// Only the photo scenario of issue 14 (20 photos of about 250 KB from an offline phone,
    /// the real app in headless Chromium, on loopback, the weak link and the hostile link;
    /// about 25 min): rewrites the "Photos" section of BENCHMARKS.md, leaving the others as
    /// they are.
    #[arg(long)]
    pub photos_only: bool,
    /// Skip the photo scenario (keep its last figures); with --photos-only, only rewrite the
    /// Photos section from them.
    #[arg(long)]
    pub skip_photos: bool,
    /// The photo scenario's links (comma-separated: loopback,weak,hostile; default all).
    #[arg(long, value_delimiter = ',')]
    pub photo_links: Option<Vec<String>>,
    /// With --photos-only: serve target/site as it is instead of building the client first
    /// (it must be a release build of this tree: `cargo xtask build-client`).
    #[arg(long)]
    pub reuse_site: bool,
}

pub(crate) fn step(what: &str) {
    eprintln!("==> {what}");
}

/// Builds the release client, measures the browser figures into
/// `target/bench/browser.json`, and returns the Browser section's text.
fn browser_step(workspace: &Workspace, server: &Path, quick: bool) -> anyhow::Result<String> {
    step("building the release client (cargo xtask build-client)");
    // Another build-client in the same checkout shares target/site.new: try again after it.
    let mut attempt = 0;
    let site = loop {
        attempt += 1;
        // With the size breakdown (two more builds, about 3 min) unless --quick.
        let build = crate::build_client::Args {
            breakdown: !quick,
            ..crate::build_client::Args::default()
        };
        match crate::build_client::build_client(workspace, &build) {
            Ok(site) => break site,
            Err(e) if attempt < 3 => {
                eprintln!("building the client failed ({e:#}); trying again in 30 s");
                std::thread::sleep(Duration::from_secs(30));
            }
            Err(e) => return Err(e),
        }
    };
    let runs = if quick { 3 } else { 5 };
    let out = bench_browser::results_file(workspace);
    let (figures, served) = bench_browser::measure(workspace, server, &site, runs, &out)?;
    // The size of the copy that was measured (target/site may be rebuilt meanwhile).
    Ok(browser_text(
        Some(&shipped_size(workspace, &served)),
        Some(&figures),
    ))
}

/// The shipped size of the client in `site`, followed by what it is made of when the last
/// client build made the breakdown.
fn shipped_size(workspace: &Workspace, site: &Path) -> Option<String> {
    site_size(site).map(|size| match size_breakdown(workspace) {
        Some(breakdown) => format!("{size}\n\n{breakdown}"),
        None => size,
    })
}

/// What the officer bundle is made of, from `target/size-breakdown/breakdown.json`; `None`
/// when the last client build did not make it (`--quick`: every build without `--breakdown`
/// removes the file, so it never describes an older build).
fn size_breakdown(workspace: &Workspace) -> Option<String> {
    let path = crate::build_client::breakdown_file(workspace);
    let rows: Value = serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
    let rows: Vec<(String, f64)> = rows
        .as_array()?
        .iter()
        .map(|row| {
            Some((
                row["build"].as_str()?.to_owned(),
                row["brotli_bytes"].as_f64()?,
            ))
        })
        .collect::<Option<_>>()?;
    let (_, stack) = rows.first()?;
    let mut parts = Vec::new();
    let mut previous: Option<f64> = None;
    for (build, bytes) in &rows {
        let added = previous.map_or_else(String::new, |p| {
            format!(" ({:+.0} KiB)", (bytes - p) / 1024.0)
        });
        parts.push(format!("{build}: {}{added}", kib(*bytes)));
        previous = Some(*bytes);
    }
    Some(format!(
        "What the officer bundle is made of (`cargo xtask build-client --breakdown`, the same \
         build, each row what a phone would download): {}. The stack alone is {:.2}× the goal; \
         bench/NOTES.md \"Where the 450 KB goes\" has what it means.",
        parts.join("; "),
        stack / crate::build_client::BUDGET_BYTES as f64
    ))
}

/// The Browser section: the shipped size, then the figures measured in Chromium.
fn browser_text(site: Option<&Option<String>>, figures: Option<&Value>) -> String {
    let size = match site {
        Some(Some(s)) => s.clone(),
        _ => "No built client in target/site.".into(),
    };
    format!("{size}\n\n{}", bench_browser::section(figures))
}

/// `cargo xtask bench --browser-only`: the browser step alone; only the Browser section of
/// BENCHMARKS.md changes.
fn browser_only(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    step("building the release server (lianxin-server)");
    run_checked(cargo().current_dir(&workspace.root).args([
        "build",
        "--release",
        "--package",
        "server",
        "--bin",
        "lianxin-server",
    ]))?;
    let server = workspace.target_dir.join("release").join("lianxin-server");
    let text = browser_step(workspace, &server, args.quick)?;
    let path = workspace.root.join("BENCHMARKS.md");
    let report = fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    fs::write(&path, bench_browser::splice_section(&report, &text))?;
    eprintln!(
        "\nwrote the Browser section of BENCHMARKS.md in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Executions per fuzz target in the bench run: 10 million in all, shared so the run takes
/// about 10 minutes at the rates measured on the 2-core machine in release (wire ~110k/s, load
/// ~35k/s, validate ~25k/s, merge ~1-2k/s once the corpus has grown).
const FUZZ_EXECS: &[(&str, u64)] = &[
    ("wire", 4_200_000),
    ("load", 4_000_000),
    ("validate", 1_500_000),
    ("merge", 300_000),
];

/// The photo scenario (`bench_photos`) on the built client in target/site.
fn photos_step(workspace: &Workspace, args: &Args, server: &Path) -> anyhow::Result<()> {
    let site = workspace.site_dir();
    crate::bench_photos::run(
        &workspace.root,
        &workspace.target_dir.join("bench"),
        server,
        &site,
        &harness_source(workspace, args).join("proxy.mjs"),
        args.photo_links.as_deref().unwrap_or_default(),
    )?;
    Ok(())
}

/// `cargo xtask bench --photos-only`: the photo scenario alone (after building the release
/// server, and the client unless --reuse-site); only the Photos section of BENCHMARKS.md
/// changes.
fn photos_only(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let bench_dir = workspace.target_dir.join("bench");
    // With --skip-photos: only the section is rewritten from the last run's figures.
    if !args.skip_photos {
        step("building the release server (lianxin-server)");
        run_checked(cargo().current_dir(&workspace.root).args([
            "build",
            "--release",
            "--package",
            "server",
            "--bin",
            "lianxin-server",
        ]))?;
        if !args.reuse_site {
            step("building the release client (cargo xtask build-client)");
            crate::build_client::build_client(workspace, &crate::build_client::Args::default())?;
        }
        // Copied: another build may replace target/release meanwhile.
        fs::create_dir_all(&bench_dir)?;
        let server = bench_dir.join("photos-server");
        fs::copy(
            workspace.target_dir.join("release").join("lianxin-server"),
            &server,
        )
        .context("copying target/release/lianxin-server")?;
        photos_step(workspace, args, &server)?;
    }
    let body = crate::bench_photos::section(crate::bench_photos::load(&bench_dir).as_ref());
    let path = workspace.root.join("BENCHMARKS.md");
    let report = fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    fs::write(
        &path,
        bench_browser::splice_named(&report, crate::bench_photos::HEADING, &body, "## Rerun"),
    )?;
    eprintln!(
        "\nwrote the Photos section of BENCHMARKS.md in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// `cargo xtask bench --fuzz-only`: the fuzzer's long run, target by target, each writing
/// `target/bench/fuzz-<target>.json`; the first inputs of each panic go to
/// `target/bench/fuzz-crashes`.
fn fuzz_only(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    step("building the release fuzzer (lianxin-fuzz)");
    run_checked(cargo().current_dir(&workspace.root).args([
        "build",
        "--release",
        "--package",
        "tests",
        "--bin",
        "lianxin-fuzz",
    ]))?;
    let bin = workspace.target_dir.join("release").join("lianxin-fuzz");
    let bench_dir = workspace.target_dir.join("bench");
    fs::create_dir_all(&bench_dir)?;
    let mut failed = Vec::new();
    let mut total = 0;
    for (target, execs) in FUZZ_EXECS {
        let execs = if args.quick { execs / 10 } else { *execs };
        total += execs;
        step(&format!("fuzzing {target}: {execs} executions"));
        let status = Command::new(&bin)
            .args([
                "--target",
                target,
                "--execs",
                &execs.to_string(),
                "--seed",
                "1",
            ])
            .arg("--crashes")
            .arg(bench_dir.join("fuzz-crashes"))
            .arg("--json")
            .arg(bench_dir.join(format!("fuzz-{target}.json")))
            .status()
            .with_context(|| format!("running {}", bin.display()))?;
        if !status.success() {
            failed.push(*target);
        }
    }
    eprintln!(
        "\n{total} fuzz executions in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    if !failed.is_empty() {
        bail!(
            "fuzz targets that must not panic panicked: {} (inputs in {})",
            failed.join(", "),
            bench_dir.join("fuzz-crashes").display()
        );
    }
    Ok(())
}

/// Runs the whole benchmark and writes BENCHMARKS.md.
pub fn bench(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    if args.browser_only {
        return browser_only(workspace, args);
    }
    if args.fuzz_only {
        return fuzz_only(workspace, args);
    }
    if let Some(names) = &args.scale_only {
        return crate::bench_scale::scale_only(workspace, names, args.quick, args.skip_scale);
    }
    if args.hostile_only {
        return hostile_only(workspace, args);
    }
    if args.photos_only {
        return photos_only(workspace, args);
    }
    let started = Instant::now();
    let load_before = load_average();
    let server_at_start = tree_version(workspace);
    let command_line = std::iter::once("cargo xtask bench".to_string())
        .chain(std::env::args().skip(2))
        .collect::<Vec<_>>()
        .join(" ");
    let bench_dir = workspace.target_dir.join("bench");
    let harness = bench_dir.join("harness");
    let bin_dir = build_binaries(workspace, &bench_dir)?;
    let source = harness_source(workspace, args);
    let peers: Vec<String> = match &args.peers {
        Some(p) => p.clone(),
        None => PEERS.iter().map(|s| s.to_string()).collect(),
    };
    let reps = if args.quick { 1 } else { 3 };
    if !args.skip_peers {
        step(&format!("copying the harness from {}", source.display()));
        prepare_harness(workspace, &source, &harness)?;
        let results = harness.join("results");
        let _ = fs::remove_dir_all(&results);
        let _ = fs::remove_dir_all(harness.join("data"));
        fs::create_dir_all(&results)?;
        for peer in &peers {
            step(&format!("{peer}: loopback, {reps} repetition(s), S1-S4"));
            let run = start_harness(&harness, &bin_dir, peer, reps, None, "S1,S2,S3,S4")?;
            wait_harness(run, Duration::from_secs(1200))?;
        }
        // The weak-link runs wait on the shaped link, not on the CPU: they run side by side,
        // each with its own server, proxy and 256 kbit/s link (ports 17400, 17410, …).
        let shaped: Vec<&String> = peers
            .iter()
            .filter(|p| !args.quick || p.as_str() == "lianxin")
            .collect();
        step(&format!(
            "weak link ({SHAPE}, {}), 1 repetition, S1-S3, side by side: {}",
            cuts_text(args.cut_every),
            shaped
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        // The report says which link the weak-link results were measured on.
        fs::write(
            results.join(WEAK_LINK_FILE),
            serde_json::json!({ "shape": SHAPE, "cutEverySecs": args.cut_every }).to_string(),
        )?;
        let mut runs = Vec::new();
        for (i, peer) in shaped.iter().enumerate() {
            let port = 17400 + 10 * i as u16;
            runs.push(start_harness(
                &harness,
                &bin_dir,
                peer,
                1,
                Some((SHAPE, port, args.cut_every)),
                "S1,S2,S3",
            )?);
        }
        // PouchDB's catch-up on this link has taken from 2 to over 20 minutes (retries after
        // "socket hang up"); 15 minutes per run keeps the whole command under 30.
        for run in runs {
            wait_harness(run, Duration::from_secs(900))?;
        }
        step("Lianxin's wire encoding, two ways (lianxin-bench-client sizes)");
        let out = Command::new("node")
            .current_dir(&harness)
            .arg("peers/lianxin-sizes.mjs")
            .env("LIANXIN_BIN_DIR", &bin_dir)
            .output()
            .context("running node peers/lianxin-sizes.mjs")?;
        fs::write(bench_dir.join("sizes.json"), &out.stdout)?;
        step("the harness's own report (target/bench/harness/RESULTS.md)");
        let out = Command::new("node")
            .current_dir(&harness)
            .args(["report.mjs", "--baseline", "automerge"])
            .output()
            .context("running node report.mjs")?;
        fs::write(harness.join("RESULTS.md"), &out.stdout)?;
    }
    if !args.skip_peers && !args.skip_hostile {
        hostile_step(workspace, args, &source, &bench_dir, &bin_dir, &peers)?;
    }
    let scale_json = bench_dir.join(if args.quick {
        "scale-quick.json"
    } else {
        "scale.json"
    });
    if !args.skip_scale {
        step("Lianxin's scale scenarios (lianxin-scale)");
        let mut cmd = Command::new(bin_dir.join("lianxin-scale"));
        cmd.arg("--out").arg(&scale_json);
        if args.quick {
            cmd.arg("--quick");
        }
        run_checked(&mut cmd)?;
    }
    if !args.skip_browser {
        // A failed browser step (no Chromium here) leaves the rest of the report standing.
        if let Err(e) = browser_step(workspace, &bin_dir.join("lianxin-server"), args.quick) {
            eprintln!("browser step failed: {e:#}");
        }
    }
    if !args.skip_photos {
        // Also without Chromium the rest of the report stands.
        if let Err(e) = photos_step(workspace, args, &bin_dir.join("lianxin-server")) {
            eprintln!("photo step failed: {e:#}");
        }
    }

    step("writing BENCHMARKS.md");
    let report = Report::load(workspace, &harness, &scale_json)?;
    let run_file = bench_dir.join("run.json");
    let run = if args.skip_peers && args.skip_scale {
        // Only the report is rewritten (e.g. after editing bench/NOTES.md): it keeps saying
        // which run measured the figures.
        let saved: Value = fs::read_to_string(&run_file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .context("no earlier run to report on (target/bench/run.json)")?;
        RunInfo {
            command: saved["command"].as_str().unwrap_or("?").to_string(),
            quick: saved["quick"].as_bool().unwrap_or(false),
            minutes: num(&saved, "minutes"),
            load_before: saved["loadBefore"].as_str().unwrap_or("?").to_string(),
            load_after: saved["loadAfter"].as_str().unwrap_or("?").to_string(),
            reps: saved["reps"].as_u64().unwrap_or(1) as u32,
            server: saved["server"].as_str().unwrap_or("?").to_string(),
        }
    } else {
        let run = RunInfo {
            command: command_line,
            server: server_at_start,
            quick: args.quick,
            minutes: started.elapsed().as_secs_f64() / 60.0,
            load_before,
            load_after: load_average(),
            reps,
        };
        let saved = serde_json::json!({
            "command": run.command, "quick": run.quick, "minutes": run.minutes,
            "loadBefore": run.load_before, "loadAfter": run.load_after, "reps": run.reps,
            "server": run.server,
        });
        fs::write(&run_file, saved.to_string())?;
        run
    };
    let markdown = report.render(&run)?;
    fs::write(workspace.root.join("BENCHMARKS.md"), markdown)?;
    eprintln!(
        "\nwrote BENCHMARKS.md in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Builds the release binaries the benchmark runs and copies them to `target/bench/bin`, so
/// that other worktrees rebuilding `target/release` during a long run do not swap them
/// underneath it. Returns that directory.
fn build_binaries(workspace: &Workspace, bench_dir: &Path) -> anyhow::Result<PathBuf> {
    step("building release binaries (lianxin-server, lianxin-bench-client, lianxin-scale)");
    run_checked(cargo().current_dir(&workspace.root).args([
        "build",
        "--release",
        "--package",
        "server",
        "--bin",
        "lianxin-server",
        "--package",
        "tests",
        "--bin",
        "lianxin-bench-client",
        "--bin",
        "lianxin-scale",
    ]))?;
    let bin_dir = bench_dir.join("bin");
    fs::create_dir_all(&bin_dir)?;
    for bin in ["lianxin-server", "lianxin-bench-client", "lianxin-scale"] {
        let to = bin_dir.join(bin);
        let _ = fs::remove_file(&to);
        fs::copy(workspace.target_dir.join("release").join(bin), &to)
            .with_context(|| format!("copying target/release/{bin}"))?;
    }
    Ok(bin_dir)
}

fn harness_source(workspace: &Workspace, args: &Args) -> PathBuf {
    match &args.harness {
        Some(p) => p.clone(),
        None => workspace.root.join("..").join("shared/bench/peers"),
    }
}

/// The hostile-link runs (`bench_hostile`); with --quick, Lianxin's only.
fn hostile_step(
    workspace: &Workspace,
    args: &Args,
    source: &Path,
    bench_dir: &Path,
    bin_dir: &Path,
    peers: &[String],
) -> anyhow::Result<()> {
    let harness = bench_dir.join("harness");
    prepare_harness(workspace, source, &harness)?;
    let peers: Vec<String> = peers
        .iter()
        .filter(|p| !args.quick || p.as_str() == "lianxin")
        .cloned()
        .collect();
    bench_hostile::run(&workspace.root, &harness, bench_dir, bin_dir, &peers)
}

/// `cargo xtask bench --hostile-only`: the hostile-link runs alone; only the "Hostile link"
/// section of BENCHMARKS.md changes.
fn hostile_only(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let bench_dir = workspace.target_dir.join("bench");
    let run_file = bench_hostile::dir(&bench_dir).join("run.json");
    // With --skip-peers: only the section is rewritten from the last runs' results.
    if !args.skip_peers {
        let tree = tree_version(workspace);
        let bin_dir = build_binaries(workspace, &bench_dir)?;
        let peers: Vec<String> = match &args.peers {
            Some(p) => p.clone(),
            None => PEERS.iter().map(|s| s.to_string()).collect(),
        };
        let source = harness_source(workspace, args);
        hostile_step(workspace, args, &source, &bench_dir, &bin_dir, &peers)?;
        let saved = serde_json::json!({
            "tree": tree, "peers": peers.join(","),
            "minutes": started.elapsed().as_secs_f64() / 60.0,
        });
        fs::write(&run_file, saved.to_string())?;
    }
    let saved: Value = fs::read_to_string(&run_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .context("no earlier hostile run to report on (target/bench/hostile/run.json)")?;
    let body = bench_hostile::section(&bench_dir)
        .context("the hostile runs left no results (target/bench/hostile/results)")?;
    let body = format!(
        "Last measured by `cargo xtask bench --hostile-only --peers {}` on {} in {:.1} min \
         (a peer not in that list keeps the figures of its last run).\n\n{body}",
        saved["peers"].as_str().unwrap_or("?"),
        saved["tree"].as_str().unwrap_or("?"),
        num(&saved, "minutes")
    );
    let path = workspace.root.join("BENCHMARKS.md");
    let report = fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    fs::write(
        &path,
        bench_browser::splice_named(&report, bench_hostile::HEADING, &body, "## Browser"),
    )?;
    eprintln!(
        "\nwrote the Hostile link section of BENCHMARKS.md in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Copies the harness (read-only in shared/) into `dest`, installs its pinned packages when
/// its lock file changed, and adds our adapter.
fn prepare_harness(workspace: &Workspace, source: &Path, dest: &Path) -> anyhow::Result<()> {
    if !source.join("bench.mjs").exists() {
        bail!(
            "{} is not the peer harness (no bench.mjs)",
            source.display()
        );
    }
    fs::create_dir_all(dest.join("peers"))?;
    copy_files(source, dest)?;
    copy_files(&source.join("peers"), &dest.join("peers"))?;
    // The harness's proxy keeps running unchanged under another name; ours (proxy-cuts.mjs)
    // takes its place, loads it, and adds the connection cuts on the shaped link.
    let _ = fs::remove_file(dest.join("proxy-harness.mjs"));
    fs::copy(source.join("proxy.mjs"), dest.join("proxy-harness.mjs"))
        .context("copying the harness's proxy.mjs")?;
    let _ = fs::remove_file(dest.join("proxy.mjs"));
    fs::copy(
        workspace.root.join("bench").join("proxy-cuts.mjs"),
        dest.join("proxy.mjs"),
    )
    .context("copying bench/proxy-cuts.mjs")?;
    for (file, name) in [
        ("lianxin.mjs", "lianxin.mjs"),
        ("lianxin-server.mjs", "lianxin-server.mjs"),
        ("sizes.mjs", "lianxin-sizes.mjs"),
    ] {
        let to = dest.join("peers").join(name);
        let _ = fs::remove_file(&to);
        fs::copy(workspace.root.join("bench").join(file), &to)
            .with_context(|| format!("copying bench/{file}"))?;
    }
    let lock = fs::read(dest.join("package-lock.json"))?;
    let stamp = dest.join("node_modules").join(".lianxin-lock");
    if fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        return Ok(());
    }
    step("npm ci (the harness's pinned packages)");
    let ci = Command::new("npm")
        .current_dir(dest)
        .args(["ci", "--no-audit", "--no-fund"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !ci.is_ok_and(|s| s.success()) {
        // npm 11 refuses this lock file (written by npm 10: optional platform packages of
        // cbor-extract are not listed); npm 10 installs exactly what it pins.
        step("npm ci failed; retrying with npm 10 (npx npm@10 ci)");
        run_checked(Command::new("npx").current_dir(dest).args([
            "-y",
            "npm@10",
            "ci",
            "--no-audit",
            "--no-fund",
        ]))?;
    }
    fs::write(&stamp, lock)?;
    Ok(())
}

pub(crate) fn copy_files(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let target = to.join(entry.file_name());
            let _ = fs::remove_file(&target);
            fs::copy(entry.path(), &target)?;
            let mut perms = fs::metadata(&target)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(&target, perms)?;
        }
    }
    Ok(())
}

/// One `node bench.mjs` run; a failed run is reported in BENCHMARKS.md, not fatal.
fn start_harness(
    harness: &Path,
    bin_dir: &Path,
    peer: &str,
    reps: u32,
    shape: Option<(&str, u16, u64)>,
    scenarios: &str,
) -> anyhow::Result<HarnessRun> {
    let mut cmd = Command::new("node");
    cmd.current_dir(harness)
        .args(["bench.mjs", "--peer", peer, "--reps", &reps.to_string()])
        .args(["--scenarios", scenarios])
        .env("LIANXIN_BIN_DIR", bin_dir)
        .stdin(Stdio::null());
    if let Some((shape, port, cut_every)) = shape {
        cmd.args(["--shape", shape, "--server-port", &port.to_string()])
            .env("AM_FIND_CONCURRENCY", "100")
            // read by proxy-cuts.mjs in the proxy process (bench.mjs passes its environment on)
            .env("LIANXIN_PROXY_CUT_EVERY_MS", (cut_every * 1000).to_string());
    }
    let shown = show(&cmd);
    let child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
    Ok(HarnessRun {
        started: Instant::now(),
        child,
        shown,
        peer: peer.to_string(),
        tag: if shape.is_some() {
            "shaped"
        } else {
            "loopback"
        },
        results: harness.join("results"),
    })
}

/// A run of the harness: the process, its command line, and where it writes its results.
pub(crate) struct HarnessRun {
    /// When the run started: its time limit counts from here, also for runs side by side
    /// that are waited for one after the other.
    pub(crate) started: Instant,
    pub(crate) child: std::process::Child,
    pub(crate) shown: String,
    pub(crate) peer: String,
    pub(crate) tag: &'static str,
    pub(crate) results: PathBuf,
}

/// Waits for a run; one that outlives `limit` is stopped, and a run stopped by a signal is
/// recorded as a failed repetition, so the report says so.
pub(crate) fn wait_harness(run: HarnessRun, limit: Duration) -> anyhow::Result<()> {
    let HarnessRun {
        started: t,
        mut child,
        shown,
        peer,
        tag,
        results,
    } = run;
    let note = |what: String| {
        let line = serde_json::json!({"peer": peer, "tag": tag, "rep": "-", "error": what});
        let path = results.join(format!("{peer}-{tag}.raw"));
        let mut text = fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("{line}\n"));
        let _ = fs::write(&path, text);
    };
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                eprintln!("warning: `{shown}` exited with {status} (recorded in the report)");
                if status.code().is_none() {
                    note(format!(
                        "the run was stopped ({status}) after {:.0} s; windows not reached \
                         are missing",
                        t.elapsed().as_secs_f64()
                    ));
                }
            }
            return Ok(());
        }
        if t.elapsed() > limit {
            eprintln!("warning: `{shown}` ran past {limit:?}; stopped");
            let _ = child.kill();
            let _ = child.wait();
            note(format!(
                "stopped at the command's limit of {} s for one run; windows not reached are \
                 missing",
                limit.as_secs()
            ));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The workspace's version, commit and state when the run started.
fn tree_version(workspace: &Workspace) -> String {
    let version = fs::read_to_string(workspace.root.join("Cargo.toml"))
        .ok()
        .and_then(|t| {
            t.lines().find(|l| l.starts_with("version = ")).map(|l| {
                l.trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string()
            })
        })
        .unwrap_or_else(|| "?".into());
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(&workspace.root)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    let dirty = !git(&["status", "--porcelain"]).is_empty();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{version} (git {commit}{}, tree as of {})",
        if dirty {
            " plus uncommitted changes"
        } else {
            ""
        },
        utc(now)
    )
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

struct RunInfo {
    command: String,
    /// What was measured: the workspace's commit and whether the tree had changes, at the start.
    server: String,
    quick: bool,
    minutes: f64,
    load_before: String,
    load_after: String,
    reps: u32,
}

/// Medians of one scenario for one peer on one link.
#[derive(Debug, Clone, Default)]
struct Cell {
    n: usize,
    ms: f64,
    min_ms: f64,
    up: f64,
    down: f64,
    msgs_up: f64,
    msgs_down: f64,
    conns: f64,
    rss_kb: f64,
    disk: f64,
    verify: Vec<String>,
}

struct Report {
    /// (tag, scenario, peer) → cell.
    cells: BTreeMap<(String, String, String), Cell>,
    errors: Vec<String>,
    /// (peer, tag) of runs with a failed repetition (e.g. stopped at the time limit).
    failed: Vec<(String, String)>,
    scale: Option<Value>,
    sizes: Option<Value>,
    versions: Vec<(String, String)>,
    notes: String,
    site: Option<String>,
    /// The browser step's figures (`target/bench/browser.json`).
    browser: Option<Value>,
    /// The hostile-link section's body (`bench_hostile`), when its runs left results.
    hostile: Option<String>,
    /// The photo scenario's figures (`bench_photos`), when it ran.
    photos: Option<Value>,
    /// Seconds between the weak link's connection cuts (0: none; results from before the cuts
    /// existed have no weak-link file and count as 0).
    cut_every: u64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => xs[n / 2],
        _ => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

pub(crate) fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

impl Report {
    fn load(workspace: &Workspace, harness: &Path, scale_json: &Path) -> anyhow::Result<Report> {
        let mut records: Vec<Value> = Vec::new();
        let mut errors = Vec::new();
        let mut failed = Vec::new();
        let results = harness.join("results");
        if let Ok(dir) = fs::read_dir(&results) {
            let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "raw"))
            {
                for line in fs::read_to_string(f)?
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                {
                    let v: Value = serde_json::from_str(line)
                        .with_context(|| format!("a line of {}", f.display()))?;
                    if let Some(e) = v.get("error") {
                        failed.push((
                            v["peer"].as_str().unwrap_or("?").to_string(),
                            v["tag"].as_str().unwrap_or("?").to_string(),
                        ));
                        errors.push(format!(
                            "{} {} rep {}: {}",
                            v["peer"].as_str().unwrap_or("?"),
                            v["tag"].as_str().unwrap_or("?"),
                            v["rep"]
                                .as_str()
                                .map_or_else(|| v["rep"].to_string(), str::to_string),
                            e.as_str().unwrap_or("?")
                        ));
                    } else {
                        records.push(v);
                    }
                }
            }
        }
        // Lianxin's server RSS: the wrapper's per-window log, windows in harness order.
        let mut lianxin_rss: BTreeMap<(String, u64, String), f64> = BTreeMap::new();
        for tag in ["loopback", "shaped"] {
            for rep in 1..=3u64 {
                let log = harness
                    .join("data")
                    .join(format!("lianxin-{tag}-{rep}.server-rss.jsonl"));
                let Ok(text) = fs::read_to_string(&log) else {
                    continue;
                };
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let v: Value = serde_json::from_str(line)?;
                    let window = v["window"].as_u64().unwrap_or(0) as usize;
                    if let Some(sc) = window.checked_sub(1).and_then(|i| WINDOWS.get(i)) {
                        lianxin_rss.insert((tag.into(), rep, sc.to_string()), num(&v, "peakKB"));
                    }
                }
            }
        }
        let mut groups: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
        for r in records {
            let key = (
                r["tag"].as_str().unwrap_or("?").to_string(),
                r["scenario"].as_str().unwrap_or("?").to_string(),
                r["peer"].as_str().unwrap_or("?").to_string(),
            );
            groups.entry(key).or_default().push(r);
        }
        let mut cells = BTreeMap::new();
        for (key, rs) in groups {
            let m = |f: &dyn Fn(&Value) -> f64| median(rs.iter().map(f).collect());
            let rss = |r: &Value| {
                if key.2 == "lianxin" {
                    let rep = r["rep"].as_u64().unwrap_or(0);
                    lianxin_rss
                        .get(&(key.0.clone(), rep, key.1.clone()))
                        .copied()
                        .unwrap_or(f64::NAN)
                } else {
                    num(r, "serverPeakRssKB")
                }
            };
            let cell = Cell {
                n: rs.len(),
                ms: m(&|r| num(r, "ms")),
                min_ms: rs
                    .iter()
                    .map(|r| num(r, "ms"))
                    .fold(f64::INFINITY, f64::min),
                up: m(&|r| num(r, "bytesUp")),
                down: m(&|r| num(r, "bytesDown")),
                msgs_up: m(&|r| num(r, "messagesUp")),
                msgs_down: m(&|r| num(r, "messagesDown")),
                conns: m(&|r| num(r, "connections")),
                rss_kb: m(&rss),
                disk: m(&|r| num(&r["disk"], "apparent")),
                verify: rs
                    .iter()
                    .filter_map(|r| r.get("verify"))
                    .map(|v| {
                        format!(
                            "{} ({} replicas, {} mismatches, {} docs with conflicts)",
                            if v["converged"].as_bool() == Some(true) {
                                "converged"
                            } else {
                                "NOT converged"
                            },
                            v["replicasChecked"],
                            v["mismatches"],
                            v["conflictedDocs"]
                        )
                    })
                    .collect(),
            };
            cells.insert(key, cell);
        }
        let sizes = fs::read_to_string(harness.join("..").join("sizes.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let scale = fs::read_to_string(scale_json)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let mut versions = Vec::new();
        for pkg in [
            "@automerge/automerge",
            "@automerge/automerge-repo",
            "@automerge/automerge-repo-network-websocket",
            "@automerge/automerge-repo-storage-nodefs",
            "ws",
            "pouchdb-node",
            "pouchdb-adapter-memory",
            "express-pouchdb",
            "leveldown",
        ] {
            let v = fs::read_to_string(harness.join("node_modules").join(pkg).join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v["version"].as_str().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            versions.push((pkg.to_string(), v));
        }
        let lock = fs::read_to_string(workspace.root.join("Cargo.lock")).unwrap_or_default();
        for krate in ["automerge", "axum", "rusqlite", "tokio", "reqwest"] {
            versions.push((format!("{krate} (crate)"), locked_version(&lock, krate)));
        }
        versions.push(("node".into(), output_of("node", &["--version"])));
        versions.push(("rustc".into(), output_of("rustc", &["--version"])));
        let notes =
            fs::read_to_string(workspace.root.join("bench").join("NOTES.md")).unwrap_or_default();
        let cut_every = fs::read_to_string(results.join(WEAK_LINK_FILE))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["cutEverySecs"].as_u64())
            .unwrap_or(0);
        Ok(Report {
            cut_every,
            cells,
            errors,
            failed,
            scale,
            sizes,
            versions,
            notes,
            site: shipped_size(workspace, &workspace.site_dir()),
            browser: fs::read_to_string(bench_browser::results_file(workspace))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok()),
            hostile: harness.parent().and_then(bench_hostile::section),
            photos: harness.parent().and_then(crate::bench_photos::load),
        })
    }

    fn cell(&self, tag: &str, sc: &str, peer: &str) -> Option<&Cell> {
        self.cells
            .get(&(tag.to_string(), sc.to_string(), peer.to_string()))
    }

    /// The best of the other peers by `f` (lowest), with its name.
    fn best_peer(&self, tag: &str, sc: &str, f: impl Fn(&Cell) -> f64) -> Option<(String, f64)> {
        PEERS
            .iter()
            .filter(|p| **p != "lianxin")
            .filter_map(|p| self.cell(tag, sc, p).map(|c| (p.to_string(), f(c))))
            .filter(|(_, v)| v.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn render(&self, run: &RunInfo) -> anyhow::Result<String> {
        let mut o = String::new();
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let mem_gib = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
        writeln!(o, "# Benchmarks")?;
        writeln!(o)?;
        if run.quick {
            writeln!(
                o,
                "> **QUICK RUN** (`--quick`): one repetition, weak-link runs of Lianxin only, \
                 smaller scale scenarios. Figures are indicative; rerun `cargo xtask bench` for \
                 the full report."
            )?;
            writeln!(o)?;
        }
        writeln!(
            o,
            "Lianxin beside automerge-repo and PouchDB on the same workload, in the same run, \
             plus Lianxin's own scale scenarios. Generated by `{}` in {:.1} min. Analysis, the \
             field mapping and what is missing are in the sections after the tables \
             (hand-written in `bench/NOTES.md`).",
            run.command, run.minutes
        )?;
        writeln!(o)?;
        writeln!(
            o,
            "Machine: {cpus} cores, {mem_gib:.0} GiB RAM, Linux {}. Load average {} before, \
             {} after: other engineers' builds share these 2 cores, so times are noisy; bytes \
             and message counts are not. Clients, proxy and server each run in their own \
             process on the same cores.",
            fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim(),
            run.load_before,
            run.load_after
        )?;
        writeln!(o)?;
        writeln!(o, "## Versions")?;
        writeln!(o)?;
        writeln!(o, "| component | version |")?;
        writeln!(o, "| --- | --- |")?;
        writeln!(o, "| lianxin-server | {} |", run.server)?;
        for (k, v) in &self.versions {
            writeln!(o, "| {k} | {v} |")?;
        }
        writeln!(o)?;
        self.render_goals(&mut o)?;
        let weak_title = format!(
            "Weak link (the harness's userspace shaper: 300 ms one way, 256 kbit/s each way, {})",
            cuts_text(self.cut_every)
        );
        for (tag, title) in [
            (
                "loopback",
                "Loopback (127.0.0.1, through the harness's counting proxy)",
            ),
            ("shaped", weak_title.as_str()),
        ] {
            if !self.cells.keys().any(|(t, _, _)| t == tag) {
                continue;
            }
            let reps = if tag == "loopback" { run.reps } else { 1 };
            writeln!(o, "## {title}")?;
            writeln!(o)?;
            if tag == "shaped" && self.cut_every > 0 {
                let s = self.cut_every;
                writeln!(
                    o,
                    "Loss, for every peer alike (`bench/proxy-cuts.mjs` around the harness's \
                     proxy): every {s} s, counted from the start of each window, every open \
                     connection is reset on both sides and the data the shaper still holds \
                     \"on the link\" is lost (reads arrive segment by segment, 1,460 B each \
                     when its last byte is due, so only what is still on the link); peers \
                     reconnect (one more handshake round trip) \
                     and resend. A window of T s holds ⌊T / {s}⌋ cuts. Bytes count what the \
                     senders put on the link, lost or not."
                )?;
                writeln!(o)?;
            }
            writeln!(
                o,
                "Medians of {reps} repetition(s) (time also shows the fastest). Bytes: TCP \
                 payload through the proxy, up = client → server. Messages: WebSocket data \
                 frames (automerge) or HTTP requests (PouchDB, Lianxin: sync rounds plus one \
                 login and one event-stream request per device going online). Server RSS: peak \
                 during the window (Lianxin: of `lianxin-server` itself, see notes). Disk: the \
                 server's data folder after the window. Ratios: Lianxin ÷ the best peer of \
                 that column (< 1 is better)."
            )?;
            writeln!(o)?;
            writeln!(
                o,
                "| scenario | peer | n | time (fastest) | up | down | messages up/down | conns | server RSS | disk |"
            )?;
            writeln!(
                o,
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
            )?;
            for sc in WINDOWS {
                for peer in PEERS {
                    let Some(c) = self.cell(tag, sc, peer) else {
                        continue;
                    };
                    writeln!(
                        o,
                        "| {sc} | {peer} | {} | {} ({}) | {} | {} | {} / {} | {} | {} | {} |",
                        c.n,
                        ms(c.ms),
                        ms(c.min_ms),
                        kib(c.up),
                        kib(c.down),
                        c.msgs_up,
                        c.msgs_down,
                        c.conns,
                        mib(c.rss_kb * 1024.0),
                        kib(c.disk)
                    )?;
                }
            }
            writeln!(o)?;
            writeln!(
                o,
                "| scenario | time ÷ fastest peer | up ÷ fewest | down ÷ fewest | RSS ÷ smallest | disk ÷ smallest |"
            )?;
            writeln!(o, "| --- | --- | --- | --- | --- | --- |")?;
            for sc in WINDOWS {
                let Some(l) = self.cell(tag, sc, "lianxin") else {
                    continue;
                };
                let ratio = |f: &dyn Fn(&Cell) -> f64| -> String {
                    match self.best_peer(tag, sc, f) {
                        Some((p, v)) if v > 0.0 => format!("{:.2} ({p})", f(l) / v),
                        _ => "–".into(),
                    }
                };
                writeln!(
                    o,
                    "| {sc} | {} | {} | {} | {} | {} |",
                    ratio(&|c| c.ms),
                    ratio(&|c| c.up),
                    ratio(&|c| c.down),
                    ratio(&|c| c.rss_kb),
                    ratio(&|c| c.disk)
                )?;
            }
            writeln!(o)?;
            let verify: Vec<String> = PEERS
                .iter()
                .filter_map(|p| {
                    self.cell(tag, "S4", p)
                        .filter(|c| !c.verify.is_empty())
                        .map(|c| format!("- {p}: {}", c.verify.join("; ")))
                })
                .collect();
            if !verify.is_empty() {
                writeln!(
                    o,
                    "S4 verification (after the window: every replica and the server compared \
                     by version and content):"
                )?;
                writeln!(o)?;
                for v in verify {
                    writeln!(o, "{v}")?;
                }
                writeln!(o)?;
            }
        }
        if !self.errors.is_empty() {
            writeln!(o, "### Failed repetitions")?;
            writeln!(o)?;
            for e in &self.errors {
                writeln!(o, "- {e}")?;
            }
            writeln!(o)?;
        }
        self.render_scale(&mut o)?;
        if let Some(z) = &self.sizes {
            writeln!(o, "## Wire encoding experiment")?;
            writeln!(o)?;
            writeln!(
                o,
                "The workload's {} records ({} Lianxin documents) pushed as the engine pushes \
                 them, encoded as on the wire (`lianxin-bench-client sizes`): documents as \
                 `save()` writes them today (columns deflated per document), and as \
                 `save_nocompress()` with the same request-level deflate. The workload as JSON \
                 is {}.",
                z["records"],
                z["documents"],
                kib(num(z, "workloadJsonBytes"))
            )?;
            writeln!(o)?;
            writeln!(
                o,
                "| documents as | document bytes | wire, 32 KiB chunks | wire, 1 MiB chunks |"
            )?;
            writeln!(o, "| --- | --- | --- | --- |")?;
            for k in ["save", "save_nocompress"] {
                let v = &z[k];
                writeln!(
                    o,
                    "| `{k}()` | {} | {} in {} requests | {} in {} requests |",
                    kib(num(v, "documentBytes")),
                    kib(num(&v["wire32KiB"], "bytes")),
                    v["wire32KiB"]["requests"],
                    kib(num(&v["wire1MiB"], "bytes")),
                    v["wire1MiB"]["requests"]
                )?;
            }
            writeln!(o)?;
        }
        if let Some(h) = &self.hostile {
            writeln!(o, "{}", bench_hostile::HEADING)?;
            writeln!(o)?;
            writeln!(o, "{h}")?;
            writeln!(o)?;
        }
        writeln!(o, "## Browser")?;
        writeln!(o)?;
        writeln!(
            o,
            "{}",
            browser_text(Some(&self.site), self.browser.as_ref())
        )?;
        writeln!(o)?;
        writeln!(o, "{}", crate::bench_photos::HEADING)?;
        writeln!(o)?;
        writeln!(o, "{}", crate::bench_photos::section(self.photos.as_ref()))?;
        writeln!(o)?;
        writeln!(o, "## Rerun")?;
        writeln!(o)?;
        writeln!(o, "```")?;
        writeln!(
            o,
            "cargo xtask bench            # full: about 55 min on this machine (25 of them the hostile link)"
        )?;
        writeln!(
            o,
            "cargo xtask bench --quick    # 1 repetition, smaller scale scenarios"
        )?;
        writeln!(
            o,
            "cargo xtask bench --peers lianxin --skip-scale   # only our peer, for iteration"
        )?;
        writeln!(
            o,
            "cargo xtask bench --browser-only   # only the Browser section (about 5 min)"
        )?;
        writeln!(
            o,
            "cargo xtask bench --cut-every 0    # the weak link without connection cuts"
        )?;
        writeln!(
            o,
            "cargo xtask bench --hostile-only   # only the Hostile link section (about 30 min)"
        )?;
        writeln!(
            o,
            "cargo xtask bench --photos-only    # only the Photos section (about 25 min)"
        )?;
        writeln!(o, "```")?;
        writeln!(o)?;
        writeln!(
            o,
            "Raw figures: `target/bench/harness/results/*.raw` (one JSON object per window), \
             `target/bench/harness/data/lianxin-*.server-rss.jsonl`, `target/bench/scale*.json`; \
             the harness's own report: `target/bench/harness/RESULTS.md`."
        )?;
        writeln!(o)?;
        o.push_str(&self.notes);
        Ok(o)
    }

    fn render_goals(&self, o: &mut String) -> anyhow::Result<()> {
        writeln!(o, "## Goals of issue 7, as measured in this run")?;
        writeln!(o)?;
        writeln!(o, "| goal | measured | verdict |")?;
        writeln!(o, "| --- | --- | --- |")?;
        for (tag, want) in [("loopback", 3.0), ("shaped", 5.0)] {
            for sc in ["S1", "S2", "S3", "S4"] {
                let Some(l) = self.cell(tag, sc, "lianxin") else {
                    continue;
                };
                // Peers that ran on this link but never finished this window.
                let unfinished: Vec<&str> = PEERS
                    .iter()
                    .copied()
                    .filter(|p| *p != "lianxin" && self.cell(tag, sc, p).is_none())
                    .filter(|p| self.failed.iter().any(|(fp, ft)| fp == p && ft == tag))
                    .collect();
                if let Some((p, v)) = self.best_peer(tag, sc, |c| c.ms) {
                    let factor = v / l.ms;
                    let also = if unfinished.is_empty() {
                        String::new()
                    } else {
                        format!("; {} did not finish it", unfinished.join(", "))
                    };
                    writeln!(
                        o,
                        "| {tag} {sc}: ≥ {want}× faster than the best peer | {} vs {p} {} = {factor:.2}×{also} | {} |",
                        ms(l.ms),
                        ms(v),
                        verdict(factor >= want, &format!("{:.1}× short", want / factor))
                    )?;
                } else if !unfinished.is_empty() {
                    writeln!(
                        o,
                        "| {tag} {sc}: ≥ {want}× faster than the best peer | {}; {} did not \
                         finish it (see Failed repetitions) | no peer to compare |",
                        ms(l.ms),
                        unfinished.join(", ")
                    )?;
                }
                for (dir, f) in [
                    ("up", (|c: &Cell| c.up) as fn(&Cell) -> f64),
                    ("down", |c: &Cell| c.down),
                ] {
                    let (target, label) = if sc == "S2" && dir == "down" {
                        (
                            self.cell(tag, sc, "pouchdb")
                                .map(|c| (c.down * 0.5, "½ of PouchDB (gzip)".to_string())),
                            "",
                        )
                    } else {
                        (
                            self.best_peer(tag, sc, f)
                                .map(|(p, v)| (v * 0.25, format!("¼ of {p}"))),
                            "",
                        )
                    };
                    let _ = label;
                    if let Some((limit, what)) = target {
                        let got = f(l);
                        writeln!(
                            o,
                            "| {tag} {sc} bytes {dir} ≤ {what} ({}) | {} | {} |",
                            kib(limit),
                            kib(got),
                            verdict(got <= limit, &format!("{:.1}× over", got / limit))
                        )?;
                    }
                }
            }
        }
        if let Some(s) = &self.scale {
            if let Some(d) = s.get("district").filter(|d| d.get("error").is_none()) {
                let all = num(d, "allMergedMs");
                let p99 = num(d, "syncP99Ms");
                let errors = num(d, "errors") + num(d, "notMerged");
                writeln!(
                    o,
                    "| {} devices × {} edits: all merged ≤ 30 s | {} | {} |",
                    d["devices"],
                    d["editsPerDevice"],
                    ms(all),
                    verdict(all <= 30_000.0, &format!("{:.1}× over", all / 30_000.0))
                )?;
                writeln!(
                    o,
                    "| … p99 per sync < 1 s | p50 {}, p99 {} | {} |",
                    ms(num(d, "syncP50Ms")),
                    ms(p99),
                    verdict(p99 < 1000.0, &format!("{:.1}× over", p99 / 1000.0))
                )?;
                writeln!(
                    o,
                    "| … 0 errors | {errors} | {} |",
                    verdict(errors == 0.0, "errors")
                )?;
            }
            if let Some(p) = s.get("province").filter(|d| d.get("error").is_none()) {
                let rss = num(p, "serverPeakRssKB") * 1024.0;
                writeln!(
                    o,
                    "| {} documents: server RSS < 200 MB | peak {} | {} |",
                    p["docs"],
                    mib(rss),
                    verdict(rss < 200e6, &format!("{:.1}× over", rss / 200e6))
                )?;
                let nc = &p["noChange"];
                let bytes = num(nc, "bytesUp") + num(nc, "bytesDown");
                let reqs = num(nc, "requests");
                writeln!(
                    o,
                    "| no-change sync of {} documents: 1 round trip, < 1 KB | {reqs} request(s), {bytes} B | {} |",
                    nc["docsHeld"],
                    verdict(reqs <= 1.0 && bytes < 1024.0, "missed")
                )?;
            }
        }
        if let Some(s) = &self.scale {
            for row in crate::bench_scale::goal_rows(s) {
                writeln!(o, "{row}")?;
            }
        }
        if let Some(row) = self.browser.as_ref().and_then(bench_browser::goal_row) {
            writeln!(o, "{row}")?;
        }
        writeln!(o)?;
        Ok(())
    }

    fn render_scale(&self, o: &mut String) -> anyhow::Result<()> {
        let Some(s) = &self.scale else {
            writeln!(o, "## Scale scenarios\n\nNot run.\n")?;
            return Ok(());
        };
        writeln!(
            o,
            "## Scale scenarios (Lianxin only: `lianxin-scale`, the real server binary on a real \
             SQLite file, native devices on the sync engine over HTTP)"
        )?;
        writeln!(o)?;
        if let Some(d) = s.get("district") {
            writeln!(o, "### District: many devices sync at once")?;
            writeln!(o)?;
            if let Some(e) = d.get("error") {
                writeln!(o, "Failed: {e}")?;
            } else {
                writeln!(
                    o,
                    "{} officers' devices (one officer each, one enterprise assigned each) hold \
                     {} visits each that the server already has; each edits every visit once \
                     offline, then all start syncing at the same instant.",
                    d["devices"], d["editsPerDevice"]
                )?;
                writeln!(o)?;
                writeln!(
                    o,
                    "| all merged | sync p50 | sync p99 | slowest | requests | failed requests | errors | not merged | up | down | server peak RSS | disk |"
                )?;
                writeln!(
                    o,
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
                )?;
                writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    ms(num(d, "allMergedMs")),
                    ms(num(d, "syncP50Ms")),
                    ms(num(d, "syncP99Ms")),
                    ms(num(d, "syncMaxMs")),
                    d["requests"],
                    d["failedRequests"],
                    d["errors"],
                    d["notMerged"],
                    kib(num(d, "bytesUp")),
                    kib(num(d, "bytesDown")),
                    mib(num(d, "serverPeakRssKB") * 1024.0),
                    disk_text(&d["diskBytes"])
                )?;
                writeln!(o)?;
                writeln!(
                    o,
                    "\"Sync\" is one device's whole sync: from \"sync now\" until its outbox is \
                     acknowledged and nothing is left to pull."
                )?;
                writeln!(o)?;
            }
        }
        if let Some(p) = s.get("province") {
            writeln!(o, "### Province: a server holding many documents")?;
            writeln!(o)?;
            if let Some(e) = p.get("error") {
                writeln!(o, "Failed: {e}")?;
            } else {
                let c = &p["catchUp"];
                let b = &p["bigCatchUp"];
                let n = &p["noChange"];
                writeln!(
                    o,
                    "{} visit documents (500-character notes, 10 per enterprise), seeded \
                     through the store's commit in {:.0} s. On disk: {}. Server RSS: \
                     {} idle after start, peak {} during the syncs below.",
                    p["docs"],
                    num(p, "seedSeconds"),
                    disk_text(&p["diskBytes"]),
                    mib(num(p, "serverIdleRssKB") * 1024.0),
                    mib(num(p, "serverPeakRssKB") * 1024.0)
                )?;
                writeln!(o)?;
                writeln!(o, "| what | documents | time | requests | up | down |")?;
                writeln!(o, "| --- | --- | --- | --- | --- | --- |")?;
                writeln!(
                    o,
                    "| fresh device catches up its enterprises | {} | {} | {} | {} B | {} |",
                    c["docs"],
                    ms(num(c, "ms")),
                    c["requests"],
                    c["bytesUp"],
                    kib(num(c, "bytesDown"))
                )?;
                writeln!(
                    o,
                    "| fresh device catches up (larger scope) | {} | {} | – | – | – |",
                    b["docs"],
                    ms(num(b, "ms"))
                )?;
                writeln!(
                    o,
                    "| no-change sync of that device | {} held | {} | {} | {} B | {} B |",
                    n["docsHeld"],
                    ms(num(n, "ms")),
                    n["requests"],
                    n["bytesUp"],
                    n["bytesDown"]
                )?;
                writeln!(o)?;
            }
        }
        if let Some(w) = s.get("weak") {
            writeln!(
                o,
                "### Weak link with loss (Lianxin only: `tests::proxy::ShapingProxy`, 300 ms \
                 one way, 256 kbit/s, cut every 3–10 s for 1–5 s)"
            )?;
            writeln!(o)?;
            if let Some(e) = w.get("error") {
                writeln!(o, "Failed: {e}")?;
            } else {
                writeln!(
                    o,
                    "| link | visits | time | stored | requests | failed requests | cuts | up | down | result |"
                )?;
                writeln!(
                    o,
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
                )?;
                for label in ["stable", "cut"] {
                    let r = &w[label];
                    writeln!(
                        o,
                        "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                        r["visits"],
                        ms(num(r, "ms")),
                        r["stored"],
                        r["requests"],
                        r["failedRequests"],
                        r["cuts"],
                        kib(num(r, "bytesUp")),
                        kib(num(r, "bytesDown")),
                        if r["ok"].as_bool() == Some(true) {
                            "settled".to_string()
                        } else {
                            r["error"].as_str().unwrap_or("failed").to_string()
                        }
                    )?;
                }
                writeln!(o)?;
            }
        }
        crate::bench_scale::render(s, o)?;
        Ok(())
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's civil-from-days).
pub(crate) fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn disk_text(v: &Value) -> String {
    format!(
        "{} database + {} WAL",
        mib(num(v, "db")),
        mib(num(v, "wal"))
    )
}

pub(crate) fn verdict(ok: bool, miss: &str) -> String {
    if ok {
        "**met**".into()
    } else {
        format!("missed ({miss})")
    }
}

pub(crate) fn ms(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v >= 10_000.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

pub(crate) fn kib(b: f64) -> String {
    if !b.is_finite() {
        "–".into()
    } else if b < 10_240.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

fn mib(b: f64) -> String {
    if !b.is_finite() {
        "–".into()
    } else {
        format!("{:.0} MiB", b / 1024.0 / 1024.0)
    }
}

fn locked_version(lock: &str, krate: &str) -> String {
    let needle = format!("name = \"{krate}\"\nversion = \"");
    lock.find(&needle)
        .map(|i| {
            lock[i + needle.len()..]
                .split('"')
                .next()
                .unwrap_or("?")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

pub(crate) fn output_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

/// The shipped client's compressed size, as `cargo xtask build-client` left it in target/site.
fn site_size(site: &Path) -> Option<String> {
    let wasm = site.join("client_bg.wasm");
    let raw = fs::metadata(&wasm).ok()?.len();
    // The officer bundle is what a phone loads; when the build also makes a `client_full`
    // bundle (leader and handler screens), its files replace the officer's client files.
    let mut officer = 0u64;
    let mut full = 0u64;
    let mut split = false;
    let mut files = Vec::new();
    for entry in fs::read_dir(site).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(base) = name.strip_suffix(".br")
            && [".wasm", ".js", ".css"].iter().any(|e| base.ends_with(e))
        {
            let len = entry.metadata().ok()?.len();
            let is_full = base.starts_with("client_full");
            let is_officer = base.starts_with("client.") || base.starts_with("client_bg.");
            split |= is_full;
            if !is_full {
                officer += len;
            }
            if !is_officer {
                full += len;
            }
            if !is_full {
                files.push(format!("{base} {}", kib(len as f64)));
            }
        }
    }
    files.sort();
    let built = fs::metadata(&wasm)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let release = raw < 3 * 1024 * 1024;
    // The goal is build-client's budget, in bytes as it counts them.
    let budget = crate::build_client::BUDGET_BYTES;
    let ratio = officer as f64 / budget as f64;
    Some(format!(
        "Shipped app as built by `cargo xtask build-client`{} (the officer's wasm is {} \
         uncompressed, so this is {}): **{} brotli** over wasm + js + css for {} ({}){}. \
         Goal: at most {} KB: {}.",
        built.map(|s| format!(" at {}", utc(s))).unwrap_or_default(),
        mib(raw as f64),
        if release {
            "a release build"
        } else {
            "a dev build (`--dev`), NOT the shipped size: run `cargo xtask build-client` first"
        },
        kib(officer as f64),
        if split {
            "the officer bundle a phone loads"
        } else {
            "the whole app"
        },
        files.join(", "),
        if split {
            format!(
                "; the leader and handler bundle, loaded instead on those roles' screens, is {}",
                kib(full as f64)
            )
        } else {
            String::new()
        },
        budget / 1000,
        if ratio <= 1.0 {
            format!("**met** ({ratio:.2}× the goal)")
        } else {
            format!("missed ({ratio:.2}× the goal)")
        }
    ))
}
