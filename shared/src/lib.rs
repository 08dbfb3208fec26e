//! Lianxin's shared core: the domain model, configuration, Automerge record documents and the
//! problem workflow. Everything here builds for native targets and for `wasm32-unknown-unknown`,
//! never reads a clock and never does I/O.

pub mod config;
pub mod derive;
pub mod doc;
pub mod forms;
pub mod model;
pub mod monitoring;
pub mod sync;
pub mod workflow;

/// The product's name, as shown to people.
pub const PRODUCT_NAME: &str = "连心 Lianxin";
