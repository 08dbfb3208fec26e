//! Org units (组织机构): the district's towns and departments as a tree, added one by one or
//! imported whole, renamed or put under another parent by an administrator (each change judged
//! by `org_unit_rules` over the units read in its transaction and written with its audit entry
//! there), and looked up by code, id or subtree.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::model::{OrgUnit, OrgUnitId, Timestamp};

use super::org_unit_rules::{self, OrgUnitEdit};
use super::*;
use crate::store::audit::{AuditAction, append};
use crate::store::group::write_tx;
use crate::store::{SqliteStore, StoreError};

impl SqliteStore {
    /// Adds one org unit under its code.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the code or id is taken.
    pub fn add_org_unit(&mut self, code: &str, unit: &OrgUnit) -> Result<(), StoreError> {
        insert_org_unit(&self.conn, code, unit)
    }

    /// Adds or updates org units by code, all in one transaction: all or nothing. Parents may
    /// be earlier rows of the same import or stored units.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a parent code that is neither, [`StoreError::Invalid`]
    /// for rows that would make a cycle; nothing is stored then.
    pub fn import_org_units(&mut self, rows: &[OrgUnitImport]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        upsert_org_units(&tx, rows)?;
        tx.commit()?;
        Ok(())
    }

    /// An administrator's import of `rows` (as [`SqliteStore::import_org_units`]) with its
    /// `imported` audit entry naming `subject` with `detail`, as `actor`'s, in one
    /// transaction (PostgreSQL's `Directory::import_org_units` does the same).
    ///
    /// # Errors
    /// As [`SqliteStore::import_org_units`]; nothing is stored then.
    pub fn import_org_units_audited(
        &mut self,
        rows: &[OrgUnitImport],
        now: Timestamp,
        actor: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let tx = write_tx(&mut self.conn)?;
        upsert_org_units(&tx, rows)?;
        append(&tx, now, actor, AuditAction::Imported, subject, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// The org unit with this code.
    pub fn org_unit_by_code(&self, code: &str) -> Result<Option<OrgUnitEntry>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, code, name, kind, parent FROM org_units WHERE code = ?1")?
            .query_row([code], org_unit_row)
            .optional()?
            .map(to_org_unit)
            .transpose()
    }

    /// The org unit with this id.
    pub fn org_unit(&self, id: OrgUnitId) -> Result<Option<OrgUnitEntry>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, code, name, kind, parent FROM org_units WHERE id = ?1")?
            .query_row([id.to_string()], org_unit_row)
            .optional()?
            .map(to_org_unit)
            .transpose()
    }

    /// Every org unit, by code.
    pub fn list_org_units(&self) -> Result<Vec<OrgUnitEntry>, StoreError> {
        units_in(&self.conn)
    }

    /// A unit and every unit below it.
    pub fn org_subtree(&self, root: OrgUnitId) -> Result<BTreeSet<OrgUnitId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached(
                "WITH RECURSIVE sub(id) AS (SELECT ?1 UNION SELECT o.id FROM org_units o \
                 JOIN sub ON o.parent = sub.id) SELECT id FROM sub",
            )?
            .query_map([root.to_string()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| OrgUnitId::parse(id).map_err(|e| corrupt("org_units", e)))
            .collect()
    }

    /// An administrator's change to one org unit (`edit`), judged by
    /// [`org_unit_rules::decide`] over the units read in its transaction and written there
    /// with its audit entry (`org_unit_added|renamed|moved`, the code as subject) naming
    /// `actor` (PostgreSQL's `Directory::edit_org_unit` does the same). Returns the unit as it
    /// is after.
    ///
    /// # Errors
    /// As [`org_unit_rules::decide`]; nothing is written then.
    pub fn edit_org_unit_audited(
        &mut self,
        edit: &OrgUnitEdit,
        now: Timestamp,
        actor: &str,
    ) -> Result<OrgUnitEntry, StoreError> {
        let tx = write_tx(&mut self.conn)?;
        let change = org_unit_rules::decide(&units_in(&tx)?, edit)?;
        let entry = &change.entry;
        if change.added {
            insert_org_unit(&tx, &entry.code, &entry.unit)?;
        } else {
            tx.prepare_cached("UPDATE org_units SET name = ?2, parent = ?3 WHERE code = ?1")?
                .execute(params![
                    entry.code,
                    entry.unit.name,
                    entry.unit.parent.map(|p| p.to_string())
                ])?;
        }
        append(&tx, now, actor, change.action, &entry.code, &change.detail)?;
        tx.commit()?;
        Ok(change.entry)
    }

    /// How many users (disabled ones too) belong to each org unit that has any.
    pub fn org_unit_members(&self) -> Result<BTreeMap<OrgUnitId, u64>, StoreError> {
        let rows = self
            .conn
            .prepare_cached("SELECT org_unit, count(*) FROM users GROUP BY org_unit")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, n)| {
                let id = OrgUnitId::parse(&id).map_err(|e| corrupt("users", e))?;
                Ok((id, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }
}

/// Every org unit on `conn`, by code.
fn units_in(conn: &rusqlite::Connection) -> Result<Vec<OrgUnitEntry>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT id, code, name, kind, parent FROM org_units ORDER BY code")?
        .query_map([], org_unit_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(to_org_unit).collect()
}

/// Adds or updates an import's `rows` on `conn` (a transaction), checked again over the units
/// as stored ([`org_unit_rules::import_checked`]).
fn upsert_org_units(conn: &rusqlite::Connection, rows: &[OrgUnitImport]) -> Result<(), StoreError> {
    let stored = units_in(conn)?;
    org_unit_rules::import_checked(&stored, rows)?;
    let ids = org_unit_rules::import_ids(&stored, rows)?;
    for (row, (id, parent)) in rows.iter().zip(ids) {
        conn.prepare_cached(
            "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
             parent = excluded.parent",
        )?
        .execute(params![
            id.to_string(),
            row.code,
            row.name,
            row.kind.code(),
            parent.map(|p| p.to_string())
        ])?;
    }
    Ok(())
}

/// Inserts one org unit under its code on `conn` (the store's connection or a transaction on
/// it): [`StoreError::Duplicate`] when the code or id is taken.
fn insert_org_unit(
    conn: &rusqlite::Connection,
    code: &str,
    unit: &OrgUnit,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        unit.id.to_string(),
        code,
        unit.name,
        unit.kind.code(),
        unit.parent.map(|p| p.to_string()),
    ])
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "org unit",
                key: code.to_string(),
            }
        } else {
            e.into()
        }
    })?;
    Ok(())
}
