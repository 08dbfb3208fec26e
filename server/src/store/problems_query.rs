//! The problem list behind the leaders' and handlers' screens, in SQL over the projection
//! tables: filtered, sorted and paginated, never a row outside the caller's read [`Scope`];
//! and the SQL pieces the KPI queries share with it (answer, sign-off and look-back actions).
//! An enterprise's timeline is in `timeline`, data freshness in `freshness`.

use std::collections::BTreeMap;

use shared::config::Config;
use shared::derive::{FlagFacts, flag_of};
use shared::doc::DocKind;
use shared::model::{ProblemState, Timestamp};
use shared::sync::validate::Scope;

use super::sql::{Dialect, Lite, Sql, Value};
use super::{SqliteStore, StoreError};
use crate::api::{MAX_PAGE, ProblemFilter, ProblemListRow, ProblemPage, ProblemSort, UnitRef};

/// States in which a passed deadline makes a problem overdue (`shared::derive::awaiting_result`),
/// as an SQL list: what the KPIs, the breakdowns and the list's `overdue` filter count.
pub(crate) const AWAITING: &str =
    "'submitted','triaged','assigned','accepted','in_progress','returned','disputed','reopened'";

/// Workflow actions that answer a problem (responded, or resolved on site): the `answered` and
/// `on_time` KPIs and list filters, and the first-response time, take the first applied one.
pub(crate) const ANSWER_ACTIONS: &str = "'respond', 'resolve_on_site'";
/// The workflow action that signs a problem off (销号): the sign-off time and `signed_off`.
pub(crate) const SIGN_OFF_ACTIONS: &str = "'sign_off'";
/// The lowest rating that counts as satisfied (3: fairly satisfied), as SQL on `p`.
pub(crate) const SATISFIED_SQL: &str = "p.rating >= 3";

/// The SQL condition (on table alias `alias`, whose rows are records of `kind` with `id` and
/// `enterprise` columns) and its parameters that keep records inside `scope`: the one reading
/// of a read scope for the lists (problems, visits), as sync applies it.
pub(super) fn scope_sql(
    d: Dialect,
    scope: &Scope,
    alias: &str,
    kind: DocKind,
) -> (String, Vec<Value>) {
    fn json(ids: impl Iterator<Item = String>) -> Value {
        Value::Text(serde_json::Value::from(ids.collect::<Vec<_>>()).to_string())
    }
    let list = d.json_texts();
    match scope {
        Scope::All => ("1 = 1".into(), Vec::new()),
        Scope::Enterprises(set) => (
            format!("{alias}.enterprise IN ({list})"),
            vec![json(set.iter().map(ToString::to_string))],
        ),
        // Profiles-only grants hold no record of this kind (`Scope::allows`).
        Scope::Grants {
            enterprises, docs, ..
        } => (
            format!("({alias}.enterprise IN ({list}) OR {alias}.id IN ({list}))"),
            vec![
                json(enterprises.iter().map(ToString::to_string)),
                json(
                    docs.iter()
                        .filter(|d| d.kind() == kind)
                        .map(|d| d.root_id().to_string()),
                ),
            ],
        ),
    }
}

/// The list row's columns of problem `p`, as `d` spells them.
fn row_select(d: Dialect) -> String {
    let units = d.joined(
        &format!("pu.unit || {} || coalesce(o.name, '')", d.char(31)),
        30,
    );
    format!(
        "SELECT p.id, p.enterprise, coalesce(e.name, ''), e.town, p.state, \
         p.category, p.tier, p.source, p.deadline, p.owner, coalesce(u.name, ''), p.created_at, \
         p.rating, (SELECT {units} FROM problem_units pu LEFT JOIN org_units o \
         ON o.id = pu.unit WHERE pu.problem = p.id), \
         p.look_back_owed, hv.intact, hv.broken FROM problems p \
         LEFT JOIN enterprises e ON e.id = p.enterprise LEFT JOIN users u ON u.id = p.owner \
         LEFT JOIN history_verdicts hv ON hv.doc_id = 'problem/' || p.id"
    )
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "problems",
        detail,
    }
}

impl SqliteStore {
    /// One page of the problems inside `scope` that pass `filter`, with overdue status and
    /// flag as of `now` under `config`'s rule table ([`list_problems`]).
    pub fn list_problems(
        &self,
        scope: &Scope,
        filter: &ProblemFilter,
        config: &Config,
        now: Timestamp,
    ) -> Result<ProblemPage, StoreError> {
        list_problems(&Lite(&self.conn), scope, filter, config, now)
    }
}

/// One page of the problems inside `scope` that pass `filter`, with overdue status and flag
/// as of `now` under `config`'s rule table: the one definition, run on either backend.
pub(crate) fn list_problems(
    db: &dyn Sql,
    scope: &Scope,
    filter: &ProblemFilter,
    config: &Config,
    now: Timestamp,
) -> Result<ProblemPage, StoreError> {
    let (scope_cond, mut params) = scope_sql(db.dialect(), scope, "p", DocKind::Problem);
    let mut conds = vec![scope_cond];
    if !filter.states.is_empty() {
        let marks = vec!["?"; filter.states.len()].join(", ");
        conds.push(format!("p.state IN ({marks})"));
        params.extend(filter.states.iter().map(|s| Value::Text(s.code().into())));
    }
    if let Some(t) = filter.town {
        conds.push("e.town = ?".into());
        params.push(Value::Text(t.to_string()));
    }
    if let Some(d) = filter.department {
        conds.push("p.id IN (SELECT problem FROM problem_units WHERE unit = ?)".into());
        params.push(Value::Text(d.to_string()));
    }
    if let Some(c) = &filter.category {
        conds.push("p.category = ?".into());
        params.push(Value::Text(c.clone()));
    }
    if let Some(t) = filter.tier {
        conds.push("p.tier = ?".into());
        params.push(Value::Text(t.code().into()));
    }
    if let Some(s) = filter.source {
        conds.push("p.source = ?".into());
        params.push(Value::Text(s.code().into()));
    }
    if let Some(o) = filter.overdue {
        let not = if o { "" } else { "NOT " };
        conds.push(format!("{not}(p.state IN ({AWAITING}) AND p.deadline < ?)"));
        params.push(Value::Integer(now.0));
    }
    if let Some(f) = filter.created_from {
        conds.push("p.created_at >= ?".into());
        params.push(Value::Integer(f.0));
    }
    if let Some(t) = filter.created_to {
        conds.push("p.created_at < ?".into());
        params.push(Value::Integer(t.0));
    }
    // The KPI sets (`kpi.rs`), with the same SQL meaning.
    let not = |b: bool| if b { "" } else { "NOT " };
    if let Some(a) = filter.answered {
        conds.push(format!(
            "p.id {}IN (SELECT problem FROM problem_events WHERE applied = 1 \
             AND action IN ({ANSWER_ACTIONS}))",
            not(a)
        ));
    }
    if let Some(o) = filter.on_time {
        let cmp = if o { "<=" } else { ">" };
        conds.push(format!(
            "(SELECT MIN(a.at) FROM problem_events a WHERE a.problem = p.id \
             AND a.applied = 1 AND a.action IN ({ANSWER_ACTIONS})) {cmp} p.deadline"
        ));
    }
    if let Some(r) = filter.rated {
        conds.push(format!("p.rating IS {}NULL", if r { "NOT " } else { "" }));
    }
    if let Some(s) = filter.satisfied {
        conds.push(format!(
            "p.rating IS NOT NULL AND {}({SATISFIED_SQL})",
            not(s)
        ));
    }
    if let Some(s) = filter.signed_off {
        conds.push(format!(
            "p.id {}IN (SELECT problem FROM problem_events WHERE applied = 1 \
             AND action IN ({SIGN_OFF_ACTIONS}))",
            not(s)
        ));
    }
    if !filter.look_back.is_empty() {
        let marks = vec!["?"; filter.look_back.len()].join(", ");
        let mut sql = format!(
            "p.id IN (SELECT problem FROM problem_events WHERE applied = 1 \
             AND action IN ({marks})"
        );
        params.extend(
            filter
                .look_back
                .iter()
                .map(|l| Value::Text(l.action().into())),
        );
        if let Some(f) = filter.event_from {
            sql.push_str(" AND at >= ?");
            params.push(Value::Integer(f.0));
        }
        if let Some(t) = filter.event_to {
            sql.push_str(" AND at < ?");
            params.push(Value::Integer(t.0));
        }
        sql.push(')');
        conds.push(sql);
    }
    let cond = conds.join(" AND ");
    let dir = if filter.desc { "DESC" } else { "ASC" };
    let (order, order_params) = match filter.sort {
        ProblemSort::Deadline => (format!("p.deadline {dir}, p.id {dir}"), vec![]),
        ProblemSort::Created => (format!("p.created_at {dir}, p.id {dir}"), vec![]),
        ProblemSort::DaysOverdue => (
            format!(
                "CASE WHEN p.state IN ({AWAITING}) AND p.deadline < ? \
                 THEN ? - p.deadline ELSE 0 END {dir}, p.deadline {dir}, p.id {dir}"
            ),
            vec![Value::Integer(now.0), Value::Integer(now.0)],
        ),
    };
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let from = "FROM problems p LEFT JOIN enterprises e ON e.id = p.enterprise";

    if let Some(flag) = filter.flag {
        // The flag comes from the rule table in Rust: list the candidates' ids in order,
        // keep those with the flag, then read the page's rows.
        let sql = format!(
            "SELECT p.id, p.state, p.deadline, p.rating, p.look_back_owed {from} \
             WHERE {cond} ORDER BY {order}"
        );
        let mut all = params.clone();
        all.extend(order_params);
        let mut kept = Vec::new();
        for r in db.query(&sql, &all)? {
            let state = ProblemState::from_code(&r.text(1)?).map_err(|e| corrupt(e.to_string()))?;
            let rating = r.opt_int(3)?.and_then(|n| u8::try_from(n).ok());
            let facts = FlagFacts {
                state,
                deadline: Timestamp(r.int(2)?),
                rating,
                look_back_owed: r.flag(4)?,
            };
            let (_, _, f) = flag_of(config, facts, now);
            if f == flag {
                kept.push(r.text(0)?);
            }
        }
        let total = kept.len() as u64;
        let page: Vec<String> = kept
            .into_iter()
            .skip(usize::try_from(filter.offset).unwrap_or(usize::MAX))
            .take(limit as usize)
            .collect();
        let rows = rows_in_order(db, page, config, now)?;
        return Ok(ProblemPage {
            total,
            offset: filter.offset,
            limit,
            rows,
        });
    }

    let total = db
        .query_one(&format!("SELECT COUNT(*) {from} WHERE {cond}"), &params)?
        .count(0)?;
    // The page's ids first, so the joins and handling units are read for its rows only
    // (a sorter would otherwise carry every column of every skipped row).
    let mut all = params;
    all.extend(order_params);
    all.push(Value::Integer(i64::from(limit)));
    all.push(Value::Integer(
        i64::try_from(filter.offset).unwrap_or(i64::MAX),
    ));
    let sql = format!("SELECT p.id {from} WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?");
    let page: Vec<String> = db
        .query(&sql, &all)?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    let rows = rows_in_order(db, page, config, now)?;
    Ok(ProblemPage {
        total,
        offset: filter.offset,
        limit,
        rows,
    })
}

/// The list rows of `ids`, in that order.
fn rows_in_order(
    db: &dyn Sql,
    ids: Vec<String>,
    config: &Config,
    now: Timestamp,
) -> Result<Vec<ProblemListRow>, StoreError> {
    let position: BTreeMap<String, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), i))
        .collect();
    let ids = Value::Text(serde_json::Value::from(ids).to_string());
    let sql = format!(
        "{} WHERE p.id IN ({}) ORDER BY p.id",
        row_select(db.dialect()),
        db.dialect().json_texts()
    );
    let mut out = Vec::new();
    for r in db.query(&sql, &[ids])? {
        let state = ProblemState::from_code(&r.text(4)?).map_err(|e| corrupt(e.to_string()))?;
        let deadline = r.int(8)?;
        let rating = r.opt_int(12)?.and_then(|n| u8::try_from(n).ok());
        let facts = FlagFacts {
            state,
            deadline: Timestamp(deadline),
            rating,
            look_back_owed: r.flag(14)?,
        };
        let (overdue, days_overdue, flag) = flag_of(config, facts, now);
        let mut handling_units: Vec<UnitRef> = r
            .opt_text(13)?
            .unwrap_or_default()
            .split('\u{1e}')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (id, name) = s.split_once('\u{1f}').unwrap_or((s, ""));
                UnitRef {
                    id: id.to_string(),
                    name: name.to_string(),
                }
            })
            .collect();
        handling_units.sort_by(|a, b| a.id.cmp(&b.id));
        out.push(ProblemListRow {
            id: r.text(0)?,
            enterprise: r.text(1)?,
            enterprise_name: r.text(2)?,
            town: r.opt_text(3)?,
            state,
            category: r.text(5)?,
            tier: r.text(6)?,
            source: r.text(7)?,
            deadline,
            overdue,
            days_overdue,
            flag,
            owner: r.text(9)?,
            owner_name: r.text(10)?,
            handling_units,
            created_at: r.int(11)?,
            rating,
            history_intact: r.opt_flag(15)?,
            history_broken: r.opt_text(16)?,
        });
    }
    out.sort_by_key(|r| position.get(&r.id).copied().unwrap_or(usize::MAX));
    Ok(out)
}

#[cfg(test)]
#[path = "tests/problems_query.rs"]
mod tests;
