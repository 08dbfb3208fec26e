//! Bulletins in PostgreSQL ([`Bulletins`]): stored as issued (the snapshot as JSONB) with their
//! audit entry in one transaction; the table's trigger refuses any update, delete or
//! truncation, as SQLite's does.

use shared::model::{Timestamp, UserId};

use super::PgDb;
use super::audit::append;
use super::directory::corrupt;
use crate::api::{Bulletin, BulletinSummary};
use crate::db::{Bulletins, DbFuture};
use crate::store::{AuditAction, StoreError};

impl Bulletins for PgDb {
    fn list(&self) -> DbFuture<'_, Vec<BulletinSummary>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT b.id, b.title, b.period_from, b.period_to, b.issued_at, \
                     b.issued_by, u.name, (b.body #>> '{zone,problems}')::bigint, \
                     (b.body #>> '{zone,resolution_rate}')::float8, \
                     (b.body #>> '{zone,satisfaction_rate}')::float8 \
                     FROM bulletins b LEFT JOIN users u ON u.id = b.issued_by \
                     ORDER BY b.issued_at DESC, b.id DESC",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    let id: i64 = row.get(0);
                    let issued_by = UserId::parse(row.get(5))
                        .map_err(|e| corrupt("bulletins", format!("bulletin {id}: {e}")))?;
                    let problems: Option<i64> = row.get(7);
                    Ok(BulletinSummary {
                        id,
                        title: row.get(1),
                        period_from: Timestamp(row.get(2)),
                        period_to: Timestamp(row.get(3)),
                        issued_at: Timestamp(row.get(4)),
                        issued_by,
                        issued_by_name: row.get(6),
                        problems: problems.map_or(0, |n| u64::try_from(n).unwrap_or(0)),
                        resolution_rate: row.get(8),
                        satisfaction_rate: row.get(9),
                    })
                })
                .collect()
        })
    }

    fn get(&self, id: i64) -> DbFuture<'_, Option<Bulletin>> {
        Box::pin(async move {
            let row = self
                .client()
                .await?
                .query_opt("SELECT body::text FROM bulletins WHERE id = $1", &[&id])
                .await?;
            row.map(|row| {
                serde_json::from_str::<Bulletin>(row.get(0))
                    .map(|b| Bulletin { id, ..b })
                    .map_err(|e| corrupt("bulletins", format!("bulletin {id}: {e}")))
            })
            .transpose()
        })
    }

    fn issue(&self, bulletin: Bulletin, login: String) -> DbFuture<'_, Bulletin> {
        Box::pin(async move {
            let body = serde_json::to_string(&bulletin).map_err(|e| StoreError::Corrupt {
                table: "bulletins",
                detail: e.to_string(),
            })?;
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO bulletins (title, unit, period_from, period_to, issued_at, \
                     issued_by, body) VALUES ($1, NULL, $2, $3, $4, $5, $6::text::jsonb) \
                     RETURNING id",
                    &[
                        &bulletin.title,
                        &bulletin.period_from.0,
                        &bulletin.period_to.0,
                        &bulletin.issued_at.0,
                        &bulletin.issued_by.to_string(),
                        &body,
                    ],
                )
                .await?
                .get(0);
            let issued = Bulletin { id, ..bulletin };
            append(
                &tx,
                issued.issued_at,
                &login,
                AuditAction::BulletinIssued,
                &id.to_string(),
                &issued.title,
            )
            .await?;
            tx.commit().await?;
            Ok(issued)
        })
    }
}
