//! The import of org units (组织机构导入) from a CSV or .xlsx file `code,name,kind,parent`, for
//! `import org-units FILE` and `POST /api/admin/imports/org-units`: every line checked (a code
//! of one word, once in the file; a name; a zone without a parent, a town or department with
//! one defined on an earlier line or already stored; no unit under itself or under a unit
//! below it), every bad line reported by its number, all rows stored in one transaction or
//! none. An existing code is updated (its name, kind and parent).

use std::collections::{BTreeMap, BTreeSet};

use shared::model::{OrgUnitId, OrgUnitKind};

use super::AdminError;
use super::import::{ImportFile, LineError, field, parse_table};
use crate::auth::token::random_id_bytes;
use crate::store::{OrgUnitImport, SqliteStore};

/// Imports org units (`code,name,kind,parent`); a parent is defined on an earlier line or is
/// already stored. An existing code is updated. Returns how many rows were imported.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; nothing is stored then.
pub fn import_org_units<'a>(
    store: &mut SqliteStore,
    file: impl Into<ImportFile<'a>>,
) -> Result<usize, AdminError> {
    let table = parse_table(file.into(), &["code", "name", "kind"], &["parent"])?;
    let mut errors = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut rows = Vec::new();
    for (line, row) in &table.rows {
        let mut err = |message: String| {
            errors.push(LineError {
                line: *line,
                message,
            })
        };
        let code = field(row, "code");
        let name = field(row, "name");
        let parent = field(row, "parent");
        if code.is_empty() || code.chars().any(char::is_whitespace) {
            err(format!("code {code:?} must be one word"));
            continue;
        }
        if !seen.insert(code.to_string()) {
            err(format!("code {code:?} appears twice"));
        }
        if name.is_empty() {
            err("the name is empty".into());
        }
        let kind = match OrgUnitKind::from_code(field(row, "kind")) {
            Ok(k) => k,
            Err(e) => {
                err(format!("{e}: use zone, town or department"));
                continue;
            }
        };
        match (kind, parent.is_empty()) {
            (OrgUnitKind::Zone, false) => err("a zone has no parent".into()),
            (OrgUnitKind::Town | OrgUnitKind::Department, true) => {
                err(format!("a {} needs a parent", kind.code()));
            }
            _ => {}
        }
        if !parent.is_empty() && !seen.contains(parent) && store.org_unit_by_code(parent)?.is_none()
        {
            err(format!(
                "parent {parent:?} is neither on an earlier line nor in the database"
            ));
        }
        rows.push(OrgUnitImport {
            code: code.to_string(),
            name: name.to_string(),
            kind,
            parent: (!parent.is_empty()).then(|| parent.to_string()),
            new_id: OrgUnitId::from_random_bytes(random_id_bytes()),
        });
    }
    if errors.is_empty() {
        errors = org_unit_cycles(store, &table.rows, &rows)?;
    }
    if !errors.is_empty() {
        return Err(AdminError::Lines(errors));
    }
    store.import_org_units(&rows)?;
    Ok(rows.len())
}

/// The rows of an org units import that would put a unit under itself or under a unit below
/// it, once the file's parents replace the stored ones (an existing code given a new parent
/// moves it, like `org-units move`, which refuses the same).
fn org_unit_cycles(
    store: &SqliteStore,
    lines: &[(u64, BTreeMap<String, String>)],
    rows: &[OrgUnitImport],
) -> Result<Vec<LineError>, AdminError> {
    let stored = store.list_org_units()?;
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
    let mut errors = Vec::new();
    for ((line, _), row) in lines.iter().zip(rows) {
        let mut at = row.parent.as_deref();
        // Each step climbs one unit; more steps than units means a loop above this one.
        for _ in 0..=parent_of.len() {
            match at {
                Some(code) if code == row.code => {
                    errors.push(LineError {
                        line: *line,
                        message: format!(
                            "{:?} would be under itself or a unit below it (a cycle)",
                            row.code
                        ),
                    });
                    break;
                }
                Some(code) => at = parent_of.get(code).copied().flatten(),
                None => break,
            }
        }
    }
    Ok(errors)
}
