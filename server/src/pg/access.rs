//! The facts a person's access is judged on, in PostgreSQL ([`ScopeFacts`]): assignments,
//! the org tree, the enterprises of towns, problems handed to units or owned, merged profiles.
//! The rule itself is `auth::scope::access_with`, the one SQLite's answers go through.

use std::collections::BTreeSet;

use shared::model::{EnterpriseId, OrgUnitId, ProblemId, Timestamp, UserId};

use super::PgDb;
use super::directory::corrupt;
use crate::auth::scope::ScopeFacts;
use crate::store::StoreError;

/// Parses `ids` read from `table`.
fn parse_ids<T>(
    table: &'static str,
    ids: Vec<String>,
    parse: impl Fn(&str) -> Result<T, shared::model::IdError>,
) -> Result<Vec<T>, StoreError> {
    ids.iter()
        .map(|id| parse(id).map_err(|e| corrupt(table, e)))
        .collect()
}

/// Parses (problem, enterprise) pairs read from `problems`.
fn parse_pairs(rows: &[tokio_postgres::Row]) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
    rows.iter()
        .map(|row| {
            Ok((
                ProblemId::parse(row.get(0)).map_err(|e| corrupt("problems", e))?,
                EnterpriseId::parse(row.get(1)).map_err(|e| corrupt("problems", e))?,
            ))
        })
        .collect()
}

fn strings<T: ToString>(set: &BTreeSet<T>) -> Vec<String> {
    set.iter().map(ToString::to_string).collect()
}

impl PgDb {
    /// The first column of every row `sql` answers with `params`.
    async fn column(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<String>, StoreError> {
        let rows = self.client().await?.query(sql, params).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

impl ScopeFacts for PgDb {
    async fn assigned(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .column(
                "SELECT DISTINCT enterprise FROM assignments WHERE user_id = $1 \
                 AND valid_from <= $2 AND (valid_to IS NULL OR $2 < valid_to)",
                &[&user.to_string(), &now.0],
            )
            .await?;
        Ok(parse_ids("assignments", ids, EnterpriseId::parse)?
            .into_iter()
            .collect())
    }

    async fn subtree(&self, root: OrgUnitId) -> Result<BTreeSet<OrgUnitId>, StoreError> {
        self.org_subtree_of(root).await
    }

    async fn is_zone(&self, unit: OrgUnitId) -> Result<bool, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT 1 FROM org_units WHERE id = $1 AND kind = 'zone'",
                &[&unit.to_string()],
            )
            .await?;
        Ok(row.is_some())
    }

    async fn enterprises_of(
        &self,
        towns: &BTreeSet<OrgUnitId>,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .column(
                "SELECT id FROM enterprises WHERE town = ANY($1) \
                 AND id NOT IN (SELECT absorbed FROM enterprise_merges)",
                &[&strings(towns)],
            )
            .await?;
        Ok(parse_ids("enterprises", ids, EnterpriseId::parse)?
            .into_iter()
            .collect())
    }

    async fn every_enterprise(&self) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .column(
                "SELECT id FROM enterprises \
                 WHERE id NOT IN (SELECT absorbed FROM enterprise_merges)",
                &[],
            )
            .await?;
        Ok(parse_ids("enterprises", ids, EnterpriseId::parse)?
            .into_iter()
            .collect())
    }

    async fn handed_to(
        &self,
        units: &BTreeSet<OrgUnitId>,
    ) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT DISTINCT p.id, p.enterprise FROM problems p \
                 JOIN problem_units u ON u.problem = p.id WHERE u.unit = ANY($1)",
                &[&strings(units)],
            )
            .await?;
        parse_pairs(&rows)
    }

    async fn owned_or_created(
        &self,
        user: UserId,
    ) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, enterprise FROM problems WHERE owner = $1 OR created_by = $1",
                &[&user.to_string()],
            )
            .await?;
        parse_pairs(&rows)
    }

    async fn absorbed(
        &self,
        survivors: &BTreeSet<EnterpriseId>,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .column(
                "SELECT absorbed FROM enterprise_merges WHERE survivor = ANY($1)",
                &[&strings(survivors)],
            )
            .await?;
        Ok(parse_ids("enterprise_merges", ids, EnterpriseId::parse)?
            .into_iter()
            .collect())
    }
}
