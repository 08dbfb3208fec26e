//! Which of the app's two builds is running, and the switch between them. The officer bundle
//! (the default, what phones on poor signal download) leaves out the leader and handler
//! screens; the full bundle (the `leader` feature) has every screen. `boot.js` loads the one
//! that `localStorage["lianxin.bundle"]` names (`full`, else the officer bundle); the app keeps
//! that key in step with the session's role, and the officer bundle reloads into the full one
//! when a leader, supervisor, department handler or administrator is logged in.

use shared::model::Role;

/// The `localStorage` key `boot.js` reads.
const KEY: &str = "lianxin.bundle";
const FULL_VALUE: &str = "full";
const OFFICER_VALUE: &str = "officer";

/// Whether this is the full bundle.
pub const FULL: bool = cfg!(feature = "leader");

/// Whether `role` works on screens only the full bundle has.
pub fn needs_full(role: Role) -> bool {
    matches!(
        role,
        Role::Leader | Role::Supervisor | Role::DepartmentHandler | Role::Admin
    )
}

/// Whether `boot.js` wanted the full bundle but could not load it (offline before it was ever
/// cached) and started the officer bundle instead.
pub fn fell_back() -> bool {
    web_sys::window()
        .and_then(|window| js_sys::Reflect::get(&window, &"__lianxinFellBack".into()).ok())
        .and_then(|flag| flag.as_bool())
        == Some(true)
}

/// Whether this bundle should give way to the full one for `role`: the officer bundle with a
/// role that needs the full one, unless `boot.js` already tried it and fell back.
pub fn should_switch(role: Option<Role>) -> bool {
    role.is_some_and(needs_full) && !FULL && !fell_back()
}

/// Follows the session's role (`None`: nobody logged in): remembers which bundle the next start
/// loads, and returns whether to reload into the full one now ([`should_switch`], and the
/// choice could be stored for `boot.js` to read).
pub fn follow(role: Option<Role>) -> bool {
    let full = role.is_some_and(needs_full);
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        // Blocked storage: every start loads the officer bundle, and a leader's screens say so.
        let value = if full { FULL_VALUE } else { OFFICER_VALUE };
        if storage.set_item(KEY, value).is_err() {
            return false;
        }
    } else {
        return false;
    }
    should_switch(role)
}
