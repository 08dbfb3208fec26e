//! The visit list behind `GET /api/visits` (走访记录), in SQL over the projection tables:
//! filtered, newest first by default, paginated, never a row outside the caller's read
//! [`Scope`] (the same reading of a scope as the problem list, `problems_query::scope_sql`);
//! and the check-in rules the visit KPIs share with it: which visits are outside the radius,
//! and which carry on-site evidence (a photo and a check-in within the radius).

use rusqlite::params_from_iter;
use rusqlite::types::Value;
use serde::Serialize;
use shared::config::CheckInRules;
use shared::doc::DocKind;
use shared::model::{EnterpriseId, OrgUnitId, Timestamp, UserId, VisitMethod};
use shared::sync::validate::Scope;

use super::problems_query::{MAX_PAGE, scope_sql};
use super::{SqliteStore, StoreError};

/// An on-site visit whose check-in has no position, or none to measure it from, or one
/// farther than the radius (`?` is the radius in metres), as SQL on `v`. Visits by phone or at
/// the window have no check-in to judge.
pub(crate) const OUTSIDE_RADIUS_SQL: &str =
    "(v.method = 'on_site' AND (v.distance_m IS NULL OR v.distance_m > ?))";

/// An on-site visit with on-site evidence (现场佐证): at least one photo and a check-in within
/// the radius (`?`), as SQL on `v`. What the KPI counts and the list's `evidence` filter keeps.
pub(crate) const EVIDENCE_SQL: &str =
    "(v.method = 'on_site' AND v.photos > 0 AND v.distance_m IS NOT NULL AND v.distance_m <= ?)";

/// Filters, order and page of a visit list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    /// Made (as the server counts it) at or after this instant.
    pub from: Option<Timestamp>,
    /// Made before this instant.
    pub to: Option<Timestamp>,
    /// The enterprise's town.
    pub town: Option<OrgUnitId>,
    /// This enterprise.
    pub enterprise: Option<EnterpriseId>,
    /// Made by this officer (one of the visit's officers).
    pub officer: Option<UserId>,
    /// How.
    pub method: Option<VisitMethod>,
    /// Outside the radius or without position (`true`), or not (`false`).
    pub outside_radius: Option<bool>,
    /// With at least one photo (`true`) or none (`false`).
    pub photos: Option<bool>,
    /// With on-site evidence (`true`) or without (`false`).
    pub evidence: Option<bool>,
    /// Oldest first instead of newest first.
    pub asc: bool,
    /// Rows per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// A person on a visit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRef {
    /// User id.
    pub id: String,
    /// Name (empty when the directory does not know them).
    pub name: String,
}

/// One row of the visit list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitListRow {
    /// Visit id.
    pub id: String,
    /// When it was made, as the server counts it (ms; the device's claim bounded by what the
    /// server saw, `shared::server_time::kpi_time`).
    pub at: i64,
    /// Enterprise id.
    pub enterprise: String,
    /// Enterprise name (empty when its profile is not stored).
    pub enterprise_name: String,
    /// The enterprise's town.
    pub town: Option<String>,
    /// The visit's officers, by id.
    pub officers: Vec<PersonRef>,
    /// Method code (`on_site`, `phone`, `window`).
    pub method: String,
    /// Photos the record references.
    pub photos: u32,
    /// The enterprise confirmed the visit by name (the record holds no signature image yet).
    pub confirmed: bool,
    /// What the check-in found: `fixed`, `permission_refused`, `unavailable`; `None`: no
    /// check-in.
    pub check_in: Option<String>,
    /// The check-in's distance from the enterprise's registered position, in metres (`None`:
    /// no position at check-in, or none registered).
    pub distance_m: Option<f64>,
    /// An on-site visit outside the radius or without position.
    pub outside_radius: bool,
    /// On-site evidence: a photo and a check-in within the radius.
    pub evidence: bool,
    /// Its history's verdict (`store::history`): intact, broken, or `None` not yet checked.
    pub history_intact: Option<bool>,
    /// What is broken in its history, if it is.
    pub history_broken: Option<String>,
}

/// One page of the visit list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitPage {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Rows asked for.
    pub limit: u32,
    /// The radius the rows were judged with, in metres.
    pub radius_m: u32,
    /// This page.
    pub rows: Vec<VisitListRow>,
}

/// A boolean filter: `cond` (with its one `?` bound to `radius`) or its negation.
fn judged(conds: &mut Vec<String>, params: &mut Vec<Value>, cond: &str, want: bool, radius: f64) {
    let not = if want { "" } else { "NOT " };
    conds.push(format!("{not}{cond}"));
    params.push(Value::Real(radius));
}

impl SqliteStore {
    /// One page of the visits inside `scope` that pass `filter`, check-ins judged by `rules`.
    ///
    /// # Errors
    /// When the store fails.
    pub fn list_visits(
        &self,
        scope: &Scope,
        filter: &VisitFilter,
        rules: &CheckInRules,
    ) -> Result<VisitPage, StoreError> {
        let radius = f64::from(rules.radius_m);
        let (scope_cond, mut params) = scope_sql(scope, "v", DocKind::Visit);
        let mut conds = vec![scope_cond];
        let mut text = |conds: &mut Vec<String>, sql: &str, value: String| {
            conds.push(sql.to_string());
            params.push(Value::Text(value));
        };
        if let Some(t) = filter.town {
            text(&mut conds, "e.town = ?", t.to_string());
        }
        if let Some(e) = filter.enterprise {
            text(&mut conds, "v.enterprise = ?", e.to_string());
        }
        if let Some(o) = filter.officer {
            text(
                &mut conds,
                "v.id IN (SELECT visit FROM visit_officers WHERE officer = ?)",
                o.to_string(),
            );
        }
        if let Some(m) = filter.method {
            text(&mut conds, "v.method = ?", m.code().to_string());
        }
        if let Some(f) = filter.from {
            conds.push("v.device_time >= ?".into());
            params.push(Value::Integer(f.0));
        }
        if let Some(t) = filter.to {
            conds.push("v.device_time < ?".into());
            params.push(Value::Integer(t.0));
        }
        if let Some(o) = filter.outside_radius {
            judged(&mut conds, &mut params, OUTSIDE_RADIUS_SQL, o, radius);
        }
        if let Some(e) = filter.evidence {
            judged(&mut conds, &mut params, EVIDENCE_SQL, e, radius);
        }
        if let Some(p) = filter.photos {
            conds.push(if p { "v.photos > 0" } else { "v.photos = 0" }.into());
        }
        let cond = conds.join(" AND ");
        let from = "FROM visits v LEFT JOIN enterprises e ON e.id = v.enterprise";
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) {from} WHERE {cond}"),
            params_from_iter(params.iter()),
            |r| r.get(0),
        )?;
        let dir = if filter.asc { "ASC" } else { "DESC" };
        let limit = filter.limit.clamp(1, MAX_PAGE);
        let mut all = vec![Value::Real(radius), Value::Real(radius)];
        all.extend(params);
        all.push(Value::Integer(i64::from(limit)));
        all.push(Value::Integer(
            i64::try_from(filter.offset).unwrap_or(i64::MAX),
        ));
        let sql = format!(
            "SELECT v.id, v.device_time, v.enterprise, coalesce(e.name, ''), e.town, v.method, \
             v.photos, v.confirmed, v.check_in_outcome, v.distance_m, {OUTSIDE_RADIUS_SQL}, \
             {EVIDENCE_SQL}, (SELECT group_concat(vo.officer || char(31) || \
             coalesce(u.name, ''), char(30)) FROM visit_officers vo LEFT JOIN users u \
             ON u.id = vo.officer WHERE vo.visit = v.id), \
             (SELECT intact FROM history_verdicts WHERE doc_id = 'visit/' || v.id), \
             (SELECT broken FROM history_verdicts WHERE doc_id = 'visit/' || v.id) \
             {from} WHERE {cond} ORDER BY v.device_time {dir}, v.id {dir} LIMIT ? OFFSET ?"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(all))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let officers: Option<String> = r.get(12)?;
            let mut officers: Vec<PersonRef> = officers
                .unwrap_or_default()
                .split('\u{1e}')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let (id, name) = s.split_once('\u{1f}').unwrap_or((s, ""));
                    PersonRef {
                        id: id.to_string(),
                        name: name.to_string(),
                    }
                })
                .collect();
            officers.sort_by(|a, b| a.id.cmp(&b.id));
            let photos: i64 = r.get(6)?;
            out.push(VisitListRow {
                id: r.get(0)?,
                at: r.get(1)?,
                enterprise: r.get(2)?,
                enterprise_name: r.get(3)?,
                town: r.get(4)?,
                method: r.get(5)?,
                photos: u32::try_from(photos).unwrap_or(0),
                confirmed: r.get(7)?,
                check_in: r.get(8)?,
                distance_m: r.get(9)?,
                outside_radius: r.get(10)?,
                evidence: r.get(11)?,
                history_intact: r.get(13)?,
                history_broken: r.get(14)?,
                officers,
            });
        }
        Ok(VisitPage {
            total: total.max(0) as u64,
            offset: filter.offset,
            limit,
            radius_m: rules.radius_m,
            rows: out,
        })
    }
}
