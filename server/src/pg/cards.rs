//! The 连心卡 on PostgreSQL ([`Cards`]): SQLite's statements (`store/cards.rs`, written once
//! over `Sql`), each call one transaction; a change of a card takes a transaction-scoped
//! advisory lock per enterprise first, so two servers making an enterprise's card at once
//! leave one live card (the second finds the first's), and its audit entry is appended in the
//! same transaction. What the enterprise writes through its card is committed by
//! [`PgDb::commit_card_write`] through the sync store's commit path (`pg::handle_sync`, merged
//! again when another server moved the problem meanwhile), as a device's push is.

use shared::config::Config;
use shared::doc::RecordDoc;
use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use tokio::runtime::Handle;

use super::PgDb;
use super::audit::append;
use super::sql::PgSql;
use crate::db::{AuditNote, Cards, DbFuture};
use crate::store::cards::{face, live_or_mint, lookup, problem_ids, replace, retire};
use crate::store::sql::{Sql, Value};
use crate::store::{CardFace, CardLookup, LiveCard, StoreError};
use crate::writer::commit_at_once;

/// Key space of the advisory lock a card's change holds on its enterprise.
const CARD_LOCK: i32 = 0x6c78_6364;

impl PgDb {
    /// Runs `f` in one transaction on a blocking thread, after taking the card lock of
    /// `enterprise` (when given), then appends `audit` (when given) and commits.
    fn card_transaction<T: Send + 'static>(
        &self,
        enterprise: Option<EnterpriseId>,
        audit: Option<(Timestamp, AuditNote)>,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> DbFuture<'_, T> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let runtime = Handle::current();
            tokio::task::spawn_blocking(move || {
                let tx = runtime.block_on(client.transaction())?;
                if let Some(enterprise) = enterprise {
                    runtime.block_on(tx.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                        &[&CARD_LOCK, &enterprise.to_string()],
                    ))?;
                }
                let answer = f(&PgSql {
                    client: &tx,
                    runtime: &runtime,
                })?;
                if let Some((at, a)) = audit {
                    runtime.block_on(append(&tx, at, &a.actor, a.action, &a.subject, &a.detail))?;
                }
                runtime.block_on(tx.commit())?;
                Ok(answer)
            })
            .await
            .unwrap_or(Err(StoreError::Unavailable))
        })
    }

    /// Commits `docs`, what the enterprise wrote through its card (`crate::card`), through the
    /// sync engine as the system's device (`pg::handle_sync`: merged with what other servers
    /// stored meanwhile); the feed's position after it.
    ///
    /// # Errors
    /// The database failed, or the engine refused a document (`Invalid`; nothing stored).
    pub async fn commit_card_write(
        &self,
        mut docs: Vec<(DocId, RecordDoc)>,
        config: Config,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut store = self.sync_store().await?;
        // The sync store runs its statements with `block_on`: on a blocking thread.
        tokio::task::spawn_blocking(move || {
            commit_at_once(&mut store, &mut docs, &config, now, super::handle_sync)?;
            store.latest_seq()
        })
        .await
        .unwrap_or(Err(StoreError::Unavailable))
    }

    /// The stored problem document `doc` (its enterprise and bytes), if stored.
    ///
    /// # Errors
    /// The database failed.
    pub async fn card_problem(
        &self,
        doc: DocId,
    ) -> Result<Option<shared::sync::server::StoredDoc>, StoreError> {
        let mut store = self.sync_store().await?;
        tokio::task::spawn_blocking(move || store.load_doc(&doc))
            .await
            .unwrap_or(Err(StoreError::Unavailable))
    }

    /// The officer assigned (包联) to `enterprise` at `now`, the longest-standing first.
    ///
    /// # Errors
    /// The database failed.
    pub async fn assigned_officer(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        self.read(move |sql| crate::store::cards::assigned_officer(sql, enterprise, now))
            .await
    }
}

impl Cards for PgDb {
    fn card_lookup(&self, hash: [u8; 32]) -> DbFuture<'_, CardLookup> {
        self.read(move |sql| lookup(sql, &hash))
    }

    fn card_face(
        &self,
        enterprise: EnterpriseId,
        now: Timestamp,
    ) -> DbFuture<'_, Option<CardFace>> {
        self.read(move |sql| face(sql, enterprise, now))
    }

    fn card_problems(
        &self,
        enterprise: EnterpriseId,
        limit: usize,
    ) -> DbFuture<'_, Vec<(DocId, Vec<u8>)>> {
        // One snapshot: the ids and their documents as committed together.
        self.read(move |sql| {
            let mut out = Vec::new();
            for id in problem_ids(sql, enterprise, limit)? {
                let row = sql.query_opt(
                    "SELECT snapshot FROM docs WHERE doc_id = ?1",
                    &[Value::Text(id.as_str().to_string())],
                )?;
                if let Some(row) = row {
                    out.push((id, row.blob(0)?));
                }
            }
            Ok(out)
        })
    }

    fn live_or_mint(
        &self,
        enterprise: EnterpriseId,
        minted: (String, [u8; 32]),
        by: UserId,
        now: Timestamp,
    ) -> DbFuture<'_, LiveCard> {
        self.card_transaction(Some(enterprise), None, move |sql| {
            live_or_mint(sql, enterprise, minted, by, now)
        })
    }

    fn replace_card(
        &self,
        enterprise: EnterpriseId,
        minted: (String, [u8; 32]),
        by: UserId,
        now: Timestamp,
        audit: AuditNote,
    ) -> DbFuture<'_, ()> {
        self.card_transaction(Some(enterprise), Some((now, audit)), move |sql| {
            let (token, hash) = minted;
            replace(sql, enterprise, &token, &hash, Some(by), now)
        })
    }

    fn revoke_card(
        &self,
        enterprise: EnterpriseId,
        by: UserId,
        now: Timestamp,
        audit: AuditNote,
    ) -> DbFuture<'_, bool> {
        self.card_transaction(Some(enterprise), Some((now, audit)), move |sql| {
            Ok(retire(sql, enterprise, Some(&by.to_string()), now)? > 0)
        })
    }
}
