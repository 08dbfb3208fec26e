//! The visit list behind `GET /api/visits` (走访记录), in SQL over the projection tables:
//! filtered, newest first by default, paginated, never a row outside the caller's read
//! [`Scope`] (the same reading of a scope as the problem list, `problems_query::scope_sql`);
//! and the check-in rules the visit KPIs share with it: which visits are outside the radius,
//! and which carry on-site evidence (a photo and a check-in within the radius).

use shared::config::CheckInRules;
use shared::doc::DocKind;
use shared::sync::validate::Scope;

use super::problems_query::scope_sql;
use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError};
use crate::api::{MAX_PAGE, PersonRef, VisitFilter, VisitListRow, VisitPage, VisitSignature};

/// An on-site visit whose check-in has no position, or none to measure it from, or one
/// farther than the radius (`?` is the radius in metres), as SQL on `v`. Visits by phone or at
/// the window have no check-in to judge.
pub(crate) const OUTSIDE_RADIUS_SQL: &str =
    "(v.method = 'on_site' AND (v.distance_m IS NULL OR v.distance_m > ?))";

/// An on-site visit with on-site evidence (现场佐证): at least one photo and a check-in within
/// the radius (`?`), as SQL on `v`. What the KPI counts and the list's `evidence` filter keeps.
pub(crate) const EVIDENCE_SQL: &str =
    "(v.method = 'on_site' AND v.photos > 0 AND v.distance_m IS NOT NULL AND v.distance_m <= ?)";

/// A boolean filter: `cond` (with its one `?` bound to `radius`) or its negation.
fn judged(conds: &mut Vec<String>, params: &mut Vec<Value>, cond: &str, want: bool, radius: f64) {
    let not = if want { "" } else { "NOT " };
    conds.push(format!("{not}{cond}"));
    params.push(Value::Real(radius));
}

impl SqliteStore {
    /// One page of the visits inside `scope` that pass `filter`, check-ins judged by `rules`
    /// ([`list_visits`]).
    ///
    /// # Errors
    /// When the store fails.
    pub fn list_visits(
        &self,
        scope: &Scope,
        filter: &VisitFilter,
        rules: &CheckInRules,
    ) -> Result<VisitPage, StoreError> {
        list_visits(&Lite(&self.conn), scope, filter, rules)
    }
}

/// One page of the visits inside `scope` that pass `filter`, check-ins judged by `rules`: the
/// one definition, run on either backend.
///
/// # Errors
/// When the store fails.
pub(crate) fn list_visits(
    db: &dyn Sql,
    scope: &Scope,
    filter: &VisitFilter,
    rules: &CheckInRules,
) -> Result<VisitPage, StoreError> {
    let d = db.dialect();
    let radius = f64::from(rules.radius_m);
    let (scope_cond, mut params) = scope_sql(d, scope, "v", DocKind::Visit);
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
    if let Some(units) = &filter.officer_units {
        let ids: Vec<String> = units.iter().map(ToString::to_string).collect();
        text(
            &mut conds,
            &format!(
                "v.id IN (SELECT vo.visit FROM visit_officers vo JOIN users u \
                 ON u.id = vo.officer WHERE u.org_unit IN ({}))",
                d.json_texts()
            ),
            serde_json::Value::from(ids).to_string(),
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
    let total = db
        .query_one(&format!("SELECT COUNT(*) {from} WHERE {cond}"), &params)?
        .count(0)?;
    let dir = if filter.asc { "ASC" } else { "DESC" };
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let mut all = vec![Value::Real(radius), Value::Real(radius)];
    all.extend(params);
    all.push(Value::Integer(i64::from(limit)));
    all.push(Value::Integer(
        i64::try_from(filter.offset).unwrap_or(i64::MAX),
    ));
    let officers = d.joined(
        &format!("vo.officer || {} || coalesce(u.name, '')", d.char(31)),
        30,
    );
    let sql = format!(
        "SELECT v.id, v.device_time, v.enterprise, coalesce(e.name, ''), e.town, v.method, \
         v.photos, v.confirmed, v.check_in_outcome, v.distance_m, {OUTSIDE_RADIUS_SQL}, \
         {EVIDENCE_SQL}, (SELECT {officers} FROM visit_officers vo LEFT JOIN users u \
         ON u.id = vo.officer WHERE vo.visit = v.id), \
         (SELECT intact FROM history_verdicts WHERE doc_id = 'visit/' || v.id), \
         (SELECT broken FROM history_verdicts WHERE doc_id = 'visit/' || v.id), \
         v.signed_by, v.signed_at, v.signature \
         {from} WHERE {cond} ORDER BY v.device_time {dir}, v.id {dir} LIMIT ? OFFSET ?"
    );
    let mut out = Vec::new();
    for r in db.query(&sql, &all)? {
        let mut officers: Vec<PersonRef> = r
            .opt_text(12)?
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
        out.push(VisitListRow {
            id: r.text(0)?,
            at: r.int(1)?,
            enterprise: r.text(2)?,
            enterprise_name: r.text(3)?,
            town: r.opt_text(4)?,
            method: r.text(5)?,
            photos: u32::try_from(r.int(6)?).unwrap_or(0),
            confirmed: r.flag(7)?,
            check_in: r.opt_text(8)?,
            distance_m: r.opt_real(9)?,
            outside_radius: r.flag(10)?,
            evidence: r.flag(11)?,
            history_intact: r.opt_flag(13)?,
            history_broken: r.opt_text(14)?,
            signature: match (r.opt_text(15)?, r.opt_int(16)?, r.opt_text(17)?) {
                (Some(by_name), Some(at), Some(hash)) => Some(VisitSignature { by_name, at, hash }),
                _ => None,
            },
            officers,
        });
    }
    Ok(VisitPage {
        total,
        offset: filter.offset,
        limit,
        radius_m: rules.radius_m,
        rows: out,
    })
}
