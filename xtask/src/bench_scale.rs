//! The report's figures of issue 12's scale scenarios (`lianxin-scale`'s `hostile`, `crash`
//! and the district's goal as issue 12 sets it): goal rows with verdicts, and a section each.
//! `bench.rs` calls [`goal_rows`] and [`render`] with `target/bench/scale*.json`;
//! `cargo xtask bench --scale-only <scenarios>` ([`scale_only`]) runs only those scenarios and
//! rewrites only their section of BENCHMARKS.md.

use std::fmt::Write as _;
use std::fs;
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::Value;

use crate::workspace::{Workspace, cargo, run_checked};

/// The heading of the section [`scale_only`] writes.
const SECTION: &str = "## Scale goals of issue 12 (`--scale-only`)\n";

/// `cargo xtask bench --scale-only <scenarios>`: builds the release server and `lianxin-scale`,
/// runs only `names` (`--quick` shrinks them), keeps the figures in
/// `target/bench/scale-only.json`, and rewrites the section of BENCHMARKS.md holding their
/// goals and tables, leaving the other sections as they are.
/// With `render_only` (`--skip-scale`), nothing is built or run: the section is rewritten from
/// the last `target/bench/scale-only.json`.
pub fn scale_only(
    workspace: &Workspace,
    names: &[String],
    quick: bool,
    render_only: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let bench_dir = workspace.target_dir.join("bench");
    let json = bench_dir.join("scale-only.json");
    let load = fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    if !render_only {
        run_scale(workspace, names, quick, &json)?;
    }
    let scale: Value = serde_json::from_str(
        &fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?,
    )?;
    let mut body = String::new();
    if render_only {
        writeln!(
            body,
            "Rendered from the last `target/bench/scale-only.json` (`lianxin-scale --only {}`); \
             the other sections are from the last full run.",
            names.join(",")
        )?;
    } else {
        writeln!(
            body,
            "Measured by `cargo xtask bench --scale-only {}{}` in {:.1} min (load average \
             before: {load}); the other sections are from the last full run.",
            names.join(","),
            if quick { " --quick" } else { "" },
            started.elapsed().as_secs_f64() / 60.0,
        )?;
    }
    writeln!(body)?;
    writeln!(body, "| goal | measured | verdict |")?;
    writeln!(body, "| --- | --- | --- |")?;
    for row in goal_rows(&scale) {
        writeln!(body, "{row}")?;
    }
    writeln!(body)?;
    if let Some(d) = scale.get("district").filter(|d| d.get("error").is_none()) {
        writeln!(
            body,
            "District ({} devices × {} edits, all syncing at once): all merged {}, sync p50 {}, \
             p99 {}, {} requests, {} errors, {} not merged.",
            d["devices"],
            d["editsPerDevice"],
            ms(num(d, "allMergedMs")),
            ms(num(d, "syncP50Ms")),
            ms(num(d, "syncP99Ms")),
            d["requests"],
            d["errors"],
            d["notMerged"]
        )?;
        writeln!(body)?;
    }
    render(&scale, &mut body)?;
    let path = workspace.root.join("BENCHMARKS.md");
    let report = fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    fs::write(&path, splice(&report, &body))?;
    eprintln!(
        "\nwrote the issue 12 scale section of BENCHMARKS.md in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Builds the release server and `lianxin-scale` and runs the scenarios `names` into `json`.
fn run_scale(
    workspace: &Workspace,
    names: &[String],
    quick: bool,
    json: &std::path::Path,
) -> anyhow::Result<()> {
    eprintln!("==> building release binaries (lianxin-server, lianxin-scale)");
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
        "lianxin-scale",
    ]))?;
    if let Some(dir) = json.parent() {
        fs::create_dir_all(dir)?;
    }
    eprintln!("==> lianxin-scale --only {}", names.join(","));
    let mut cmd = Command::new(workspace.target_dir.join("release").join("lianxin-scale"));
    cmd.arg("--out")
        .arg(json)
        .arg("--only")
        .arg(names.join(","));
    if quick {
        cmd.arg("--quick");
    }
    run_checked(&mut cmd)
}

/// Replaces the [`SECTION`] of `report` with `body` (or inserts it before `## Rerun`).
fn splice(report: &str, body: &str) -> String {
    let new = format!("{SECTION}\n{}\n", body.trim_end());
    if let Some(start) = report.find(SECTION) {
        let after = start + SECTION.len();
        let end = report[after..]
            .find("\n## ")
            .map_or(report.len(), |i| after + i + 1);
        format!("{}{new}\n{}", &report[..start], &report[end..])
    } else if let Some(at) = report.find("## Rerun") {
        format!("{}{new}\n{}", &report[..at], &report[at..])
    } else {
        format!("{}\n\n{new}", report.trim_end())
    }
}

/// Issue 12: a hostile client moves the server's peak RSS by at most this many bytes…
pub const GOAL_HOSTILE_RSS_BYTES: f64 = 100e6;
/// … and honest syncs' p99 by at most this factor.
pub const GOAL_HOSTILE_P99_RATIO: f64 = 2.0;
/// Issue 12: SIGKILLs of the server during continuous syncs.
pub const GOAL_KILLS: f64 = 100.0;
/// Issue 12: 1,000 devices × 10 edits, p99 per sync and all merged.
pub const GOAL_DISTRICT_P99_MS: f64 = 1000.0;
pub const GOAL_DISTRICT_ALL_MS: f64 = 10_000.0;

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn verdict(ok: bool, miss: &str) -> String {
    if ok {
        "**met**".into()
    } else {
        format!("missed ({miss})")
    }
}

fn ms(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v >= 10_000.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

fn mb(b: f64) -> String {
    if b.is_finite() {
        format!("{:.0} MB", b / 1e6)
    } else {
        "–".into()
    }
}

/// Issue 12's goal rows (`| goal | measured | verdict |`) for the scenarios that ran.
pub fn goal_rows(scale: &Value) -> Vec<String> {
    let mut rows = Vec::new();
    if let Some(d) = scale.get("district").filter(|d| d.get("error").is_none()) {
        let p99 = num(d, "syncP99Ms");
        let all = num(d, "allMergedMs");
        rows.push(format!(
            "| issue 12: {} devices × {} edits, p99 per sync ≤ 1 s and all merged ≤ 10 s | p99 {}, all merged {} | {} |",
            d["devices"],
            d["editsPerDevice"],
            ms(p99),
            ms(all),
            verdict(
                p99 <= GOAL_DISTRICT_P99_MS && all <= GOAL_DISTRICT_ALL_MS,
                &format!(
                    "p99 {:.1}× over, all merged {:.1}×",
                    p99 / GOAL_DISTRICT_P99_MS,
                    all / GOAL_DISTRICT_ALL_MS
                )
            )
        ));
    }
    if let Some(h) = scale.get("hostile").filter(|d| d.get("error").is_none()) {
        let growth = num(h, "peakGrowthBytes");
        let ratio = num(h, "p99Ratio");
        rows.push(format!(
            "| issue 12: a hostile client at the limits moves the server's peak RSS by ≤ 100 MB | {} → {} (+{}) | {} |",
            mb(num(h, "serverPeakAloneBytes")),
            mb(num(h, "serverPeakHostileBytes")),
            mb(growth),
            verdict(
                growth <= GOAL_HOSTILE_RSS_BYTES && h["serverStillRunning"] == true,
                &format!("{:.1}× over", growth / GOAL_HOSTILE_RSS_BYTES)
            )
        ));
        rows.push(format!(
            "| … and an honest device's sync p99 by ≤ 2× | {} → {} = {ratio:.2}× | {} |",
            ms(num(&h["alone"], "p99Ms")),
            ms(num(&h["hostile"], "p99Ms")),
            verdict(
                ratio <= GOAL_HOSTILE_P99_RATIO,
                &format!("{:.1}× over", ratio / GOAL_HOSTILE_P99_RATIO)
            )
        ));
    }
    if let Some(c) = scale.get("crash").filter(|d| d.get("error").is_none()) {
        let kills = num(c, "kills");
        let lost = num(c, "lostAckedChanges");
        let integrity = num(c, "integrityFailures");
        let unsettled = num(c, "unsettledAtEnd");
        rows.push(format!(
            "| issue 12: 100 SIGKILLs during continuous syncs, 0 acknowledged changes lost, integrity_check ok after each | {kills} kills, {} acknowledged heads checked, {lost} lost, {integrity} integrity failures | {} |",
            c["ackedHeadsChecked"],
            verdict(
                kills >= GOAL_KILLS && lost == 0.0 && integrity == 0.0 && unsettled == 0.0,
                &if kills < GOAL_KILLS {
                    format!("only {kills} kills (--quick)")
                } else {
                    format!("{lost} lost, {integrity} integrity failures, {unsettled} unsettled")
                }
            )
        ));
    }
    rows
}

/// The sections of the `hostile` and `crash` scenarios, and the district's CPU.
///
/// # Errors
/// Never (writing to a `String`).
pub fn render(scale: &Value, o: &mut String) -> std::fmt::Result {
    if let Some(d) = scale
        .get("district")
        .filter(|d| d.get("serverCpuSeconds").is_some())
    {
        writeln!(
            o,
            "District CPU: the server used {:.1} CPU-seconds in the {} window ({:.2} ms per \
             edited document; 2 cores give at most {:.1}), the devices' process {:.1}.",
            num(d, "serverCpuSeconds"),
            ms(num(d, "allMergedMs")),
            num(d, "serverCpuSeconds") * 1000.0
                / (num(d, "devices") * num(d, "editsPerDevice")).max(1.0),
            num(d, "allMergedMs") / 1000.0 * 2.0,
            num(d, "devicesCpuSeconds")
        )?;
        writeln!(o)?;
    }
    if let Some(h) = scale.get("hostile") {
        writeln!(o, "### Hostile clients at the sync limits")?;
        writeln!(o)?;
        if let Some(e) = h.get("error") {
            writeln!(o, "Failed: {e}")?;
        } else {
            writeln!(
                o,
                "{} honest officers' devices each edit one of their visits and sync, in a loop: \
                 {} s alone, then {} s while {} window clerks (a real login, the lowest \
                 privilege that syncs) send the requests below in turn, as fast as the server \
                 answers. The server holds a 1.9 MB visit outside the clerks' scope.",
                h["honestDevices"], h["aloneSeconds"], h["hostileSeconds"], h["hostileClients"]
            )?;
            writeln!(o)?;
            writeln!(
                o,
                "| phase | honest syncs | failed | p50 | p99 | server peak RSS |"
            )?;
            writeln!(o, "| --- | --- | --- | --- | --- | --- |")?;
            for (label, key, peak) in [
                ("alone", "alone", "serverPeakAloneBytes"),
                (
                    "beside the hostile clients",
                    "hostile",
                    "serverPeakHostileBytes",
                ),
            ] {
                let p = &h[key];
                writeln!(
                    o,
                    "| {label} | {} | {} | {} | {} | {} |",
                    p["syncs"],
                    p["errors"],
                    ms(num(p, "p50Ms")),
                    ms(num(p, "p99Ms")),
                    mb(num(h, peak))
                )?;
            }
            writeln!(o)?;
            writeln!(
                o,
                "| request | body on the wire | sent | answers | mean time |"
            )?;
            writeln!(o, "| --- | --- | --- | --- | --- |")?;
            if let Some(attacks) = h["attacks"].as_object() {
                for (name, a) in attacks {
                    let answers = a["answers"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(s, n)| format!("{s} ×{n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    writeln!(
                        o,
                        "| {} | {:.0} KiB | {} | {answers} | {} |",
                        attack_text(name),
                        num(a, "bodyBytes") / 1024.0,
                        a["sent"],
                        ms(num(a, "meanMs"))
                    )?;
                }
            }
            writeln!(o)?;
        }
    }
    if let Some(c) = scale.get("crash") {
        writeln!(o, "### SIGKILL during continuous syncs")?;
        writeln!(o)?;
        if let Some(e) = c.get("error") {
            writeln!(o, "Failed: {e}")?;
        } else {
            writeln!(
                o,
                "{} officers' devices record and edit visits and sync in a loop; the server is \
                 SIGKILLed at a seeded random moment (20–400 ms into each round), the dead \
                 server's file is checked (`PRAGMA integrity_check`; every head a device saw \
                 acknowledged loaded from the store; each change row stored once), and the \
                 server restarts on the same file. Heads are summed over the checks (one after \
                 each kill and one at the end, each over every document held).",
                c["devices"]
            )?;
            writeln!(o)?;
            writeln!(
                o,
                "| kills | syncs | cut short by a kill | acknowledged heads checked | lost | integrity failures | change rows not once | documents recorded / stored | unsettled at the end | restart | total |"
            )?;
            writeln!(
                o,
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
            )?;
            writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {:.0} s |",
                c["kills"],
                c["syncs"],
                c["syncsCutShort"],
                c["ackedHeadsChecked"],
                c["lostAckedChanges"],
                c["integrityFailures"],
                c["changeRowMismatches"],
                c["docsRecorded"],
                c["docsStored"],
                c["unsettledAtEnd"],
                ms(num(c, "meanRestartMs")),
                num(c, "seconds")
            )?;
            writeln!(o)?;
        }
    }
    Ok(())
}

fn attack_text(name: &str) -> &str {
    match name {
        "duplicatesOfLargeOutOfScope" => {
            "the most pushes (500), all one edit of the 1.9 MB visit outside the clerk's scope"
        }
        "bitFlipped" => {
            "500 bit-flipped documents with valid checksums, one of them Automerge's panic reproducer"
        }
        "maxSizeDocuments" => {
            "valid new visits at 98 % of the pushed-document limit, as many as the wire takes"
        }
        "wireLimit" => {
            "random bytes in documents at the pushed-document limit, up to the 8 MiB wire limit"
        }
        "inflationLimit" => {
            "a body inflating to the 16 MiB decoded limit at just under the 64× ratio"
        }
        "maxClaimedHeads" => "pushes each claiming 1,024 heads, as many as the wire takes",
        other => other,
    }
}
