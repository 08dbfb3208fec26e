//! Which reminders a problem owes at a given "now", from what the server's projection knows of
//! it ([`ProblemFacts`]): a pure function, so every rule is tested without a database.
//!
//! The rules (who gets what, and the occasion that makes each one unique):
//!
//! | kind | when | to | occasion |
//! |---|---|---|---|
//! | `hand_out` 新交办 | an applied hand-out (交办) | the department it names | the event |
//! | `supervision` 督办 | a supervision instruction | its addressee (a person, or every member of a unit); one given before addressees existed: whoever holds the problem | the entry |
//! | `bad_rating` 差评 | an applied bad rating | the owner officer (the revisit is theirs) | the event |
//! | `deadline_tomorrow` 明日到期 | awaiting its result, deadline within a day | whoever holds it | the deadline |
//! | `overdue` 超期 | awaiting its result, deadline passed | whoever holds it, and its leader | the deadline |
//! | `look_back_due` 回头看 | signed off `look_back_days` ago | the owner officer | the sign-off |
//!
//! "Whoever holds it" is the department of the latest applied hand-out while the problem is
//! handed out, accepted or in progress, else the owner officer. An extension is a new deadline,
//! so a new occasion. Events and entries recorded before the outbox started (`since`) remind no
//! one: a server upgraded with months of history does not send it all at once.

use shared::model::{DAY_MS, ProblemState, Timestamp};
use shared::workflow::ActionKind;

use super::ReminderKind;

/// An applied workflow event, as the projection keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    /// The event's id.
    pub id: String,
    /// Its action's code (`ActionKind::code`; both sign-offs are `sign_off`).
    pub action: String,
    /// The department a hand-out names.
    pub unit: Option<String>,
    /// When it counts (the KPIs' time: server-clamped).
    pub at: Timestamp,
}

/// A supervision instruction (督办).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFact {
    /// The entry's id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// When it was given.
    pub at: Timestamp,
    /// To whom it is addressed (`None`: given before instructions had addressees).
    pub to: Option<Addressee>,
}

/// What the reminders of one problem are derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemFacts {
    /// The problem's id.
    pub id: String,
    /// Its state (the workflow's replay).
    pub state: ProblemState,
    /// Its effective deadline (the SLA's on the server's clock, moved only by extensions).
    pub deadline: Timestamp,
    /// The owner officer.
    pub owner: String,
    /// The leader in charge (包案领导), if any.
    pub leader: Option<String>,
    /// Its applied events, in any order.
    pub events: Vec<EventFact>,
    /// Its supervision instructions.
    pub supervision: Vec<EntryFact>,
}

/// Whom a reminder is for, before departments are resolved to their handlers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Addressee {
    /// A person (user id).
    User(String),
    /// A department (org unit id): its handlers.
    Unit(String),
    /// Every person whose own unit it is (a supervision instruction addressed to a unit).
    Members(String),
}

/// One reminder a problem owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occasion {
    /// What it is about.
    pub kind: ReminderKind,
    /// What makes it unique for its kind and problem: an event, an entry or a deadline.
    pub key: String,
    /// When it became due.
    pub due_at: Timestamp,
    /// Its addressees.
    pub to: Vec<Addressee>,
    /// The supervision instruction's text, for `supervision`.
    pub detail: Option<String>,
}

/// What [`derive`] found: the reminders due now, and when to look again without a change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Derivation {
    /// Due at `now`.
    pub due: Vec<Occasion>,
    /// The next instant something falls due, if anything will without a change.
    pub next_at: Option<Timestamp>,
}

impl Derivation {
    /// Looks again at `at` at the latest.
    fn later(&mut self, at: Timestamp) {
        self.next_at = Some(self.next_at.map_or(at, |n| n.min(at)));
    }
}

/// The states in which a problem waits for its result, so its deadline matters.
fn awaiting(state: ProblemState) -> bool {
    shared::derive::awaiting_result(state)
}

/// Who holds the problem now: the department of the latest applied hand-out while it is with
/// one, else the owner officer.
fn holder(f: &ProblemFacts) -> Addressee {
    let with_department = matches!(
        f.state,
        ProblemState::Assigned | ProblemState::Accepted | ProblemState::InProgress
    );
    let unit = f
        .events
        .iter()
        .filter(|e| e.action == ActionKind::Assign.code())
        .max_by_key(|e| (e.at, e.id.clone()))
        .and_then(|e| e.unit.clone());
    match unit {
        Some(unit) if with_department => Addressee::Unit(unit),
        _ => Addressee::User(f.owner.clone()),
    }
}

/// The reminders `f` owes at `now`: events and entries from `since` on, deadlines and
/// look-backs whenever they fall due (`look_back_days` after sign-off).
pub fn derive(
    f: &ProblemFacts,
    now: Timestamp,
    since: Timestamp,
    look_back_days: u32,
) -> Derivation {
    let mut out = Derivation::default();
    let owner = Addressee::User(f.owner.clone());
    for e in f.events.iter().filter(|e| e.at >= since) {
        let (kind, to) = if e.action == ActionKind::Assign.code() {
            let Some(unit) = &e.unit else { continue };
            (ReminderKind::HandOut, Addressee::Unit(unit.clone()))
        } else if e.action == ActionKind::BadRating.code() {
            (ReminderKind::BadRating, owner.clone())
        } else {
            continue;
        };
        out.due.push(Occasion {
            kind,
            key: e.id.clone(),
            due_at: e.at,
            to: vec![to],
            detail: None,
        });
    }
    for s in f.supervision.iter().filter(|s| s.at >= since) {
        out.due.push(Occasion {
            kind: ReminderKind::Supervision,
            key: s.id.clone(),
            due_at: s.at,
            to: vec![s.to.clone().unwrap_or_else(|| holder(f))],
            detail: Some(s.text.clone()),
        });
    }
    if awaiting(f.state) {
        let eve = Timestamp(f.deadline.0 - DAY_MS);
        if now > f.deadline {
            let mut to = vec![holder(f)];
            if let Some(leader) = &f.leader {
                to.push(Addressee::User(leader.clone()));
            }
            to.dedup();
            out.due.push(Occasion {
                kind: ReminderKind::Overdue,
                key: f.deadline.0.to_string(),
                due_at: f.deadline,
                to,
                detail: None,
            });
        } else {
            if now >= eve {
                out.due.push(Occasion {
                    kind: ReminderKind::DeadlineTomorrow,
                    key: f.deadline.0.to_string(),
                    due_at: eve,
                    to: vec![holder(f)],
                    detail: None,
                });
            } else {
                out.later(eve);
            }
            // Overdue from the first instant past the deadline.
            out.later(Timestamp(f.deadline.0 + 1));
        }
    }
    if f.state == ProblemState::SignedOff {
        let sign_off = f
            .events
            .iter()
            .filter(|e| e.action == ActionKind::SignOff.code())
            .max_by_key(|e| (e.at, e.id.clone()));
        if let Some(s) = sign_off {
            let due = s.at.plus_days(look_back_days);
            if now >= due {
                out.due.push(Occasion {
                    kind: ReminderKind::LookBackDue,
                    key: s.id.clone(),
                    due_at: due,
                    to: vec![owner],
                    detail: None,
                });
            } else {
                out.later(due);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "derive_tests.rs"]
mod tests;
