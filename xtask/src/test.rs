//! `cargo xtask test`: the whole test suite, exactly as CI runs it — formatting, lints on both
//! targets, the wasm32 build of the shared core and the client, the web client into
//! `target/site`, Debian's headless Chromium (installed when missing), a check that Node/npm and
//! Python 3's venv are there (tests install tus-js-client and schemathesis from their
//! registries into `target/tools`), then every test in the
//! workspace (unit, property, integration, fault and browser tests against real servers, files
//! and browsers).

use std::time::Instant;

use anyhow::Context as _;
use clap::Args as ClapArgs;

use crate::build_client::{self, build_client};
use crate::workspace::{Workspace, cargo, run_checked};

/// Debian's Chromium, its chromedriver and a CJK font, which the browser tests need.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// Installs Debian's `chromium`, `chromium-driver` and `fonts-noto-cjk` with apt-get when any
/// is missing; fails with what to install by hand when that is impossible (not root, no apt).
fn ensure_chromium() -> anyhow::Result<()> {
    let missing: Vec<&str> = [
        (CHROMIUM, "chromium"),
        (CHROMEDRIVER, "chromium-driver"),
        (CJK_FONT, "fonts-noto-cjk"),
    ]
    .into_iter()
    .filter(|(path, _)| !std::path::Path::new(path).exists())
    .map(|(_, package)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let manual = || {
        format!(
            "the browser tests need Debian's {} (missing: {}); install them with \
             `apt-get update && apt-get install -y {}` as root and run the tests again",
            "chromium, chromium-driver and fonts-noto-cjk",
            missing.join(", "),
            missing.join(" ")
        )
    };
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        anyhow::bail!("{} (this user is not root)", manual());
    }
    println!("installing {} with apt-get", missing.join(" "));
    run_checked(std::process::Command::new("apt-get").arg("update")).with_context(manual)?;
    run_checked(
        std::process::Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .with_context(manual)?;
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        anyhow::bail!("apt-get finished but {CHROMIUM} or {CHROMEDRIVER} is still missing");
    }
    Ok(())
}

/// The tools from other registries the tests install for themselves into `target/tools`:
/// Node with npm (tus-js-client) and Python 3 with venv and pip (schemathesis). Stops with
/// what to install when one is missing, before an hour of building.
fn ensure_tool_runtimes() -> anyhow::Result<()> {
    let works = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !works("npm", &["--version"]) {
        anyhow::bail!(
            "the upload tests install tus-js-client with npm: install Node.js with npm \
             (Debian: `apt-get install -y nodejs npm`) and run the tests again"
        );
    }
    if !works("python3", &["-c", "import venv, ensurepip"]) {
        anyhow::bail!(
            "the API conformance test installs schemathesis with Python 3's venv and pip: \
             install them (Debian: `apt-get install -y python3-venv`) and run the tests again"
        );
    }
    Ok(())
}

/// Options of `cargo xtask test`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Skip `cargo fmt --check` and clippy (for a quick local run; CI never skips).
    #[arg(long)]
    pub no_lint: bool,
}

fn step(name: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    let started = Instant::now();
    println!("\n==> {name}");
    f().with_context(|| format!("step failed: {name}"))?;
    println!("==> {name}: ok ({:.0?})", started.elapsed());
    Ok(())
}

/// Installs the wasm32 target when it is missing.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let out = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context(
            "running `rustup target list --installed` (is rustup installed? see https://rustup.rs)",
        )?;
    if !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM32)
    {
        run_checked(std::process::Command::new("rustup").args(["target", "add", WASM32]))?;
    }
    Ok(())
}

/// Runs the suite.
pub fn test(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    let root = &workspace.root;
    step("wasm32 target installed", ensure_wasm_target)?;
    if !args.no_lint {
        step("cargo fmt --check", || {
            run_checked(cargo().current_dir(root).args(["fmt", "--all", "--check"]))
        })?;
        step("clippy (native, all targets)", || {
            clippy(root, &["--workspace", "--all-targets"])
        })?;
        step("clippy (wasm32: shared and client)", || {
            clippy(root, &["-p", "shared", "-p", "client", "--target", WASM32])
        })?;
        // The full bundle's screens (`leader`) and the size measurements exist only behind
        // the client's features.
        step("clippy (wasm32: client with every feature)", || {
            clippy(
                root,
                &["-p", "client", "--all-features", "--target", WASM32],
            )
        })?;
    }
    step("build lianxin-server (spawned by the crash tests)", || {
        run_checked(cargo().current_dir(root).args([
            "build",
            "-p",
            "server",
            "--bin",
            "lianxin-server",
        ]))
    })?;
    // The budget is enforced: the build fails when the officer bundle is over 550 KB
    // (538.6 KB after the 2026-12-06 cuts, 549.8 KB with issue 13's screens: see bench/NOTES.md).
    step(
        "web client (build-client --check-budget: the browser tests load target/site)",
        || {
            let args = build_client::Args {
                check_budget: true,
                ..build_client::Args::default()
            };
            build_client(workspace, &args).map(|_| ())
        },
    )?;
    step(
        "headless Chromium and chromedriver (browser tests)",
        ensure_chromium,
    )?;
    step(
        "Node/npm and Python 3 venv (tus-js-client, schemathesis)",
        ensure_tool_runtimes,
    )?;
    step("cargo test --workspace", || {
        run_checked(
            cargo()
                .current_dir(root)
                .args(["test", "--workspace", "--no-fail-fast"]),
        )
    })?;
    Ok(())
}

/// The browser's target.
const WASM32: &str = "wasm32-unknown-unknown";

/// `cargo clippy <args> -- -D warnings` in `root`: every lint a failure.
fn clippy(root: &std::path::Path, args: &[&str]) -> anyhow::Result<()> {
    run_checked(
        cargo()
            .current_dir(root)
            .arg("clippy")
            .args(args)
            .args(["--", "-D", "warnings"]),
    )
}
