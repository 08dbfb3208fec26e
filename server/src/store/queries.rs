//! Small read queries for server-side jobs (monitoring rules): documents of a kind, key
//! enterprises without a monitoring document, and the officer currently assigned to an
//! enterprise.

use rusqlite::{OptionalExtension, params};
use shared::doc::{DocKind, MONITORING_ID_PREFIX};
use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;

use super::{SqliteStore, StoreError};

impl SqliteStore {
    /// Every stored document of `kind`.
    pub fn doc_ids_of_kind(&self, kind: DocKind) -> Result<Vec<DocId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc_id FROM docs WHERE kind = ?1 ORDER BY doc_id")?;
        let ids = stmt
            .query_map([kind.code()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.into_iter()
            .map(|s| {
                DocId::parse(&s).map_err(|e| StoreError::Corrupt {
                    table: "docs",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Key enterprises (重点企业) with no monitoring document yet, in id order. One primary-key
    /// lookup per key enterprise (its document's id is fixed by the enterprise), so the
    /// commit follower can ask often at province scale.
    pub fn key_enterprises_without_monitoring(&self) -> Result<Vec<EnterpriseId>, StoreError> {
        // The document id is `<prefix><enterprise id>`.
        let prefix = DocId::new(DocKind::Monitoring, MONITORING_ID_PREFIX).to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id FROM enterprises e WHERE e.key_enterprise <> 0 AND NOT EXISTS \
             (SELECT 1 FROM docs d WHERE d.doc_id = ?1 || e.id) ORDER BY e.id",
        )?;
        let ids = stmt
            .query_map([prefix.as_str()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|s| {
                EnterpriseId::parse(s).map_err(|e| StoreError::Corrupt {
                    table: "enterprises",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// How many problems in the query tables came from `source`.
    pub fn problem_count_from(
        &self,
        source: shared::model::ProblemSource,
    ) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM problems WHERE source = ?1",
            [source.code()],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// The officer assigned (包联) to an enterprise at `now`, the longest-standing first.
    pub fn assigned_officer(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT a.user FROM assignments a JOIN users u ON u.id = a.user \
                 WHERE a.enterprise = ?1 AND u.role = 'officer' AND u.disabled = 0 \
                 AND a.valid_from <= ?2 AND (a.valid_to IS NULL OR a.valid_to > ?2) \
                 ORDER BY a.valid_from, a.id LIMIT 1",
                params![enterprise.to_string(), now.0],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|s| {
            UserId::parse(&s).map_err(|e| StoreError::Corrupt {
                table: "assignments",
                detail: e.to_string(),
            })
        })
        .transpose()
    }
}
