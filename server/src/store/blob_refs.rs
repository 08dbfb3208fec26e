//! Blobs in the database (migration `0015_blob_store`): which blobs each record references
//! (`blob_refs`, rewritten from the record's projection in the transaction that stores it), the
//! rows of tus uploads (`uploads`) and the stored blobs garbage collection found unreferenced
//! (`blob_orphans`). Whether a caller may read a blob is [`SqliteStore::blob_references`] (one
//! lookup by hash) judged by the caller's read scope, the one sync uses (`auth::access_for`).

use rusqlite::{OptionalExtension, params};
use shared::doc::DocKind;
use shared::model::{EnterpriseId, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::validate::Projection;

use super::sql::{Sql, values};
use super::{SqliteStore, StoreError};
use crate::blobs::BlobHash;
use crate::db::UploadRow;

/// The record a projection is of and the blobs it references (`Visit::blob_hashes`,
/// `Problem::blob_hashes`: the one list, photos and the enterprise's signatures, hashes that
/// are not 64 hex digits left out); `photos_only` keeps the photos alone.
fn references(
    projection: &Projection,
    photos_only: bool,
) -> Option<(DocId, EnterpriseId, Vec<BlobHash>)> {
    let (doc, enterprise, hashes): (DocId, EnterpriseId, Vec<&str>) = match projection {
        Projection::Visit(v) => (
            DocId::new(DocKind::Visit, &v.id.to_string()),
            v.enterprise,
            if photos_only {
                v.photo_hashes()
            } else {
                v.blob_hashes()
            },
        ),
        Projection::Problem(p, _) => (
            DocId::new(DocKind::Problem, &p.id.to_string()),
            p.enterprise,
            if photos_only {
                p.photo_hashes()
            } else {
                p.blob_hashes()
            },
        ),
        Projection::Enterprise(_) | Projection::Monitoring(_) => return None,
    };
    let mut hashes: Vec<BlobHash> = hashes.into_iter().filter_map(BlobHash::parse).collect();
    hashes.sort();
    hashes.dedup();
    Some((doc, enterprise, hashes))
}

/// How many photos (distinct blobs, signatures not counted) the record `projection` is of
/// references: a visit's photo count on the visit list and in the on-site evidence KPI.
pub(super) fn photo_count(projection: &Projection) -> usize {
    references(projection, true).map_or(0, |(_, _, hashes)| hashes.len())
}

/// Rewrites the blob references of the record `projection` is of (called by
/// `projection::project` in the commit's transaction, on either backend).
pub(super) fn project_refs(tx: &dyn Sql, projection: &Projection) -> Result<(), StoreError> {
    let Some((doc, enterprise, hashes)) = references(projection, false) else {
        return Ok(());
    };
    tx.execute(
        "DELETE FROM blob_refs WHERE doc = ?1",
        &values![doc.as_str().to_string()],
    )?;
    for hash in &hashes {
        tx.execute(
            "INSERT INTO blob_refs (hash, doc, enterprise) VALUES (?1, ?2, ?3)",
            &values![
                hash.as_str().to_string(),
                doc.as_str().to_string(),
                enterprise.to_string()
            ],
        )?;
    }
    Ok(())
}

/// An `uploads` row as SQLite gives it: user, hash, length, filetype, charged, created_at,
/// finished_at.
type RawUpload = (String, String, i64, String, i64, i64, Option<i64>);

fn corrupt(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "uploads",
        detail: detail.to_string(),
    }
}

fn to_u64(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| corrupt(format!("negative size {n}")))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Every record that references `hash`, with its enterprise: what a read scope is checked
    /// against (`Scope::allows`).
    ///
    /// # Errors
    /// When the store fails or holds a bad id.
    pub fn blob_references(
        &self,
        hash: &BlobHash,
    ) -> Result<Vec<(DocId, EnterpriseId)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached("SELECT doc, enterprise FROM blob_refs WHERE hash = ?1")?
            .query_map([hash.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(doc, enterprise)| {
                let bad = |e: &dyn std::fmt::Display| StoreError::Corrupt {
                    table: "blob_refs",
                    detail: e.to_string(),
                };
                Ok((
                    DocId::parse(&doc).map_err(|e| bad(&e))?,
                    EnterpriseId::parse(&enterprise).map_err(|e| bad(&e))?,
                ))
            })
            .collect()
    }

    /// Records a new upload.
    ///
    /// # Errors
    /// When the store fails (a duplicate id included).
    pub fn create_upload(&self, row: &UploadRow) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO uploads (id, user, hash, length, filetype, charged, created_at, \
                 finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.id,
                row.user.to_string(),
                row.hash.as_str(),
                to_i64(row.length),
                row.filetype,
                to_i64(row.charged),
                row.created_at.0,
                row.finished_at.map(|t| t.0),
            ])?;
        Ok(())
    }

    /// The upload `id`, if known.
    ///
    /// # Errors
    /// When the store fails or holds a bad row.
    pub fn upload(&self, id: &str) -> Result<Option<UploadRow>, StoreError> {
        let row: Option<RawUpload> = self
            .conn
            .prepare_cached(
                "SELECT user, hash, length, filetype, charged, created_at, finished_at \
                 FROM uploads WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .optional()?;
        let Some((user, hash, length, filetype, charged, created_at, finished_at)) = row else {
            return Ok(None);
        };
        Ok(Some(UploadRow {
            id: id.to_string(),
            user: UserId::parse(&user).map_err(corrupt)?,
            hash: BlobHash::parse(&hash).ok_or_else(|| corrupt(format!("hash {hash:?}")))?,
            length: to_u64(length)?,
            filetype,
            charged: to_u64(charged)?,
            created_at: Timestamp(created_at),
            finished_at: finished_at.map(Timestamp),
        }))
    }

    /// Marks upload `id` finished: its bytes are in the blob store (a finished one keeps its
    /// first time).
    ///
    /// # Errors
    /// When the store fails.
    pub fn finish_upload(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE uploads SET finished_at = ?2 WHERE id = ?1 AND finished_at IS NULL",
            )?
            .execute(params![id, at.0])?;
        Ok(())
    }

    /// Forgets upload `id`.
    ///
    /// # Errors
    /// When the store fails.
    pub fn delete_upload(&self, id: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM uploads WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Bytes `user` was charged for uploads created at or after `since`.
    ///
    /// # Errors
    /// When the store fails.
    pub fn upload_bytes_since(&self, user: UserId, since: Timestamp) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(charged), 0) FROM uploads WHERE user = ?1 AND created_at >= ?2",
            )?
            .query_row(params![user.to_string(), since.0], |r| r.get(0))?;
        to_u64(n)
    }

    /// Uploads created before `before`, finished or not: what garbage collection removes.
    ///
    /// # Errors
    /// When the store fails.
    pub fn uploads_created_before(&self, before: Timestamp) -> Result<Vec<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM uploads WHERE created_at < ?1")?
            .query_map([before.0], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// Garbage collection's look at the stored blobs `stored` at `now`: a referenced one is
    /// forgotten as an orphan; an unreferenced one is an orphan since now unless it was one
    /// already. Returns the orphans of at least `keep_ms`, which the caller removes (then
    /// [`SqliteStore::forget_orphans`]).
    ///
    /// # Errors
    /// When the store fails.
    pub fn blob_orphans_past(
        &mut self,
        stored: &[BlobHash],
        now: Timestamp,
        keep_ms: i64,
    ) -> Result<Vec<BlobHash>, StoreError> {
        let tx = super::group::write_tx(&mut self.conn)?;
        let mut expired = Vec::new();
        {
            let mut referenced = tx.prepare_cached("SELECT 1 FROM blob_refs WHERE hash = ?1")?;
            let mut forget = tx.prepare_cached("DELETE FROM blob_orphans WHERE hash = ?1")?;
            let mut mark = tx.prepare_cached(
                "INSERT INTO blob_orphans (hash, since) VALUES (?1, ?2) \
                 ON CONFLICT (hash) DO NOTHING",
            )?;
            let mut since = tx.prepare_cached("SELECT since FROM blob_orphans WHERE hash = ?1")?;
            for hash in stored {
                if referenced.exists([hash.as_str()])? {
                    forget.execute([hash.as_str()])?;
                    continue;
                }
                mark.execute(params![hash.as_str(), now.0])?;
                let at: i64 = since.query_row([hash.as_str()], |r| r.get(0))?;
                if now.0.saturating_sub(at) >= keep_ms {
                    expired.push(hash.clone());
                }
            }
        }
        tx.commit()?;
        Ok(expired)
    }

    /// Forgets the orphan rows of blobs that were removed.
    ///
    /// # Errors
    /// When the store fails.
    pub fn forget_orphans(&self, removed: &[BlobHash]) -> Result<(), StoreError> {
        let mut forget = self
            .conn
            .prepare_cached("DELETE FROM blob_orphans WHERE hash = ?1")?;
        for hash in removed {
            forget.execute([hash.as_str()])?;
        }
        Ok(())
    }
}
