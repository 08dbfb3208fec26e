//! The administrator's org unit changes on PostgreSQL ([`crate::db::Directory`]'s
//! `edit_org_unit` and `import_org_units`), as SQLite's (`store/directory/org_units.rs`): each
//! one transaction that reads every unit, judges the change by the rules both backends share
//! (`crate::store::org_unit_rules`) and writes it with its audit entry.
//!
//! Several servers share the database, and every rule reads the whole table (a taken code or
//! sibling name, the one zone, a move's cycle), so each change first takes the table's
//! `SHARE ROW EXCLUSIVE` lock — which only another writer of `org_units` waits for; reads,
//! syncs and people added under a unit go on — then reads the units in a statement of its own
//! (a snapshot taken once the lock is held). Of two changes at once the later is judged on the
//! earlier's result: two moves that would each close a cycle with the other leave one done and
//! the other refused, two units of one name under one parent one added. Row locks
//! (`FOR UPDATE`) would not do: a unit being added is a row no one can lock yet.

use deadpool_postgres::Transaction;
use shared::model::Timestamp;

use super::PgDb;
use super::audit::append;
use super::directory::to_org_unit;
use crate::store::{
    AuditAction, OrgUnitEdit, OrgUnitEntry, OrgUnitImport, StoreError, org_unit_rules,
};

/// Locks the org units against other servers' changes, then reads every unit as committed
/// once the lock is held.
async fn locked_units(tx: &Transaction<'_>) -> Result<Vec<OrgUnitEntry>, StoreError> {
    tx.batch_execute("LOCK TABLE org_units IN SHARE ROW EXCLUSIVE MODE")
        .await?;
    // A statement of its own: its snapshot is taken after the lock was granted.
    tx.query(
        "SELECT id, code, name, kind, parent FROM org_units ORDER BY code",
        &[],
    )
    .await?
    .iter()
    .map(to_org_unit)
    .collect()
}

impl PgDb {
    /// `Directory::edit_org_unit`.
    pub(super) async fn edit_unit(
        &self,
        edit: &OrgUnitEdit,
        at: Timestamp,
        actor: &str,
    ) -> Result<OrgUnitEntry, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let change = org_unit_rules::decide(&locked_units(&tx).await?, edit)?;
        let entry = &change.entry;
        let parent = entry.unit.parent.map(|p| p.to_string());
        if change.added {
            tx.execute(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &entry.unit.id.to_string(),
                    &entry.code,
                    &entry.unit.name,
                    &entry.unit.kind.code(),
                    &parent,
                ],
            )
            .await?;
        } else {
            tx.execute(
                "UPDATE org_units SET name = $2, parent = $3 WHERE code = $1",
                &[&entry.code, &entry.unit.name, &parent],
            )
            .await?;
        }
        append(&tx, at, actor, change.action, &entry.code, &change.detail).await?;
        tx.commit().await?;
        Ok(change.entry)
    }

    /// `Directory::import_org_units`.
    pub(super) async fn import_units(
        &self,
        rows: &[OrgUnitImport],
        at: Timestamp,
        actor: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stored = locked_units(&tx).await?;
        org_unit_rules::import_checked(&stored, rows)?;
        let ids = org_unit_rules::import_ids(&stored, rows)?;
        let upsert = tx
            .prepare(
                "INSERT INTO org_units (id, code, name, kind, parent) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 parent = excluded.parent",
            )
            .await?;
        for (row, (id, parent)) in rows.iter().zip(ids) {
            tx.execute(
                &upsert,
                &[
                    &id.to_string(),
                    &row.code,
                    &row.name,
                    &row.kind.code(),
                    &parent.map(|p| p.to_string()),
                ],
            )
            .await?;
        }
        append(&tx, at, actor, AuditAction::Imported, subject, detail).await?;
        tx.commit().await?;
        Ok(())
    }
}
