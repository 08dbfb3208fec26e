//! When a person last looked at their inbox (the "since last seen" mark), kept per user in this
//! browser's `localStorage`: a device-side mark, so another browser of the same person marks
//! what it has not shown.

use shared::model::{Timestamp, UserId};

fn key(user: UserId) -> String {
    format!("lianxin.inbox_seen.{user}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// When `user` last looked at the inbox here, if ever.
pub fn load(user: UserId) -> Option<Timestamp> {
    storage()?
        .get_item(&key(user))
        .ok()
        .flatten()?
        .parse()
        .ok()
        .map(Timestamp)
}

/// Records that `user` looked at the inbox at `at`; nothing where storage is blocked.
pub fn save(user: UserId, at: Timestamp) {
    if let Some(s) = storage() {
        let _ = s.set_item(&key(user), &at.0.to_string());
    }
}
