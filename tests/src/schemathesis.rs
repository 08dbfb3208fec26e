//! Schemathesis, a property-based API tester nobody here wrote (from PyPI), installed once
//! into the target folder and run against a server with the repository's configuration
//! (`tests/api/schemathesis.toml`, whose every exception names its reason).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context as _, bail};

/// The version the configuration and hooks were written for.
pub const VERSION: &str = "4.32.5";

/// Installs schemathesis into a virtual environment under `target/tools/schemathesis` once;
/// returns its `st` command.
///
/// # Errors
/// When Python 3 with venv and pip is missing or the install fails (the message says how to
/// run it by hand).
pub fn install() -> anyhow::Result<PathBuf> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let venv = crate::uploads::target_dir()?
        .join("tools")
        .join(format!("schemathesis-{VERSION}"));
    let st = venv.join("bin").join("st");
    if st.exists() {
        return Ok(st);
    }
    let run = |cmd: &mut Command, what: &str| -> anyhow::Result<()> {
        let out = cmd
            .output()
            .with_context(|| format!("running {what} (Python 3 with venv and pip is needed)"))?;
        if !out.status.success() {
            bail!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "`python3 -m venv`",
    )?;
    run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("schemathesis=={VERSION}")),
        &format!(
            "`pip install schemathesis=={VERSION}` into {}",
            venv.display()
        ),
    )?;
    Ok(st)
}

/// The folder holding the configuration and its hooks (`tests/api`).
pub fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("api")
}

/// What one run found.
#[derive(Debug)]
pub struct Run {
    /// Schemathesis exited 0: no failure and no error.
    pub passed: bool,
    /// Its report.
    pub output: String,
}

/// Runs every phase and check against `base`'s OpenAPI document as the holder of `token`,
/// with a fixed seed (a failure replays), skipping the routes that end the session under test
/// (`POST /api/logout`, `POST /api/account/password`: a changed password ends every other
/// session, and the new one is not the tester's).
///
/// # Errors
/// When schemathesis cannot be installed or started.
pub fn run(base: &str, token: &str, max_examples: u32, seed: u64) -> anyhow::Result<Run> {
    let st = install()?;
    let dir = config_dir();
    let scratch = tempfile::tempdir().context("a scratch folder for schemathesis")?;
    let out = Command::new(&st)
        .current_dir(scratch.path())
        .env("SCHEMATHESIS_HOOKS", dir.join("hooks.py"))
        .arg("--no-color")
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--checks", "all", "--workers", "1", "--seed"])
        .arg(seed.to_string())
        .arg("--max-examples")
        .arg(max_examples.to_string())
        .args(["--exclude-path", "/api/logout"])
        .args(["--exclude-path", "/api/account/password"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .output()
        .with_context(|| format!("running {}", st.display()))?;
    Ok(Run {
        passed: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}
