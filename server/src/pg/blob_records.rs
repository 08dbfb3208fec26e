//! What uploads and photo reads need of PostgreSQL ([`crate::db::BlobRecords`]): the same rows
//! as SQLite's `store/blob_refs.rs` (`blob_refs`, which each commit projects; `uploads`,
//! migration `0011_uploads`). Several servers open uploads at once here, so the daily budget is
//! counted and the upload recorded in one transaction under an advisory lock per person: two
//! uploads of one person never both pass on the same room.

use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;

use super::PgDb;
use super::directory::corrupt;
use crate::blobs::BlobHash;
use crate::db::{BlobRecords, DbFuture, Opening, UploadRow, within_budget};
use crate::store::StoreError;

/// The first key of the upload budget's advisory locks (the second is the hash of the person's
/// id): "lxup". Two-key advisory locks never collide with one-key ones.
const BUDGET_LOCKS: i32 = 0x6c78_7570;

fn to_u64(table: &'static str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| corrupt(table, format!("negative size {n}")))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An `uploads` row: id, user_id, hash, length, filetype, charged, created_at, finished_at.
fn to_upload(row: &tokio_postgres::Row) -> Result<UploadRow, StoreError> {
    let hash: String = row.get(2);
    Ok(UploadRow {
        id: row.get(0),
        user: UserId::parse(row.get(1)).map_err(|e| corrupt("uploads", e))?,
        hash: BlobHash::parse(&hash).ok_or_else(|| corrupt("uploads", format!("hash {hash:?}")))?,
        length: to_u64("uploads", row.get(3))?,
        filetype: row.get(4),
        charged: to_u64("uploads", row.get(5))?,
        created_at: Timestamp(row.get(6)),
        finished_at: row.get::<_, Option<i64>>(7).map(Timestamp),
    })
}

impl BlobRecords for PgDb {
    fn blob_references(&self, hash: BlobHash) -> DbFuture<'_, Vec<(DocId, EnterpriseId)>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT doc, enterprise FROM blob_refs WHERE hash = $1",
                    &[&hash.as_str()],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        DocId::parse(row.get(0)).map_err(|e| corrupt("blob_refs", e))?,
                        EnterpriseId::parse(row.get(1)).map_err(|e| corrupt("blob_refs", e))?,
                    ))
                })
                .collect()
        })
    }

    fn open_upload(&self, row: UploadRow, since: Timestamp, budget: u64) -> DbFuture<'_, Opening> {
        Box::pin(async move {
            let user = row.user.to_string();
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&BUDGET_LOCKS, &user],
            )
            .await?;
            let used: i64 = tx
                .query_one(
                    "SELECT coalesce(sum(charged), 0)::BIGINT FROM uploads \
                     WHERE user_id = $1 AND created_at >= $2",
                    &[&user, &since.0],
                )
                .await?
                .get(0);
            let used = to_u64("uploads", used)?;
            if !within_budget(used, row.charged, budget) {
                return Ok(Opening::OverBudget { used });
            }
            tx.execute(
                "INSERT INTO uploads (id, user_id, hash, length, filetype, charged, created_at, \
                 finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &row.id,
                    &user,
                    &row.hash.as_str(),
                    &to_i64(row.length),
                    &row.filetype,
                    &to_i64(row.charged),
                    &row.created_at.0,
                    &row.finished_at.map(|t| t.0),
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(Opening::Opened)
        })
    }

    fn upload(&self, id: String) -> DbFuture<'_, Option<UploadRow>> {
        Box::pin(async move {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT id, user_id, hash, length, filetype, charged, created_at, \
                     finished_at FROM uploads WHERE id = $1",
                    &[&id],
                )
                .await?;
            row.as_ref().map(to_upload).transpose()
        })
    }

    fn finish_upload(&self, id: String, at: Timestamp) -> DbFuture<'_, ()> {
        Box::pin(async move {
            // The first server to finish it keeps its time.
            self.client()
                .await?
                .execute(
                    "UPDATE uploads SET finished_at = $2 WHERE id = $1 AND finished_at IS NULL",
                    &[&id, &at.0],
                )
                .await?;
            Ok(())
        })
    }

    fn delete_upload(&self, id: String) -> DbFuture<'_, ()> {
        Box::pin(async move {
            self.client()
                .await?
                .execute("DELETE FROM uploads WHERE id = $1", &[&id])
                .await?;
            Ok(())
        })
    }
}
