//! The sync store on PostgreSQL: the engine's [`ServerStore`] over one connection of
//! [`PgDb`]'s pool, for several servers committing to one database (issue 16 items 2 and 4).
//! Tables: `pg/migrations/0003_sync_store.sql`, the same rows as SQLite's `store/sqlite.rs`.
//!
//! **From the synchronous trait to the async pool.** A [`PgSyncStore`] holds a connection
//! taken from the pool and the tokio runtime's handle; each call runs its statements with
//! [`Handle::block_on`]. So it is used from a blocking thread (`spawn_blocking`, where the
//! server runs the SQLite store's sync work today), never from async code, where `block_on`
//! panics. Chosen over the `postgres` crate (the synchronous wrapper of tokio-postgres): that
//! one drives each connection on a runtime of its own and knows no pool, so the sync store
//! would open connections beside deadpool's, uncounted and never recycled. Here the connection
//! is the pool's, its I/O is driven by the server's runtime, and it goes back to the pool when
//! the store is dropped (after one request). No new dependency.
//!
//! **The feed has no gaps a reader could skip.** With a plain sequence, numbers are given out
//! when transactions start and become visible when they commit: number 11 can be visible
//! while number 10 is still being written, a reader of `changed_since(10)` moves its cursor
//! to 11, and 10 is never sent. Here a commit takes the row lock of the counter (`meta`'s
//! `seq` row, `UPDATE … RETURNING`) as its first statement and holds it to its end, so commits
//! are serialized across servers and become visible in the order of their numbers (PostgreSQL
//! makes a transaction visible before it releases its locks): every snapshot a reader takes
//! holds a prefix of the feed. Each read of the feed is one statement (one snapshot), and
//! the engine reads the horizon it hands out as a cursor before the feed
//! (`shared::sync::server::finish_sync`). The price: commits of all servers take turns for the
//! few round trips of their transaction (SQLite's single writer does the same).
//!
//! **No change is lost when two servers commit one document.** The engine merges a push into
//! the stored document it read, then commits; another server may commit the same document in
//! between. A commit reads each document's stored heads under its row lock (`FOR UPDATE`,
//! after the counter's) and compares them with the heads its merge started from
//! ([`shared::sync::server::DocCommit::base`]): when they differ, nothing is stored and the
//! commit fails with [`StoreError::Moved`]; [`handle_sync`] then runs the request again,
//! merging into what the other server stored.
//!
//! **Every server hears of a commit:** the transaction sends `NOTIFY` with the feed's new
//! number just before it commits (`pg/notices.rs`).
//!
//! **Durable before it returns.** Each commit runs with `synchronous_commit = on` (set for its
//! transaction, whatever the database's default): `COMMIT` returns once the write-ahead log
//! is flushed.
//!
//! **The query tables in the same transaction.** Each document's projection is written by
//! the statements SQLite's commit runs (`store/projection.rs` over `store/sql.rs`, run here
//! through [`PgSql`]), after its row and before the commit: what the lists and KPIs read is
//! never behind or ahead of the documents.
//!
//! **History verdicts in the same transaction.** Before a document's row is rewritten, its
//! new changes are judged by the statements SQLite's commit runs (`store/history.rs`'s
//! `on_commit`: each must carry the actor of the device its message names). Commits take turns
//! under the feed's lock, so the heads it reads are those the row lock then confirms.
//!
//! **The settling window.** What bounds a device's claimed times (`device_sync`'s settled and
//! unsettled marks, read by each commit through `store/projection.rs`) is written by
//! [`PgSyncStore::record_sync`] with SQLite's statements (`store/device_sync.rs`).
//!
//! **Compaction.** A commit appends to the stored snapshot (`appended` counts how often);
//! the compaction job re-saves such snapshots between commits, by a conditional update that
//! never overwrites a commit (`pg/maintenance.rs`).

use std::collections::BTreeSet;

use automerge::ChangeHash;
use deadpool_postgres::Object;
use shared::model::{DeviceId, Timestamp};
use shared::sync::protocol::{DocId, SyncRequest, SyncResponse};
use shared::sync::server::{Commit, DocMeta, ServerStore, StoredDoc, SyncContext, SyncError};
use shared::sync::validate::{PROFILE_KINDS, Scope};
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PgDb;
use super::enterprises::ServerWriteAlso;
use super::sql::PgSql;
use super::sync_commit::{commit_doc, finish_commit, take_numbers};
use crate::store::enterprise_profiles::check_write;
use crate::store::projection::{CommitTimes, project};
use crate::store::{
    StoreError, decode_heads, encode_heads, on_commit, parse_doc_id, parse_enterprise, to_sql_int,
    to_u64,
};

/// How many times one request is merged again because another server committed one of its
/// documents first, before it fails (the device then sends it again later).
const MERGE_AGAIN: u32 = 12;

/// The longest pause before merging again, ms: the pause after the `n`th lost race is drawn
/// from `0..=min(2^n, MAX_PAUSE_MS)`, so two servers racing for one document stop meeting at
/// the same instant (without it, the slower one can lose every round under load), and a
/// request waits at most about half a second in all.
const MAX_PAUSE_MS: u64 = 64;

/// The sync store over one connection of the pool. Use it from a blocking thread only.
pub struct PgSyncStore {
    client: Object,
    runtime: Handle,
    /// What the server's own write adds to its commit (`pg/enterprises.rs`), if this store
    /// carries one.
    pub(super) also: Option<ServerWriteAlso>,
}

impl std::fmt::Debug for PgSyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSyncStore").finish_non_exhaustive()
    }
}

impl PgDb {
    /// The sync store over a connection of the pool, run on the current tokio runtime.
    ///
    /// # Errors
    /// No connection could be had from the pool in time.
    pub async fn sync_store(&self) -> Result<PgSyncStore, StoreError> {
        Ok(PgSyncStore {
            client: self.client().await?,
            runtime: Handle::current(),
            also: None,
        })
    }
}

/// Handles one sync request (`shared::sync::server::handle_sync`), merging it again when
/// another server committed one of its documents between its merge and its commit
/// ([`StoreError::Moved`]), at most [`MERGE_AGAIN`] times.
///
/// # Errors
/// As `handle_sync`; [`StoreError::Moved`] when other servers kept winning the race.
pub fn handle_sync(
    store: &mut PgSyncStore,
    ctx: &SyncContext<'_>,
    req: &SyncRequest,
) -> Result<SyncResponse, SyncError<StoreError>> {
    let mut again = 0;
    loop {
        match shared::sync::server::handle_sync(store, ctx, req) {
            Err(SyncError::Store(StoreError::Moved { .. })) if again < MERGE_AGAIN => {
                again += 1;
                // A blocking thread (`PgSyncStore`): sleeping here holds no runtime worker.
                std::thread::sleep(pause(again));
            }
            answer => return answer,
        }
    }
}

/// The pause before merging again after the `again`th lost race: random within
/// `0..=min(2^again, MAX_PAUSE_MS)` ms.
fn pause(again: u32) -> std::time::Duration {
    let ceiling = 1_u64
        .checked_shl(again)
        .unwrap_or(u64::MAX)
        .min(MAX_PAUSE_MS);
    let drawn = rand::Rng::random_range(&mut rand::rng(), 0..=ceiling);
    std::time::Duration::from_millis(drawn)
}

impl PgSyncStore {
    /// Records what `device` reported of its outbox in a sync request at `at`, as SQLite's
    /// store does (`store/freshness.rs`'s `record_unsent`, the one definition).
    ///
    /// # Errors
    /// When PostgreSQL fails.
    pub fn record_unsent(
        &mut self,
        device: &str,
        unsent: Option<u32>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = PgSql {
            client: &self.client,
            runtime: &self.runtime,
        };
        crate::store::record_unsent(&sql, device, unsent, at)
    }

    /// What the server-time rules judge a push of `problems` by `device` at `now` by, read with
    /// SQLite's statements (`store::push_facts`, the one definition).
    ///
    /// # Errors
    /// The database failed.
    pub fn push_facts(
        &mut self,
        device: DeviceId,
        now: Timestamp,
        clock: &shared::config::ClockRules,
        problems: &[&str],
    ) -> Result<crate::store::PushFacts, StoreError> {
        let sql = PgSql {
            client: &self.client,
            runtime: &self.runtime,
        };
        crate::store::push_facts(&sql, device, now, clock, problems)
    }

    /// Records a successful sync of `device` received at `at` and sent at the device's
    /// `device_time`, `settled` when it had nothing left to send: its last sync and settling
    /// window, as SQLite's store does (`store/device_sync.rs`, the one definition), which
    /// bound the times its later commits may claim.
    ///
    /// # Errors
    /// When PostgreSQL fails.
    pub fn record_sync(
        &mut self,
        device: DeviceId,
        at: Timestamp,
        device_time: Timestamp,
        settled: bool,
    ) -> Result<(), StoreError> {
        let sql = PgSql {
            client: &self.client,
            runtime: &self.runtime,
        };
        crate::store::record_sync(&sql, device, at, device_time, settled)
    }

    /// Runs one statement; its rows.
    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let PgSyncStore {
            client, runtime, ..
        } = self;
        runtime.block_on(async {
            let statement = client.prepare_cached(sql).await?;
            Ok(client.query(&statement, params).await?)
        })
    }

    /// Runs one statement; its row, if any.
    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let PgSyncStore {
            client, runtime, ..
        } = self;
        runtime.block_on(async {
            let statement = client.prepare_cached(sql).await?;
            Ok(client.query_opt(&statement, params).await?)
        })
    }

    /// A counter's value that must be there.
    fn number(&mut self, sql: &str, table: &'static str) -> Result<u64, StoreError> {
        let row = self
            .query_opt(sql, &[])?
            .ok_or_else(|| StoreError::Corrupt {
                table,
                detail: "the row is missing".into(),
            })?;
        to_u64(row.get(0), table)
    }
}

/// Feed rows as the trait answers them.
fn feed(rows: &[Row]) -> Result<Vec<(DocId, u64)>, StoreError> {
    rows.iter()
        .map(|r| Ok((parse_doc_id(r.get(0), "docs")?, to_u64(r.get(1), "docs")?)))
        .collect()
}

fn texts<T: ToString>(set: impl IntoIterator<Item = T>) -> Vec<String> {
    set.into_iter().map(|x| x.to_string()).collect()
}

impl crate::store::rescope::ScopeStore for PgSyncStore {
    fn with_sql<T>(
        &mut self,
        f: impl FnOnce(&dyn crate::store::sql::Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&PgSql {
            client: &self.client,
            runtime: &self.runtime,
        })
    }

    fn empty_delivery(&mut self, device: DeviceId) -> Result<u64, StoreError> {
        ServerStore::record_delivery(self, device, &[])
    }
}

impl ServerStore for PgSyncStore {
    type Error = StoreError;

    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        let row = self.query_opt(
            "SELECT enterprise, snapshot, heads FROM docs WHERE doc_id = $1",
            &[&doc.as_str()],
        )?;
        row.map(|r| {
            Ok(StoredDoc {
                enterprise: parse_enterprise(r.get(0), "docs")?,
                bytes: r.get(1),
                heads: decode_heads(r.get(2), "docs")?,
            })
        })
        .transpose()
    }

    fn doc_heads(&mut self, doc: &DocId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let row = self.query_opt("SELECT heads FROM docs WHERE doc_id = $1", &[&doc.as_str()])?;
        row.map(|r| decode_heads(r.get(0), "docs")).transpose()
    }

    fn doc_meta(&mut self, doc: &DocId) -> Result<Option<DocMeta>, StoreError> {
        // octet_length reads a compressed value's size from its header, without inflating it.
        let row = self.query_opt(
            "SELECT enterprise, heads, octet_length(snapshot)::BIGINT FROM docs \
             WHERE doc_id = $1",
            &[&doc.as_str()],
        )?;
        row.map(|r| {
            Ok(DocMeta {
                enterprise: parse_enterprise(r.get(0), "docs")?,
                heads: decode_heads(r.get(1), "docs")?,
                size: usize::try_from(r.get::<_, i64>(2)).unwrap_or(usize::MAX),
            })
        })
        .transpose()
    }

    fn known_changes(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
    ) -> Result<BTreeSet<ChangeHash>, StoreError> {
        let asked: Vec<&[u8]> = hashes.iter().map(|h| h.0.as_slice()).collect();
        let rows = self.query(
            "SELECT hash FROM changes WHERE doc_id = $1 AND hash = ANY($2)",
            &[&doc.as_str(), &asked],
        )?;
        rows.iter()
            .map(|r| {
                let hash: &[u8] = r.get(0);
                <[u8; 32]>::try_from(hash)
                    .map(ChangeHash)
                    .map_err(|_| StoreError::Corrupt {
                        table: "changes",
                        detail: format!("a hash of {} bytes", hash.len()),
                    })
            })
            .collect()
    }

    fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        let PgSyncStore {
            client,
            runtime,
            also,
        } = self;
        let tx = runtime.block_on(client.transaction())?;
        let mut seq = runtime.block_on(take_numbers(&tx, commit))?;
        let sql = PgSql {
            client: &tx,
            runtime,
        };
        // Under the feed's lock: no other commit stores a profile before this one ends.
        if let Some(also) = also.as_ref() {
            check_write(&sql, &also.check)?;
        }
        // Read before this commit records the device's sync below.
        let times = CommitTimes::of(&sql, commit)?;
        for doc in &commit.docs {
            seq += 1;
            // Judged before the row is rewritten: the verdict reads the heads this commit
            // builds on.
            on_commit(&sql, doc, commit.received_at)?;
            runtime.block_on(commit_doc(&tx, commit, doc, seq))?;
            // The query tables, in the same transaction, by the same statements as SQLite's.
            project(&sql, &doc.projection, &times)?;
        }
        if let Some(ServerWriteAlso { audit, .. }) = also.as_ref() {
            runtime.block_on(super::audit::append(
                &tx,
                commit.received_at,
                &audit.actor,
                audit.action,
                &audit.subject,
                &audit.detail,
            ))?;
        }
        runtime.block_on(finish_commit(tx, commit, seq))
    }

    fn changed_since(
        &mut self,
        scope: &Scope,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, StoreError> {
        let after = to_sql_int(after);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // One statement each: one snapshot, which holds a prefix of the feed (module doc).
        let rows = match scope {
            Scope::All => self.query(
                "SELECT doc_id, seq FROM docs WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )?,
            Scope::Enterprises(set) => self.query(
                "SELECT doc_id, seq FROM docs WHERE enterprise = ANY($1) AND seq > $2 \
                 ORDER BY seq LIMIT $3",
                &[&texts(set), &after, &limit],
            )?,
            Scope::Grants {
                enterprises,
                profiles,
                docs,
            } => {
                let kinds: Vec<&str> = PROFILE_KINDS.iter().map(|k| k.code()).collect();
                self.query(
                    "SELECT doc_id, seq FROM docs WHERE seq > $1 AND (enterprise = ANY($2) \
                     OR (kind = ANY($3) AND enterprise = ANY($4)) OR doc_id = ANY($5)) \
                     ORDER BY seq LIMIT $6",
                    &[
                        &after,
                        &texts(enterprises),
                        &kinds,
                        &texts(profiles),
                        &texts(docs),
                        &limit,
                    ],
                )?
            }
        };
        feed(&rows)
    }

    fn latest_seq(&mut self) -> Result<u64, StoreError> {
        self.number("SELECT value FROM meta WHERE key = 'seq'", "meta")
    }

    fn epoch(&mut self) -> Result<u64, StoreError> {
        self.number("SELECT epoch FROM store_epoch WHERE id = 1", "store_epoch")
    }

    fn confirm_delivery(&mut self, device: DeviceId, ack: u64) -> Result<(), StoreError> {
        let device = device.to_string();
        let ack = to_sql_int(ack);
        let PgSyncStore {
            client, runtime, ..
        } = self;
        runtime.block_on(async {
            let tx = client.transaction().await?;
            // The acknowledged delivery's heads become known (`ServerStore::confirm_delivery`:
            // that one only, not every one numbered below it).
            let known = tx
                .prepare_cached(
                    "INSERT INTO device_docs (device, doc_id, heads) \
                     SELECT device, doc_id, heads FROM deliveries \
                     WHERE device = $1 AND delivery = $2 \
                     ON CONFLICT (device, doc_id) DO UPDATE SET heads = excluded.heads",
                )
                .await?;
            tx.execute(&known, &[&device, &ack]).await?;
            // Those up to it are settled; later ones wait for their own acknowledgement.
            let forget = tx
                .prepare_cached("DELETE FROM deliveries WHERE device = $1 AND delivery <= $2")
                .await?;
            tx.execute(&forget, &[&device, &ack]).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn known_heads(
        &mut self,
        device: DeviceId,
        doc: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let row = self.query_opt(
            "SELECT heads FROM device_docs WHERE device = $1 AND doc_id = $2",
            &[&device.to_string(), &doc.as_str()],
        )?;
        row.map(|r| decode_heads(r.get(0), "device_docs"))
            .transpose()
    }

    fn record_delivery(
        &mut self,
        device: DeviceId,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<u64, StoreError> {
        let device = device.to_string();
        let PgSyncStore {
            client, runtime, ..
        } = self;
        let delivery = runtime.block_on(async {
            let tx = client.transaction().await?;
            let next = tx
                .prepare_cached(
                    "INSERT INTO delivery_counters (device, last) VALUES ($1, 1) \
                     ON CONFLICT (device) DO UPDATE SET last = delivery_counters.last + 1 \
                     RETURNING last",
                )
                .await?;
            let delivery: i64 = tx.query_one(&next, &[&device]).await?.get(0);
            let ids: Vec<&str> = docs.iter().map(|(d, _)| d.as_str()).collect();
            let heads: Vec<Vec<u8>> = docs.iter().map(|(_, h)| encode_heads(h)).collect();
            let insert = tx
                .prepare_cached(
                    "INSERT INTO deliveries (device, delivery, doc_id, heads) \
                     SELECT $1::TEXT, $2::BIGINT, d, h FROM unnest($3::TEXT[], $4::BYTEA[]) AS u (d, h) \
                     ON CONFLICT (device, delivery, doc_id) DO UPDATE SET heads = excluded.heads",
                )
                .await?;
            tx.execute(&insert, &[&device, &delivery, &ids, &heads])
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(delivery)
        })?;
        to_u64(delivery, "delivery_counters")
    }
}
