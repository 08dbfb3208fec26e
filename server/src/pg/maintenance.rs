//! The steps of the jobs that rework stored documents on PostgreSQL ([`crate::db::Maintenance`]):
//! the history audit ([`HistoryAudits`]) and compaction ([`Compactions`]), each step on a
//! connection of the pool taken for it and given back after it (SQLite's short holds), from
//! the blocking thread the job runs on ([`crate::db::Db::maintain`]).
//!
//! What each step shares with SQLite is written once over `store/sql.rs`: the audit's batch,
//! judgement and conditional write (`store/history.rs`) and compaction's candidates
//! (`store/compaction.rs`). Reading a record is PostgreSQL's own, one statement so its bytes,
//! heads and recorded changes are of one snapshot; so is compaction's write back, a
//! conditional update of the snapshot: a commit of another server holding the row (`FOR
//! UPDATE`, `pg/sync_store.rs`) makes it wait, and it then compares the heads that commit
//! wrote, so it never overwrites a change (the commit that follows a compaction merged into
//! bytes with the same content, and leaves the row appended again).

use automerge::ChangeHash;
use deadpool_postgres::Object;
use shared::model::Timestamp;
use shared::sync::protocol::DocId;
use tokio::runtime::Handle;

use super::PgDb;
use super::sql::PgSql;
use crate::api::HistoryVerdict;
use crate::db::{Authors, Compactions, HistoryAudits};
use crate::store::{AuditRead, CompactionRead, StoreError, decode_heads};

/// The jobs' steps over the pool. Use it from a blocking thread only.
pub struct PgMaintenance {
    db: PgDb,
    runtime: Handle,
}

impl std::fmt::Debug for PgMaintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgMaintenance").finish_non_exhaustive()
    }
}

impl PgDb {
    /// The jobs' steps over this pool, run on the current tokio runtime.
    pub fn maintenance(&self) -> PgMaintenance {
        PgMaintenance {
            db: self.clone(),
            runtime: Handle::current(),
        }
    }
}

impl PgMaintenance {
    /// A connection of the pool for one step.
    fn client(&self) -> Result<Object, StoreError> {
        self.runtime.block_on(self.db.client())
    }

    /// Runs `step` on a connection of the pool, in autocommit.
    fn on_connection<T>(
        &self,
        step: impl FnOnce(&PgSql<'_, Object>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let client = self.client()?;
        step(&PgSql {
            client: &client,
            runtime: &self.runtime,
        })
    }
}

/// A hash as the change table keeps it.
fn change_hash(bytes: &[u8]) -> Result<ChangeHash, StoreError> {
    ChangeHash::try_from(bytes).map_err(|e| StoreError::Corrupt {
        table: "changes",
        detail: e.to_string(),
    })
}

impl HistoryAudits for PgMaintenance {
    fn audit_batch(&mut self, limit: usize, pending_only: bool) -> Result<Vec<DocId>, StoreError> {
        self.on_connection(|db| crate::store::audit_batch(db, limit, pending_only))
    }

    fn audit_read(&mut self, doc: &DocId) -> Result<Option<AuditRead>, StoreError> {
        let client = self.client()?;
        // One statement: the row and the changes it recorded, of one snapshot (a commit
        // between two reads would make the record look rewritten).
        let row = self.runtime.block_on(async {
            let statement = client
                .prepare_cached(
                    "SELECT d.snapshot, d.heads, \
                     ARRAY(SELECT c.hash FROM changes c WHERE c.doc_id = d.doc_id) \
                     FROM docs d WHERE d.doc_id = $1",
                )
                .await?;
            Ok::<_, StoreError>(client.query_opt(&statement, &[&doc.as_str()]).await?)
        })?;
        let Some(row) = row else {
            return Ok(None);
        };
        let recorded: Vec<Vec<u8>> = row.try_get(2)?;
        Ok(Some(AuditRead {
            doc: doc.clone(),
            bytes: row.try_get(0)?,
            heads: decode_heads(row.try_get(1)?, "docs")?,
            recorded: recorded
                .iter()
                .map(|h| change_hash(h))
                .collect::<Result<_, _>>()?,
        }))
    }

    fn audit_write(
        &mut self,
        read: &AuditRead,
        chain: Option<String>,
        authors: &Authors,
        now: Timestamp,
    ) -> Result<Option<HistoryVerdict>, StoreError> {
        // Who made each change is read outside the write's transaction: a commit waiting for
        // the verdict row's lock holds the feed's lock meanwhile (`pg/sync_store.rs`).
        let broken = self.on_connection(|db| crate::store::audit_judge(db, chain, authors))?;
        let mut client = self.client()?;
        let runtime = &self.runtime;
        let tx = runtime.block_on(client.transaction())?;
        let kept = crate::store::audit_keep(
            &PgSql {
                client: &tx,
                runtime,
            },
            read,
            broken,
            now,
        )?;
        runtime.block_on(tx.commit())?;
        Ok(kept)
    }
}

impl Compactions for PgMaintenance {
    fn compaction_candidates(&mut self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.on_connection(|db| crate::store::compaction_candidates(db, limit))
    }

    fn compaction_read(&mut self, doc_id: &str) -> Result<Option<CompactionRead>, StoreError> {
        let client = self.client()?;
        let row = self.runtime.block_on(async {
            let statement = client
                .prepare_cached(
                    "SELECT snapshot, heads FROM docs WHERE doc_id = $1 AND appended > 0",
                )
                .await?;
            Ok::<_, StoreError>(client.query_opt(&statement, &[&doc_id]).await?)
        })?;
        row.map(|r| {
            Ok(CompactionRead {
                doc_id: doc_id.to_string(),
                // Kept as committed: PostgreSQL compresses large values itself.
                bytes: r.try_get(0)?,
                heads: r.try_get(1)?,
            })
        })
        .transpose()
    }

    fn compaction_write(
        &mut self,
        read: &CompactionRead,
        compact: &[u8],
    ) -> Result<bool, StoreError> {
        let client = self.client()?;
        let written = self.runtime.block_on(async {
            let statement = client
                .prepare_cached(
                    "UPDATE docs SET snapshot = $1, appended = 0 \
                     WHERE doc_id = $2 AND heads = $3",
                )
                .await?;
            Ok::<_, StoreError>(
                client
                    .execute(&statement, &[&compact, &read.doc_id, &read.heads])
                    .await?,
            )
        })?;
        Ok(written > 0)
    }
}
