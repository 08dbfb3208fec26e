//! The import of org units (组织机构导入) from a CSV or .xlsx file `code,name,kind,parent`, for
//! `import org-units FILE` and `POST /api/admin/imports/org-units`: every line checked (a code
//! of one word, once in the file; a name; a zone without a parent, a town or department with
//! one defined on an earlier line or already stored; no unit under itself or under a unit
//! below it), every bad line reported by its number, all rows stored in one transaction or
//! none. An existing code is updated (its name, kind and parent). The check
//! ([`check_org_units`]) reads the units stored from a list, the SQLite store's for the
//! command line or [`crate::db::Directory::listing`]'s for the server on either database; the
//! cycle rule is `crate::store::org_unit_rules::import_cycles`, which the store runs again
//! when it writes the rows.

use std::collections::BTreeSet;

use shared::model::{OrgUnitId, OrgUnitKind};

use super::AdminError;
use super::import::{ImportFile, LineError, field, parse_table};
use crate::auth::token::random_id_bytes;
use crate::store::{OrgUnitEntry, OrgUnitImport, SqliteStore, org_unit_rules};

/// Imports org units (`code,name,kind,parent`); a parent is defined on an earlier line or is
/// already stored. An existing code is updated. Returns how many rows were imported.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; nothing is stored then.
pub fn import_org_units<'a>(
    store: &mut SqliteStore,
    file: impl Into<ImportFile<'a>>,
) -> Result<usize, AdminError> {
    let rows = check_org_units(&store.list_org_units()?, file)?;
    store.import_org_units(&rows)?;
    Ok(rows.len())
}

/// The rows of an org units file (`code,name,kind,parent`), every line checked against the
/// units `stored`.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row.
pub fn check_org_units<'a>(
    stored: &[OrgUnitEntry],
    file: impl Into<ImportFile<'a>>,
) -> Result<Vec<OrgUnitImport>, AdminError> {
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
        if !parent.is_empty() && !seen.contains(parent) && !stored.iter().any(|u| u.code == parent)
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
        errors = org_unit_rules::import_cycles(stored, &rows)
            .into_iter()
            .filter_map(|i| Some((table.rows.get(i)?.0, rows.get(i)?)))
            .map(|(line, row)| LineError {
                line,
                message: format!(
                    "{:?} would be under itself or a unit below it (a cycle)",
                    row.code
                ),
            })
            .collect();
    }
    if !errors.is_empty() {
        return Err(AdminError::Lines(errors));
    }
    Ok(rows)
}
