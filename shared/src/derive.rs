//! Derived values (派生值): a problem's state, effective tier and deadline, overdue status and
//! red/green/black flag, computed from its document, the configuration and a given "now".
//! None of these is ever stored as a typed-in field.

use serde::{Deserialize, Serialize};

use crate::config::{Config, FlagRule};
use crate::model::{EntryId, Flag, Problem, ProblemState, Tier, Timestamp};
use crate::workflow::{Outcome, replay};

/// Everything derived about a problem at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Derived {
    /// Workflow replay result (state, effective tier and deadline, superseded events).
    pub outcome: Outcome,
    /// Past the effective deadline while still awaiting its result.
    pub overdue: bool,
    /// Whole days past the deadline (0 when not overdue).
    pub days_overdue: i64,
    /// When it should have been routed (triaged and handed out).
    pub route_due: Timestamp,
    /// When the first feedback to the enterprise is due.
    pub first_feedback_due: Timestamp,
    /// 红/绿/黑旗.
    pub flag: Flag,
    /// The owner officer's revisit (回访) of a problem reopened by a bad rating, a dispute or
    /// a look-back: due the configured days after the event that reopened it.
    pub revisit: Option<Task>,
    /// The owner officer's look-back (回头看) of a signed-off problem: due the configured days
    /// after sign-off (listed once it falls due).
    pub look_back: Option<Task>,
}

crate::model::codes::code_enum!(
    /// A follow-up the owner officer owes on a problem (the officer's task list).
    TaskKind, "task" {
        /// 回访: a revisit after a bad rating, a dispute or a look-back that reopened it.
        Revisit => "revisit", "回访", "Revisit";
        /// 回头看: the look-back after sign-off.
        LookBack => "look_back", "回头看", "Look-back";
    }
);

/// A follow-up the owner officer owes on a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Revisit or look-back.
    pub kind: TaskKind,
    /// The event that reopened the problem, for a revisit (a look-back's start is the
    /// sign-off's time, in `since`).
    pub event: Option<EntryId>,
    /// When it arose.
    pub since: Timestamp,
    /// When it is due.
    pub due: Timestamp,
    /// Past `due` at the "now" it was derived for.
    pub overdue: bool,
}

impl Task {
    fn new(
        kind: TaskKind,
        event: Option<EntryId>,
        since: Timestamp,
        days: u32,
        now: Timestamp,
    ) -> Task {
        let due = since.plus_days(days);
        Task {
            kind,
            event,
            since,
            due,
            overdue: now > due,
        }
    }

    /// Whether the task is due by `now` (a look-back before its day is not yet a task).
    pub fn is_due(&self, now: Timestamp) -> bool {
        now >= self.due
    }
}

/// The deadline a new problem of `tier` created at `created` gets from the SLA policy.
pub fn initial_deadline(config: &Config, tier: Tier, created: Timestamp) -> Timestamp {
    created.plus_days(config.sla.days_for(tier))
}

/// Whether a problem in `state` with `deadline` is due soon at `now`: still waiting for its
/// result, with the deadline less than `days` away (an overdue one counts too; callers that
/// tell overdue apart check that first). The one test behind the 临期 flag rule, the
/// officer's to-do and the handler's inbox; the window is `Config::due_soon_days`.
pub fn due_soon(state: ProblemState, deadline: Timestamp, now: Timestamp, days: u32) -> bool {
    awaiting_result(state) && now.days_until(deadline) < i64::from(days)
}

/// States in which the problem still waits for its result, so a passed deadline makes it
/// overdue.
pub fn awaiting_result(state: ProblemState) -> bool {
    matches!(
        state,
        ProblemState::Submitted
            | ProblemState::Triaged
            | ProblemState::Assigned
            | ProblemState::Accepted
            | ProblemState::InProgress
            | ProblemState::Returned
            | ProblemState::Disputed
            | ProblemState::Reopened
    )
}

/// What a flag rule looks at (a derived problem or a query row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagFacts {
    /// Current state.
    pub state: ProblemState,
    /// Effective deadline.
    pub deadline: Timestamp,
    /// Rating level (1–5), when rated.
    pub rating: Option<u8>,
    /// Signed off after a bad rating, no look-back passed since (`Outcome::look_back_owed`).
    pub look_back_owed: bool,
}

fn rule_matches(rule: &FlagRule, facts: FlagFacts, overdue: bool, now: Timestamp) -> bool {
    let FlagFacts {
        state,
        deadline,
        rating,
        look_back_owed,
    } = facts;
    if !rule.states.is_empty() && !rule.states.contains(&state) {
        return false;
    }
    if rule.look_back_owed.is_some_and(|o| o != look_back_owed) {
        return false;
    }
    if rule.closed.is_some_and(|c| c != state.is_closed()) {
        return false;
    }
    if rule.overdue.is_some_and(|o| o != overdue) {
        return false;
    }
    if rule
        .due_within_days
        .is_some_and(|days| !due_soon(state, deadline, now, days))
    {
        return false;
    }
    if let Some(max) = rule.rating_at_most {
        match rating {
            Some(level) if level <= max => {}
            _ => return false,
        }
    }
    true
}

/// Overdue status, whole days overdue and flag of a problem known only by its state,
/// effective deadline, rating level (1–5) and whether a look-back is owed — a query row — with
/// the same rule table as [`derive`].
pub fn flag_of(config: &Config, facts: FlagFacts, now: Timestamp) -> (bool, i64, Flag) {
    let FlagFacts {
        state, deadline, ..
    } = facts;
    let overdue = awaiting_result(state) && now > deadline;
    let days_overdue = if overdue {
        deadline.days_until(now).max(0)
    } else {
        0
    };
    let flag = config
        .flag_rules
        .iter()
        .find(|rule| rule_matches(rule, facts, overdue, now))
        .and_then(|rule| rule.flag)
        .unwrap_or(config.default_flag);
    (overdue, days_overdue, flag)
}

/// Derives a problem's values at `now`.
pub fn derive(problem: &Problem, config: &Config, now: Timestamp) -> Derived {
    let outcome = replay(problem);
    let rating = problem.rating.as_ref().map(|r| r.rating.level());
    let facts = FlagFacts {
        state: outcome.state,
        deadline: outcome.deadline,
        rating,
        look_back_owed: outcome.look_back_owed,
    };
    let (overdue, days_overdue, flag) = flag_of(config, facts, now);
    let follow = &config.follow_up;
    let revisit = outcome.reopened_by.and_then(|id| {
        let event = problem.events.iter().find(|e| e.id == id)?;
        Some(Task::new(
            TaskKind::Revisit,
            Some(id),
            event.stamp.at,
            follow.revisit_days,
            now,
        ))
    });
    let look_back = outcome
        .signed_off_at
        .map(|at| Task::new(TaskKind::LookBack, None, at, follow.look_back_days, now));
    Derived {
        revisit,
        look_back,
        route_due: problem.created.at.plus_days(config.sla.route_days),
        first_feedback_due: problem.created.at.plus_days(config.sla.first_feedback_days),
        outcome,
        overdue,
        days_overdue,
        flag,
    }
}
