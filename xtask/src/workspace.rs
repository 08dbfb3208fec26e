//! Where things are in the workspace, and running the commands tasks are made of.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The workspace's folders, as Cargo sees them.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The folder holding the root `Cargo.toml`.
    pub root: PathBuf,
    /// Cargo's target folder (`target/` unless configured otherwise).
    pub target_dir: PathBuf,
}

impl Workspace {
    /// Finds the workspace this xtask runs for and asks Cargo for its target folder.
    ///
    /// `cargo run` (the `cargo xtask` alias) sets `CARGO_MANIFEST_DIR` at run time; that wins
    /// over the folder the binary was compiled in, because two checkouts sharing one target
    /// folder share one xtask binary (Cargo's fingerprint ignores the checkout's path).
    pub fn locate() -> anyhow::Result<Self> {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = Path::new(&manifest_dir)
            .parent()
            .context("the xtask crate has no parent folder")?
            .to_path_buf();
        let output = cargo()
            .current_dir(&root)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .context("running `cargo metadata`")?;
        if !output.status.success() {
            bail!(
                "`cargo metadata` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
            .context("reading the output of `cargo metadata`")?;
        let target_dir = metadata["target_directory"]
            .as_str()
            .context("`cargo metadata` did not say where the target folder is")?
            .into();
        Ok(Self { root, target_dir })
    }

    /// The folder the server serves: the built client.
    pub fn site_dir(&self) -> PathBuf {
        self.target_dir.join("site")
    }

    /// Where xtask installs tools it needs (binaryen's wasm-opt).
    pub fn tools_dir(&self) -> PathBuf {
        self.target_dir.join("tools")
    }
}

/// A `cargo` command, using the same cargo that runs this xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Runs `command` with inherited output; fails, naming the command, unless it exits 0.
pub fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let shown = show(command);
    let status = command
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// The command line as a person would type it, for messages.
pub fn show(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
