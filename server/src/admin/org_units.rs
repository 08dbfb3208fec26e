//! The administrator's org units (组织机构) beyond imports: the tree as the admin screen and
//! `org-units list` show it, and a unit added, renamed or put under another parent — one
//! implementation for `lianxin-server org-units add|rename|move` and
//! `/api/admin/org-units…`, each change written with its audit entry in one transaction.
//!
//! What is refused, with a message naming why: a code that is not one word or is taken, an
//! empty (or over-long, or control-character) name, a name another unit under the same parent
//! already has, a kind other than zone, town or department, a second zone, a zone with a
//! parent or a town or department without one, a parent that does not exist, and a move that
//! would put a unit under itself or under a unit below it (a cycle). Units are named by their
//! code, the key the import files use.
//!
//! Who follows: the names reach every screen that reads them from the directory
//! (`GET /api/directory`, whose `ETag` is its body's hash, so a rename changes it and devices
//! fetch it at their next refresh) or from the store at each request (dashboard breakdowns,
//! problem and supervision lists, reminders); a move changes the read scope of the leaders
//! above, which their devices follow at their next sync (re-scoping, `crate::sync`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use shared::model::{OrgUnit, OrgUnitId, OrgUnitKind, Timestamp};

use super::AdminError;
use crate::auth::token::random_id_bytes;
use crate::store::{OrgUnitAudit, OrgUnitEntry, SqliteStore, StoreError};

/// Most characters of a unit's code.
pub const CODE_MAX: usize = 32;
/// Most characters of a unit's name.
pub const NAME_MAX: usize = 64;

/// A unit to add, as typed (`POST /api/admin/org-units`, `org-units add`).
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrgUnit {
    /// Its code, one word, unique (e.g. `xinqu`).
    pub code: String,
    /// Its name (e.g. 新区街道).
    pub name: String,
    /// `zone`, `town` or `department`.
    pub kind: String,
    /// The parent's code; none only for the zone.
    #[serde(default)]
    pub parent: Option<String>,
}

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

fn invalid(zh: &str, en: &str) -> AdminError {
    AdminError::Invalid(format!("{zh} / {en}"))
}

/// Every unit, depth first from the zone: under each unit, towns before departments, each by
/// name. A unit whose parent is missing is listed as a root; units no root leads to (a cycle
/// written behind the server's back) are listed last, at depth 0.
///
/// # Errors
/// The store's failures.
pub fn tree(store: &SqliteStore) -> Result<Vec<TreeRow>, AdminError> {
    let units = store.list_org_units()?;
    let members = store.org_unit_members()?;
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
    Ok(rows)
}

fn check_code(code: &str) -> Result<(), AdminError> {
    if code.is_empty()
        || code.chars().count() > CODE_MAX
        || code.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            &format!("单位代码须为一个词（不含空格，最多 {CODE_MAX} 个字符）"),
            &format!("the code must be one word (no spaces, at most {CODE_MAX} characters)"),
        ));
    }
    Ok(())
}

/// The name trimmed, or why it is refused.
fn check_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("单位名称不能为空", "the name is empty"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(invalid(
            &format!("单位名称最多 {NAME_MAX} 个字符"),
            &format!("the name has more than {NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "单位名称不能含控制字符",
            "the name holds control characters",
        ));
    }
    Ok(name.to_string())
}

/// Refuses `name` when another unit under `parent` (not `except`) has it.
fn check_sibling_name(
    store: &SqliteStore,
    parent: Option<OrgUnitId>,
    name: &str,
    except: Option<OrgUnitId>,
) -> Result<(), AdminError> {
    let clash = store
        .list_org_units()?
        .into_iter()
        .any(|u| u.unit.parent == parent && u.unit.name == name && Some(u.unit.id) != except);
    if clash {
        return Err(invalid(
            &format!("同一上级单位下已有名为“{name}”的单位"),
            &format!("a unit under the same parent is already named {name:?}"),
        ));
    }
    Ok(())
}

/// The unit with `code`, or 404.
fn unit(store: &SqliteStore, code: &str) -> Result<OrgUnitEntry, AdminError> {
    store.org_unit_by_code(code)?.ok_or_else(|| {
        AdminError::Store(StoreError::NotFound {
            what: "org unit",
            key: code.to_string(),
        })
    })
}

/// The parent named by `code`, or a refusal naming it.
fn parent_unit(store: &SqliteStore, code: &str) -> Result<OrgUnitEntry, AdminError> {
    store.org_unit_by_code(code)?.ok_or_else(|| {
        invalid(
            &format!("上级单位“{code}”不存在"),
            &format!("no parent org unit {code:?}"),
        )
    })
}

/// Adds a unit, audited as `actor`'s (`org_unit_added`).
///
/// # Errors
/// [`AdminError::Invalid`] naming what is wrong; [`StoreError::Duplicate`] for a taken code.
pub fn add(
    store: &mut SqliteStore,
    new: &NewOrgUnit,
    now: Timestamp,
    actor: &str,
) -> Result<OrgUnitEntry, AdminError> {
    let code = new.code.trim();
    check_code(code)?;
    let name = check_name(&new.name)?;
    let kind = OrgUnitKind::from_code(new.kind.trim()).map_err(|_| {
        invalid(
            "单位类型须为 zone（示范区）、town（镇街）或 department（部门）",
            "the kind must be zone, town or department",
        )
    })?;
    let parent_code = new
        .parent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let parent = match (kind, parent_code) {
        (OrgUnitKind::Zone, Some(_)) => {
            return Err(invalid(
                "示范区（zone）没有上级单位",
                "a zone has no parent",
            ));
        }
        (OrgUnitKind::Zone, None) => {
            if store
                .list_org_units()?
                .iter()
                .any(|u| u.unit.kind == OrgUnitKind::Zone)
            {
                return Err(invalid(
                    "已有示范区（zone），一个区县只有一个",
                    "there is a zone already; a district has one",
                ));
            }
            None
        }
        (_, None) => {
            return Err(invalid(
                "镇街和部门须指定上级单位",
                &format!("a {} needs a parent", kind.code()),
            ));
        }
        (_, Some(p)) => Some(parent_unit(store, p)?),
    };
    if store.org_unit_by_code(code)?.is_some() {
        return Err(AdminError::Store(StoreError::Duplicate {
            what: "org unit",
            key: code.to_string(),
        }));
    }
    let parent_id = parent.as_ref().map(|p| p.unit.id);
    check_sibling_name(store, parent_id, &name, None)?;
    let unit = OrgUnit {
        id: OrgUnitId::from_random_bytes(random_id_bytes()),
        name,
        kind,
        parent: parent_id,
    };
    let detail = format!(
        "{} {} under {}",
        unit.name,
        kind.code(),
        parent.as_ref().map_or("—", |p| p.code.as_str())
    );
    store.add_org_unit_audited(
        code,
        &unit,
        OrgUnitAudit {
            now,
            actor,
            detail: &detail,
        },
    )?;
    Ok(OrgUnitEntry {
        unit,
        code: code.to_string(),
    })
}

/// Renames the unit `code`, audited as `actor`'s (`org_unit_renamed`, `OLD → NEW`).
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown code; [`AdminError::Invalid`] for a refused name.
pub fn rename(
    store: &mut SqliteStore,
    code: &str,
    name: &str,
    now: Timestamp,
    actor: &str,
) -> Result<OrgUnitEntry, AdminError> {
    let mut entry = unit(store, code)?;
    let name = check_name(name)?;
    if name == entry.unit.name {
        return Err(invalid("名称未改变", "the name is unchanged"));
    }
    check_sibling_name(store, entry.unit.parent, &name, Some(entry.unit.id))?;
    let detail = format!("{} → {name}", entry.unit.name);
    store.rename_org_unit_audited(
        &entry.code,
        &name,
        OrgUnitAudit {
            now,
            actor,
            detail: &detail,
        },
    )?;
    entry.unit.name = name;
    Ok(entry)
}

/// Puts the unit `code` under the unit `to`, audited as `actor`'s (`org_unit_moved`,
/// `OLD → NEW` parent codes).
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown code; [`AdminError::Invalid`] for the zone, an
/// unknown parent, a cycle, the parent it has, or a name the new parent's units have.
pub fn move_to(
    store: &mut SqliteStore,
    code: &str,
    to: &str,
    now: Timestamp,
    actor: &str,
) -> Result<OrgUnitEntry, AdminError> {
    let mut entry = unit(store, code)?;
    if entry.unit.kind == OrgUnitKind::Zone {
        return Err(invalid(
            "示范区（zone）没有上级单位",
            "the zone has no parent",
        ));
    }
    let target = parent_unit(store, to.trim())?;
    if store.org_subtree(entry.unit.id)?.contains(&target.unit.id) {
        return Err(invalid(
            "不能移到本单位或其下级单位之下（会形成循环）",
            "a unit cannot go under itself or a unit below it (that would make a cycle)",
        ));
    }
    if entry.unit.parent == Some(target.unit.id) {
        return Err(invalid(
            &format!("已在“{}”之下", target.unit.name),
            &format!("it is under {} already", target.code),
        ));
    }
    check_sibling_name(
        store,
        Some(target.unit.id),
        &entry.unit.name,
        Some(entry.unit.id),
    )?;
    let before = match entry.unit.parent {
        Some(p) => store.org_unit(p)?.map_or_else(|| p.to_string(), |u| u.code),
        None => "—".to_string(),
    };
    let detail = format!("{before} → {}", target.code);
    store.move_org_unit_audited(
        &entry.code,
        target.unit.id,
        OrgUnitAudit {
            now,
            actor,
            detail: &detail,
        },
    )?;
    entry.unit.parent = Some(target.unit.id);
    Ok(entry)
}
