//! `lianxin-server`: parses the command line, sets up logging and runs the chosen subcommand.

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
    }
}
