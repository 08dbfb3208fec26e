//! `lianxin-server`: parses the command line, sets up logging and runs the chosen subcommand
//! (`serve`, or one of the administrator's commands in [`server::admin`]).

use anyhow::Context as _;
use clap::Parser as _;
use server::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    match Cli::parse().command {
        Command::Serve(args) => server::serve::run(args)
            .await
            .context("lianxin-server serve failed"),
        admin => {
            let mut out = std::io::stdout().lock();
            // Admin commands do blocking work (SQLite, argon2, a password prompt).
            tokio::task::block_in_place(|| server::admin::run(admin, &mut out))
                .map_err(anyhow::Error::from)
        }
    }
}
