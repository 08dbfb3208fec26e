//! The problem workflow (问题办理流程): actions with guards, and the replay that turns a
//! problem's merged events into its current state.
//!
//! A problem's state is never stored. Each action is recorded as an [`Event`] that names the
//! event it followed (`after`). [`replay`] orders all events — parents first; among events that
//! are ready at the same time the one with the higher [`precedence`] first, then by id — and
//! applies each one whose guard still passes; the others are kept and reported as superseded.
//! Because replay is a pure function of the merged document, every replica computes the same
//! state after a merge, and the guards are re-checked on every merge.
//!
//! Resolution table for concurrent actions (higher precedence goes first and so wins whenever
//! the two cannot both apply):
//!
//! | precedence | actions | why |
//! |---|---|---|
//! | 4 | look-back reopen, dispute, bad rating | the enterprise's voice and the look-back keep a problem open: no fake closures |
//! | 3 | return, escalate, extend, refuse an extension | a handler's or leader's correction of the route or deadline |
//! | 2 | triage, assign, accept, start, respond, resolve on site, confirm, ask for an extension or a waiver | ordinary progress |
//! | 1 | sign-off, look-back passed | closing |
//! | 0 | withdraw, merge as duplicate, not resolvable | closing without a solution |
//!
//! Who may take each action is not the guards' business: [`rights`] holds that table, and
//! [`field_rights`] applies its field rows to a problem's change.

mod action;
pub mod field_rights;
mod replay;
pub mod rights;

pub use action::{Action, Event, Evidence, TransitionError};
pub use replay::{Outcome, Superseded, check, check_new, precedence, replay};
pub use rights::ActionKind;
