//! The administrator's changes to org units decided once for both backends: a unit added,
//! renamed or put under another parent ([`decide`]) and an import's rows ([`import_checked`],
//! [`import_cycles`]), each judged over every unit as stored. SQLite's store and PostgreSQL
//! (`pg/org_units.rs`) read the units inside the change's transaction — PostgreSQL after
//! locking the table against other servers' org unit changes — judge them here, and write what
//! was decided with its audit entry.
//!
//! What is refused, with a message naming why: a code that is not one word or is taken, an
//! empty (or over-long, or control-character) name, a name another unit under the same parent
//! already has, a kind other than zone, town or department, a second zone, a zone with a
//! parent or a town or department without one, a parent that does not exist, and a move that
//! would put a unit under itself or under a unit below it (a cycle).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use shared::model::{OrgUnit, OrgUnitId, OrgUnitKind};

use super::{OrgUnitEntry, OrgUnitImport};
use crate::store::{AuditAction, StoreError};

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

/// An administrator's change to one org unit, named by code.
#[derive(Debug, Clone)]
pub enum OrgUnitEdit {
    /// Add `new`, with the id `id` (the caller's fresh random id).
    Add {
        /// The unit as typed.
        new: NewOrgUnit,
        /// Its id.
        id: OrgUnitId,
    },
    /// Rename the unit `code` to `name`.
    Rename {
        /// The unit's code.
        code: String,
        /// Its new name, as typed.
        name: String,
    },
    /// Put the unit `code` under the unit `parent`.
    Move {
        /// The unit's code.
        code: String,
        /// The new parent's code, as typed.
        parent: String,
    },
}

/// What a change writes: the unit as it is after it, and its audit entry (the code is its
/// subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrgUnitChange {
    /// The unit after the change.
    pub(crate) entry: OrgUnitEntry,
    /// Whether it is new (an insert; else its name and parent are updated).
    pub(crate) added: bool,
    /// `org_unit_added|renamed|moved`.
    pub(crate) action: AuditAction,
    /// The entry's detail.
    pub(crate) detail: String,
}

fn invalid(zh: &str, en: &str) -> StoreError {
    StoreError::Invalid(format!("{zh} / {en}"))
}

fn check_code(code: &str) -> Result<(), StoreError> {
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
fn check_name(name: &str) -> Result<String, StoreError> {
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
    units: &[OrgUnitEntry],
    parent: Option<OrgUnitId>,
    name: &str,
    except: Option<OrgUnitId>,
) -> Result<(), StoreError> {
    let clash = units
        .iter()
        .any(|u| u.unit.parent == parent && u.unit.name == name && Some(u.unit.id) != except);
    if clash {
        return Err(invalid(
            &format!("同一上级单位下已有名为“{name}”的单位"),
            &format!("a unit under the same parent is already named {name:?}"),
        ));
    }
    Ok(())
}

fn by_code<'a>(units: &'a [OrgUnitEntry], code: &str) -> Option<&'a OrgUnitEntry> {
    units.iter().find(|u| u.code == code)
}

/// The unit with `code`, or 404.
fn unit<'a>(units: &'a [OrgUnitEntry], code: &str) -> Result<&'a OrgUnitEntry, StoreError> {
    by_code(units, code).ok_or_else(|| StoreError::NotFound {
        what: "org unit",
        key: code.to_string(),
    })
}

/// The parent named by `code`, or a refusal naming it.
fn parent_unit<'a>(units: &'a [OrgUnitEntry], code: &str) -> Result<&'a OrgUnitEntry, StoreError> {
    by_code(units, code).ok_or_else(|| {
        invalid(
            &format!("上级单位“{code}”不存在"),
            &format!("no parent org unit {code:?}"),
        )
    })
}

/// `root` and every unit below it among `units`.
pub(crate) fn subtree(units: &[OrgUnitEntry], root: OrgUnitId) -> BTreeSet<OrgUnitId> {
    let mut children: BTreeMap<OrgUnitId, Vec<OrgUnitId>> = BTreeMap::new();
    for u in units {
        if let Some(p) = u.unit.parent {
            children.entry(p).or_default().push(u.unit.id);
        }
    }
    let mut found = BTreeSet::from([root]);
    let mut next = vec![root];
    while let Some(at) = next.pop() {
        for child in children.get(&at).into_iter().flatten() {
            if found.insert(*child) {
                next.push(*child);
            }
        }
    }
    found
}

/// What `edit` writes, judged over `units` (every unit as stored, read in the change's
/// transaction).
///
/// # Errors
/// [`StoreError::Invalid`] naming what is wrong; [`StoreError::NotFound`] for an unknown
/// code (a rename or move); [`StoreError::Duplicate`] for a taken code (an addition).
pub(crate) fn decide(
    units: &[OrgUnitEntry],
    edit: &OrgUnitEdit,
) -> Result<OrgUnitChange, StoreError> {
    match edit {
        OrgUnitEdit::Add { new, id } => add(units, new, *id),
        OrgUnitEdit::Rename { code, name } => rename(units, code, name),
        OrgUnitEdit::Move { code, parent } => move_to(units, code, parent),
    }
}

fn add(
    units: &[OrgUnitEntry],
    new: &NewOrgUnit,
    id: OrgUnitId,
) -> Result<OrgUnitChange, StoreError> {
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
            if units.iter().any(|u| u.unit.kind == OrgUnitKind::Zone) {
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
        (_, Some(p)) => Some(parent_unit(units, p)?),
    };
    if by_code(units, code).is_some() {
        return Err(StoreError::Duplicate {
            what: "org unit",
            key: code.to_string(),
        });
    }
    let parent_id = parent.map(|p| p.unit.id);
    check_sibling_name(units, parent_id, &name, None)?;
    let detail = format!(
        "{name} {} under {}",
        kind.code(),
        parent.map_or("—", |p| p.code.as_str())
    );
    Ok(OrgUnitChange {
        entry: OrgUnitEntry {
            unit: OrgUnit {
                id,
                name,
                kind,
                parent: parent_id,
            },
            code: code.to_string(),
        },
        added: true,
        action: AuditAction::OrgUnitAdded,
        detail,
    })
}

fn rename(units: &[OrgUnitEntry], code: &str, name: &str) -> Result<OrgUnitChange, StoreError> {
    let mut entry = unit(units, code)?.clone();
    let name = check_name(name)?;
    if name == entry.unit.name {
        return Err(invalid("名称未改变", "the name is unchanged"));
    }
    check_sibling_name(units, entry.unit.parent, &name, Some(entry.unit.id))?;
    let detail = format!("{} → {name}", entry.unit.name);
    entry.unit.name = name;
    Ok(OrgUnitChange {
        entry,
        added: false,
        action: AuditAction::OrgUnitRenamed,
        detail,
    })
}

fn move_to(units: &[OrgUnitEntry], code: &str, to: &str) -> Result<OrgUnitChange, StoreError> {
    let mut entry = unit(units, code)?.clone();
    if entry.unit.kind == OrgUnitKind::Zone {
        return Err(invalid(
            "示范区（zone）没有上级单位",
            "the zone has no parent",
        ));
    }
    let target = parent_unit(units, to.trim())?;
    if subtree(units, entry.unit.id).contains(&target.unit.id) {
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
        units,
        Some(target.unit.id),
        &entry.unit.name,
        Some(entry.unit.id),
    )?;
    let before = match entry.unit.parent {
        Some(p) => units
            .iter()
            .find(|u| u.unit.id == p)
            .map_or_else(|| p.to_string(), |u| u.code.clone()),
        None => "—".to_string(),
    };
    let detail = format!("{before} → {}", target.code);
    entry.unit.parent = Some(target.unit.id);
    Ok(OrgUnitChange {
        entry,
        added: false,
        action: AuditAction::OrgUnitMoved,
        detail,
    })
}

/// The indices of the import's `rows` that would put a unit under itself or under a unit
/// below it once the file's parents replace the stored ones (an existing code given a new
/// parent moves it, as a move does, which refuses the same).
pub(crate) fn import_cycles(stored: &[OrgUnitEntry], rows: &[OrgUnitImport]) -> Vec<usize> {
    let code_of: BTreeMap<OrgUnitId, &str> = stored
        .iter()
        .map(|u| (u.unit.id, u.code.as_str()))
        .collect();
    let mut parent_of: BTreeMap<&str, Option<&str>> = stored
        .iter()
        .map(|u| {
            let parent = u.unit.parent.and_then(|p| code_of.get(&p).copied());
            (u.code.as_str(), parent)
        })
        .collect();
    for row in rows {
        parent_of.insert(row.code.as_str(), row.parent.as_deref());
    }
    let mut cycles = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut at = row.parent.as_deref();
        // Each step climbs one unit; more steps than units means a loop above this one.
        for _ in 0..=parent_of.len() {
            match at {
                Some(code) if code == row.code => {
                    cycles.push(i);
                    break;
                }
                Some(code) => at = parent_of.get(code).copied().flatten(),
                None => break,
            }
        }
    }
    cycles
}

/// Checks an import's `rows` (checked line by line against the units read before,
/// `crate::admin::import_org_units`) again over the units as stored when it is written: no
/// cycle. Another server's move between the check and the write is refused here rather than
/// stored. (A parent neither on an earlier row nor stored is [`import_ids`]' refusal.)
///
/// # Errors
/// [`StoreError::Invalid`] naming the codes that would make a cycle.
pub(crate) fn import_checked(
    stored: &[OrgUnitEntry],
    rows: &[OrgUnitImport],
) -> Result<(), StoreError> {
    let cycles = import_cycles(stored, rows);
    if cycles.is_empty() {
        return Ok(());
    }
    let codes: Vec<&str> = cycles.iter().map(|i| rows[*i].code.as_str()).collect();
    Err(invalid(
        &format!("导入会形成循环：{}", codes.join("、")),
        &format!(
            "the import would put units under themselves (a cycle): {}",
            codes.join(", ")
        ),
    ))
}

/// Each import row's id and its parent's id, over the units as stored: an existing code keeps
/// its id, a new one takes the row's `new_id`; a parent is an earlier row or stored.
///
/// # Errors
/// [`StoreError::NotFound`] for a parent that is neither.
pub(crate) fn import_ids(
    stored: &[OrgUnitEntry],
    rows: &[OrgUnitImport],
) -> Result<Vec<(OrgUnitId, Option<OrgUnitId>)>, StoreError> {
    let mut id_of: BTreeMap<&str, OrgUnitId> = stored
        .iter()
        .map(|u| (u.code.as_str(), u.unit.id))
        .collect();
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        let parent = match row.parent.as_deref() {
            None => None,
            Some(code) => Some(*id_of.get(code).ok_or_else(|| StoreError::NotFound {
                what: "org unit",
                key: code.to_string(),
            })?),
        };
        let id = *id_of.entry(row.code.as_str()).or_insert(row.new_id);
        ids.push((id, parent));
    }
    Ok(ids)
}
