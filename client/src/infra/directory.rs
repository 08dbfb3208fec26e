//! Names of people and org units (towns, departments) for display and pickers.
//! Placeholder: answers nothing until the directory endpoint and its cache are built.

use shared::model::{OrgUnitId, UserId};

/// A person's display name, when the directory knows them.
pub fn user_name(_id: UserId) -> Option<String> {
    None
}

/// An org unit's display name, when the directory knows it.
pub fn unit_name(_id: OrgUnitId) -> Option<String> {
    None
}

/// Departments a problem can be handed out to, by name.
pub fn departments() -> Vec<(OrgUnitId, String)> {
    Vec::new()
}

/// Towns (and the zone), by name, for dashboard pickers.
pub fn towns() -> Vec<(OrgUnitId, String)> {
    Vec::new()
}
