//! Workflow actions, the events that record them, and the guards that refuse them.

use serde::{Deserialize, Serialize};

use super::rights::{ActionKind, action_rule};
use crate::config::Config;
use crate::model::{
    EnterpriseId, EntryId, OrgUnitId, Problem, ProblemId, ProblemState, Rating, Role, Stamp, Tier,
    Timestamp, Visit,
};

/// Something a person does to a problem's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 分类: category, class and tier checked; ready to hand out.
    Triage,
    /// 交办: hand out to a department.
    Assign {
        /// The handling department.
        unit: OrgUnitId,
    },
    /// 受理: the department accepts.
    Accept,
    /// 退回: the department returns it, with a reason.
    Return,
    /// 开始办理.
    Start,
    /// 答复: an answer is given to the enterprise (the response text must be written).
    Respond,
    /// 当场办结: solved on the spot (on-site tier, response written).
    ResolveOnSite,
    /// 企业确认: the enterprise confirms the result.
    Confirm,
    /// 企业异议: the enterprise disputes the result, with a reason.
    Dispute,
    /// 企业差评: the enterprise rated the result at or below the configured level; recorded
    /// with the rating (`ProblemDoc::rate`), it reopens the problem for a revisit (回访).
    BadRating {
        /// The rating given.
        rating: Rating,
    },
    /// 销号: signed off; needs a response and the enterprise's confirmation, or a waiver.
    SignOff {
        /// A recorded waiver of the enterprise's confirmation (the reason explains it).
        waiver: bool,
    },
    /// 回头看通过: the look-back found the problem still solved.
    LookBackPass,
    /// 回头看重新打开: the look-back found it not solved.
    LookBackReopen,
    /// 申请免确认销号: an officer asks a leader for a waiver sign-off, with a reason.
    RequestWaiver,
    /// 延期: a later deadline, with a reason (a leader's; approves a pending request).
    Extend {
        /// The new deadline.
        deadline: Timestamp,
    },
    /// 申请延期: a handler asks for a later deadline, with a reason; the deadline moves only
    /// when a leader extends it.
    RequestExtension {
        /// The deadline asked for.
        deadline: Timestamp,
    },
    /// 驳回延期申请: a leader refuses the pending request, with a reason.
    RefuseExtension,
    /// 升级: one tier up, with a reason.
    Escalate {
        /// The tier it goes to.
        to: Tier,
    },
    /// 合并重复: merged into another problem.
    MergeDuplicate {
        /// The problem it duplicates.
        into: ProblemId,
    },
    /// 撤回: withdrawn, with a reason.
    Withdraw,
    /// 无法解决: closed as not resolvable, by a leader, with an explanation.
    NotResolvable,
}

impl Action {
    /// The action's kind: its row in the rights table (`workflow::rights`).
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Triage => ActionKind::Triage,
            Action::Assign { .. } => ActionKind::Assign,
            Action::Accept => ActionKind::Accept,
            Action::Return => ActionKind::Return,
            Action::Start => ActionKind::Start,
            Action::Respond => ActionKind::Respond,
            Action::ResolveOnSite => ActionKind::ResolveOnSite,
            Action::Confirm => ActionKind::Confirm,
            Action::Dispute => ActionKind::Dispute,
            Action::BadRating { .. } => ActionKind::BadRating,
            Action::SignOff { waiver: false } => ActionKind::SignOff,
            Action::SignOff { waiver: true } => ActionKind::SignOffWaiver,
            Action::LookBackPass => ActionKind::LookBackPass,
            Action::LookBackReopen => ActionKind::LookBackReopen,
            Action::RequestWaiver => ActionKind::RequestWaiver,
            Action::Extend { .. } => ActionKind::Extend,
            Action::RequestExtension { .. } => ActionKind::RequestExtension,
            Action::RefuseExtension => ActionKind::RefuseExtension,
            Action::Escalate { .. } => ActionKind::Escalate,
            Action::MergeDuplicate { .. } => ActionKind::MergeDuplicate,
            Action::Withdraw => ActionKind::Withdraw,
            Action::NotResolvable => ActionKind::NotResolvable,
        }
    }

    /// The code an event stores: the kind's, except that both sign-offs store `sign_off` (with
    /// a `waiver` flag beside it).
    pub fn code(&self) -> &'static str {
        match self {
            Action::SignOff { .. } => ActionKind::SignOff.code(),
            other => other.kind().code(),
        }
    }

    /// Whether the action must carry a reason.
    pub fn needs_reason(&self) -> bool {
        action_rule(self.kind()).needs_reason
    }
}

/// A recorded action: who did what, after which earlier event, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Identity, made on the device.
    pub id: EntryId,
    /// The last applied event the actor saw; `None` for the first.
    pub after: Option<EntryId>,
    /// What was done.
    pub action: Action,
    /// Who, where, when.
    pub stamp: Stamp,
    /// The role the actor acted in.
    pub role: Role,
    /// Why (required for some actions).
    pub reason: String,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum TransitionError {
    /// The action is not possible from the current state.
    #[error("{action} is not possible while the problem is {state}")]
    NotAllowedFrom {
        /// The action's code.
        action: &'static str,
        /// The current state.
        state: ProblemState,
    },
    /// The action needs a reason and none was given.
    #[error("{action} needs a reason")]
    ReasonRequired {
        /// The action's code.
        action: &'static str,
    },
    /// Responding, resolving on site and signing off need the response to the enterprise.
    #[error("{action} needs the response to the enterprise to be written first")]
    ResponseMissing {
        /// The action's code.
        action: &'static str,
    },
    /// Sign-off needs the enterprise's confirmation or a recorded waiver.
    #[error("sign-off needs the enterprise's confirmation or a recorded waiver")]
    ConfirmationOrWaiverMissing,
    /// Refusing an extension needs a pending request.
    #[error("there is no pending extension request to refuse")]
    NoExtensionRequested,
    /// Resolving on the spot is only for on-site-tier problems.
    #[error("only on-the-spot tier problems can be resolved on site; this one is {0}")]
    TierNotOnSite(Tier),
    /// Escalation goes exactly one tier up.
    #[error("escalation goes one tier up from {from}, not to {to}")]
    TierNotNext {
        /// Effective tier now.
        from: Tier,
        /// Requested tier.
        to: Tier,
    },
    /// An extension must move the deadline later.
    #[error("an extension must move the deadline later than {current}")]
    DeadlineNotLater {
        /// Effective deadline now.
        current: Timestamp,
    },
    /// A problem cannot be merged into itself.
    #[error("a problem cannot be merged into itself")]
    SameProblem,
    /// Passing a look-back needs a visit to the enterprise with a check-in made at or after
    /// the look-back fell due.
    #[error(
        "passing the look-back needs a visit to the enterprise with a check-in on or after {due}"
    )]
    LookBackVisitMissing {
        /// When the look-back fell due.
        due: Timestamp,
    },
}

/// What a new action's guard needs from outside the problem's document: the configured
/// look-back delay and the check-in times of visits to the problem's enterprise. Whoever
/// records an action supplies it (the device from its replica, the server from its store);
/// replay never re-judges recorded events by it, because a replica may not hold the visits
/// (a handler's device never does) and every replica must reach the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Days from sign-off to the look-back (`config.follow_up.look_back_days`).
    pub look_back_days: u32,
    /// Check-in times of the enterprise's visits.
    pub check_ins: Vec<Timestamp>,
}

impl Evidence {
    /// The evidence `visits` give about `enterprise` (visits to others are ignored).
    pub fn of_visits<'v>(
        config: &Config,
        enterprise: EnterpriseId,
        visits: impl IntoIterator<Item = &'v Visit>,
    ) -> Evidence {
        Evidence {
            look_back_days: config.follow_up.look_back_days,
            check_ins: visits
                .into_iter()
                .filter(|v| v.enterprise == enterprise)
                .filter_map(|v| v.check_in.as_ref().map(|c| c.device_time))
                .collect(),
        }
    }

    /// The one rule of 回头看: a look-back that fell due at `due` passes only after a visit
    /// checked in at or after `due`.
    pub fn look_back_visited(&self, due: Timestamp) -> Result<(), TransitionError> {
        if self.check_ins.iter().any(|at| *at >= due) {
            Ok(())
        } else {
            Err(TransitionError::LookBackVisitMissing { due })
        }
    }
}

/// What a guard looks at besides the action: the state reached so far and the effective tier
/// and deadline, plus the problem's current data.
pub(crate) struct GuardContext<'a> {
    pub state: ProblemState,
    pub tier: Tier,
    pub deadline: Timestamp,
    /// The deadline a handler asked for, while no leader has answered.
    pub pending_extension: Option<Timestamp>,
    /// When the problem was last signed off, while it stays signed off.
    pub signed_off_at: Option<Timestamp>,
    pub problem: &'a Problem,
    /// Outside facts for a new action; `None` on replay (see [`Evidence`]).
    pub evidence: Option<&'a Evidence>,
}

/// The states an action may start from, and the state it leads to (`None`: unchanged).
fn route(action: &Action, from: ProblemState) -> Option<Option<ProblemState>> {
    use ProblemState as S;
    let open = !from.is_closed();
    let to = match action {
        Action::Triage if matches!(from, S::Submitted | S::Returned) => Some(S::Triaged),
        Action::Assign { .. } if matches!(from, S::Triaged | S::Returned | S::Reopened) => {
            Some(S::Assigned)
        }
        Action::Accept if from == S::Assigned => Some(S::Accepted),
        Action::Return if matches!(from, S::Assigned | S::Accepted) => Some(S::Returned),
        Action::Start if matches!(from, S::Accepted | S::Reopened) => Some(S::InProgress),
        Action::Respond
            if matches!(
                from,
                S::Accepted | S::InProgress | S::Disputed | S::Reopened
            ) =>
        {
            Some(S::Responded)
        }
        Action::ResolveOnSite if matches!(from, S::Submitted | S::Triaged) => {
            Some(S::ResolvedOnSite)
        }
        Action::Confirm if matches!(from, S::Responded | S::ResolvedOnSite) => Some(S::Confirmed),
        Action::Dispute if matches!(from, S::Responded | S::ResolvedOnSite | S::Confirmed) => {
            Some(S::Disputed)
        }
        Action::BadRating { .. }
            if matches!(
                from,
                S::Responded | S::ResolvedOnSite | S::Confirmed | S::SignedOff | S::LookBackPassed
            ) =>
        {
            Some(S::Reopened)
        }
        Action::SignOff { .. }
            if matches!(from, S::Confirmed | S::Responded | S::ResolvedOnSite) =>
        {
            Some(S::SignedOff)
        }
        Action::LookBackPass if from == S::SignedOff => Some(S::LookBackPassed),
        Action::LookBackReopen if matches!(from, S::SignedOff | S::LookBackPassed) => {
            Some(S::Reopened)
        }
        Action::Extend { .. } | Action::RequestExtension { .. } | Action::RefuseExtension
            if matches!(
                from,
                S::Assigned | S::Accepted | S::InProgress | S::Reopened
            ) =>
        {
            return Some(None);
        }
        Action::RequestWaiver if matches!(from, S::Responded | S::ResolvedOnSite) => {
            return Some(None);
        }
        Action::Escalate { .. } if open && from != S::ResolvedOnSite => return Some(None),
        Action::MergeDuplicate { .. } if open => Some(S::MergedDuplicate),
        Action::Withdraw if open => Some(S::Withdrawn),
        Action::NotResolvable if open => Some(S::NotResolvable),
        _ => return None,
    };
    to.map(Some)
}

/// Checks an action against the guards; on success returns the state it leads to.
pub(crate) fn guard(
    ctx: &GuardContext<'_>,
    action: &Action,
    reason: &str,
) -> Result<ProblemState, TransitionError> {
    let to = route(action, ctx.state).ok_or(TransitionError::NotAllowedFrom {
        action: action.code(),
        state: ctx.state,
    })?;
    if action.needs_reason() && reason.trim().is_empty() {
        return Err(TransitionError::ReasonRequired {
            action: action.code(),
        });
    }
    let response_written = !ctx.problem.response.trim().is_empty();
    match action {
        Action::Respond | Action::ResolveOnSite | Action::SignOff { .. } if !response_written => {
            return Err(TransitionError::ResponseMissing {
                action: action.code(),
            });
        }
        Action::ResolveOnSite if ctx.tier != Tier::OnSite => {
            return Err(TransitionError::TierNotOnSite(ctx.tier));
        }
        Action::SignOff { waiver: false } if ctx.state != ProblemState::Confirmed => {
            return Err(TransitionError::ConfirmationOrWaiverMissing);
        }
        Action::Escalate { to } if Some(*to) != ctx.tier.next() => {
            return Err(TransitionError::TierNotNext {
                from: ctx.tier,
                to: *to,
            });
        }
        Action::Extend { deadline } | Action::RequestExtension { deadline }
            if *deadline <= ctx.deadline =>
        {
            return Err(TransitionError::DeadlineNotLater {
                current: ctx.deadline,
            });
        }
        Action::MergeDuplicate { into } if *into == ctx.problem.id => {
            return Err(TransitionError::SameProblem);
        }
        Action::RefuseExtension if ctx.pending_extension.is_none() => {
            return Err(TransitionError::NoExtensionRequested);
        }
        Action::LookBackPass => {
            if let (Some(evidence), Some(at)) = (ctx.evidence, ctx.signed_off_at) {
                evidence.look_back_visited(at.plus_days(evidence.look_back_days))?;
            }
        }
        _ => {}
    }
    Ok(to.unwrap_or(ctx.state))
}
