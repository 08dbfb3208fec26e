//! The enterprises file (`enterprises import`, `POST /api/admin/imports/enterprises`):
//! `credit_code,name,address,town,industry,size,key_enterprise,lat,lon`, checked line by line
//! against the directory's facts ([`DirectoryFacts`]: the SQLite store for the command line, a
//! [`super::accounts::Listing`] read through [`crate::db::Directory`] for the server, on
//! either database). Its new profiles become enterprise profile documents — and key
//! enterprises also their one monitoring document — written by the server as the system and
//! committed through the sync engine like any device's ([`crate::db::Enterprises`]'s
//! `commit_server_write` with the import's audit entry), so devices in scope receive them at
//! their next sync. A row whose credit code a stored profile holds is left as it is
//! (`present`); two imports of one code at once store it once (the commit's check,
//! `store::enterprise_profiles::refuse_taken`).

use std::collections::BTreeSet;

use shared::config::Config;
use shared::doc::{DocKind, EnterpriseDoc, NewEnterprise, RecordDoc};
use shared::model::{CreditCode, EnterpriseId, EnterpriseSize, OrgUnitKind, Position, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::validate::validate;

use super::AdminError;
use super::accounts::DirectoryFacts;
use super::import::{ImportFile, ImportKind, ImportReport, LineError, field, parse_table};
use crate::auth::token::random_id_bytes;
use crate::db::{AuditNote, ServerWrite, WriteCheck};
use crate::store::{AuditAction, SqliteStore};

/// The columns a file must have.
const REQUIRED: [&str; 3] = ["credit_code", "name", "town"];
/// The columns it may have.
const OPTIONAL: [&str; 6] = [
    "address",
    "industry",
    "size",
    "key_enterprise",
    "lat",
    "lon",
];

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

/// The well-formed credit codes `file` names (what the server looks up before checking it).
///
/// # Errors
/// [`AdminError::Lines`] when the file cannot be read as a table.
pub fn credit_codes(file: ImportFile<'_>) -> Result<Vec<String>, AdminError> {
    Ok(parse_table(file, &REQUIRED, &OPTIONAL)?
        .rows
        .iter()
        .filter_map(|(_, row)| CreditCode::parse(field(row, "credit_code")).ok())
        .map(|code| code.as_str().to_string())
        .collect())
}

/// A good enterprises file against the directory: its new profiles (ids drawn) and how many of
/// its rows name a credit code a stored profile holds.
#[derive(Debug)]
pub struct CheckedEnterprises {
    /// The profiles to add.
    pub new: Vec<NewEnterprise>,
    /// Rows left as they are.
    pub present: usize,
}

/// Checks every line of `file` (`town` an org unit code of a town, `size` above/below
/// (规上/规下), `key_enterprise` yes/no, both check characters of the credit code, no code
/// twice) against `facts`.
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; [`AdminError::Store`].
pub fn check_enterprises(
    facts: &dyn DirectoryFacts,
    file: ImportFile<'_>,
) -> Result<CheckedEnterprises, AdminError> {
    let table = parse_table(file, &REQUIRED, &OPTIONAL)?;
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
        let town_id = match facts.org_unit_by_code(town)? {
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
        if facts.enterprise_by_credit_code(code.as_str())?.is_some() {
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
    Ok(CheckedEnterprises { new, present })
}

impl CheckedEnterprises {
    /// What the import stored, as its answer and audit entry tell it.
    pub fn report(&self) -> ImportReport {
        ImportReport {
            kind: ImportKind::Enterprises,
            imported: self.new.len(),
            present: self.present,
            generated: Vec::new(),
        }
    }

    /// The new profiles' documents, and each key enterprise's monitoring document, signed by
    /// the system (`crate::writer`) at `now`; each validated, so their commit cannot be partly
    /// refused.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] naming the credit code of a document that would be refused.
    pub fn documents(&self, now: Timestamp) -> Result<Vec<(DocId, RecordDoc)>, AdminError> {
        let config = Config::default();
        let actor = crate::writer::system_actor();
        let refused = |e: &NewEnterprise, why: String| {
            AdminError::Invalid(format!("{}: {why}", e.credit_code.as_str()))
        };
        let mut docs = Vec::with_capacity(self.new.len());
        for e in &self.new {
            let doc = EnterpriseDoc::create(e, &actor, crate::writer::system_actor_id(), now)
                .map_err(|err| refused(e, err.to_string()))?;
            let id = DocId::new(DocKind::Enterprise, &e.id.to_string());
            let record = doc.into_record();
            validate(&id, &record, &config).map_err(|r| refused(e, r.to_string()))?;
            docs.push((id, record));
            if e.key_enterprise {
                // The server creates a key enterprise's one monitoring document; devices only
                // ever edit the copy they receive (`crate::monitoring`).
                let (id, record) = crate::monitoring::new_monitoring_document(e.id)
                    .map_err(|err| refused(e, err.to_string()))?;
                validate(&id, &record, &config).map_err(|r| refused(e, r.to_string()))?;
                docs.push((id, record));
            }
        }
        Ok(docs)
    }

    /// The import as one server write: [`Self::documents`], the `imported` audit entry naming
    /// `subject` as `actor`'s, and the new credit codes, which the commit checks are still
    /// free.
    ///
    /// # Errors
    /// As [`Self::documents`].
    pub fn write(
        &self,
        now: Timestamp,
        actor: &str,
        subject: &str,
    ) -> Result<ServerWrite, AdminError> {
        Ok(ServerWrite {
            docs: self.documents(now)?,
            audit: AuditNote {
                actor: actor.to_string(),
                action: AuditAction::Imported,
                subject: subject.to_string(),
                detail: self.report().to_string(),
            },
            check: WriteCheck {
                new_credit_codes: self
                    .new
                    .iter()
                    .map(|e| e.credit_code.as_str().to_string())
                    .collect(),
                edited: None,
            },
        })
    }
}

/// Imports enterprises into SQLite's store without an audit entry ([`check_enterprises`]
/// against the store, the documents committed in one request, hence one transaction).
///
/// # Errors
/// [`AdminError::Lines`] listing every bad row; nothing is stored then.
pub fn import_enterprises<'a>(
    store: &mut SqliteStore,
    file: impl Into<ImportFile<'a>>,
    now: Timestamp,
) -> Result<EnterpriseReport, AdminError> {
    let checked = check_enterprises(&*store, file.into())?;
    let mut docs = checked.documents(now)?;
    if !docs.is_empty() {
        crate::writer::commit_at_once(
            store,
            &mut docs,
            &Config::default(),
            now,
            shared::sync::server::handle_sync::<SqliteStore>,
        )?;
    }
    Ok(EnterpriseReport {
        imported: checked.new.len(),
        present: checked.present,
    })
}
