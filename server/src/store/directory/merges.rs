//! Enterprise profiles merged by an administrator (migration `0024_enterprise_merges`): which
//! profile was absorbed into which, the administrator's list of profiles (duplicates by credit
//! code marked), the records still naming an absorbed profile, and the merge's own rows —
//! the merge entry, the absorbed profile's assignments handed to the survivor and the audit
//! entry — written inside the caller's transaction (`crate::admin::enterprises` commits the
//! re-pointed documents in the same one).

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use shared::model::{Assignment, EnterpriseId, OrgUnitId, Timestamp};
use shared::sync::protocol::DocId;

use super::assignments::{assignees_in, end_in, insert_assignment, logins_of};
use super::corrupt;
use crate::store::audit::append;
use crate::store::group::write_tx;
use crate::store::{AuditAction, SqliteStore, StoreError};

/// One profile in the administrator's list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnterpriseRow {
    /// Its id.
    pub id: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Its town's id.
    pub town: String,
    /// Its town's name.
    pub town_name: String,
    /// Industry.
    pub industry: String,
    /// `above` / `below` (规上/规下).
    pub size: String,
    /// 重点企业.
    pub key_enterprise: bool,
    /// Other profiles (not merged away) with the same credit code: candidates for a merge.
    pub duplicates: u32,
    /// The profile it was merged into, when it was absorbed.
    pub merged_into: Option<String>,
}

/// What a query of the administrator's list asks.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseQuery {
    /// Text in the name, credit code or address (empty: every profile).
    pub q: String,
    /// Only profiles whose credit code another profile shares.
    pub duplicates: bool,
    /// Also profiles merged into another (hidden by default).
    pub merged: bool,
    /// Rows skipped (paging).
    pub offset: u32,
    /// Rows answered at most.
    pub limit: u32,
}

/// What a merge's rows did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeRows {
    /// Assignments of the absorbed profile handed to the survivor.
    pub assignments_moved: usize,
    /// Assignments of the absorbed profile ended because their user already had the survivor.
    pub assignments_ended: usize,
    /// Profiles merged earlier into the absorbed one, now pointing at the survivor.
    pub earlier_merges: usize,
}

impl SqliteStore {
    /// The profile `absorbed` was merged into, if it was.
    pub fn merged_into(&self, absorbed: EnterpriseId) -> Result<Option<EnterpriseId>, StoreError> {
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT survivor FROM enterprise_merges WHERE absorbed = ?1")?
            .query_row([absorbed.to_string()], |r| r.get(0))
            .optional()?;
        id.map(|id| EnterpriseId::parse(&id).map_err(|e| corrupt("enterprise_merges", e)))
            .transpose()
    }

    /// The profiles merged into any of `survivors` (a device whose scope holds a survivor may
    /// still push what it recorded for an absorbed profile before the merge).
    pub fn absorbed_into(
        &self,
        survivors: &BTreeSet<EnterpriseId>,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        // Merges are few (duplicates an administrator found), so all are read.
        let rows = self
            .conn
            .prepare_cached("SELECT absorbed, survivor FROM enterprise_merges")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = BTreeSet::new();
        for (absorbed, survivor) in rows {
            let survivor =
                EnterpriseId::parse(&survivor).map_err(|e| corrupt("enterprise_merges", e))?;
            if survivors.contains(&survivor) {
                out.insert(
                    EnterpriseId::parse(&absorbed).map_err(|e| corrupt("enterprise_merges", e))?,
                );
            }
        }
        Ok(out)
    }

    /// The visits and problems stored under `enterprise` (what a merge re-points).
    pub fn records_of_enterprise(
        &self,
        enterprise: EnterpriseId,
    ) -> Result<Vec<DocId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached(
                "SELECT doc_id FROM docs WHERE enterprise = ?1 AND kind IN ('visit', 'problem') \
                 ORDER BY doc_id",
            )?
            .query_map([enterprise.to_string()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| DocId::parse(id).map_err(|e| corrupt("docs", e)))
            .collect()
    }

    /// Visits and problems that still name an absorbed profile (pushed after the merge by a
    /// phone that recorded them before it), each with the survivor it belongs to; at most
    /// `limit`.
    pub fn stray_records(&self, limit: u32) -> Result<Vec<(DocId, EnterpriseId)>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT d.doc_id, m.survivor FROM enterprise_merges m \
                 JOIN docs d ON d.enterprise = m.absorbed \
                 WHERE d.kind IN ('visit', 'problem') ORDER BY d.doc_id LIMIT ?1",
            )?
            .query_map([limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.iter()
            .map(|(doc, survivor)| {
                Ok((
                    DocId::parse(doc).map_err(|e| corrupt("docs", e))?,
                    EnterpriseId::parse(survivor).map_err(|e| corrupt("enterprise_merges", e))?,
                ))
            })
            .collect()
    }

    /// The administrator's list ([`crate::store::enterprise_profiles::admin_enterprises`],
    /// the statement both backends run).
    pub fn admin_enterprises(
        &self,
        query: &EnterpriseQuery,
    ) -> Result<Vec<EnterpriseRow>, StoreError> {
        crate::store::enterprise_profiles::admin_enterprises(
            &crate::store::sql::Lite(&self.conn),
            query,
        )
    }

    /// The town of a stored profile, from the query table.
    pub fn enterprise_town(&self, id: EnterpriseId) -> Result<Option<OrgUnitId>, StoreError> {
        let town: Option<String> = self
            .conn
            .prepare_cached("SELECT town FROM enterprises WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        town.map(|t| OrgUnitId::parse(&t).map_err(|e| corrupt("enterprises", e)))
            .transpose()
    }

    /// Records that `absorbed` was merged into `survivor` at `at` by `actor`: the merge row
    /// (and earlier merges into `absorbed` now pointing at `survivor`), the absorbed profile's
    /// open assignments handed to the survivor (ended where the user already has it) and the
    /// audit entry with `detail`. One transaction, or a savepoint of the caller's (a group
    /// holding the re-pointed documents' commit).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when `absorbed` was already merged; the store's failures.
    pub fn record_enterprise_merge(
        &mut self,
        absorbed: EnterpriseId,
        survivor: EnterpriseId,
        at: Timestamp,
        actor: &str,
        detail: &str,
    ) -> Result<MergeRows, StoreError> {
        let tx = write_tx(&mut self.conn)?;
        let inserted = tx
            .prepare_cached(
                "INSERT INTO enterprise_merges (absorbed, survivor, merged_at, merged_by) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (absorbed) DO NOTHING",
            )?
            .execute(params![
                absorbed.to_string(),
                survivor.to_string(),
                at.0,
                actor
            ])?;
        if inserted == 0 {
            return Err(StoreError::Invalid(format!(
                "enterprise {absorbed} was already merged into another"
            )));
        }
        let earlier_merges = tx
            .prepare_cached("UPDATE enterprise_merges SET survivor = ?2 WHERE survivor = ?1")?
            .execute(params![absorbed.to_string(), survivor.to_string()])?;
        let mut rows = MergeRows {
            earlier_merges,
            ..MergeRows::default()
        };
        let has_survivor = assignees_in(&tx, survivor, at)?;
        let moving = assignees_in(&tx, absorbed, at)?;
        for user in &moving {
            end_in(&tx, absorbed, *user, at)?;
            if has_survivor.contains(user) {
                rows.assignments_ended += 1;
            } else {
                insert_assignment(
                    &tx,
                    &Assignment {
                        enterprise: survivor,
                        user: *user,
                        valid_from: at,
                        valid_to: None,
                    },
                )?;
                rows.assignments_moved += 1;
            }
        }
        let logins = logins_of(&tx, &moving)?;
        let detail = if logins.is_empty() {
            detail.to_string()
        } else {
            format!("{detail}; 包联 assignments: {}", logins.join(","))
        };
        append(
            &tx,
            at,
            actor,
            AuditAction::EnterpriseMerged,
            &format!("{absorbed} -> {survivor}"),
            &detail,
        )?;
        tx.commit()?;
        Ok(rows)
    }
}
