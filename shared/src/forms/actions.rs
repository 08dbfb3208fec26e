//! The actions a role is offered on a problem's page (progress, response, rating, sign-off,
//! look-back, escalation …) and the workflow action each builds; the rating a form names.

use crate::model::{Rating, Role, Tier, Timestamp};
use crate::workflow::Action;

use super::{FieldError, FormError};

/// The workflow actions (and edits shaped like actions) a screen offers on a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// 分类.
    Triage,
    /// 受理.
    Accept,
    /// 退回.
    Return,
    /// 开始办理.
    Start,
    /// 答复 (the response text must be written first).
    Respond,
    /// 当场办结.
    ResolveOnSite,
    /// 企业确认.
    Confirm,
    /// 企业异议.
    Dispute,
    /// 销号 with the enterprise's confirmation.
    SignOff,
    /// 销号 with a recorded waiver of the confirmation.
    SignOffWaiver,
    /// 回头看通过.
    LookBackPass,
    /// 回头看重新打开.
    LookBackReopen,
    /// 升级 one tier.
    Escalate,
    /// 延期 to a later date.
    Extend,
    /// 撤回.
    Withdraw,
    /// 无法解决 (leaders).
    NotResolvable,
}

impl ActionKind {
    /// Whether the screen must ask for a reason (the guard refuses an empty one).
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            ActionKind::Return
                | ActionKind::Dispute
                | ActionKind::LookBackReopen
                | ActionKind::Escalate
                | ActionKind::Extend
                | ActionKind::Withdraw
                | ActionKind::NotResolvable
                | ActionKind::SignOffWaiver
        )
    }

    /// Whether the screen must ask for a new deadline.
    pub fn needs_date(self) -> bool {
        self == ActionKind::Extend
    }
}

/// The actions a role is offered on a problem, in the order a screen lists them. The guards
/// (`workflow::check`) still decide whether each is possible now; the server's per-role rules
/// have the last word.
pub fn actions_for(role: Role) -> &'static [ActionKind] {
    use ActionKind as A;
    match role {
        Role::Officer => &[
            A::Respond,
            A::ResolveOnSite,
            A::Confirm,
            A::Dispute,
            A::SignOff,
            A::SignOffWaiver,
            A::LookBackPass,
            A::LookBackReopen,
            A::Escalate,
            A::Withdraw,
        ],
        Role::WindowClerk => &[A::Triage, A::Withdraw],
        Role::DepartmentHandler => &[
            A::Accept,
            A::Return,
            A::Start,
            A::Respond,
            A::Extend,
            A::Escalate,
        ],
        Role::Leader | Role::Supervisor => &[
            A::Triage,
            A::Escalate,
            A::Extend,
            A::SignOff,
            A::SignOffWaiver,
            A::LookBackReopen,
            A::NotResolvable,
            A::Withdraw,
        ],
        Role::Admin => &[],
    }
}

/// Builds the workflow action for `kind` on a problem whose effective tier is `tier`;
/// `deadline` is the new deadline an extension asks for. `None` when the action cannot be
/// built (escalating from the top tier, extending without a date).
pub fn build_action(kind: ActionKind, tier: Tier, deadline: Option<Timestamp>) -> Option<Action> {
    Some(match kind {
        ActionKind::Triage => Action::Triage,
        ActionKind::Accept => Action::Accept,
        ActionKind::Return => Action::Return,
        ActionKind::Start => Action::Start,
        ActionKind::Respond => Action::Respond,
        ActionKind::ResolveOnSite => Action::ResolveOnSite,
        ActionKind::Confirm => Action::Confirm,
        ActionKind::Dispute => Action::Dispute,
        ActionKind::SignOff => Action::SignOff { waiver: false },
        ActionKind::SignOffWaiver => Action::SignOff { waiver: true },
        ActionKind::LookBackPass => Action::LookBackPass,
        ActionKind::LookBackReopen => Action::LookBackReopen,
        ActionKind::Escalate => Action::Escalate { to: tier.next()? },
        ActionKind::Extend => Action::Extend {
            deadline: deadline?,
        },
        ActionKind::Withdraw => Action::Withdraw,
        ActionKind::NotResolvable => Action::NotResolvable,
    })
}

/// Parses a rating code (`1`–`5`).
pub fn parse_rating(code: &str) -> Result<Rating, FieldError> {
    Rating::from_code(code.trim()).map_err(|_| {
        FieldError::new(
            "rating",
            FormError::UnknownChoice(code.chars().take(8).collect()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{Rating, Role, Tier};
    use crate::workflow::Action;

    #[test]
    fn escalation_is_built_one_tier_up_and_not_from_the_top() {
        assert_eq!(
            build_action(ActionKind::Escalate, Tier::OnSite, None),
            Some(Action::Escalate {
                to: Tier::Department
            })
        );
        assert_eq!(
            build_action(ActionKind::Escalate, Tier::CityLeader, None),
            None
        );
        assert_eq!(build_action(ActionKind::Extend, Tier::OnSite, None), None);
        assert!(ActionKind::SignOffWaiver.needs_reason());
        assert!(!ActionKind::SignOff.needs_reason());
        assert!(actions_for(Role::Officer).contains(&ActionKind::Respond));
        assert!(actions_for(Role::Admin).is_empty());
    }

    #[test]
    fn ratings_parse_from_their_level() {
        assert_eq!(parse_rating("5"), Ok(Rating::VerySatisfied));
        assert!(parse_rating("6").is_err());
    }
}
