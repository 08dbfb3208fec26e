//! What each role sees: the enterprises of a set of towns, every enterprise, the problems handed
//! to a unit or created by a person, and the directory dump the admin command prints.

use std::collections::BTreeSet;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};
use shared::model::{EnterpriseId, OrgUnitId, ProblemId, UserId};
use shared::sync::protocol::DocId;

use super::*;
use crate::store::{SqliteStore, StoreError};

impl SqliteStore {
    /// Enterprises whose profile puts them in one of `towns` (profiles merged into another
    /// left out: `merges.rs`).
    pub fn enterprises_in(
        &self,
        towns: &BTreeSet<OrgUnitId>,
    ) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let towns: Vec<String> = towns.iter().map(ToString::to_string).collect();
        self.ids_in(
            "SELECT id FROM enterprises WHERE id NOT IN (SELECT absorbed FROM \
             enterprise_merges) AND town IN",
            &towns,
        )?
        .iter()
        .map(|id| EnterpriseId::parse(id).map_err(|e| corrupt("enterprises", e)))
        .collect()
    }

    /// Every enterprise with a profile, profiles merged into another left out.
    pub fn all_enterprises(&self) -> Result<BTreeSet<EnterpriseId>, StoreError> {
        let ids = self
            .conn
            .prepare_cached(
                "SELECT id FROM enterprises WHERE id NOT IN (SELECT absorbed FROM \
                 enterprise_merges)",
            )?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|id| EnterpriseId::parse(id).map_err(|e| corrupt("enterprises", e)))
            .collect()
    }

    /// The enterprise with this credit code, if its profile is stored (never a profile merged
    /// into another).
    pub fn enterprise_by_credit_code(
        &self,
        credit_code: &str,
    ) -> Result<Option<EnterpriseId>, StoreError> {
        let id: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT id FROM enterprises WHERE credit_code = ?1 AND id NOT IN \
                 (SELECT absorbed FROM enterprise_merges) ORDER BY id LIMIT 1",
            )?
            .query_row([credit_code], |r| r.get(0))
            .optional()?;
        id.map(|id| EnterpriseId::parse(&id).map_err(|e| corrupt("enterprises", e)))
            .transpose()
    }

    /// Problems handed to one of `units`, with their enterprises.
    pub fn problems_handed_to(
        &self,
        units: &BTreeSet<OrgUnitId>,
    ) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
        let units: Vec<String> = units.iter().map(ToString::to_string).collect();
        let mut out = Vec::new();
        for chunk in units.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT DISTINCT p.id, p.enterprise FROM problems p JOIN problem_units u \
                 ON u.problem = p.id WHERE u.unit IN ({marks})"
            );
            let rows = self
                .conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(chunk.iter()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.extend(rows);
        }
        parse_problem_pairs(out)
    }

    /// Problems `user` owns or created, with their enterprises.
    pub fn problems_of(&self, user: UserId) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, enterprise FROM problems WHERE owner = ?1 OR created_by = ?1",
            )?
            .query_map([user.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        parse_problem_pairs(rows)
    }

    /// Whether a document is stored.
    pub fn has_doc(&self, doc: &DocId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM docs WHERE doc_id = ?1")?
            .query_row([doc.as_str()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Every directory row (org units, users, assignments, devices, tokens) as sorted lines,
    /// for comparing two stores.
    pub fn directory_dump(&self) -> Result<Vec<String>, StoreError> {
        let mut lines = Vec::new();
        for table in ["org_units", "users", "assignments", "devices", "tokens"] {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table}"))?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut line = table.to_string();
                for i in 0..columns {
                    line.push('|');
                    line.push_str(&format!("{:?}", row.get::<_, Value>(i)?));
                }
                lines.push(line);
            }
        }
        lines.sort();
        Ok(lines)
    }

    fn ids_in(&self, select_in: &str, values: &[String]) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for chunk in values.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let rows = self
                .conn
                .prepare_cached(&format!("{select_in} ({marks})"))?
                .query_map(params_from_iter(chunk.iter()), |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            out.extend(rows);
        }
        Ok(out)
    }
}

fn parse_problem_pairs(
    rows: Vec<(String, String)>,
) -> Result<Vec<(ProblemId, EnterpriseId)>, StoreError> {
    rows.iter()
        .map(|(p, e)| {
            Ok((
                ProblemId::parse(p).map_err(|err| corrupt("problems", err))?,
                EnterpriseId::parse(e).map_err(|err| corrupt("problems", err))?,
            ))
        })
        .collect()
}
