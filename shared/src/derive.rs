//! Derived values (派生值): a problem's state, effective tier and deadline, overdue status and
//! red/green/black flag, computed from its document, the configuration and a given "now".
//! None of these is ever stored as a typed-in field.

use serde::Serialize;

use crate::config::{Config, FlagRule};
use crate::model::{Flag, Problem, ProblemState, Tier, Timestamp};
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
}

/// The deadline a new problem of `tier` created at `created` gets from the SLA policy.
pub fn initial_deadline(config: &Config, tier: Tier, created: Timestamp) -> Timestamp {
    created.plus_days(config.sla.days_for(tier))
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

fn rule_matches(
    rule: &FlagRule,
    state: ProblemState,
    deadline: Timestamp,
    rating: Option<u8>,
    overdue: bool,
    now: Timestamp,
) -> bool {
    if !rule.states.is_empty() && !rule.states.contains(&state) {
        return false;
    }
    if rule.closed.is_some_and(|c| c != state.is_closed()) {
        return false;
    }
    if rule.overdue.is_some_and(|o| o != overdue) {
        return false;
    }
    if let Some(days) = rule.due_within_days {
        let near = awaiting_result(state) && now.days_until(deadline) < i64::from(days);
        if !near {
            return false;
        }
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
/// effective deadline and rating level (1–5) — a query row — with the same rule table as
/// [`derive`].
pub fn flag_of(
    config: &Config,
    state: ProblemState,
    deadline: Timestamp,
    rating: Option<u8>,
    now: Timestamp,
) -> (bool, i64, Flag) {
    let overdue = awaiting_result(state) && now > deadline;
    let days_overdue = if overdue {
        deadline.days_until(now).max(0)
    } else {
        0
    };
    let flag = config
        .flag_rules
        .iter()
        .find(|rule| rule_matches(rule, state, deadline, rating, overdue, now))
        .and_then(|rule| rule.flag)
        .unwrap_or(config.default_flag);
    (overdue, days_overdue, flag)
}

/// Derives a problem's values at `now`.
pub fn derive(problem: &Problem, config: &Config, now: Timestamp) -> Derived {
    let outcome = replay(problem);
    let rating = problem.rating.as_ref().map(|r| r.rating.level());
    let (overdue, days_overdue, flag) =
        flag_of(config, outcome.state, outcome.deadline, rating, now);
    Derived {
        route_due: problem.created.at.plus_days(config.sla.route_days),
        first_feedback_due: problem.created.at.plus_days(config.sla.first_feedback_days),
        outcome,
        overdue,
        days_overdue,
        flag,
    }
}
