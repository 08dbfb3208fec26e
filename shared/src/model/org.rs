//! Reference data kept by the server, not as CRDT documents: org units, users, assignments
//! (包联). They decide what each device receives and roll up every KPI.

use serde::{Deserialize, Serialize};

use super::codes::{OrgUnitKind, Role};
use super::ids::{EnterpriseId, OrgUnitId, UserId};
use super::time::Timestamp;

/// A node of the zone › town/street/park › department tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// Identity.
    pub id: OrgUnitId,
    /// Display name, e.g. 玉泉街道.
    pub name: String,
    /// Zone, town or department.
    pub kind: OrgUnitKind,
    /// The unit above, `None` only for the zone.
    pub parent: Option<OrgUnitId>,
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// What they do.
    pub role: Role,
    /// The unit they belong to (a town for officers, a department for handlers …).
    pub org_unit: OrgUnitId,
}

/// 包联: an officer or leader made responsible for an enterprise for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The responsible officer or leader.
    pub user: UserId,
    /// First instant the assignment holds.
    pub valid_from: Timestamp,
    /// First instant it no longer holds; `None` while open-ended.
    pub valid_to: Option<Timestamp>,
}

impl Assignment {
    /// Whether the assignment holds at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.valid_from <= now && self.valid_to.is_none_or(|end| now < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_holds_from_its_start_until_just_before_its_end() {
        let a = Assignment {
            enterprise: EnterpriseId::from_random_bytes([1; 16]),
            user: UserId::from_random_bytes([2; 16]),
            valid_from: Timestamp(100),
            valid_to: Some(Timestamp(200)),
        };
        assert!(!a.is_active(Timestamp(99)));
        assert!(a.is_active(Timestamp(100)));
        assert!(a.is_active(Timestamp(199)));
        assert!(!a.is_active(Timestamp(200)));
    }
}
