//! Browser plumbing: every server call, stored preferences, the document around the app and the
//! UI's words. Components use these and never touch `web_sys` themselves.

pub mod api;
pub mod i18n;
pub mod page;
pub mod prefs;
