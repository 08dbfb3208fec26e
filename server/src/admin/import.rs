//! What every import shares (enterprises: `super::import_enterprises`, org units:
//! `super::import_org_units`, assignments: `super::import_assignments`, people:
//! `super::import_users`): reading a CSV or .xlsx file (`super::xlsx`: the first sheet, the
//! same columns) as a table, the kinds, and the one audited import of the command line. Each
//! file is read whole and checked row by row; every problem is reported with its line number,
//! and nothing is stored unless the whole file is good (then it is stored in one transaction).

use std::collections::BTreeMap;
use std::fmt;

use shared::config::Config;
use shared::model::Timestamp;

use super::AdminError;
use super::import_enterprises::check_enterprises;
use super::import_org_units::import_org_units;
use crate::store::SqliteStore;
use crate::store::enterprise_profiles::server_write;

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// An import file: CSV text, or an .xlsx workbook whose first sheet holds the same columns
/// (`super::xlsx`). Either way every error names its line, the spreadsheet's row number.
#[derive(Debug, Clone, Copy)]
pub enum ImportFile<'a> {
    /// UTF-8 CSV text, its first line the header.
    Csv(&'a str),
    /// An .xlsx workbook's bytes.
    Xlsx(&'a [u8]),
}

impl<'a> ImportFile<'a> {
    /// The file these bytes are: an .xlsx workbook when they start as a zip archive does,
    /// else UTF-8 CSV text.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for bytes that are neither.
    pub fn sniff(bytes: &'a [u8]) -> Result<ImportFile<'a>, AdminError> {
        if bytes.starts_with(super::xlsx::MAGIC) {
            return Ok(ImportFile::Xlsx(bytes));
        }
        std::str::from_utf8(bytes)
            .map(ImportFile::Csv)
            .map_err(|_| {
                AdminError::Invalid(
                    "文件须为 UTF-8 的 CSV 文件或 .xlsx 工作簿 / the file must be a CSV file \
                 (UTF-8) or an .xlsx workbook"
                        .into(),
                )
            })
    }
}

impl<'a> From<&'a str> for ImportFile<'a> {
    fn from(text: &'a str) -> Self {
        ImportFile::Csv(text)
    }
}

impl<'a> From<&'a String> for ImportFile<'a> {
    fn from(text: &'a String) -> Self {
        ImportFile::Csv(text)
    }
}

/// A parsed import file: its rows by column name, each with its line number.
pub(super) struct Table {
    pub(super) rows: Vec<(u64, BTreeMap<String, String>)>,
}

/// A row read from a file: its line and fields, or why it could not be read.
type Record = Result<(u64, Vec<String>), LineError>;

/// A CSV file's header and rows.
fn csv_records(text: &str) -> Result<(u64, Vec<String>, Vec<Record>), AdminError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            AdminError::Lines(vec![LineError {
                line: 1,
                message: format!("unreadable header: {e}"),
            }])
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let records = reader
        .records()
        .map(|record| match record {
            Ok(rec) => Ok((
                rec.position().map_or(0, csv::Position::line),
                rec.iter().map(str::to_string).collect(),
            )),
            Err(e) => Err(LineError {
                line: e.position().map_or(0, csv::Position::line),
                message: format!("unreadable row: {e}"),
            }),
        })
        .collect();
    Ok((1, headers, records))
}

/// An .xlsx file's header and rows, each row cut to the header's width where the cells past
/// it are empty.
fn xlsx_records(bytes: &[u8]) -> Result<(u64, Vec<String>, Vec<Record>), AdminError> {
    let super::xlsx::SheetRows {
        header_line,
        header,
        rows,
    } = super::xlsx::rows(bytes)?;
    let width = header.len();
    let records = rows
        .into_iter()
        .map(|(line, mut fields)| {
            while fields.len() > width && fields.last().is_some_and(String::is_empty) {
                fields.pop();
            }
            Ok((line, fields))
        })
        .collect();
    Ok((header_line, header, records))
}

pub(super) fn parse_table(
    file: ImportFile<'_>,
    required: &[&str],
    optional: &[&str],
) -> Result<Table, AdminError> {
    let (header_line, headers, records) = match file {
        ImportFile::Csv(text) => csv_records(text)?,
        ImportFile::Xlsx(bytes) => xlsx_records(bytes)?,
    };
    let names: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
    let mut errors = Vec::new();
    for r in required {
        if !names.iter().any(|n| n == r) {
            errors.push(LineError {
                line: header_line,
                message: format!(
                    "the header has no column {r:?} (columns: {})",
                    [required, optional].concat().join(",")
                ),
            });
        }
    }
    for n in &names {
        if !required.contains(&n.as_str()) && !optional.contains(&n.as_str()) {
            errors.push(LineError {
                line: header_line,
                message: format!("unknown column {n:?}"),
            });
        }
    }
    let mut rows = Vec::new();
    for record in records {
        match record {
            Ok((line, fields)) => {
                if fields.iter().all(String::is_empty) {
                    continue;
                }
                if fields.len() != names.len() {
                    errors.push(LineError {
                        line,
                        message: format!("{} fields, the header has {}", fields.len(), names.len()),
                    });
                    continue;
                }
                rows.push((line, names.iter().cloned().zip(fields).collect()));
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Table { rows })
    } else {
        Err(AdminError::Lines(errors))
    }
}

pub(super) fn field<'a>(row: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    row.get(name).map_or("", String::as_str)
}

/// What an import file holds: the three CSV imports, by the code the command line's
/// subcommand and the HTTP route (`/api/admin/imports/{kind}`) name it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Org units (组织机构): `code,name,kind,parent`.
    OrgUnits,
    /// Enterprises (企业): `credit_code,name,town,…`.
    Enterprises,
    /// Assignments (包联): `credit_code,login,valid_from,valid_to`.
    Assignments,
    /// Users (用户): `login,name,role,org_unit,phone,password` ([`super::import_users`]).
    Users,
}

impl ImportKind {
    /// Every kind.
    pub const ALL: [ImportKind; 4] = [
        ImportKind::OrgUnits,
        ImportKind::Enterprises,
        ImportKind::Assignments,
        ImportKind::Users,
    ];

    /// The kind's code: `org-units`, `enterprises`, `assignments`, `users`.
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::OrgUnits => "org-units",
            ImportKind::Enterprises => "enterprises",
            ImportKind::Assignments => "assignments",
            ImportKind::Users => "users",
        }
    }

    /// The kind named `code`, if one is.
    pub fn from_code(code: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// What an import stored.
#[derive(Debug)]
pub struct ImportReport {
    /// What was imported.
    pub kind: ImportKind,
    /// Rows stored.
    pub imported: usize,
    /// Rows already stored and left as they are (enterprises whose credit code is known).
    pub present: usize,
    /// Users' generated passwords by login, told once (a users import).
    pub generated: Vec<(String, crate::auth::Secret)>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ImportKind::OrgUnits => write!(f, "{} org unit(s)", self.imported),
            ImportKind::Enterprises => write!(
                f,
                "{} enterprise(s), {} already present",
                self.imported, self.present
            ),
            ImportKind::Assignments => write!(f, "{} assignment(s)", self.imported),
            ImportKind::Users => write!(
                f,
                "{} user(s), {} password(s) generated",
                self.imported,
                self.generated.len()
            ),
        }
    }
}

/// Imports `file` as `kind` and records the import in the audit log as `actor`'s, naming
/// `subject` (the file, or the route it was sent to): the one import of the command line and
/// of `POST /api/admin/imports/{kind}` (where a users import hashes its passwords between two
/// holds of the store instead: `crate::http::admin_directory`).
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row (nothing is stored); the store's failures.
pub fn import_audited(
    store: &mut SqliteStore,
    kind: ImportKind,
    file: ImportFile<'_>,
    now: Timestamp,
    actor: &str,
    subject: &str,
) -> Result<ImportReport, AdminError> {
    let report = match kind {
        ImportKind::OrgUnits => ImportReport {
            kind,
            imported: import_org_units(store, file)?,
            present: 0,
            generated: Vec::new(),
        },
        ImportKind::Enterprises => {
            // The profiles and the import's entry: one transaction.
            let checked = check_enterprises(&*store, file)?;
            let report = checked.report();
            let write = checked.write(now, actor, subject)?;
            server_write(store, write, &Config::default(), now)?;
            return Ok(report);
        }
        ImportKind::Assignments => ImportReport {
            kind,
            imported: super::import_assignments::import_assignments(store, file)?,
            present: 0,
            generated: Vec::new(),
        },
        ImportKind::Users => {
            // The users' one transaction carries its own audit entry.
            let users = super::import_users::check_users(&*store, file)?;
            let users = super::import_users::hash_users(users)?;
            let r = super::import_users::store_users(store, users, now, actor, subject)?;
            return Ok(ImportReport {
                kind,
                imported: r.imported,
                present: 0,
                generated: r.generated,
            });
        }
    };
    store.audit(
        now,
        actor,
        crate::store::AuditAction::Imported,
        subject,
        &report.to_string(),
    )?;
    Ok(report)
}
