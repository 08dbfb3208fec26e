//! `cargo xtask test`: the whole test suite, exactly as CI runs it — formatting, lints on both
//! targets, the wasm32 build of the shared core and the client, then every test in the
//! workspace (unit, property, integration and fault tests against real servers and files).

use std::time::Instant;

use anyhow::Context as _;
use clap::Args as ClapArgs;

use crate::workspace::{Workspace, cargo, run_checked};

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
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run_checked(std::process::Command::new("rustup").args([
            "target",
            "add",
            "wasm32-unknown-unknown",
        ]))?;
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
            run_checked(cargo().current_dir(root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        step("clippy (wasm32: shared and client)", || {
            run_checked(cargo().current_dir(root).args([
                "clippy",
                "-p",
                "shared",
                "-p",
                "client",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]))
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
    step("cargo test --workspace", || {
        run_checked(
            cargo()
                .current_dir(root)
                .args(["test", "--workspace", "--no-fail-fast"]),
        )
    })?;
    Ok(())
}
