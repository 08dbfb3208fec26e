//! The app's screens and widgets, one file each. The leader and handler screens compile only
//! into the full bundle (the `leader` feature); the officer bundle leaves them out.

#[cfg(feature = "leader")]
pub mod admin;
pub mod app;
#[cfg(feature = "leader")]
pub mod bulletins;
#[cfg(feature = "leader")]
pub mod charts;
#[cfg(feature = "leader")]
pub mod dashboard;
pub mod discard;
pub mod enterprise;
pub mod enterprises;
pub mod follow_up;
pub mod handover;
pub mod header;
pub mod history;
#[cfg(feature = "leader")]
pub mod inbox;
pub mod intake;
#[cfg(feature = "leader")]
pub mod kpi_tiles;
pub mod login;
// Officers enter and import monitoring figures on visits: in both bundles; the trend charts
// are drawn for leaders only.
pub mod monitoring;
#[cfg(feature = "leader")]
pub mod monitoring_charts;
pub mod nav;
pub mod photos;
pub mod problem;
pub mod problem_edit;
pub mod problem_fields;
// The problem screen uses its unit picker; the list and the flag board are routed only in the
// full bundle, so the officer bundle leaves them unused (and the linker drops them).
#[cfg_attr(not(feature = "leader"), allow(dead_code))]
pub mod problem_list;
#[cfg(feature = "leader")]
pub mod reminders;
pub mod supervision;
#[cfg(feature = "leader")]
pub mod supervision_form;
#[cfg(feature = "leader")]
pub mod supervision_list;
pub mod sync_page;
pub mod todo;
pub mod visit;
pub mod visit_form;
#[cfg(feature = "leader")]
pub mod visit_list;
pub mod widgets;
