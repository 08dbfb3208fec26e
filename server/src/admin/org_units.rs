//! The administrator's org units (组织机构) beyond imports: the tree as the admin screen and
//! `org-units list` show it, and a unit added, renamed or put under another parent — one
//! implementation for `lianxin-server org-units add|rename|move` and
//! `/api/admin/org-units…` on either database: the rules are
//! `crate::store::org_unit_rules`, judged inside the change's transaction
//! ([`SqliteStore::edit_org_unit_audited`], PostgreSQL's `Directory::edit_org_unit`), each
//! change written with its audit entry there. Units are named by their code, the key the import
//! files use.
//!
//! Who follows: the names reach every screen that reads them from the directory
//! (`GET /api/directory`, whose `ETag` is its body's hash, so a rename changes it and devices
//! fetch it at their next refresh) or from the store at each request (dashboard breakdowns,
//! problem and supervision lists, reminders); a move changes the read scope of the leaders
//! above, which their devices follow at their next sync (re-scoping, `crate::sync`).

use std::collections::{BTreeMap, BTreeSet};

use shared::model::{OrgUnitId, OrgUnitKind, Timestamp};

use super::AdminError;
use crate::auth::token::random_id_bytes;
pub use crate::store::{CODE_MAX, NAME_MAX, NewOrgUnit};
use crate::store::{OrgUnitEdit, OrgUnitEntry, SqliteStore, UserRecord};

/// One unit of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    /// The unit and its code.
    pub entry: OrgUnitEntry,
    /// Its parent's code.
    pub parent_code: Option<String>,
    /// 0 for the zone (a root), 1 under it, …
    pub depth: usize,
    /// Users who belong to it (disabled ones too).
    pub members: u64,
}

/// Every unit, depth first from the zone: under each unit, towns before departments, each by
/// name. A unit whose parent is missing is listed as a root; units no root leads to (a cycle
/// written behind the server's back) are listed last, at depth 0.
///
/// # Errors
/// The store's failures.
pub fn tree(store: &SqliteStore) -> Result<Vec<TreeRow>, AdminError> {
    Ok(tree_of(store.list_org_units()?, &store.org_unit_members()?))
}

/// How many of `users` (disabled ones too) belong to each org unit that has any.
pub fn members_of(users: &[UserRecord]) -> BTreeMap<OrgUnitId, u64> {
    let mut members = BTreeMap::new();
    for u in users {
        *members.entry(u.user.org_unit).or_insert(0) += 1;
    }
    members
}

/// [`tree`] of `units` with `members` per unit (as [`members_of`] counts them).
pub fn tree_of(units: Vec<OrgUnitEntry>, members: &BTreeMap<OrgUnitId, u64>) -> Vec<TreeRow> {
    let code_of: BTreeMap<OrgUnitId, String> =
        units.iter().map(|u| (u.unit.id, u.code.clone())).collect();
    let rank = |k: OrgUnitKind| match k {
        OrgUnitKind::Zone => 0,
        OrgUnitKind::Town => 1,
        OrgUnitKind::Department => 2,
    };
    let mut children: BTreeMap<Option<OrgUnitId>, Vec<&OrgUnitEntry>> = BTreeMap::new();
    for u in &units {
        let parent = u.unit.parent.filter(|p| code_of.contains_key(p));
        children.entry(parent).or_default().push(u);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| {
            (rank(a.unit.kind), &a.unit.name, &a.code).cmp(&(
                rank(b.unit.kind),
                &b.unit.name,
                &b.code,
            ))
        });
    }
    let mut rows = Vec::with_capacity(units.len());
    let mut stack: Vec<(&OrgUnitEntry, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|u| (*u, 0)).collect())
        .unwrap_or_default();
    let row = |u: &OrgUnitEntry, depth: usize| TreeRow {
        entry: u.clone(),
        parent_code: u.unit.parent.and_then(|p| code_of.get(&p).cloned()),
        depth,
        members: members.get(&u.unit.id).copied().unwrap_or(0),
    };
    let mut listed = BTreeSet::new();
    while let Some((u, depth)) = stack.pop() {
        if !listed.insert(u.unit.id) {
            continue;
        }
        rows.push(row(u, depth));
        if let Some(below) = children.get(&Some(u.unit.id)) {
            stack.extend(below.iter().rev().map(|c| (*c, depth + 1)));
        }
    }
    for u in &units {
        if listed.insert(u.unit.id) {
            rows.push(row(u, 0));
        }
    }
    rows
}

/// Adds a unit, audited as `actor`'s (`org_unit_added`).
///
/// # Errors
/// [`crate::store::StoreError::Invalid`] naming what is wrong,
/// [`crate::store::StoreError::Duplicate`] for a taken code (as [`AdminError::Store`]).
pub fn add(
    store: &mut SqliteStore,
    new: &NewOrgUnit,
    now: Timestamp,
    actor: &str,
) -> Result<OrgUnitEntry, AdminError> {
    let edit = OrgUnitEdit::Add {
        new: new.clone(),
        id: OrgUnitId::from_random_bytes(random_id_bytes()),
    };
    Ok(store.edit_org_unit_audited(&edit, now, actor)?)
}

/// Renames the unit `code`, audited as `actor`'s (`org_unit_renamed`, `OLD → NEW`).
///
/// # Errors
/// `NotFound` for an unknown code; `Invalid` for a refused name.
pub fn rename(
    store: &mut SqliteStore,
    code: &str,
    name: &str,
    now: Timestamp,
    actor: &str,
) -> Result<OrgUnitEntry, AdminError> {
    let edit = OrgUnitEdit::Rename {
        code: code.to_string(),
        name: name.to_string(),
    };
    Ok(store.edit_org_unit_audited(&edit, now, actor)?)
}

/// Puts the unit `code` under the unit `to`, audited as `actor`'s (`org_unit_moved`,
/// `OLD → NEW` parent codes).
///
/// # Errors
/// `NotFound` for an unknown code; `Invalid` for the zone, an unknown parent, a cycle, the
/// parent it has, or a name the new parent's units have.
pub fn move_to(
    store: &mut SqliteStore,
    code: &str,
    to: &str,
    now: Timestamp,
    actor: &str,
) -> Result<OrgUnitEntry, AdminError> {
    let edit = OrgUnitEdit::Move {
        code: code.to_string(),
        parent: to.to_string(),
    };
    Ok(store.edit_org_unit_audited(&edit, now, actor)?)
}
