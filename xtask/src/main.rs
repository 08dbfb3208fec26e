//! Project chores as code, run as `cargo xtask <task>` (the alias is in `.cargo/config.toml`):
//! building the web client into the site folder and running the whole app.
//!
//! Each task is one module with an `Args` struct and a function taking the [`Workspace`]; adding
//! a task is one `mod` line, one [`Task`] variant and one match arm.

mod bench;
mod bench_browser;
mod bench_hostile;
mod bench_photos;
mod bench_scale;
mod build_client;
mod minify;
mod run;
mod test;
mod webdriver;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::workspace::Workspace;

/// Lianxin's chores, as code: building the web client and running the whole app.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Benchmark Lianxin beside automerge-repo and PouchDB, and at scale; writes BENCHMARKS.md.
    Bench(bench::Args),
    /// Build the web client (wasm) into target/site, precompressed, and report its size.
    BuildClient(build_client::Args),
    /// Build the client and the server, then serve the app (default http://127.0.0.1:8080/).
    Run(run::Args),
    /// Run the whole test suite, exactly as CI does (formatting, lints, wasm32, every test).
    Test(test::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Workspace::locate().and_then(|workspace| match &cli.task {
        Task::Bench(args) => bench::bench(&workspace, args),
        Task::BuildClient(args) => build_client::build_client(&workspace, args).map(|_| ()),
        Task::Run(args) => run::run(&workspace, args),
        Task::Test(args) => test::test(&workspace, args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: {error:#}");
            ExitCode::FAILURE
        }
    }
}
