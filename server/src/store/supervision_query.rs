//! Supervision instructions (督办) as leaders follow them: `GET /api/supervision`'s rows — every
//! instruction on the problems in the caller's read scope (the lists' one reading of a scope,
//! `problems_query::scope_sql`), with its addressee, due date, acknowledgement and state
//! (`shared::supervision::state_of`, the one rule, applied here in Rust rather than restated
//! in SQL), filtered and paginated, written once over [`Sql`] for both backends
//! ([`list_supervision`]) — and the problems an officer's to-do is computed from
//! (`GET /api/todo`, [`todo_problems`], on both backends).

use shared::doc::DocKind;
use shared::model::{OrgUnitId, ProblemState, Timestamp, UserId};
use shared::supervision::{SupervisionState, state_of};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::problems_query::scope_sql;
use super::sql::{Lite, Sql, Value};
use super::{SqliteStore, StoreError};
use crate::api::{MAX_PAGE, Named, SupervisionFilter, SupervisionPage, SupervisionRow};

const SELECT: &str = "SELECT s.id, s.problem, p.description, p.state, p.enterprise, \
     coalesce(e.name, ''), s.text, s.\"by\", coalesce(ub.name, ''), s.at, s.to_person, \
     coalesce(ut.name, ''), s.to_unit, coalesce(ou.name, ''), s.due, s.acked_by, \
     coalesce(ua.name, ''), s.acked_at FROM progress s JOIN problems p ON p.id = s.problem \
     LEFT JOIN enterprises e ON e.id = p.enterprise LEFT JOIN users ub ON ub.id = s.\"by\" \
     LEFT JOIN users ut ON ut.id = s.to_person LEFT JOIN org_units ou ON ou.id = s.to_unit \
     LEFT JOIN users ua ON ua.id = s.acked_by";

fn named(id: Option<String>, name: String) -> Option<Named> {
    id.map(|id| Named { id, name })
}

impl SqliteStore {
    /// The supervision instructions in `scope` matching `filter` at `now`
    /// ([`list_supervision`]).
    ///
    /// # Errors
    /// When the store fails or holds a state code this build does not know.
    pub fn list_supervision(
        &self,
        scope: &Scope,
        filter: &SupervisionFilter,
        now: Timestamp,
    ) -> Result<SupervisionPage, StoreError> {
        list_supervision(&Lite(&self.conn), scope, filter, now)
    }

    /// The problems in `scope` an officer's to-do can come from: those `user` owns, and those
    /// holding a supervision instruction addressed to them or to `unit`, leaving out settled
    /// ones (`shared::todo::settled`: nothing to do, so the documents are never loaded).
    ///
    /// # Errors
    /// When the store fails.
    pub fn todo_problems(
        &self,
        scope: &Scope,
        user: UserId,
        unit: OrgUnitId,
    ) -> Result<Vec<DocId>, StoreError> {
        todo_problems(&Lite(&self.conn), scope, user, unit)
    }
}

/// The problems in `scope` an officer's to-do can come from: those `user` owns, and those
/// holding a supervision instruction addressed to them or to `unit`, leaving out settled
/// ones (`shared::todo::settled`: nothing to do, so the documents are never loaded), by id:
/// the one selection, run on either backend (SQLite's [`SqliteStore::todo_problems`] and
/// `Queries::todo_documents`, PostgreSQL's `Queries::todo_documents`).
///
/// # Errors
/// When the database fails.
pub(crate) fn todo_problems(
    db: &dyn Sql,
    scope: &Scope,
    user: UserId,
    unit: OrgUnitId,
) -> Result<Vec<DocId>, StoreError> {
    let (scope_cond, mut params) = scope_sql(db.dialect(), scope, "p", DocKind::Problem);
    // Settled problems (`shared::todo::settled`) put nothing on a to-do: not loaded.
    let settled: Vec<&str> = ProblemState::ALL
        .iter()
        .filter(|s| shared::todo::settled(**s))
        .map(|s| s.code())
        .collect();
    let marks = vec!["?"; settled.len()].join(",");
    for v in settled {
        params.push(Value::Text(v.to_owned()));
    }
    for v in [user.to_string(), user.to_string(), unit.to_string()] {
        params.push(Value::Text(v));
    }
    let sql = format!(
        "SELECT p.id FROM problems p WHERE {scope_cond} AND p.state NOT IN ({marks}) \
         AND (p.owner = ? OR EXISTS \
         (SELECT 1 FROM progress s WHERE s.problem = p.id AND s.kind = 'supervision' \
         AND (s.to_person = ? OR s.to_unit = ?))) ORDER BY {}",
        db.dialect().bytewise("p.id")
    );
    db.query(&sql, &params)?
        .iter()
        .map(|r| Ok(DocId::new(DocKind::Problem, &r.text(0)?)))
        .collect()
}

/// The supervision instructions in `scope` matching `filter` at `now`: due first (those
/// without a due date last), then newest given first, then by id (in byte order): the one
/// definition, run on either backend (SQLite's [`SqliteStore::list_supervision`],
/// PostgreSQL's `Queries::supervision`).
///
/// # Errors
/// When the database fails or holds a state code this build does not know.
pub(crate) fn list_supervision(
    db: &dyn Sql,
    scope: &Scope,
    filter: &SupervisionFilter,
    now: Timestamp,
) -> Result<SupervisionPage, StoreError> {
    let d = db.dialect();
    let (scope_cond, mut params) = scope_sql(d, scope, "p", DocKind::Problem);
    let mut conds = vec!["s.kind = 'supervision'".to_string(), scope_cond];
    if let Some(person) = filter.to_person {
        conds.push("s.to_person = ?".into());
        params.push(Value::Text(person.to_string()));
    }
    if let Some(unit) = filter.to_unit {
        conds.push("s.to_unit = ?".into());
        params.push(Value::Text(unit.to_string()));
    }
    if let Some(town) = filter.town {
        conds.push("e.town = ?".into());
        params.push(Value::Text(town.to_string()));
    }
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY s.due IS NULL, s.due, s.at DESC, {}",
        conds.join(" AND "),
        d.bytewise("s.id")
    );
    let mut found = Vec::new();
    for r in db.query(&sql, &params)? {
        let row = SupervisionRow {
            id: r.text(0)?,
            problem: r.text(1)?,
            description: r.text(2)?,
            problem_state: r.text(3)?,
            enterprise: Named {
                id: r.text(4)?,
                name: r.text(5)?,
            },
            text: r.text(6)?,
            by: Named {
                id: r.text(7)?,
                name: r.text(8)?,
            },
            at: r.int(9)?,
            to_person: named(r.opt_text(10)?, r.text(11)?),
            to_unit: named(r.opt_text(12)?, r.text(13)?),
            due: r.opt_int(14)?,
            acknowledged_by: named(r.opt_text(15)?, r.text(16)?),
            acknowledged_at: r.opt_int(17)?,
            state: SupervisionState::Issued,
        };
        found.push((r.text(3)?, row));
    }
    let mut by_state: Vec<(SupervisionState, u64)> =
        SupervisionState::ALL.iter().map(|s| (*s, 0)).collect();
    let mut kept = Vec::new();
    for (code, mut row) in found {
        let problem_state = ProblemState::from_code(&code).map_err(|e| StoreError::Corrupt {
            table: "problems",
            detail: e.to_string(),
        })?;
        row.state = state_of(
            problem_state,
            row.due.map(Timestamp),
            row.acknowledged_by.is_some(),
            now,
        );
        let wanted = if filter.states.is_empty() {
            row.state != SupervisionState::Closed
        } else {
            filter.states.contains(&row.state)
        };
        if wanted {
            if let Some(count) = by_state.iter_mut().find(|(s, _)| *s == row.state) {
                count.1 += 1;
            }
            kept.push(row);
        }
    }
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let total = kept.len() as u64;
    let rows = kept
        .into_iter()
        .skip(usize::try_from(filter.offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .collect();
    Ok(SupervisionPage {
        total,
        offset: filter.offset,
        limit,
        by_state,
        rows,
    })
}
