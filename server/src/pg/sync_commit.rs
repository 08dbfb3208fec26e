//! The statements of one commit of the sync store on PostgreSQL ([`super::PgSyncStore`]'s
//! `ServerStore::commit`, whose module says why each is so): its numbers taken under the
//! feed's lock, each document stored if its heads are still those its merge started from, and
//! the end (the device's sync, the notice, the durable commit).

use shared::sync::server::{Commit, DocCommit};

use crate::store::{StoreError, encode_heads};

/// Begins `commit`'s durable transaction under the feed's lock: the number before its first
/// document's.
pub(super) async fn take_numbers(
    tx: &deadpool_postgres::Transaction<'_>,
    commit: &Commit,
) -> Result<i64, StoreError> {
    let count = i64::try_from(commit.docs.len()).map_err(|_| {
        StoreError::Invalid(format!("{} documents in one commit", commit.docs.len()))
    })?;
    tx.batch_execute("SET LOCAL synchronous_commit = on")
        .await?;
    // First the feed's lock, held to the commit: the numbers taken here become visible after
    // every smaller one and before every larger one (module doc).
    let take = tx
        .prepare_cached("UPDATE meta SET value = value + $1 WHERE key = 'seq' RETURNING value")
        .await?;
    let last: i64 = tx
        .query_opt(&take, &[&count])
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "meta",
            detail: "the sequence counter is missing".into(),
        })?
        .get(0);
    Ok(last - count)
}

/// Records the pushing device's sync, tells every server of the feed's new number `last`
/// and commits (durable when it returns).
pub(super) async fn finish_commit(
    tx: deadpool_postgres::Transaction<'_>,
    commit: &Commit,
    last: i64,
) -> Result<(), StoreError> {
    let synced = tx
        .prepare_cached(
            "INSERT INTO device_sync (device, last_seen, last_device_time) VALUES ($1, $2, $3) \
             ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen, \
             last_device_time = excluded.last_device_time",
        )
        .await?;
    tx.execute(
        &synced,
        &[
            &commit.device.to_string(),
            &commit.received_at.0,
            &commit.device_time.0,
        ],
    )
    .await?;
    // Every server's listener hears of it once it lands, and never of a commit rolled back
    // (`pg/notices.rs`).
    if !commit.docs.is_empty() {
        let notify = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
        tx.execute(&notify, &[&super::notices::CHANNEL, &last.to_string()])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores one document of a commit under `seq`, if its stored heads are still those its merge
/// started from: the document row, its new changes and what the pushing device now has.
pub(super) async fn commit_doc(
    tx: &deadpool_postgres::Transaction<'_>,
    commit: &Commit,
    doc: &DocCommit,
    seq: i64,
) -> Result<(), StoreError> {
    let id = doc.doc.as_str();
    let lock = tx
        .prepare_cached("SELECT heads FROM docs WHERE doc_id = $1 FOR UPDATE")
        .await?;
    let stored: Option<Vec<u8>> = tx.query_opt(&lock, &[&id]).await?.map(|r| r.get(0));
    if stored != doc.base.as_deref().map(encode_heads) {
        return Err(StoreError::Moved {
            doc: id.to_string(),
        });
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at, \
             appended) VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN 0 ELSE 1 END) \
             ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, \
             enterprise = excluded.enterprise, seq = excluded.seq, \
             snapshot = excluded.snapshot, heads = excluded.heads, \
             updated_at = excluded.updated_at, \
             appended = CASE WHEN $8 THEN 0 ELSE docs.appended + 1 END",
        )
        .await?;
    tx.execute(
        &upsert,
        &[
            &id,
            &doc.doc.kind().code(),
            &doc.projection.enterprise().to_string(),
            &seq,
            &doc.snapshot,
            &encode_heads(&doc.heads),
            &commit.received_at.0,
            &doc.compacted,
        ],
    )
    .await?;
    // A change's bytes are in the snapshot; its row keeps what history and the write checks
    // need. The actor as its bytes (the text as it is if it is not hex: not written by the
    // engine), as SQLite keeps it.
    let hashes: Vec<&[u8]> = doc.changes.iter().map(|c| c.hash.0.as_slice()).collect();
    let actors: Vec<Vec<u8>> = doc
        .changes
        .iter()
        .map(|c| {
            automerge::ActorId::try_from(c.actor.as_str())
                .map(|a| a.to_bytes().to_vec())
                .unwrap_or_else(|_| c.actor.clone().into_bytes())
        })
        .collect();
    let times: Vec<i64> = doc.changes.iter().map(|c| c.device_time.0).collect();
    let changes = tx
        .prepare_cached(
            "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
             SELECT $1::TEXT, h, a, $2::BYTEA, t, $3::BIGINT \
             FROM unnest($4::BYTEA[], $5::BYTEA[], $6::BIGINT[]) AS u (h, a, t) \
             ON CONFLICT (doc_id, hash) DO NOTHING",
        )
        .await?;
    tx.execute(
        &changes,
        &[
            &id,
            &commit.device.as_bytes().as_slice(),
            &commit.received_at.0,
            &hashes,
            &actors,
            &times,
        ],
    )
    .await?;
    let device_has = tx
        .prepare_cached(
            "INSERT INTO device_docs (device, doc_id, heads) VALUES ($1, $2, $3) \
             ON CONFLICT (device, doc_id) DO UPDATE SET heads = excluded.heads",
        )
        .await?;
    tx.execute(
        &device_has,
        &[
            &commit.device.to_string(),
            &id,
            &encode_heads(&doc.device_heads),
        ],
    )
    .await?;
    Ok(())
}
