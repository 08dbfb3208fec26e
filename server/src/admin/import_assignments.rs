//! The import of assignments (包联) from a CSV or .xlsx file `credit_code,login,valid_from,
//! valid_to` (dates `YYYY-MM-DD`, the end exclusive and optional), for `assignments import
//! FILE` and `POST /api/admin/imports/assignments`: every line checked against the
//! directory's facts ([`DirectoryFacts`]: the enterprise stored, the person an officer or a
//! leader, the period not empty) with every bad line reported by its number, then all stored
//! in one transaction or none. The command line checks against its SQLite store; the server,
//! on either database, against a [`super::accounts::Listing`] holding the enterprises the file
//! names ([`credit_codes`]) and stores through `crate::db::Directory::import_assignments`.

use chrono::NaiveDate;
use shared::model::{Assignment, CreditCode, Timestamp};

use super::AdminError;
use super::accounts::DirectoryFacts;
use super::import::{ImportFile, LineError, Table, field, parse_table};
use crate::store::SqliteStore;

/// A date `YYYY-MM-DD` as the instant its day starts in China (UTC+8).
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let midnight = day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(Timestamp(midnight - 8 * 60 * 60 * 1000))
}

fn table(file: ImportFile<'_>) -> Result<Table, AdminError> {
    parse_table(file, &["credit_code", "login", "valid_from"], &["valid_to"])
}

/// The credit codes `file` names that are well formed, as stored: the enterprises its check
/// needs to know.
///
/// # Errors
/// [`AdminError::Lines`] when the file does not read as a table of assignments.
pub fn credit_codes(file: ImportFile<'_>) -> Result<Vec<String>, AdminError> {
    Ok(table(file)?
        .rows
        .iter()
        .filter_map(|(_, row)| CreditCode::parse(field(row, "credit_code")).ok())
        .map(|code| code.as_str().to_string())
        .collect())
}

/// Checks every line of `file`: the assignments it holds.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; [`AdminError::Store`].
pub fn check_assignments(
    store: &dyn DirectoryFacts,
    file: ImportFile<'_>,
) -> Result<Vec<Assignment>, AdminError> {
    let table = table(file)?;
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (line, row) in &table.rows {
        let mut err = |message: String| {
            errors.push(LineError {
                line: *line,
                message,
            })
        };
        let code = field(row, "credit_code");
        let enterprise = match CreditCode::parse(code) {
            Ok(c) => match store.enterprise_by_credit_code(c.as_str())? {
                Some(e) => Some(e),
                None => {
                    err(format!(
                        "no enterprise with credit code {code} (import it first)"
                    ));
                    None
                }
            },
            Err(e) => {
                err(format!("credit code {code:?}: {e}"));
                None
            }
        };
        let login = field(row, "login");
        let user = match super::assignments::assignee(store, login)? {
            Ok(id) => Some(id),
            Err(why) => {
                err(why);
                None
            }
        };
        let from = parse_date(field(row, "valid_from"));
        if from.is_none() {
            err(format!(
                "valid_from {:?} is not a date YYYY-MM-DD",
                field(row, "valid_from")
            ));
        }
        let to = match field(row, "valid_to") {
            "" => Ok(None),
            s => parse_date(s)
                .map(Some)
                .ok_or_else(|| format!("valid_to {s:?} is not a date YYYY-MM-DD")),
        };
        let to = match to {
            Ok(t) => t,
            Err(e) => {
                err(e);
                None
            }
        };
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            err("valid_to must be after valid_from".into());
        }
        if let (Some(enterprise), Some(user), Some(valid_from)) = (enterprise, user, from) {
            rows.push(Assignment {
                enterprise,
                user,
                valid_from,
                valid_to: to,
            });
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(AdminError::Lines(errors))
    }
}

/// Imports the assignments of `file` into `store` ([`check_assignments`]), all in one
/// transaction.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; nothing is stored then.
pub fn import_assignments<'a>(
    store: &mut SqliteStore,
    file: impl Into<ImportFile<'a>>,
) -> Result<usize, AdminError> {
    let rows = check_assignments(&*store, file.into())?;
    store.import_assignments(&rows)?;
    Ok(rows.len())
}
