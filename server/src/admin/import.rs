//! Imports of enterprises (org units: `super::import_org_units`, assignments:
//! `super::import_assignments`, people: `super::import_users`) from CSV or .xlsx files
//! (`super::xlsx`: the first sheet, the same columns), and what every import shares: reading
//! the file as a table. Each file is read whole and checked row by row; every problem is
//! reported with its line number, and nothing is stored unless the whole file is good (then
//! it is stored in one transaction). Enterprises become enterprise profile documents — and key
//! enterprises also their one monitoring document — committed through the sync engine like
//! any device's, so devices in scope receive them at their next sync.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use shared::config::Config;
use shared::doc::{DocKind, EnterpriseDoc, NewEnterprise};
use shared::model::{CreditCode, EnterpriseId, EnterpriseSize, OrgUnitKind, Position, Timestamp};
use shared::sync::protocol::{self, DocId, DocPush, Outcome, SyncRequest};
use shared::sync::server::{SyncContext, handle_sync};
use shared::sync::validate::{Scope, validate};

use super::AdminError;
use super::import_org_units::import_org_units;
use crate::auth::token::random_id_bytes;
use crate::store::SqliteStore;

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

/// What an enterprise import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnterpriseReport {
    /// New enterprise profiles stored.
    pub imported: usize,
    /// Rows whose credit code was already stored (left as they are).
    pub present: usize,
}

fn parse_size(s: &str) -> Option<EnterpriseSize> {
    match s.to_lowercase().as_str() {
        "above" | "规上" => Some(EnterpriseSize::AboveDesignated),
        "below" | "规下" | "" => Some(EnterpriseSize::BelowDesignated),
        _ => None,
    }
}

fn parse_flag(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "1" | "是" | "y" => Some(true),
        "no" | "false" | "0" | "否" | "n" | "" => Some(false),
        _ => None,
    }
}

/// Imports enterprises (`credit_code,name,address,town,industry,size,key_enterprise,lat,lon`;
/// `town` is an org unit code, `size` above/below (规上/规下), `key_enterprise` yes/no).
/// Credit codes are checked (both check characters); rows whose code is already stored are
/// left as they are. The profiles, and the monitoring documents of new key enterprises, are
/// committed as documents in one transaction.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; nothing is stored then.
pub fn import_enterprises<'a>(
    store: &mut SqliteStore,
    file: impl Into<ImportFile<'a>>,
    now: Timestamp,
) -> Result<EnterpriseReport, AdminError> {
    let table = parse_table(
        file.into(),
        &["credit_code", "name", "town"],
        &[
            "address",
            "industry",
            "size",
            "key_enterprise",
            "lat",
            "lon",
        ],
    )?;
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut new = Vec::new();
    let mut present = 0;
    for (line, row) in &table.rows {
        let mut err = |message: String| {
            errors.push(LineError {
                line: *line,
                message,
            })
        };
        let code = match CreditCode::parse(field(row, "credit_code")) {
            Ok(c) => c,
            Err(e) => {
                err(format!("credit code {:?}: {e}", field(row, "credit_code")));
                continue;
            }
        };
        if !seen.insert(code.as_str().to_string()) {
            err(format!("credit code {} appears twice", code.as_str()));
            continue;
        }
        let name = field(row, "name");
        if name.is_empty() {
            err("the name is empty".into());
        }
        let town = field(row, "town");
        let town_id = match store.org_unit_by_code(town)? {
            Some(u) if u.unit.kind == OrgUnitKind::Town => Some(u.unit.id),
            Some(u) => {
                err(format!("{town:?} is a {}, not a town", u.unit.kind.code()));
                None
            }
            None => {
                err(format!("no town {town:?} (import the org units first)"));
                None
            }
        };
        let size = parse_size(field(row, "size"));
        if size.is_none() {
            err(format!("size {:?}: use above or below", field(row, "size")));
        }
        let key = parse_flag(field(row, "key_enterprise"));
        if key.is_none() {
            err(format!(
                "key_enterprise {:?}: use yes or no",
                field(row, "key_enterprise")
            ));
        }
        let position = match (field(row, "lat"), field(row, "lon")) {
            ("", "") => Ok(None),
            (lat, lon) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
                (Ok(lat), Ok(lon)) => Position::new(lat, lon, 0.0)
                    .map(Some)
                    .map_err(|e| e.to_string()),
                _ => Err(format!("lat {lat:?} and lon {lon:?} must both be numbers")),
            },
        };
        let position = match position {
            Ok(p) => p,
            Err(e) => {
                err(e);
                None
            }
        };
        if store.enterprise_by_credit_code(code.as_str())?.is_some() {
            present += 1;
            continue;
        }
        if let (Some(town), Some(size), Some(key_enterprise)) = (town_id, size, key) {
            new.push(NewEnterprise {
                id: EnterpriseId::from_random_bytes(random_id_bytes()),
                credit_code: code,
                name: name.to_string(),
                address: field(row, "address").to_string(),
                town,
                industry: field(row, "industry").to_string(),
                size,
                key_enterprise,
                position,
            });
        }
    }
    if !errors.is_empty() {
        return Err(AdminError::Lines(errors));
    }
    commit_enterprises(store, &new, now)?;
    Ok(EnterpriseReport {
        imported: new.len(),
        present,
    })
}

/// Stores enterprise profiles (and each key enterprise's monitoring document) through the sync
/// engine in one request, hence one transaction;
/// each is validated first so the request cannot be partly refused.
fn commit_enterprises(
    store: &mut SqliteStore,
    new: &[NewEnterprise],
    now: Timestamp,
) -> Result<(), AdminError> {
    if new.is_empty() {
        return Ok(());
    }
    let config = Config::default();
    // Signed by the system identity every server-written record carries (`crate::writer`).
    let actor = crate::writer::system_actor();
    let actor_id = crate::writer::system_actor_id();
    let mut push = Vec::with_capacity(new.len());
    for e in new {
        let mut doc = EnterpriseDoc::create(e, &actor, actor_id.clone(), now)
            .map_err(|err| AdminError::Invalid(format!("{}: {err}", e.credit_code.as_str())))?;
        let id = DocId::new(DocKind::Enterprise, &e.id.to_string());
        let record = doc.record();
        validate(&id, record, &config)
            .map_err(|r| AdminError::Invalid(format!("{}: {r}", e.credit_code.as_str())))?;
        push.push(DocPush {
            doc: id,
            base: Vec::new(),
            heads: protocol::to_wire(&record.heads()),
            data: record.save(),
        });
        if e.key_enterprise {
            // The server creates a key enterprise's one monitoring document; devices only
            // ever edit the copy they receive (`crate::monitoring`).
            let (id, mut record) = crate::monitoring::new_monitoring_document(e.id)
                .map_err(|err| AdminError::Invalid(format!("{}: {err}", e.credit_code.as_str())))?;
            validate(&id, &record, &config)
                .map_err(|r| AdminError::Invalid(format!("{}: {r}", e.credit_code.as_str())))?;
            push.push(DocPush {
                doc: id,
                base: Vec::new(),
                heads: protocol::to_wire(&record.heads()),
                data: record.save(),
            });
        }
    }
    let request = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: now,
        push,
        max_response_bytes: 0,
        unsent: None,
    };
    let ctx = SyncContext {
        declared: None,
        device: actor.device,
        read: &Scope::none(),
        write: &Scope::All,
        config: &config,
        now,
        limits: shared::sync::limits::Limits::SERVER,
        authorship: None,
    };
    let response = handle_sync(store, &ctx, &request)
        .map_err(|e| AdminError::Invalid(format!("storing the enterprises: {e}")))?;
    let refused: Vec<String> = response
        .results
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Accepted { .. }))
        .map(|r| format!("{}: {:?}", r.doc, r.outcome))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "the store refused: {}",
            refused.join("; ")
        )))
    }
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
            let r = import_enterprises(store, file, now)?;
            ImportReport {
                kind,
                imported: r.imported,
                present: r.present,
                generated: Vec::new(),
            }
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
