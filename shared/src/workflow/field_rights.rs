//! Which guarded fields (see [`GuardedField`]) a change to a problem touches, and whether the
//! person may touch them: one function the server runs on every merged change and the
//! device runs before it saves an edit, and the locks the edit form derives from the same
//! table, so the form never offers what the server would refuse.

use super::rights::{Denied, GuardedField, Subject, may_change};
use crate::model::{Problem, Tier};

/// The guarded fields that going from `before` to `after` changes, each with whether the
/// change sets the city-leader tier or takes a problem down from it (a leader's alone). A new
/// problem (`before` is `None`) is its creator's to fill in, except for the city-leader tier
/// and the rating, which count as changes.
pub fn guarded_changes(before: Option<&Problem>, after: &Problem) -> Vec<(GuardedField, bool)> {
    let to_city_leader = after.tier == Tier::CityLeader
        || before.is_some_and(|b| b.tier == Tier::CityLeader && after.tier != b.tier);
    let changed: Vec<GuardedField> = match before {
        Some(b) => [
            (
                GuardedField::HandlingUnits,
                b.handling_units != after.handling_units,
            ),
            (GuardedField::Owner, b.owner != after.owner),
            (GuardedField::Leader, b.leader != after.leader),
            (GuardedField::Deadline, b.deadline != after.deadline),
            (GuardedField::Tier, b.tier != after.tier),
            (
                GuardedField::Category,
                b.category != after.category || b.class != after.class,
            ),
            (GuardedField::Rating, b.rating != after.rating),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(f, _)| f)
        .collect(),
        None => [
            (GuardedField::Tier, to_city_leader),
            (GuardedField::Rating, after.rating.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| f)
        .collect(),
    };
    changed
        .into_iter()
        .map(|f| (f, f == GuardedField::Tier && to_city_leader))
        .collect()
}

/// Whether `subject` may make the change from `before` to `after`: the first guarded field it
/// may not change, with the table's reason.
pub fn may_change_problem(
    subject: &Subject<'_>,
    before: Option<&Problem>,
    after: &Problem,
) -> Result<(), Denied> {
    guarded_changes(before, after)
        .into_iter()
        .try_for_each(|(field, city)| may_change(subject, field, city))
}

/// The fields of the problem edit form that `subject` may not change, each with the table's
/// refusal (shown beside the disabled field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditLocks {
    /// Category and class.
    pub category: Option<Denied>,
    /// The tier, below the city-leader tier.
    pub tier: Option<Denied>,
    /// Setting the city-leader tier, or taking a problem down from it.
    pub city_leader_tier: Option<Denied>,
    /// The handling departments.
    pub departments: Option<Denied>,
}

impl EditLocks {
    /// What `subject` may not change on an existing problem.
    pub fn of(subject: &Subject<'_>) -> EditLocks {
        let lock = |field, city| may_change(subject, field, city).err();
        EditLocks {
            category: lock(GuardedField::Category, false),
            tier: lock(GuardedField::Tier, false),
            city_leader_tier: lock(GuardedField::Tier, true),
            departments: lock(GuardedField::HandlingUnits, false),
        }
    }

    /// What `subject` may not set on a problem it creates: only the city-leader tier (its
    /// creator fills in the rest).
    pub fn of_new(subject: &Subject<'_>) -> EditLocks {
        EditLocks {
            city_leader_tier: may_change(subject, GuardedField::Tier, true).err(),
            ..EditLocks::default()
        }
    }

    /// The distinct refusals, in the form's order (for the hints above the fields).
    pub fn reasons(&self) -> Vec<&Denied> {
        let mut out: Vec<&Denied> = Vec::new();
        for d in [
            &self.category,
            &self.tier,
            &self.city_leader_tier,
            &self.departments,
        ]
        .into_iter()
        .flatten()
        {
            if !out.iter().any(|o| o.why == d.why) {
                out.push(d);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::{OrgUnitId, Role};

    fn subject(role: Role, units: &BTreeSet<OrgUnitId>) -> Subject<'_> {
        Subject {
            role,
            unit: OrgUnitId::from_random_bytes([7; 16]),
            handling_units: units,
        }
    }

    #[test]
    fn a_department_handler_finds_category_tier_and_departments_locked() {
        let units = BTreeSet::new();
        let locks = EditLocks::of(&subject(Role::DepartmentHandler, &units));
        assert!(locks.category.is_some());
        assert!(locks.tier.is_some());
        assert!(locks.departments.is_some());
    }

    #[test]
    fn an_officer_may_edit_all_but_the_city_leader_tier() {
        let units = BTreeSet::new();
        let locks = EditLocks::of(&subject(Role::Officer, &units));
        assert_eq!(locks.category, None);
        assert_eq!(locks.tier, None);
        assert_eq!(locks.departments, None);
        let city = locks
            .city_leader_tier
            .clone()
            .expect("only a leader sets the city-leader tier");
        assert_eq!(locks.reasons(), vec![&city]);
    }

    #[test]
    fn a_leader_has_nothing_locked() {
        let units = BTreeSet::new();
        assert_eq!(
            EditLocks::of(&subject(Role::Leader, &units)),
            EditLocks::default()
        );
    }

    #[test]
    fn a_window_clerk_creating_a_problem_may_set_anything_but_the_city_leader_tier() {
        let units = BTreeSet::new();
        let locks = EditLocks::of_new(&subject(Role::WindowClerk, &units));
        assert!(locks.city_leader_tier.is_some());
        assert_eq!(
            (locks.category, locks.tier, locks.departments),
            (None, None, None)
        );
    }

    #[test]
    fn a_supervisor_may_not_change_the_handling_departments() {
        let units = BTreeSet::new();
        let locks = EditLocks::of(&subject(Role::Supervisor, &units));
        assert!(locks.departments.is_some());
        assert_eq!(locks.category, None);
    }
}
