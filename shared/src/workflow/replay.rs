//! Replay: from a problem's merged events to its state, deterministically on every replica.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::Serialize;

use super::action::{Action, Event, Evidence, GuardContext, TransitionError, guard};
use crate::model::{EntryId, Problem, ProblemState, Tier, Timestamp};

/// The resolution rank of an action: when concurrent actions are ready together, the higher
/// rank is applied first, so the lower one applies only if it still can (see the module table).
pub fn precedence(action: &Action) -> u8 {
    match action {
        Action::LookBackReopen | Action::Dispute | Action::BadRating { .. } => 4,
        Action::Return
        | Action::Escalate { .. }
        | Action::Extend { .. }
        | Action::RefuseExtension => 3,
        Action::Triage
        | Action::Assign { .. }
        | Action::Accept
        | Action::Start
        | Action::Respond
        | Action::ResolveOnSite
        | Action::Confirm
        | Action::RequestExtension { .. }
        | Action::RequestWaiver => 2,
        Action::SignOff { .. } | Action::LookBackPass => 1,
        Action::MergeDuplicate { .. } | Action::Withdraw | Action::NotResolvable => 0,
    }
}

/// An event that replay did not apply, and why: a concurrent action got there first, or the
/// merged data no longer satisfies its guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Superseded {
    /// The event.
    pub event: EntryId,
    /// The guard that refused it on replay.
    pub error: TransitionError,
}

/// The result of replaying a problem's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Current state.
    pub state: ProblemState,
    /// Effective tier: the set tier raised by applied escalations.
    pub tier: Tier,
    /// Effective deadline: the set deadline moved by applied extensions.
    pub deadline: Timestamp,
    /// The deadline a handler asked for that no leader has answered yet (the effective
    /// deadline still counts).
    pub pending_extension: Option<Timestamp>,
    /// The applied bad rating, dispute or look-back reopening that put the problem in its
    /// current reopened or disputed state (its revisit task, 回访); `None` in any other state.
    pub reopened_by: Option<EntryId>,
    /// When the applied sign-off was recorded, while the problem stays signed off (its
    /// look-back falls due a configured number of days later).
    pub signed_off_at: Option<Timestamp>,
    /// Signed off after a bad rating, and no look-back has passed since: flagged black.
    pub look_back_owed: bool,
    /// Applied events, in replay order.
    pub applied: Vec<EntryId>,
    /// Events not applied, in replay order.
    pub superseded: Vec<Superseded>,
}

impl Outcome {
    /// The last applied event: a new event records it as `after`.
    pub fn tip(&self) -> Option<EntryId> {
        self.applied.last().copied()
    }
}

/// Replays a problem's events into its state. Pure and deterministic: equal documents give
/// equal outcomes on every replica.
pub fn replay(problem: &Problem) -> Outcome {
    // By insertion, not `collect()` (which sorts first, with its own copy of the sort in the
    // wasm client); a repeated id keeps its last event either way.
    let mut by_id: BTreeMap<EntryId, &Event> = BTreeMap::new();
    for event in &problem.events {
        by_id.insert(event.id, event);
    }
    let mut children: BTreeMap<Option<EntryId>, Vec<&Event>> = BTreeMap::new();
    for event in by_id.values() {
        // An `after` that names no known event can only come from a malformed document;
        // such an event is treated as a first event rather than dropped.
        let parent = event
            .after
            .filter(|p| by_id.contains_key(p) && *p != event.id);
        children.entry(parent).or_default().push(event);
    }

    let mut ready: BinaryHeap<(u8, Reverse<EntryId>)> = BinaryHeap::new();
    let push_children = |ready: &mut BinaryHeap<_>, parent: Option<EntryId>| {
        for child in children.get(&parent).into_iter().flatten() {
            ready.push((precedence(&child.action), Reverse(child.id)));
        }
    };
    push_children(&mut ready, None);

    let mut out = Outcome {
        state: ProblemState::Submitted,
        tier: problem.tier,
        deadline: problem.deadline,
        pending_extension: None,
        reopened_by: None,
        signed_off_at: None,
        look_back_owed: false,
        applied: Vec::new(),
        superseded: Vec::new(),
    };
    // A bad rating applied since the last look-back passed.
    let mut rated_badly = false;
    while let Some((_, Reverse(id))) = ready.pop() {
        let Some(event) = by_id.get(&id) else {
            continue;
        };
        let ctx = context(&out, problem, None);
        match guard(&ctx, &event.action, &event.reason) {
            Ok(to) => {
                out.state = to;
                follow_up(&mut out, &mut rated_badly, event);
                match event.action {
                    Action::Escalate { to } => out.tier = out.tier.max(to),
                    Action::Extend { deadline } => {
                        out.deadline = deadline;
                        out.pending_extension = None;
                    }
                    Action::RequestExtension { deadline } => {
                        out.pending_extension = Some(deadline);
                    }
                    Action::RefuseExtension => out.pending_extension = None,
                    _ => {}
                }
                out.applied.push(id);
            }
            Err(error) => out.superseded.push(Superseded { event: id, error }),
        }
        push_children(&mut ready, Some(id));
    }
    out
}

/// What the guards see in the state `out` reached.
fn context<'a>(
    out: &Outcome,
    problem: &'a Problem,
    evidence: Option<&'a Evidence>,
) -> GuardContext<'a> {
    GuardContext {
        state: out.state,
        tier: out.tier,
        deadline: out.deadline,
        pending_extension: out.pending_extension,
        signed_off_at: out.signed_off_at,
        problem,
        evidence,
    }
}

/// Keeps the revisit, look-back and black-flag facts in step with an applied `event` (the
/// state it led to is already in `out`).
fn follow_up(out: &mut Outcome, rated_badly: &mut bool, event: &Event) {
    use ProblemState as S;
    match event.action {
        Action::BadRating { .. } => *rated_badly = true,
        Action::SignOff { .. } => {
            out.signed_off_at = Some(event.stamp.at);
            out.look_back_owed = *rated_badly;
        }
        Action::LookBackPass => {
            *rated_badly = false;
            out.look_back_owed = false;
        }
        _ => {}
    }
    if matches!(
        event.action,
        Action::BadRating { .. } | Action::Dispute | Action::LookBackReopen
    ) {
        out.reopened_by = Some(event.id);
    }
    if !matches!(out.state, S::Reopened | S::Disputed) {
        out.reopened_by = None;
    }
    if out.state != S::SignedOff {
        out.signed_off_at = None;
        out.look_back_owed = false;
    }
}

/// Checks whether the problem's state allows `action` now; returns the state it leads to, or
/// the guard's typed refusal. Who may take it is the rights table's say (`rights::may_act`).
/// Facts from outside the document are not judged (a look-back passes without a visit): a
/// new action is checked with [`check_new`].
pub fn check(
    problem: &Problem,
    action: &Action,
    reason: &str,
) -> Result<ProblemState, TransitionError> {
    let outcome = replay(problem);
    guard(&context(&outcome, problem, None), action, reason)
}

/// Like [`check`], for an action about to be recorded: also judged by the outside facts in
/// `evidence` (a look-back passes only after a visit with a check-in).
pub fn check_new(
    problem: &Problem,
    action: &Action,
    reason: &str,
    evidence: &Evidence,
) -> Result<ProblemState, TransitionError> {
    let outcome = replay(problem);
    guard(&context(&outcome, problem, Some(evidence)), action, reason)
}
