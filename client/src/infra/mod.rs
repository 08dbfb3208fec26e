//! Browser plumbing: every server call, IndexedDB, the clock and other browser services, the
//! URL's screens, stored preferences, the document around the app and the UI's words.
//! Components use these and never touch `web_sys` themselves (except reading form events).

#[cfg(feature = "leader")]
pub mod admin;
#[cfg(feature = "leader")]
pub mod admin_enterprises;
#[cfg(feature = "leader")]
pub mod admin_org_units;
pub mod api;
pub mod card;
pub mod db;
pub mod directory;
#[cfg(feature = "leader")]
pub mod evidence;
pub mod files;
pub mod i18n;
#[cfg(feature = "leader")]
pub mod i18n_admin;
#[cfg(feature = "leader")]
pub mod kpis;
pub mod order;
pub mod page;
pub mod photos;
pub mod platform;
pub mod prefs;
#[cfg(feature = "leader")]
pub mod reminders;
pub mod route;
#[cfg(feature = "leader")]
pub mod seen;
#[cfg(feature = "leader")]
pub mod supervision;
