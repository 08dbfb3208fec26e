//! The administrator's enterprise profiles on PostgreSQL ([`Enterprises`]): the list and a
//! profile's facts are SQLite's statements (`store/enterprise_profiles.rs`) over one snapshot;
//! the server's own writes (an import's new profiles, an edit) go through the sync store's
//! commit path like every document (`pg::handle_sync`, merged again when another server moved
//! a document), their audit entry and the new credit codes' check in the commit's transaction
//! (`PgSyncStore`'s [`ServerWriteAlso`]). The check runs under the feed's lock, which every
//! commit on every server takes first and holds to its end: of two servers importing one
//! credit code at once, the later finds the earlier's profile and stores nothing
//! (`Duplicate`).

use shared::config::Config;
use shared::model::{EnterpriseId, Timestamp};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;

use super::PgDb;
use super::audit::append;
use crate::db::{AuditNote, DbFuture, Enterprises, ServerWrite, StoredProfile, WriteCheck};
use crate::store::enterprise_profiles::{admin_enterprises, profile_facts};
use crate::store::sql::Value;
use crate::store::{EnterpriseQuery, EnterpriseRow, StoreError};
use crate::writer::commit_at_once;

/// What a server's own write adds to the commit of its documents, in its transaction
/// ([`super::PgSyncStore`] carries it): its check, run under the feed's lock
/// (`store::enterprise_profiles::check_write`), and its audit entry, appended last.
#[derive(Debug)]
pub(super) struct ServerWriteAlso {
    pub(super) check: WriteCheck,
    pub(super) audit: AuditNote,
}

impl Enterprises for PgDb {
    fn admin_enterprises(&self, query: EnterpriseQuery) -> DbFuture<'_, Vec<EnterpriseRow>> {
        self.read(move |sql| admin_enterprises(sql, &query))
    }

    fn profile(&self, id: EnterpriseId) -> DbFuture<'_, Option<StoredProfile>> {
        self.read(move |sql| {
            let doc = DocId::new(shared::doc::DocKind::Enterprise, &id.to_string());
            let Some(row) = sql.query_opt(
                "SELECT snapshot FROM docs WHERE doc_id = ?",
                &[Value::Text(doc.as_str().to_string())],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(StoredProfile {
                bytes: row.blob(0)?,
                ..profile_facts(sql, id)?
            }))
        })
    }

    fn commit_server_write(
        &self,
        write: ServerWrite,
        config: Config,
        now: Timestamp,
    ) -> DbFuture<'_, u64> {
        Box::pin(async move {
            let ServerWrite {
                mut docs,
                audit,
                check,
            } = write;
            if docs.is_empty() {
                // An import whose every row is present: its entry alone.
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                append(
                    &tx,
                    now,
                    &audit.actor,
                    audit.action,
                    &audit.subject,
                    &audit.detail,
                )
                .await?;
                let seq: i64 = tx
                    .query_one("SELECT value FROM meta WHERE key = 'seq'", &[])
                    .await?
                    .get(0);
                tx.commit().await?;
                return crate::store::to_u64(seq, "meta");
            }
            let mut store = self.sync_store().await?;
            store.also = Some(ServerWriteAlso { check, audit });
            // The sync store runs its statements with `block_on`: on a blocking thread.
            tokio::task::spawn_blocking(move || {
                commit_at_once(&mut store, &mut docs, &config, now, super::handle_sync)?;
                store.latest_seq()
            })
            .await
            .unwrap_or(Err(StoreError::Unavailable))
        })
    }
}
