//! `lianxin-server`: parses the command line, sets up logging and runs the chosen subcommand
//! (`serve`, or one of the administrator's commands in [`server::admin`]).

use anyhow::Context as _;
use clap::Parser as _;
use server::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

/// glibc's malloc settings `serve` runs with (`GLIBC_TUNABLES`, which glibc reads only when a
/// process starts, so `serve` starts itself again with them unless the variable is set):
/// every buffer of 1 MiB or more (a request's body, its decoded pushes, a large document's
/// columns) is mapped on its own and returned to the system when freed, and at most four
/// arenas keep freed small blocks. With glibc's defaults the mapping threshold grows to
/// 32 MiB after the first large buffer is freed, and per-thread arenas kept what a burst of
/// large requests had used: the server stayed ~400 MB larger for good (bench/NOTES.md).
const MALLOC_TUNABLES: &str = "glibc.malloc.mmap_threshold=1048576:glibc.malloc.arena_max=4";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        with_malloc_tunables();
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => server::serve::run(args)
            .await
            .context("lianxin-server serve failed"),
        admin => {
            // Not locked for the whole command: a PostgreSQL connection's task logs the
            // server's notices to stdout meanwhile (`migrate`), and would wait for the lock.
            let mut out = std::io::stdout();
            // Admin commands do blocking work (SQLite, argon2, a password prompt).
            tokio::task::block_in_place(|| server::admin::run(admin, &mut out))
                .map_err(anyhow::Error::from)
        }
    }
}

/// Replaces this process by the same command with [`MALLOC_TUNABLES`] (same process id),
/// unless `GLIBC_TUNABLES` is already set (by the operator, or by this step); returns only if
/// that is not possible, and the server then runs with glibc's defaults.
fn with_malloc_tunables() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        use std::os::unix::process::CommandExt as _;
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let error = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", MALLOC_TUNABLES)
            .exec();
        eprintln!("lianxin-server: running with glibc's malloc defaults ({error})");
    }
}
