//! Org units (组织机构): the district's towns and departments as a tree, added one by one or
//! imported whole, renamed or put under another parent by an administrator (each change with
//! its audit entry in its transaction), and looked up by code, id or subtree.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use shared::model::{OrgUnit, OrgUnitId, Timestamp};

use super::*;
use crate::store::audit::{AuditAction, append};
use crate::store::group::write_tx;
use crate::store::{SqliteStore, StoreError};

/// Who made an administrator's change to an org unit, and what the audit entry says.
#[derive(Debug, Clone, Copy)]
pub struct OrgUnitAudit<'a> {
    /// When.
    pub now: Timestamp,
    /// The acting administrator's login (`cli:<user>` from the command line).
    pub actor: &'a str,
    /// The entry's detail.
    pub detail: &'a str,
}

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
    /// [`StoreError::NotFound`] for a parent code that is neither; nothing is stored then.
    pub fn import_org_units(&mut self, rows: &[OrgUnitImport]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for row in rows {
            let parent: Option<String> = match &row.parent {
                None => None,
                Some(code) => Some(
                    tx.prepare_cached("SELECT id FROM org_units WHERE code = ?1")?
                        .query_row([code], |r| r.get(0))
                        .optional()?
                        .ok_or_else(|| StoreError::NotFound {
                            what: "org unit",
                            key: code.clone(),
                        })?,
                ),
            };
            tx.prepare_cached(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 parent = excluded.parent",
            )?
            .execute(params![
                row.new_id.to_string(),
                row.code,
                row.name,
                row.kind.code(),
                parent
            ])?;
        }
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
        let rows = self
            .conn
            .prepare_cached("SELECT id, code, name, kind, parent FROM org_units ORDER BY code")?
            .query_map([], org_unit_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(to_org_unit).collect()
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

    /// Adds one org unit under its code with its audit entry (`org_unit_added`, the code as
    /// subject), in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the code or id is taken; nothing is written then.
    pub fn add_org_unit_audited(
        &mut self,
        code: &str,
        unit: &OrgUnit,
        audit: OrgUnitAudit<'_>,
    ) -> Result<(), StoreError> {
        let tx = write_tx(&mut self.conn)?;
        insert_org_unit(&tx, code, unit)?;
        append(
            &tx,
            audit.now,
            audit.actor,
            AuditAction::OrgUnitAdded,
            code,
            audit.detail,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Renames the org unit with this code, with its audit entry (`org_unit_renamed`), in one
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown code; nothing is written then.
    pub fn rename_org_unit_audited(
        &mut self,
        code: &str,
        name: &str,
        audit: OrgUnitAudit<'_>,
    ) -> Result<(), StoreError> {
        self.change_org_unit(code, "name", name, AuditAction::OrgUnitRenamed, audit)
    }

    /// Puts the org unit with this code under `parent`, with its audit entry
    /// (`org_unit_moved`), in one transaction. The caller has checked that no cycle results.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown code; nothing is written then.
    pub fn move_org_unit_audited(
        &mut self,
        code: &str,
        parent: OrgUnitId,
        audit: OrgUnitAudit<'_>,
    ) -> Result<(), StoreError> {
        self.change_org_unit(
            code,
            "parent",
            &parent.to_string(),
            AuditAction::OrgUnitMoved,
            audit,
        )
    }

    fn change_org_unit(
        &mut self,
        code: &str,
        column: &'static str,
        value: &str,
        action: AuditAction,
        audit: OrgUnitAudit<'_>,
    ) -> Result<(), StoreError> {
        let tx = write_tx(&mut self.conn)?;
        let changed = tx
            .prepare_cached(&format!(
                "UPDATE org_units SET {column} = ?2 WHERE code = ?1"
            ))?
            .execute(params![code, value])?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "org unit",
                key: code.to_string(),
            });
        }
        append(&tx, audit.now, audit.actor, action, code, audit.detail)?;
        tx.commit()?;
        Ok(())
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
