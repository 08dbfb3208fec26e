//! `cargo xtask build-client`: compiles the yew client to wasm, binds it with wasm-bindgen, shrinks
//! it with wasm-opt, adds the static files and precompressed siblings, and swaps the result into
//! `target/site` (so a running server never sees a half-written folder), then reports the sizes.
//! Release builds also shorten the wasm's import names, minify the scripts and styles and
//! bundle the client's own JavaScript modules into each bundle's script (`minify`).
//! It builds the app twice: the officer bundle (`client.js`, `client_bg.wasm`), which
//! `index.html` loads by default and the size budget applies to, and the full bundle
//! (`client_full.*`, the client crate's `leader` feature) with the leader and handler screens.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use wasm_bindgen_cli_support::Bindgen;

use crate::minify;
use crate::workspace::{Workspace, cargo, run_checked, show};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The binaryen release whose wasm-opt reads what today's rustc writes (Debian's v108 cannot).
const BINARYEN_VERSION: &str = "132";
/// Brotli bytes of wasm + js + css a phone downloads on first visit with the officer bundle.
/// 550 KB since issue 12 retired the 450 KB aim (yew with the device's automerge calls alone
/// is 355 KB; `--breakdown` shows Lianxin's own share).
pub const BUDGET_BYTES: u64 = 550_000;
/// Files that get `.br` and `.gz` siblings.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "svg", "webmanifest", "json"];

/// Flags of `cargo xtask build-client`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Quick build for development: dev profile, no wasm-opt, light compression.
    #[arg(long)]
    pub dev: bool,
    /// Also build two measurement-only variants of the officer bundle (the client's
    /// `size-stack` and `size-core` features) into `target/size-breakdown` and report what
    /// yew + automerge, Lianxin's core and its other screens each add (also written to
    /// `target/size-breakdown/breakdown.json`). The site is unchanged.
    #[arg(long, conflicts_with = "dev")]
    pub breakdown: bool,
    /// Fail (after writing the site and the report) when the officer bundle is over
    /// [`BUDGET_BYTES`]. `cargo xtask test`, which CI runs, sets it; `cargo xtask bench` does
    /// not, so it still measures an oversized build.
    #[arg(long, conflicts_with = "dev")]
    pub check_budget: bool,
}

/// Builds the client into the site folder and returns that folder.
pub fn build_client(workspace: &Workspace, args: &Args) -> anyhow::Result<PathBuf> {
    let started = Instant::now();
    let profile = if args.dev { "dev" } else { "release-wasm" };

    ensure_wasm_target()?;
    // Find wasm-opt and esbuild before the long compile, so a missing npm fails fast.
    let tools = if args.dev {
        eprintln!();
        eprintln!("WARNING: --dev: wasm-opt is skipped; the wasm is unoptimised and several");
        eprintln!("WARNING: times larger than a release build. Never ship a --dev build.");
        eprintln!();
        None
    } else {
        Some(Tools {
            wasm_opt: ensure_wasm_opt(&workspace.tools_dir())?,
            esbuild: minify::ensure_esbuild(&workspace.tools_dir())?,
        })
    };

    let site = workspace.site_dir();
    // One staging folder per build: two builds at once (several engineers, a bench) must not
    // write into each other's.
    let staging = sibling(&site, &format!("new-{}", std::process::id()));
    remove_dir_if_present(&staging)?;
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;

    for bundle in BUNDLES {
        build_bundle(
            workspace,
            bundle,
            profile,
            args.dev,
            tools.as_ref(),
            &staging,
        )?;
    }

    step("copying static files");
    copy_dir(&workspace.root.join("client").join("static"), &staging)?;
    if let Some(tools) = &tools {
        step("minifying the page's scripts and styles (esbuild)");
        for name in STATIC_MINIFIED {
            minify::minify(&tools.esbuild, &staging.join(name))?;
        }
    }

    let build = build_id(&staging)?;
    step(&format!(
        "stamping build {build} into the service worker and the page"
    ));
    stamp_build(&staging, &build)?;

    // Maximum compression takes minutes on a multi-megabyte dev wasm; dev builds go fast instead.
    let level = if args.dev { Level::Fast } else { Level::Best };
    step(&format!("precompressing (brotli, gzip; {level:?})"));
    let report = precompress(&staging, level)?;

    replace_dir(&staging, &site)?;
    print_report(&report, args.dev);
    let officer = downloaded_bytes(&report, budgeted_bundle()?);
    match tools.as_ref().filter(|_| args.breakdown) {
        Some(tools) => print_breakdown(workspace, tools, &report)?,
        // A breakdown of an earlier build no longer describes the site.
        None => remove_file_if_present(&breakdown_file(workspace))?,
    }
    eprintln!(
        "\nclient built into {} in {:.1} s",
        site.display(),
        started.elapsed().as_secs_f64()
    );
    if args.check_budget && !args.dev && officer > BUDGET_BYTES {
        bail!(
            "the officer bundle is {} brotli, {} over its {} budget (BUDGET_BYTES in \
             xtask/src/build_client.rs; `cargo xtask build-client --breakdown` shows what it is \
             made of)",
            kb(officer),
            kb(officer - BUDGET_BYTES),
            kb(BUDGET_BYTES)
        );
    }
    Ok(site)
}

/// The npm tools a release build runs (dev builds run neither).
struct Tools {
    /// binaryen's wasm-opt script (run with node).
    wasm_opt: PathBuf,
    /// esbuild's executable, the minifier.
    esbuild: PathBuf,
}

/// The page's own scripts and styles under `client/static` that release builds minify (each
/// bundle's wasm-bindgen script is minified where it is generated).
const STATIC_MINIFIED: &[&str] = &[
    "boot.js",
    "photos.js",
    "sw.js",
    "style.css",
    "client_full.css",
];

/// One of the app's two builds: the officer bundle, which `index.html` loads by default and
/// which the budget applies to, and the full bundle with the leader and handler screens, which
/// `boot.js` loads for those roles.
struct Bundle {
    /// What the report calls it.
    label: &'static str,
    /// The client crate's features it is built with (comma-separated; empty for none).
    features: &'static str,
    /// The file name stem wasm-bindgen writes (`<stem>.js`, `<stem>_bg.wasm`).
    stem: &'static str,
}

/// Built in this order; the officer bundle first, so a failure there stops early.
const BUNDLES: &[Bundle] = &[
    Bundle {
        label: "officer bundle (loaded by default; the budget applies to it)",
        features: "",
        stem: "client",
    },
    Bundle {
        label: "full bundle (leader and handler screens)",
        features: "leader",
        stem: "client_full",
    },
];

/// The measurement-only builds of `--breakdown`, smallest first; never shipped.
const PROBES: &[Bundle] = &[
    Bundle {
        label: "yew + automerge alone (a probe making the device's automerge calls)",
        features: "size-stack",
        stem: "probe_stack",
    },
    Bundle {
        label: "+ sync engine, storage, login, enterprise list (every route shows the list)",
        features: "size-core",
        stem: "probe_core",
    },
];

/// Builds [`PROBES`] into `target/size-breakdown`, prints each beside the officer bundle and
/// writes the figures to `target/size-breakdown/breakdown.json` (for `cargo xtask bench`).
/// Every row counts what a phone downloads: the files all bundles share (page scripts,
/// styles) plus that build's script and wasm, brotli 11.
fn print_breakdown(
    workspace: &Workspace,
    tools: &Tools,
    shipped: &[FileSizes],
) -> anyhow::Result<()> {
    let dir = workspace.target_dir.join("size-breakdown");
    remove_dir_if_present(&dir)?;
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let officer_bundle = budgeted_bundle()?;
    let own_files = [
        format!("{}.js", officer_bundle.stem),
        format!("{}_bg.wasm", officer_bundle.stem),
    ];
    let officer = downloaded_bytes(shipped, officer_bundle);
    let own: u64 = shipped
        .iter()
        .filter(|file| own_files.contains(&file.name))
        .map(|file| file.brotli.unwrap_or(file.raw))
        .sum();
    let common = officer - own;
    let mut rows = Vec::new();
    for probe in PROBES {
        build_bundle(workspace, probe, "release-wasm", false, Some(tools), &dir)?;
        let mut total = common;
        for file in [
            format!("{}.js", probe.stem),
            format!("{}_bg.wasm", probe.stem),
        ] {
            let path = dir.join(&file);
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            total +=
                len(&brotli(&bytes, Level::Best).with_context(|| format!("compressing {file}"))?);
        }
        rows.push((probe.label, total));
    }
    rows.push(("+ the other officer screens (the officer bundle)", officer));

    println!();
    println!("size breakdown of the officer bundle (brotli, what a phone downloads):");
    let mut previous = None;
    for (label, total) in &rows {
        let added = previous.map_or_else(String::new, |previous: u64| {
            format!("  ({:+.1} KB)", (*total as f64 - previous as f64) / 1000.0)
        });
        println!("  {label:<76} {:>10}{added}", kb(*total));
        previous = Some(*total);
    }
    println!("  budget {}", kb(BUDGET_BYTES));

    let json = serde_json::json!(
        rows.iter()
            .map(|(label, total)| serde_json::json!({ "build": label, "brotli_bytes": total }))
            .collect::<Vec<_>>()
    );
    let out = breakdown_file(workspace);
    fs::write(&out, json.to_string()).with_context(|| format!("writing {}", out.display()))
}

/// Where `--breakdown` writes its figures.
pub fn breakdown_file(workspace: &Workspace) -> PathBuf {
    workspace
        .target_dir
        .join("size-breakdown")
        .join("breakdown.json")
}

/// The rustc flags of a shipped build: the caller's own (`CARGO_ENCODED_RUSTFLAGS` or
/// `RUSTFLAGS`), then one `--remap-path-prefix` per crate registry under `$CARGO_HOME/registry/src`
/// so that the source paths a panic location keeps read `automerge-0.12.0/src/…` instead of
/// `/root/.cargo/registry/src/index.crates.io-…/automerge-0.12.0/src/…`: about a hundred such
/// paths are in the officer bundle's data (bench/NOTES.md, "Room for the enterprise's
/// signature"). Only the `release-wasm` profile gets them, so no other build is invalidated.
fn shipped_rustflags() -> String {
    let mut flags: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\x1f').map(str::to_string).collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(Ok(registries)) = cargo_home.map(|h| fs::read_dir(h.join("registry").join("src"))) {
        let mut dirs: Vec<PathBuf> = registries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            flags.push(format!("--remap-path-prefix={}/=", dir.display()));
        }
    }
    flags.join("\x1f")
}

/// Compiles one bundle, binds it into `staging` under its stem and shrinks it.
fn build_bundle(
    workspace: &Workspace,
    bundle: &Bundle,
    profile: &str,
    dev: bool,
    tools: Option<&Tools>,
    staging: &Path,
) -> anyhow::Result<()> {
    step(&format!(
        "compiling the {} ({profile} profile)",
        bundle.stem
    ));
    let mut build = cargo();
    build
        .current_dir(&workspace.root)
        .args(["build", "--package", "client", "--target", WASM_TARGET])
        .args(["--profile", profile]);
    if !bundle.features.is_empty() {
        build.args(["--features", bundle.features]);
    }
    if !dev {
        build.env("CARGO_ENCODED_RUSTFLAGS", shipped_rustflags());
    }
    run_checked(&mut build)?;
    let profile_dir = if dev { "debug" } else { profile };
    let wasm = workspace
        .target_dir
        .join(WASM_TARGET)
        .join(profile_dir)
        .join("client.wasm");

    // rustc's output still has its name section (wasm-bindgen and wasm-opt drop it): keep a
    // copy per bundle for size tools such as `twiggy top`.
    let names = workspace.target_dir.join("client-names");
    fs::create_dir_all(&names).with_context(|| format!("creating {}", names.display()))?;
    let named = names.join(format!("{}.wasm", bundle.stem));
    fs::copy(&wasm, &named)
        .with_context(|| format!("copying {} to {}", wasm.display(), named.display()))?;

    step(&format!(
        "generating JS bindings for {} (wasm-bindgen)",
        bundle.stem
    ));
    Bindgen::new()
        .input_path(&wasm)
        .out_name(bundle.stem)
        .web(true)
        .context("selecting wasm-bindgen's --target web")?
        .typescript(false)
        // The library, unlike the CLI, leaves out `init()`'s default wasm URL.
        .omit_default_module_path(false)
        .debug(dev)
        .remove_name_section(!dev)
        .remove_producers_section(!dev)
        .generate(staging)
        .with_context(|| format!("running wasm-bindgen on {}", wasm.display()))?;

    if let Some(tools) = tools {
        let wasm = staging.join(format!("{}_bg.wasm", bundle.stem));
        let script = staging.join(format!("{}.js", bundle.stem));
        step(&format!(
            "shortening {}'s import names, minifying and bundling its script (esbuild)",
            bundle.stem
        ));
        // Before wasm-opt, which then checks the renamed module.
        minify::shorten_imports(&wasm, &script, bundle.stem)?;
        minify::minify_bundle(&tools.esbuild, &script)?;
        // Now inside the script (dev builds keep and serve them as wasm-bindgen wrote them).
        remove_dir_if_present(&staging.join("snippets"))?;
        step(&format!("shrinking {} (wasm-opt -Oz)", bundle.stem));
        shrink(&tools.wasm_opt, &wasm)?;
    }
    Ok(())
}

/// The placeholder in `sw.js` and `index.html` that becomes the build id.
const BUILD_PLACEHOLDER: &str = "__LIANXIN_BUILD__";

/// A build id from the content of every shipped file: the same sources give the same id (no
/// needless update), any change gives a new one, so the service worker's cache name changes
/// with every deploy that changes anything.
fn build_id(dir: &Path) -> anyhow::Result<String> {
    let mut files = files_under(dir)?;
    files.sort();
    // FNV-1a, 64 bits: not for security, only to tell builds apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in files {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        for byte in name.bytes().chain([0]).chain(bytes).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(format!("{hash:016x}"))
}

/// Writes the build id into `sw.js` (its cache name) and `index.html` (a meta tag the app and
/// the tests read).
fn stamp_build(dir: &Path, build: &str) -> anyhow::Result<()> {
    for name in ["sw.js", "index.html"] {
        let path = dir.join(name);
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        if !text.contains(BUILD_PLACEHOLDER) {
            bail!("{} has no {BUILD_PLACEHOLDER} placeholder", path.display());
        }
        fs::write(&path, text.replace(BUILD_PLACEHOLDER, build))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

/// Installs the wasm32 target with rustup unless the toolchain already has it.
fn ensure_wasm_target() -> anyhow::Result<()> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context(
            "cannot run `rustup`: install the Rust toolchain with rustup (https://rustup.rs), or \
             otherwise add the wasm32-unknown-unknown target to your toolchain",
        )?;
    if !output.status.success() {
        bail!(
            "`rustup target list --installed` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    step(&format!("installing the {WASM_TARGET} target (rustup)"));
    run_checked(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Returns binaryen's wasm-opt script, installing `binaryen@132` from npm into `tools` first if
/// that version is not there.
fn ensure_wasm_opt(tools: &Path) -> anyhow::Result<PathBuf> {
    let package = tools.join("node_modules").join("binaryen");
    let script = package.join("bin").join("wasm-opt");
    if installed_major(&package).as_deref() == Some(BINARYEN_VERSION) && script.is_file() {
        return Ok(script);
    }

    let npm_works = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !npm_works {
        bail!(
            "`npm` was not found. build-client needs Node.js and npm to install wasm-opt \
             (binaryen@{BINARYEN_VERSION}, into {}). Install Node.js with npm (on Debian/Ubuntu: \
             `apt-get install nodejs npm`) and run it again, or use `--dev` to skip wasm-opt.",
            tools.display()
        );
    }
    step(&format!(
        "installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into {}",
        tools.display()
    ));
    npm_install(tools, &format!("binaryen@{BINARYEN_VERSION}"))?;
    if !script.is_file() {
        bail!(
            "npm installed binaryen, but {} is missing",
            script.display()
        );
    }
    Ok(script)
}

/// The major version of the npm package in `package`, if it is installed.
/// Installs the npm package `spec` (`name@version`) into `tools`.
pub(crate) fn npm_install(tools: &Path, spec: &str) -> anyhow::Result<()> {
    fs::create_dir_all(tools).with_context(|| format!("creating {}", tools.display()))?;
    run_checked(
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(tools)
            .args(["--no-audit", "--no-fund", "--loglevel", "error"])
            .arg(spec),
    )
    .with_context(|| format!("installing {spec} from npm"))
}

/// The version an installed npm package's manifest names.
pub(crate) fn installed_version(package: &Path) -> Option<String> {
    let manifest = fs::read(package.join("package.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).ok()?;
    manifest["version"].as_str().map(str::to_owned)
}

fn installed_major(package: &Path) -> Option<String> {
    installed_version(package)?
        .split('.')
        .next()
        .map(str::to_owned)
}

/// Shrinks `wasm` in place with wasm-opt: the passes below, then `-Oz` to convergence.
fn shrink(wasm_opt: &Path, wasm: &Path) -> anyhow::Result<()> {
    let passes: &[&str] = &[
        // Lets wasm-opt fold constant offsets into loads and stores. True of rustc's wasm: the
        // stack comes first in memory and grows down from 1 MiB toward address 0, and the data
        // starts at 1 MiB, so the low 1 KiB is only reached by a stack 1023 KiB deep. Saves
        // ~2 KB brotli and some wasm-opt time (measured 2026-11-29).
        "--low-memory-unused",
        "-Oz",
        // A whole-program pass that finds more constants and dead code; the second -Oz
        // cleans up after it. −0.7 KB brotli for ~8 s per bundle (measured 2026-11-29).
        "--gufa",
        "-Oz",
        // Flattens the code and rebuilds its control flow from scratch (the relooper), which
        // finds smaller shapes than -Oz alone; -Oz cleans up after it. −1.8 KB brotli for
        // ~30-60 s more per bundle (measured 2026-12-06, issue 12; a second round: −0.5 KB
        // more for four times the time, not taken).
        "--flatten",
        "--rereloop",
        "-Oz",
    ];
    run_wasm_opt(wasm_opt, wasm, passes)?;
    // Then -Oz again and again while the module shrinks (a second run: `--converge` repeats a
    // run's whole pass list, the flattening included). −1.8 KB brotli for ~60-150 s per
    // bundle here (measured 2026-12-06, issue 12).
    run_wasm_opt(wasm_opt, wasm, &["-Oz", "--converge"])
}

/// Runs wasm-opt's `passes` on `wasm` in place.
fn run_wasm_opt(wasm_opt: &Path, wasm: &Path, passes: &[&str]) -> anyhow::Result<()> {
    let optimised = wasm.with_extension("opt.wasm");
    let mut command = Command::new("node");
    command
        .arg(wasm_opt)
        .arg(wasm)
        .args(passes)
        // Features rustc enables by default for wasm32-unknown-unknown.
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg("--strip-debug")
        .arg("--strip-producers")
        .arg("-o")
        .arg(&optimised);
    run_checked(&mut command).with_context(|| format!("shrinking with `{}`", show(&command)))?;
    fs::rename(&optimised, wasm)
        .with_context(|| format!("moving {} to {}", optimised.display(), wasm.display()))
}

/// Copies the files under `from` into `to`, keeping sub-folders.
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    let entries = fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", source.display()))?;
        if kind.is_dir() {
            fs::create_dir_all(&target)
                .with_context(|| format!("creating {}", target.display()))?;
            copy_dir(&source, &target)?;
        } else {
            fs::copy(&source, &target)
                .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
        }
    }
    Ok(())
}

/// One shipped file's sizes in bytes.
struct FileSizes {
    name: String,
    raw: u64,
    gzip: Option<u64>,
    brotli: Option<u64>,
}

/// How hard to compress.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// What ships: brotli 11, gzip 9.
    Best,
    /// For dev builds: brotli 4, gzip 1.
    Fast,
}

/// Writes `.br` and `.gz` siblings for every compressible file under `dir`; returns each
/// shipped file's sizes, sorted by name.
fn precompress(dir: &Path, level: Level) -> anyhow::Result<Vec<FileSizes>> {
    let mut sizes = Vec::new();
    for path in files_under(dir)? {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let compressible = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| COMPRESSIBLE.contains(&extension));
        let (gzip, brotli) = if compressible {
            let gzip = gzip(&bytes, level).with_context(|| format!("gzipping {name}"))?;
            let brotli =
                brotli(&bytes, level).with_context(|| format!("brotli-compressing {name}"))?;
            write_sibling(&path, "gz", &gzip)?;
            write_sibling(&path, "br", &brotli)?;
            (Some(len(&gzip)), Some(len(&brotli)))
        } else {
            (None, None)
        };
        sizes.push(FileSizes {
            name,
            raw: len(&bytes),
            gzip,
            brotli,
        });
    }
    sizes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sizes)
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

fn gzip(bytes: &[u8], level: Level) -> std::io::Result<Vec<u8>> {
    let compression = match level {
        Level::Best => Compression::best(),
        Level::Fast => Compression::fast(),
    };
    let mut encoder = GzEncoder::new(Vec::new(), compression);
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Brotli: what ships (`Best`) comes from the reference encoder in Node.js (zlib), quality 11
/// with 16 MiB blocks, 0.9 KB smaller on the officer bundle than the `brotli` crate at the
/// same quality (measured 2026-12-06, issue 12); dev builds (`Fast`, quality 4) use the crate
/// and need no Node.js. Both write standard brotli with a 4 MiB window.
fn brotli(bytes: &[u8], level: Level) -> std::io::Result<Vec<u8>> {
    match level {
        Level::Best => brotli_with_node(bytes),
        Level::Fast => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: 4,
                lgwin: 22,
                ..Default::default()
            };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
            Ok(out)
        }
    }
}

/// Reads stdin whole, writes it brotli-compressed to stdout.
const NODE_BROTLI: &str = "const z = require('zlib'); const c = []; \
process.stdin.on('data', d => c.push(d)).on('end', () => { const b = Buffer.concat(c); \
const k = z.constants; process.stdout.write(z.brotliCompressSync(b, { params: { \
[k.BROTLI_PARAM_QUALITY]: 11, [k.BROTLI_PARAM_LGWIN]: 22, [k.BROTLI_PARAM_LGBLOCK]: 24, \
[k.BROTLI_PARAM_SIZE_HINT]: b.length } })); });";

fn brotli_with_node(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut child = Command::new("node")
        .args(["-e", NODE_BROTLI])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("node's stdin is not piped"))?;
    // Written from another thread while this one reads the output: neither pipe fills up.
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| std::io::Error::other("writing to node panicked"))??;
    if !output.status.success() || output.stdout.is_empty() {
        return Err(std::io::Error::other(format!(
            "node's brotli failed ({})",
            output.status
        )));
    }
    Ok(output.stdout)
}

fn write_sibling(path: &Path, extension: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let mut sibling = path.as_os_str().to_owned();
    sibling.push(".");
    sibling.push(extension);
    let sibling = PathBuf::from(sibling);
    fs::write(&sibling, bytes).with_context(|| format!("writing {}", sibling.display()))
}

/// `target/site` → `target/site.<suffix>`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_file_if_present(file: &Path) -> anyhow::Result<()> {
    match fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("removing {}", file.display())),
    }
}

fn remove_dir_if_present(dir: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("removing {}", dir.display())),
    }
}

/// Puts `staging` where `site` was with two renames, so a running server sees either the old
/// client or the new one.
fn replace_dir(staging: &Path, site: &Path) -> anyhow::Result<()> {
    let old = sibling(site, &format!("old-{}", std::process::id()));
    remove_dir_if_present(&old)?;
    if site.exists() {
        fs::rename(site, &old)
            .with_context(|| format!("moving {} to {}", site.display(), old.display()))?;
    }
    fs::rename(staging, site)
        .with_context(|| format!("moving {} to {}", staging.display(), site.display()))?;
    remove_dir_if_present(&old)
}

fn kb(bytes: u64) -> String {
    // Display only: precision lost above 2^52 bytes does not matter.
    let kb = bytes as f64 / 1000.0;
    format!("{kb:.1} KB")
}

/// The bundle the download budget applies to: officers on phones with poor signal load it.
const BUDGETED_STEM: &str = "client";

fn budgeted_bundle() -> anyhow::Result<&'static Bundle> {
    BUNDLES
        .iter()
        .find(|bundle| bundle.stem == BUDGETED_STEM)
        .context("the budgeted bundle is in BUNDLES")
}

/// Whether `name` (a wasm, js or css file) is part of what a phone downloads with `bundle`:
/// every such file except the other bundles' script, wasm and style sheet (`client_full.css`,
/// which `boot.js` adds only when it starts the full bundle).
fn shipped_with(name: &str, bundle: &Bundle) -> bool {
    let counted = Path::new(name)
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| matches!(extension, "wasm" | "js" | "css"));
    let other_bundle = BUNDLES.iter().any(|other| {
        other.stem != bundle.stem
            && (name == format!("{}.js", other.stem)
                || name == format!("{}_bg.wasm", other.stem)
                || name == format!("{}.css", other.stem))
    });
    counted && !other_bundle
}

/// Brotli bytes a phone downloads on first visit with `bundle`: every shared file plus that
/// bundle's script and wasm.
fn downloaded_bytes(files: &[FileSizes], bundle: &Bundle) -> u64 {
    files
        .iter()
        .filter(|file| shipped_with(&file.name, bundle))
        .map(|file| file.brotli.unwrap_or(file.raw))
        .sum()
}

/// Brotli bytes a phone downloads with the officer bundle from the built site `site`, counted
/// as the build counts them (the `.br` beside each file, else the file), or None when `site`
/// cannot be read.
pub fn officer_bytes(site: &Path) -> Option<u64> {
    let bundle = budgeted_bundle().ok()?;
    let mut total = 0;
    for entry in fs::read_dir(site).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !shipped_with(&name, bundle) {
            continue;
        }
        let compressed = site.join(format!("{name}.br"));
        total += fs::metadata(&compressed)
            .or_else(|_| entry.metadata())
            .ok()?
            .len();
    }
    Some(total)
}

fn print_report(files: &[FileSizes], dev: bool) {
    let optional = |size: Option<u64>| size.map_or_else(|| "-".to_owned(), kb);
    println!();
    println!(
        "{:<28} {:>12} {:>12} {:>12}",
        "file", "raw", "gzip", "brotli"
    );
    println!("{}", "-".repeat(67));
    for file in files {
        println!(
            "{:<28} {:>12} {:>12} {:>12}",
            file.name,
            kb(file.raw),
            optional(file.gzip),
            optional(file.brotli)
        );
    }
    println!("{}", "-".repeat(67));

    // What a phone downloads on first visit with each bundle: the shared files plus that
    // bundle's script and wasm.
    for bundle in BUNDLES {
        let total = downloaded_bytes(files, bundle);
        let budgeted = bundle.stem == BUDGETED_STEM;
        let verdict = if !budgeted {
            "not budgeted"
        } else if dev {
            "not checked for --dev builds"
        } else if total <= BUDGET_BYTES {
            "within budget"
        } else {
            "OVER BUDGET"
        };
        println!(
            "{}: wasm + js + css, brotli: {} (budget {}): {verdict}",
            bundle.label,
            kb(total),
            kb(BUDGET_BYTES)
        );
        if budgeted && !dev && total > BUDGET_BYTES {
            eprintln!(
                "WARNING: the officer bundle is {} over its {} budget",
                kb(total - BUDGET_BYTES),
                kb(BUDGET_BYTES)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_ships_is_brotli_that_decodes_to_the_file() {
        let file: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let compressed = brotli(&file, Level::Best).expect("node compresses");
        assert!(compressed.len() < file.len() / 10);
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &compressed[..], &mut decoded).expect("decodes");
        assert_eq!(decoded, file);
    }

    #[test]
    fn the_officer_bundle_counts_the_shared_files_but_not_the_full_bundles_script_wasm_or_styles() {
        let officer = budgeted_bundle().expect("the officer bundle");
        for shared in ["style.css", "photos.js", "boot.js", "sw.js"] {
            assert!(shipped_with(shared, officer), "{shared}");
        }
        assert!(shipped_with("client.js", officer));
        assert!(shipped_with("client_bg.wasm", officer));
        for full_only in ["client_full.js", "client_full_bg.wasm", "client_full.css"] {
            assert!(!shipped_with(full_only, officer), "{full_only}");
        }
        let full = BUNDLES
            .iter()
            .find(|bundle| bundle.stem != BUDGETED_STEM)
            .expect("the full bundle");
        assert!(shipped_with("client_full.css", full));
        assert!(shipped_with("style.css", full));
        assert!(!shipped_with("client_bg.wasm", full));
    }
}
