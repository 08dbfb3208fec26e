//! The app's screens and widgets, one file each.

pub mod app;
pub mod bulletins;
pub mod charts;
pub mod dashboard;
pub mod enterprise;
pub mod enterprises;
pub mod header;
pub mod history;
pub mod inbox;
pub mod intake;
pub mod login;
pub mod monitoring;
pub mod nav;
pub mod problem;
pub mod problem_fields;
pub mod problem_list;
pub mod sync_page;
pub mod visit;
pub mod visit_form;
pub mod widgets;
