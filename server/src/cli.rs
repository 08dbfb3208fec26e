//! The `lianxin-server` command line: subcommands, flags and their environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `lianxin-server`: the Lianxin (连心) server.
#[derive(Debug, Parser)]
#[command(name = "lianxin-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The server's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the health check, the API and the built web client over HTTP.
    Serve(ServeArgs),
}

/// Flags of `lianxin-server serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "LIANXIN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Folder holding the built web client (written by `cargo xtask build-client`).
    #[arg(long, env = "LIANXIN_SITE", default_value = "target/site")]
    pub site: PathBuf,

    /// The SQLite database file (created when missing).
    #[arg(long, env = "LIANXIN_DB", default_value = "lianxin.db")]
    pub db: PathBuf,

    /// A district configuration file (TOML); the built-in defaults when absent.
    #[arg(long, env = "LIANXIN_CONFIG")]
    pub config: Option<PathBuf>,
}
