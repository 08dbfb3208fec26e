//! Bulletins (通报): a KPI snapshot of a period for the zone, with rankings of towns and of
//! departments, stored immutably once issued (the table refuses updates and deletes), and the
//! list of those issued.

use rusqlite::{OptionalExtension, params};
use shared::model::{OrgUnitId, OrgUnitKind, Timestamp, UserId};

use super::{SqliteStore, StoreError};
use crate::api::{Bulletin, BulletinSummary, Unit};
use crate::db::rank;

impl SqliteStore {
    fn units_of_kind(&self, kind: OrgUnitKind) -> Result<Vec<(OrgUnitId, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM org_units WHERE kind = ?1 ORDER BY name")?;
        let rows = stmt
            .query_map([kind.code()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, name)| {
                OrgUnitId::parse(&id)
                    .map(|id| (id, name))
                    .map_err(|e| StoreError::Corrupt {
                        table: "org_units",
                        detail: e.to_string(),
                    })
            })
            .collect()
    }

    /// Computes and stores a bulletin for `[from, to)`; it can never change afterwards.
    pub fn issue_bulletin(
        &mut self,
        title: &str,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        by: UserId,
        check_in: &shared::config::CheckInRules,
    ) -> Result<Bulletin, StoreError> {
        let zone = self.kpis(Unit::Zone, from, to, now, check_in)?;
        let towns = self
            .units_of_kind(OrgUnitKind::Town)?
            .into_iter()
            .map(|(id, name)| {
                Ok((
                    id,
                    name,
                    self.kpis(Unit::Town(id), from, to, now, check_in)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let departments = self
            .units_of_kind(OrgUnitKind::Department)?
            .into_iter()
            .map(|(id, name)| {
                Ok((
                    id,
                    name,
                    self.kpis(Unit::Department(id), from, to, now, check_in)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut bulletin = Bulletin {
            id: 0,
            title: title.to_string(),
            period_from: from,
            period_to: to,
            issued_at: now,
            issued_by: by,
            zone,
            towns: rank(towns),
            departments: rank(departments),
        };
        bulletin.id = self.store_bulletin(&bulletin)?;
        Ok(bulletin)
    }

    /// Stores a computed bulletin as issued; its number. It can never change afterwards.
    pub fn store_bulletin(&mut self, bulletin: &Bulletin) -> Result<i64, StoreError> {
        let body = serde_json::to_string(bulletin).map_err(|e| StoreError::Corrupt {
            table: "bulletins",
            detail: e.to_string(),
        })?;
        self.conn.execute(
            "INSERT INTO bulletins (title, unit, period_from, period_to, issued_at, issued_by, body) VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6)",
            params![
                bulletin.title,
                bulletin.period_from.0,
                bulletin.period_to.0,
                bulletin.issued_at.0,
                bulletin.issued_by.to_string(),
                body
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// An issued bulletin, as it was issued.
    pub fn bulletin(&self, id: i64) -> Result<Option<Bulletin>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM bulletins WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        body.map(|b| {
            serde_json::from_str::<Bulletin>(&b)
                .map(|mut x| {
                    x.id = id;
                    x
                })
                .map_err(|e| StoreError::Corrupt {
                    table: "bulletins",
                    detail: e.to_string(),
                })
        })
        .transpose()
    }

    /// Every issued bulletin, newest first (bulletins cover the whole zone, so every leader and
    /// supervisor may list them all).
    pub fn bulletins(&self) -> Result<Vec<BulletinSummary>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT b.id, b.title, b.period_from, b.period_to, b.issued_at, b.issued_by, u.name, \
                    json_extract(b.body, '$.zone.problems'), \
                    json_extract(b.body, '$.zone.resolution_rate'), \
                    json_extract(b.body, '$.zone.satisfaction_rate') \
             FROM bulletins b LEFT JOIN users u ON u.id = b.issued_by \
             ORDER BY b.issued_at DESC, b.id DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<f64>>(8)?,
                    r.get::<_, Option<f64>>(9)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, title, from, to, at, by, name, problems, resolution, satisfaction)| {
                    let issued_by = UserId::parse(&by).map_err(|e| StoreError::Corrupt {
                        table: "bulletins",
                        detail: format!("bulletin {id}: issued_by: {e}"),
                    })?;
                    Ok(BulletinSummary {
                        id,
                        title,
                        period_from: Timestamp(from),
                        period_to: Timestamp(to),
                        issued_at: Timestamp(at),
                        issued_by,
                        issued_by_name: name,
                        problems: problems.map_or(0, |n| n.max(0) as u64),
                        resolution_rate: resolution,
                        satisfaction_rate: satisfaction,
                    })
                },
            )
            .collect()
    }

    /// Tries to change an issued bulletin's title (always refused: for the immutability test
    /// and for anyone tempted).
    pub fn retitle_bulletin(&mut self, id: i64, title: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE bulletins SET title = ?1 WHERE id = ?2",
            params![title, id],
        )?;
        Ok(())
    }
}
