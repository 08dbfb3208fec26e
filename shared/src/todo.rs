//! The officer's to-do (待办), the one definition: from the problems a device (or the server)
//! holds, what an officer has to act on at a given "now" — problems they own that are overdue
//! or due soon (the 临期 flag's window, `Config::due_soon_days`), answered and waiting for the enterprise's confirmation, revisits
//! after a bad rating or dispute, look-backs due; supervision instructions addressed to them
//! and not yet acknowledged — and the records the server refused (only the device knows
//! those: a refused change is never stored). The phone's home screen counts
//! [`officer_todo`]'s items; the server's `GET /api/todo` runs the same function over the
//! same documents from its store, so both give the same counts.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::derive::{derive, due_soon};
use crate::doc::DocKind;
use crate::model::codes::code_enum;
use crate::model::{EnterpriseId, OrgUnitId, Problem, ProblemState, Timestamp, UserId};
use crate::supervision::awaits_acknowledgement;
use crate::sync::protocol::DocId;

code_enum!(
    /// A kind of to-do item.
    TodoKind, "to-do" {
        /// 已超期: an owned problem past its deadline, still waiting for its result.
        Overdue => "overdue", "已超期", "Overdue";
        /// 即将到期: an owned problem due within the window, not yet overdue.
        DueSoon => "due_soon", "即将到期", "Due soon";
        /// 待企业确认: answered or resolved on the spot, waiting for the enterprise.
        AwaitingConfirmation => "awaiting_confirmation", "待企业确认", "Awaiting confirmation";
        /// 回访: reopened by a bad rating, a dispute or a look-back.
        Revisit => "revisit", "回访", "Revisit";
        /// 回头看: a look-back that has fallen due.
        LookBack => "look_back", "回头看", "Look-back";
        /// 收到督办: a supervision instruction addressed to the officer, not yet acknowledged.
        Supervision => "supervision", "收到督办", "Supervision received";
        /// 被拒收: a record the server refused, waiting for a correction.
        Refused => "refused", "被拒收", "Refused by the server";
    }
);

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoItem {
    /// What kind.
    pub kind: TodoKind,
    /// The record it is about.
    pub record: DocId,
    /// Its enterprise, when known (not for a refused record).
    pub enterprise: Option<EnterpriseId>,
    /// When it is (or was) due, if it has a date.
    pub due: Option<Timestamp>,
}

/// How many items of each kind: what the home screen and `GET /api/todo` show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoCounts {
    /// Owned problems overdue.
    pub overdue: u32,
    /// Owned problems due within the window.
    pub due_soon: u32,
    /// Owned problems waiting for the enterprise's confirmation.
    pub awaiting_confirmation: u32,
    /// Revisits owed.
    pub revisits: u32,
    /// Look-backs due.
    pub look_backs: u32,
    /// Supervision instructions to acknowledge.
    pub supervision: u32,
    /// Records refused by the server (the device's own count; the server, which never stores
    /// a refused change, leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<u32>,
}

impl TodoCounts {
    /// Counts `items`; `refused` is `Some` where refused records are known (the device).
    pub fn of(items: &[TodoItem], device: bool) -> TodoCounts {
        let n = |kind: TodoKind| {
            u32::try_from(items.iter().filter(|i| i.kind == kind).count()).unwrap_or(u32::MAX)
        };
        TodoCounts {
            overdue: n(TodoKind::Overdue),
            due_soon: n(TodoKind::DueSoon),
            awaiting_confirmation: n(TodoKind::AwaitingConfirmation),
            revisits: n(TodoKind::Revisit),
            look_backs: n(TodoKind::LookBack),
            supervision: n(TodoKind::Supervision),
            refused: device.then(|| n(TodoKind::Refused)),
        }
    }

    /// Everything to do (the app icon's badge).
    pub fn total(&self) -> u32 {
        [
            self.overdue,
            self.due_soon,
            self.awaiting_confirmation,
            self.revisits,
            self.look_backs,
            self.supervision,
            self.refused.unwrap_or(0),
        ]
        .iter()
        .fold(0u32, |a, b| a.saturating_add(*b))
    }
}

/// Whose to-do: the officer and their own unit (a supervision instruction may name either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Officer {
    /// The person.
    pub user: UserId,
    /// Their own org unit.
    pub unit: OrgUnitId,
}

/// Whether a problem in `state` is settled for good and can put nothing on anyone's to-do:
/// its look-back passed, or it was merged, withdrawn or found not resolvable. (A signed-off
/// problem can still owe a look-back.) [`officer_todo`] skips these, and the server leaves
/// them out before loading any document, so an officer's years of closed problems cost
/// `GET /api/todo` nothing.
pub fn settled(state: ProblemState) -> bool {
    state.is_closed() && state != ProblemState::SignedOff
}

/// The to-do of `me` at `now` from `problems` (those held, in any order) and `refused` (the
/// records the server refused, known on the device only): problems due within
/// `due_within_days` (normally `Config::due_soon_days`, the window of the 临期 flag) count
/// as due soon. In problem order, each problem's items in
/// [`TodoKind`] order, refused records last.
pub fn officer_todo(
    me: Officer,
    problems: &[Problem],
    refused: &[DocId],
    config: &Config,
    now: Timestamp,
    due_within_days: u32,
) -> Vec<TodoItem> {
    let mut out = Vec::new();
    for p in problems {
        let record = DocId::new(DocKind::Problem, &p.id.to_string());
        let mut push = |kind: TodoKind, due: Option<Timestamp>| {
            out.push(TodoItem {
                kind,
                record: record.clone(),
                enterprise: Some(p.enterprise),
                due,
            });
        };
        let d = derive(p, config, now);
        let state = d.outcome.state;
        if settled(state) {
            continue;
        }
        if p.owner == me.user {
            let deadline = d.outcome.deadline;
            if d.overdue {
                push(TodoKind::Overdue, Some(deadline));
            } else if due_soon(state, deadline, now, due_within_days) {
                push(TodoKind::DueSoon, Some(deadline));
            }
            if matches!(
                state,
                ProblemState::Responded | ProblemState::ResolvedOnSite
            ) {
                push(TodoKind::AwaitingConfirmation, None);
            }
            if let Some(t) = d.revisit {
                push(TodoKind::Revisit, Some(t.due));
            }
            if let Some(t) = d.look_back.filter(|t| t.is_due(now)) {
                push(TodoKind::LookBack, Some(t.due));
            }
        }
        if !state.is_closed() {
            for s in &p.supervision {
                if awaits_acknowledgement(s, me.user, me.unit) {
                    push(TodoKind::Supervision, s.due);
                }
            }
        }
    }
    for r in refused {
        out.push(TodoItem {
            kind: TodoKind::Refused,
            record: r.clone(),
            enterprise: None,
            due: None,
        });
    }
    out
}

/// A department handler's inbox counts (待办): open problems handed to the department that
/// wait for acceptance (new), are due within the window, or are overdue, and how many were
/// handed to it after the person last looked (`seen`; never looked: all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxCounts {
    /// Handed out, not yet accepted.
    pub new: u32,
    /// Due within the window, not yet overdue.
    pub due_soon: u32,
    /// Past the deadline.
    pub overdue: u32,
    /// Handed to the department after `seen`.
    pub unseen: u32,
}

/// When `p` was last handed to `unit` (its latest hand-out event naming it), if ever.
pub fn handed_out_at(p: &Problem, unit: OrgUnitId) -> Option<Timestamp> {
    p.events
        .iter()
        .filter(|e| matches!(e.action, crate::workflow::Action::Assign { unit: u } if u == unit))
        .map(|e| e.stamp.at)
        .max()
}

/// The inbox counts of department `unit` at `now` from `problems`, with the person's last look
/// at `seen`.
pub fn handler_inbox(
    unit: OrgUnitId,
    problems: &[Problem],
    config: &Config,
    now: Timestamp,
    due_within_days: u32,
    seen: Option<Timestamp>,
) -> InboxCounts {
    let mut c = InboxCounts::default();
    for p in problems.iter().filter(|p| p.handling_units.contains(&unit)) {
        let d = derive(p, config, now);
        let state = d.outcome.state;
        if state.is_closed() {
            continue;
        }
        c.new += u32::from(state == ProblemState::Assigned);
        if d.overdue {
            c.overdue += 1;
        } else if due_soon(state, d.outcome.deadline, now, due_within_days) {
            c.due_soon += 1;
        }
        let arrived = handed_out_at(p, unit);
        c.unseen += u32::from(arrived.is_some_and(|at| seen.is_none_or(|s| at > s)));
    }
    c
}

#[cfg(test)]
#[path = "todo_tests.rs"]
mod tests;
