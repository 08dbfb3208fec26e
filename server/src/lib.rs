//! Lianxin's HTTP server: the router (health check, JSON API, the built web client) and serving
//! it on a TCP address until shutdown.
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`] without binding a socket, so
//! tests can serve it in-process; [`serve::run`] is what the `lianxin-server` binary calls.

pub mod admin;
pub mod api;
pub mod auth;
pub mod backups;
pub mod blobs;
pub mod card;
pub mod cli;
pub mod db;
pub mod demo;
pub mod export;
pub mod history_audit;
pub mod http;
pub mod live_config;
pub mod monitoring;
pub mod pg;
pub mod printable;
pub mod published_config;
pub mod remind;
pub mod serve;
mod state;
pub mod store;
pub mod sync;
pub mod writer;

pub use http::app;
pub use state::AppState;

/// The server's version, as reported by `GET /healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
