//! The actions a person is offered on a problem's page (from the rights table,
//! `workflow::rights`) and the workflow action each builds; the rating a form names.

use std::collections::BTreeSet;

use crate::model::{OrgUnitId, Problem, Rating, Role, Tier, Timestamp};
use crate::workflow::field_rights::{EditLocks, may_change_problem};
use crate::workflow::rights::{self, Denied, Subject};
use crate::workflow::{Action, ActionKind};

use super::{FieldError, FormError};

impl ActionKind {
    /// Whether the screen must ask for a reason (the guard refuses an empty one).
    pub fn needs_reason(self) -> bool {
        rights::action_rule(self).needs_reason
    }

    /// Whether the screen must ask for a new deadline.
    pub fn needs_date(self) -> bool {
        rights::action_rule(self).needs_date
    }
}

/// The actions the problem page offers the person (`role`, in `unit`) on `problem`
/// (effective tier `tier`), in the rights table's order: what the table grants them there,
/// less hand-out and merging, which have their own forms, and the bad rating, which the rating
/// form records (`ProblemDoc::rate`). The guards (`workflow::check`)
/// still decide whether each is possible now; the server enforces the same table.
pub fn actions_for(role: Role, unit: OrgUnitId, problem: &Problem, tier: Tier) -> Vec<ActionKind> {
    let subject = Subject {
        role,
        unit,
        handling_units: &problem.handling_units,
    };
    rights::offered(&subject, tier)
        .into_iter()
        .filter(|k| {
            !matches!(
                k,
                ActionKind::Assign | ActionKind::MergeDuplicate | ActionKind::BadRating
            )
        })
        .collect()
}

/// The problem form's fields that the person (`role`, in `unit`) may not change: on
/// `problem` when it exists, on a new problem otherwise (the same table the server enforces).
pub fn edit_locks(role: Role, unit: OrgUnitId, problem: Option<&Problem>) -> EditLocks {
    let none = BTreeSet::new();
    let subject = Subject {
        role,
        unit,
        handling_units: problem.map_or(&none, |p| &p.handling_units),
    };
    match problem {
        Some(_) => EditLocks::of(&subject),
        None => EditLocks::of_new(&subject),
    }
}

/// Whether the person (`role`, in `unit`) may save the edit that takes `before` to `after`:
/// the device refuses what the server would, with the table's reason.
pub fn may_save_edit(
    role: Role,
    unit: OrgUnitId,
    before: &Problem,
    after: &Problem,
) -> Result<(), Denied> {
    let subject = Subject {
        role,
        unit,
        handling_units: &before.handling_units,
    };
    may_change_problem(&subject, Some(before), after)
}

/// Builds the workflow action for `kind` on a problem whose effective tier is `tier`;
/// `deadline` is the new deadline an extension (or its request) asks for. `None` when the
/// action cannot be built here (escalating from the top tier, extending without a date, and
/// hand-out, merging and the bad rating, which need their own forms).
pub fn build_action(kind: ActionKind, tier: Tier, deadline: Option<Timestamp>) -> Option<Action> {
    Some(match kind {
        ActionKind::Triage => Action::Triage,
        ActionKind::Assign | ActionKind::MergeDuplicate | ActionKind::BadRating => return None,
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
        ActionKind::RequestWaiver => Action::RequestWaiver,
        ActionKind::Extend => Action::Extend {
            deadline: deadline?,
        },
        ActionKind::RequestExtension => Action::RequestExtension {
            deadline: deadline?,
        },
        ActionKind::RefuseExtension => Action::RefuseExtension,
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

    use crate::model::{Rating, Tier};
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
        assert!(ActionKind::RequestExtension.needs_date());
        assert!(ActionKind::Extend.needs_date());
    }

    #[test]
    fn ratings_parse_from_their_level() {
        assert_eq!(parse_rating("5"), Ok(Rating::VerySatisfied));
        assert!(parse_rating("6").is_err());
    }
}
