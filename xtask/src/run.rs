//! `cargo xtask run`: builds the client and the server, then replaces itself with
//! `lianxin-server serve`, so Ctrl-C stops the server directly.

use std::net::SocketAddr;
use std::process::Command;

use anyhow::Context as _;

use crate::build_client::{self, build_client};
use crate::workspace::{Workspace, cargo, run_checked, show};

/// Flags of `cargo xtask run`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address and port the server listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Build the client quickly for development (dev profile, no wasm-opt).
    #[arg(long)]
    pub dev: bool,
}

/// Builds everything and serves the app until Ctrl-C.
pub fn run(workspace: &Workspace, args: &Args) -> anyhow::Result<()> {
    let site = build_client(
        workspace,
        &build_client::Args {
            dev: args.dev,
            ..build_client::Args::default()
        },
    )?;

    eprintln!("==> compiling the server");
    run_checked(cargo().current_dir(&workspace.root).args([
        "build",
        "--package",
        "server",
        "--bin",
        "lianxin-server",
    ]))?;
    let server = workspace
        .target_dir
        .join("debug")
        .join(format!("lianxin-server{}", std::env::consts::EXE_SUFFIX));

    // A newcomer's first run gets the demo district to click through.
    let db = workspace.root.join("lianxin.db");
    if !db.exists() {
        eprintln!("==> seeding the demo district into {}", db.display());
        run_checked(Command::new(&server).arg("demo").arg("--db").arg(&db))?;
    }

    let mut command = Command::new(&server);
    command
        .arg("serve")
        .arg("--db")
        .arg(&db)
        .arg("--listen")
        .arg(args.listen.to_string())
        .arg("--site")
        .arg(&site)
        .current_dir(&workspace.root);
    // glibc keeps each password check's 19 MiB argon2 buffer after it is freed unless buffers
    // that large come from mmap; a burst of logins then leaves hundreds of MB resident
    // (bench/NOTES.md). The server forbids unsafe code, so the setting lives where it is started.
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        command.env("MALLOC_MMAP_THRESHOLD_", "4194304");
    }

    let shown = if args.listen.ip().is_unspecified() {
        format!("localhost:{}", args.listen.port())
    } else {
        args.listen.to_string()
    };
    eprintln!();
    eprintln!("    Lianxin is starting: open http://{shown}/  (Ctrl-C stops it)");
    eprintln!(
        "    demo logins: officer1 … officer6, leader1, leader2, handler1 … handler4, window1;"
    );
    eprintln!("    password: lianxin-demo (see README.md)");
    eprintln!();
    exec(command)
}

/// Replaces this process with `command` (Unix), or runs it to the end (elsewhere).
#[cfg(unix)]
fn exec(mut command: Command) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let shown = show(&command);
    let error = command.exec();
    Err(error).with_context(|| format!("cannot start `{shown}`"))
}

/// Replaces this process with `command` (Unix), or runs it to the end (elsewhere).
#[cfg(not(unix))]
fn exec(mut command: Command) -> anyhow::Result<()> {
    run_checked(&mut command)
}
