//! Enterprise profiles for the administrator, written once over [`Sql`] for both backends
//! ([`crate::db::Enterprises`]): the list ([`admin_enterprises`]), the facts one profile's
//! view adds to its document ([`profile_facts`]) and the check a server write giving new
//! profiles runs inside its commit ([`refuse_taken`]); and SQLite's implementation of the use
//! case, whose server writes are one group transaction on its one writer ([`server_write`]).

use std::sync::Arc;

use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{EnterpriseId, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;

use super::sql::{Dialect, Lite, Sql, Value};
use super::use_cases::{on_reader, on_writer};
use super::{EnterpriseQuery, EnterpriseRow, GroupJob, SqliteDb, SqliteStore, StoreError};
use crate::db::{DbFuture, Enterprises, ServerWrite, StoredProfile, WriteCheck};
use crate::writer::commit_at_once;

/// The administrator's list: profiles by name (by bytes, then id), filtered by `query`, with
/// how many other live profiles share each one's credit code. Text is searched in the name,
/// credit code and address, ASCII letters in either case (SQLite's `LIKE`).
///
/// # Errors
/// The database failed.
pub(crate) fn admin_enterprises(
    sql: &dyn Sql,
    query: &EnterpriseQuery,
) -> Result<Vec<EnterpriseRow>, StoreError> {
    let d = sql.dialect();
    let like = format!(
        "%{}%",
        query
            .q
            .to_ascii_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    // Both sides with ASCII letters lowered: SQLite's LIKE ignores ASCII case (and its
    // `lower` only lowers ASCII), PostgreSQL's LIKE ignores none and its `lower` lowers every
    // letter, so there the column's ASCII letters are lowered by `translate`.
    let matches = |column: &str| {
        let lowered = match d {
            Dialect::Sqlite => format!("lower({column})"),
            Dialect::Postgres => format!(
                "translate({column}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
            ),
        };
        format!("{lowered} LIKE ?2 ESCAPE '\\'")
    };
    let statement = format!(
        "SELECT e.id, e.credit_code, e.name, e.address, e.town, COALESCE(o.name, ''), \
         e.industry, e.size, e.key_enterprise, m.survivor, \
         (SELECT COUNT(*) FROM enterprises d WHERE d.credit_code = e.credit_code \
          AND d.id <> e.id AND d.id NOT IN (SELECT absorbed FROM enterprise_merges)) \
         FROM enterprises e LEFT JOIN org_units o ON o.id = e.town \
         LEFT JOIN enterprise_merges m ON m.absorbed = e.id \
         WHERE (?1 = '' OR {} OR {} OR {}) \
         AND (?3 <> 0 OR m.survivor IS NULL) \
         ORDER BY {}, {}",
        matches("e.name"),
        matches("e.credit_code"),
        matches("e.address"),
        d.bytewise("e.name"),
        d.bytewise("e.id"),
    );
    let rows = sql.query(
        &statement,
        &[
            Value::Text(query.q.clone()),
            Value::Text(like),
            Value::Integer(i64::from(query.merged)),
        ],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let row = EnterpriseRow {
            id: r.text(0)?,
            credit_code: r.text(1)?,
            name: r.text(2)?,
            address: r.text(3)?,
            town: r.text(4)?,
            town_name: r.text(5)?,
            industry: r.text(6)?,
            size: r.text(7)?,
            key_enterprise: r.flag(8)?,
            merged_into: r.opt_text(9)?,
            duplicates: u32::try_from(r.count(10)?).unwrap_or(u32::MAX),
        };
        if !query.duplicates || row.duplicates > 0 {
            out.push(row);
        }
    }
    Ok(out
        .into_iter()
        .skip(query.offset as usize)
        .take(query.limit as usize)
        .collect())
}

fn enterprise_id(text: &str) -> Result<EnterpriseId, StoreError> {
    super::parse_enterprise(text, "enterprise_merges")
}

/// What profile `id`'s view adds to its document: the profile it was merged into, those
/// merged into it (by id) and how many visits and problems are stored under it. `bytes` is
/// left empty for the caller, who reads the document as its backend stores it.
///
/// # Errors
/// The database failed.
pub(crate) fn profile_facts(sql: &dyn Sql, id: EnterpriseId) -> Result<StoredProfile, StoreError> {
    let id = Value::Text(id.to_string());
    let merged_into = sql
        .query_opt(
            "SELECT survivor FROM enterprise_merges WHERE absorbed = ?",
            std::slice::from_ref(&id),
        )?
        .map(|r| enterprise_id(&r.text(0)?))
        .transpose()?;
    let mut absorbed = sql
        .query(
            "SELECT absorbed FROM enterprise_merges WHERE survivor = ?",
            std::slice::from_ref(&id),
        )?
        .iter()
        .map(|r| enterprise_id(&r.text(0)?))
        .collect::<Result<Vec<_>, _>>()?;
    absorbed.sort();
    let records = sql
        .query_one(
            "SELECT COUNT(*) FROM docs WHERE enterprise = ? AND kind IN ('visit', 'problem')",
            &[id],
        )?
        .count(0)?;
    Ok(StoredProfile {
        bytes: Vec::new(),
        merged_into,
        absorbed,
        records: usize::try_from(records).unwrap_or(usize::MAX),
    })
}

/// Refuses a write giving new profiles `codes` when a profile not merged into another holds
/// one of them: [`StoreError::Duplicate`] naming the first. Run inside the write's commit,
/// where no other commit can store a profile between this check and the end (SQLite: the one
/// writer; PostgreSQL: the feed's lock, which every commit takes first and holds to its end).
///
/// # Errors
/// As said; the database failed.
pub(crate) fn refuse_taken(sql: &dyn Sql, codes: &[String]) -> Result<(), StoreError> {
    if codes.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(codes).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let statement = format!(
        "SELECT credit_code FROM enterprises WHERE credit_code IN ({}) \
         AND id NOT IN (SELECT absorbed FROM enterprise_merges) ORDER BY {} LIMIT 1",
        sql.dialect().json_texts(),
        sql.dialect().bytewise("credit_code"),
    );
    match sql.query_opt(&statement, &[Value::Text(list)])? {
        Some(row) => Err(StoreError::Duplicate {
            what: "enterprise with credit code",
            key: row.text(0)?,
        }),
        None => Ok(()),
    }
}

/// Why an edit of profile `id` is refused: it was merged into `survivor`.
pub(crate) fn merged_message(id: EnterpriseId, survivor: EnterpriseId) -> String {
    format!(
        "企业 {id} 已并入 {survivor}，请修改保留的档案 / enterprise {id} was merged into \
         {survivor}: edit that one"
    )
}

/// Runs a server write's [`WriteCheck`] inside its commit ([`refuse_taken`], and an edited
/// profile merged meanwhile refused as the edit would have been).
///
/// # Errors
/// [`StoreError::Duplicate`], [`StoreError::Invalid`]; the database failed.
pub(crate) fn check_write(sql: &dyn Sql, check: &WriteCheck) -> Result<(), StoreError> {
    refuse_taken(sql, &check.new_credit_codes)?;
    if let Some(id) = check.edited
        && let Some(survivor) = profile_facts(sql, id)?.merged_into
    {
        return Err(StoreError::Invalid(merged_message(id, survivor)));
    }
    Ok(())
}

/// Commits `write` on SQLite's writer: its documents through the sync engine, after
/// [`check_write`], and its audit entry, in one group transaction. Returns the feed's
/// position after it.
///
/// # Errors
/// As [`crate::db::Enterprises::commit_server_write`].
pub fn server_write(
    store: &mut SqliteStore,
    write: ServerWrite,
    config: &Config,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let ServerWrite {
        mut docs,
        audit,
        check,
    } = write;
    let job: GroupJob<'_, ()> = Box::new(move |s| {
        check_write(&Lite(&s.conn), &check)?;
        // An import whose every row is present stores its entry alone.
        if !docs.is_empty() {
            commit_at_once(
                s,
                &mut docs,
                config,
                now,
                shared::sync::server::handle_sync::<SqliteStore>,
            )?;
        }
        s.audit(
            now,
            &audit.actor,
            audit.action,
            &audit.subject,
            &audit.detail,
        )?;
        Ok(())
    });
    store
        .group(vec![job])
        .pop()
        .unwrap_or_else(|| Err(StoreError::Invalid("nothing was committed".into())))?;
    store.latest_seq()
}

impl SqliteStore {
    /// Profile `id`'s document and facts ([`Enterprises::profile`]); `None` when it is not
    /// stored.
    ///
    /// # Errors
    /// The store failed.
    pub fn profile(&mut self, id: EnterpriseId) -> Result<Option<StoredProfile>, StoreError> {
        let doc = DocId::new(DocKind::Enterprise, &id.to_string());
        let Some(stored) = self.load_doc(&doc)? else {
            return Ok(None);
        };
        Ok(Some(StoredProfile {
            bytes: stored.bytes,
            ..profile_facts(&Lite(&self.conn), id)?
        }))
    }
}

impl Enterprises for Arc<SqliteDb> {
    fn admin_enterprises(&self, query: EnterpriseQuery) -> DbFuture<'_, Vec<EnterpriseRow>> {
        on_reader(self, move |s| admin_enterprises(&Lite(&s.conn), &query))
    }

    fn profile(&self, id: EnterpriseId) -> DbFuture<'_, Option<StoredProfile>> {
        on_reader(self, move |s| s.profile(id))
    }

    fn commit_server_write(
        &self,
        write: ServerWrite,
        config: Config,
        now: Timestamp,
    ) -> DbFuture<'_, u64> {
        on_writer(self, move |s| server_write(s, write, &config, now))
    }
}
