//! Lianxin's shared core: the domain model, configuration, Automerge record documents and the
//! problem workflow. Everything here builds for native targets and for `wasm32-unknown-unknown`,
//! never reads a clock and never does I/O.

pub mod config;
pub mod derive;
pub mod doc;
pub mod forms;
pub mod model;
pub mod monitoring;
pub mod reminder;
pub mod server_time;
pub mod supervision;
pub mod sync;
pub mod todo;
pub mod workflow;

/// The product's name, as shown to people.
pub const PRODUCT_NAME: &str = "连心 Lianxin";

/// Fixtures the crate's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::model::{Actor, DeviceId, Role, UserId};

    /// An officer: user `[1; 16]` on device `[2; 16]`.
    pub(crate) fn officer() -> Actor {
        Actor {
            user: UserId::from_random_bytes([1; 16]),
            device: DeviceId::from_random_bytes([2; 16]),
            role: Role::Officer,
        }
    }
}
