//! The sans-IO sync engine (同步引擎). The same code runs in the browser, in native test
//! clients and on the server; it never reads a clock, never draws randomness of its own and
//! never does I/O. Drivers (tokio on the server, `spawn_local` in the browser, plain loops in
//! tests) move bytes, persist what the engine asks, and pass the time in.
//!
//! - [`protocol`]: versioned wire messages.
//! - [`cut`]: the complete pushes in what arrived of a request cut in transit.
//! - [`server`]: the server's side of one sync request over a [`server::ServerStore`].
//! - [`client`]: the device's side: a state machine from inputs to effects over a [`replica::Replica`].
//! - [`validate`]: the checks every merged document passes before it is stored.
//! - [`policy`]: retry backoff and adaptive chunk sizing.
//! - [`limits`]: how much work one request may ask of the server.
//! - [`handover`]: the file a phone with no signal hands its unsynced changes over in.

pub mod client;
pub mod cut;
pub mod handover;
pub mod limits;
pub mod memory;
pub mod policy;
pub mod protocol;
pub mod replica;
pub mod server;
pub mod validate;
