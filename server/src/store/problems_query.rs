//! Read queries behind the leaders' and handlers' screens, in SQL over the projection tables:
//! the filtered, sorted, paginated problem list, an enterprise's timeline, and data freshness
//! per officer and device (with what each device last reported of its outbox). Every query takes the caller's read [`Scope`] and never returns a row outside it.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::Value;
use rusqlite::{OptionalExtension as _, params_from_iter};
use serde::Serialize;
use shared::config::Config;
use shared::derive::flag_of;
use shared::doc::DocKind;
use shared::model::{
    EnterpriseId, Flag, OrgUnitId, ProblemSource, ProblemState, Role, Tier, Timestamp,
};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::{SqliteStore, StoreError};

/// States in which a passed deadline makes a problem overdue (`shared::derive::awaiting_result`).
const AWAITING: &str =
    "'submitted','triaged','assigned','accepted','in_progress','returned','disputed','reopened'";

/// Most rows one page may hold.
pub const MAX_PAGE: u32 = 200;

/// Workflow actions that answer a problem (responded, or resolved on site): the `answered` and
/// `on_time` KPIs and list filters, and the first-response time, take the first applied one.
pub(crate) const ANSWER_ACTIONS: &str = "'respond', 'resolve_on_site'";
/// The workflow action that signs a problem off (销号): the sign-off time and `signed_off`.
pub(crate) const SIGN_OFF_ACTIONS: &str = "'sign_off'";
/// The lowest rating that counts as satisfied (3: fairly satisfied), as SQL on `p`.
pub(crate) const SATISFIED_SQL: &str = "p.rating >= 3";

/// What a look-back (回头看) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LookBack {
    /// It passed (`look_back_pass`).
    Passed,
    /// It reopened the problem (`look_back_reopen`).
    Reopened,
}

impl LookBack {
    /// The query parameter's code.
    pub fn code(self) -> &'static str {
        match self {
            LookBack::Passed => "passed",
            LookBack::Reopened => "reopened",
        }
    }

    /// The workflow action recorded for it.
    pub fn action(self) -> &'static str {
        match self {
            LookBack::Passed => "look_back_pass",
            LookBack::Reopened => "look_back_reopen",
        }
    }
}

/// How the problem list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemSort {
    /// By effective deadline.
    #[default]
    Deadline,
    /// By creation time.
    Created,
    /// By days past the deadline (problems not overdue count as 0).
    DaysOverdue,
}

/// Filters, order and page of a problem list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct ProblemFilter {
    /// Any of these states (none: all).
    pub states: Vec<ProblemState>,
    /// Flag at `now`.
    pub flag: Option<Flag>,
    /// The enterprise's town.
    pub town: Option<OrgUnitId>,
    /// Handed to this department.
    pub department: Option<OrgUnitId>,
    /// Category code.
    pub category: Option<String>,
    /// Effective tier.
    pub tier: Option<Tier>,
    /// Overdue (`true`) or not (`false`) at `now`.
    pub overdue: Option<bool>,
    /// Where it came from.
    pub source: Option<ProblemSource>,
    /// Created at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Created before this instant.
    pub created_to: Option<Timestamp>,
    /// Answered (an applied respond or resolve-on-site event: `true`) or not yet (`false`).
    pub answered: Option<bool>,
    /// First answered by the effective deadline (`true`) or after it (`false`); either way
    /// answered.
    pub on_time: Option<bool>,
    /// Rated by the enterprise (`true`) or not (`false`).
    pub rated: Option<bool>,
    /// Rated satisfied, 3 or better (`true`), or rated below 3 (`false`); either way rated.
    pub satisfied: Option<bool>,
    /// Signed off at least once (an applied sign-off event: `true`, even if a look-back
    /// reopened it since) or never (`false`).
    pub signed_off: Option<bool>,
    /// Had a look-back with any of these results (none: no look-back filter), in
    /// `[event_from, event_to)` when those are set.
    pub look_back: Vec<LookBack>,
    /// The look-back happened at or after this instant.
    pub event_from: Option<Timestamp>,
    /// The look-back happened before this instant.
    pub event_to: Option<Timestamp>,
    /// Order.
    pub sort: ProblemSort,
    /// Descending instead of ascending.
    pub desc: bool,
    /// Rows per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// A handling unit (承办单位) of a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRef {
    /// The org unit's id.
    pub id: String,
    /// Its name (empty when the directory does not know it).
    pub name: String,
}

/// One row of the problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemListRow {
    /// Problem id.
    pub id: String,
    /// Enterprise id.
    pub enterprise: String,
    /// Enterprise name (empty when its profile is not stored).
    pub enterprise_name: String,
    /// The enterprise's town.
    pub town: Option<String>,
    /// Workflow state.
    pub state: ProblemState,
    /// Category code.
    pub category: String,
    /// Effective tier.
    pub tier: String,
    /// Source code.
    pub source: String,
    /// Effective deadline, ms.
    pub deadline: i64,
    /// Past the deadline while awaiting its result.
    pub overdue: bool,
    /// Whole days past the deadline.
    pub days_overdue: i64,
    /// Red/green/black flag at `now`.
    pub flag: Flag,
    /// Owner's user id.
    pub owner: String,
    /// Owner's name (empty when unknown).
    pub owner_name: String,
    /// Handling units.
    pub handling_units: Vec<UnitRef>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Rating level 1–5, if rated.
    pub rating: Option<u8>,
}

/// One page of the problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemPage {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Rows asked for.
    pub limit: u32,
    /// This page.
    pub rows: Vec<ProblemListRow>,
}

/// An enterprise's profile as stored in the query tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnterpriseProfile {
    /// Id.
    pub id: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Town.
    pub town: String,
    /// Industry.
    pub industry: String,
    /// Size code.
    pub size: String,
    /// A key enterprise (monitored).
    pub key_enterprise: bool,
}

/// One entry of an enterprise's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// When, ms (device clock of the record).
    pub at: i64,
    /// `visit`, `problem_created`, `event`, `progress`, `supervision` or `rating`.
    pub kind: String,
    /// The visit or problem this entry belongs to.
    pub record: String,
    /// The problem, for problem entries.
    pub problem: Option<String>,
    /// Who (user id).
    pub by: String,
    /// The action (events), the visit method (visits), the category (new problems).
    pub action: String,
    /// Free text: notes, description, reason, progress text, rating comment.
    pub text: String,
    /// For events: whether replay applied it (false: superseded).
    pub applied: Option<bool>,
}

/// A problem's summary on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineProblem {
    /// Problem id.
    pub id: String,
    /// State.
    pub state: String,
    /// Category.
    pub category: String,
    /// Effective deadline.
    pub deadline: i64,
    /// Creation time.
    pub created_at: i64,
    /// Description.
    pub description: String,
}

/// An enterprise's whole story, as far as the caller's scope reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The profile, when the caller may read it and it is stored.
    pub profile: Option<EnterpriseProfile>,
    /// Problems the caller may read, oldest first.
    pub problems: Vec<TimelineProblem>,
    /// Visits, problems, events, progress, supervision and ratings, in time order.
    pub entries: Vec<TimelineEntry>,
}

/// How fresh one officer's data is on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficerFreshness {
    /// User id.
    pub user: String,
    /// Name.
    pub name: String,
    /// Their org unit.
    pub org_unit: String,
    /// Devices not revoked.
    pub devices: u32,
    /// Server time of the last successful sync, any device (`device_sync.last_seen`).
    pub last_sync: Option<i64>,
    /// Server time of the last authenticated call, any device (`devices.last_seen`).
    pub last_seen: Option<i64>,
    /// On the device of `last_sync`: server clock − device clock, ms (positive: the device
    /// is behind).
    pub clock_skew_ms: Option<i64>,
    /// Documents still on the officer's devices unsent, as each device last reported
    /// (`SyncRequest::unsent`), summed over the devices that reported; `None` when none did.
    pub unsent: Option<u64>,
    /// Devices whose number is unknown: their app is older than sync protocol version 2, or
    /// they have not synced since the server learnt to record it.
    pub unsent_unknown: u32,
    /// The same per device, most recently seen first.
    pub device_detail: Vec<DeviceFreshness>,
}

/// How fresh one device's data is on the server (a row of [`OfficerFreshness`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceFreshness {
    /// Device id.
    pub device: String,
    /// The name it gave at login.
    pub name: String,
    /// Server time of its last successful sync (kept to the minute).
    pub last_sync: Option<i64>,
    /// Server time of its last authenticated call.
    pub last_seen: Option<i64>,
    /// Server clock − device clock at `last_sync`, ms.
    pub clock_skew_ms: Option<i64>,
    /// Documents it last reported holding unsent; `None`: unknown (an older app, or no sync
    /// since the server records it).
    pub unsent: Option<u32>,
}

/// The SQL condition (on `p`) and its parameters that keep problems inside `scope`.
fn scope_sql(scope: &Scope) -> (String, Vec<Value>) {
    fn json(ids: impl Iterator<Item = String>) -> Value {
        Value::Text(serde_json::Value::from(ids.collect::<Vec<_>>()).to_string())
    }
    match scope {
        Scope::All => ("1 = 1".into(), Vec::new()),
        Scope::Enterprises(set) => (
            "p.enterprise IN (SELECT value FROM json_each(?))".into(),
            vec![json(set.iter().map(ToString::to_string))],
        ),
        Scope::Grants {
            enterprises, docs, ..
        } => (
            "(p.enterprise IN (SELECT value FROM json_each(?)) \
              OR p.id IN (SELECT value FROM json_each(?)))"
                .into(),
            vec![
                json(enterprises.iter().map(ToString::to_string)),
                json(
                    docs.iter()
                        .filter(|d| d.kind() == DocKind::Problem)
                        .map(|d| d.root_id().to_string()),
                ),
            ],
        ),
    }
}

const ROW_SELECT: &str = "SELECT p.id, p.enterprise, coalesce(e.name, ''), e.town, p.state, \
     p.category, p.tier, p.source, p.deadline, p.owner, coalesce(u.name, ''), p.created_at, \
     p.rating, (SELECT group_concat(pu.unit || char(31) || coalesce(o.name, ''), char(30)) \
     FROM problem_units pu LEFT JOIN org_units o ON o.id = pu.unit WHERE pu.problem = p.id) \
     FROM problems p LEFT JOIN enterprises e ON e.id = p.enterprise \
     LEFT JOIN users u ON u.id = p.owner";

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "problems",
        detail,
    }
}

impl SqliteStore {
    /// One page of the problems inside `scope` that pass `filter`, with overdue status and
    /// flag as of `now` under `config`'s rule table.
    pub fn list_problems(
        &self,
        scope: &Scope,
        filter: &ProblemFilter,
        config: &Config,
        now: Timestamp,
    ) -> Result<ProblemPage, StoreError> {
        let (scope_cond, mut params) = scope_sql(scope);
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
                "SELECT p.id, p.state, p.deadline, p.rating {from} WHERE {cond} ORDER BY {order}"
            );
            let mut all = params.clone();
            all.extend(order_params);
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(all))?;
            let mut kept = Vec::new();
            while let Some(r) = rows.next()? {
                let state: String = r.get(1)?;
                let state = ProblemState::from_code(&state).map_err(|e| corrupt(e.to_string()))?;
                let rating: Option<i64> = r.get(3)?;
                let rating = rating.and_then(|n| u8::try_from(n).ok());
                let (_, _, f) = flag_of(config, state, Timestamp(r.get(2)?), rating, now);
                if f == flag {
                    kept.push(r.get::<_, String>(0)?);
                }
            }
            let total = kept.len() as u64;
            let page: Vec<String> = kept
                .into_iter()
                .skip(usize::try_from(filter.offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .collect();
            let rows = self.rows_in_order(page, config, now)?;
            return Ok(ProblemPage {
                total,
                offset: filter.offset,
                limit,
                rows,
            });
        }

        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) {from} WHERE {cond}"),
            params_from_iter(params.iter()),
            |r| r.get(0),
        )?;
        // The page's ids first, so the joins and handling units are read for its rows only
        // (a sorter would otherwise carry every column of every skipped row).
        let mut all = params;
        all.extend(order_params);
        all.push(Value::Integer(i64::from(limit)));
        all.push(Value::Integer(
            i64::try_from(filter.offset).unwrap_or(i64::MAX),
        ));
        let sql = format!("SELECT p.id {from} WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?");
        let page: Vec<String> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(all), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let rows = self.rows_in_order(page, config, now)?;
        Ok(ProblemPage {
            total: total.max(0) as u64,
            offset: filter.offset,
            limit,
            rows,
        })
    }

    /// The list rows of `ids`, in that order.
    fn rows_in_order(
        &self,
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
        let mut rows = self.problem_rows(
            "p.id IN (SELECT value FROM json_each(?))",
            vec![ids],
            "p.id",
            config,
            now,
        )?;
        rows.sort_by_key(|r| position.get(&r.id).copied().unwrap_or(usize::MAX));
        Ok(rows)
    }

    fn problem_rows(
        &self,
        cond: &str,
        params: Vec<Value>,
        order: &str,
        config: &Config,
        now: Timestamp,
    ) -> Result<Vec<ProblemListRow>, StoreError> {
        let sql = format!("{ROW_SELECT} WHERE {cond} ORDER BY {order}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let state: String = r.get(4)?;
            let state = ProblemState::from_code(&state).map_err(|e| corrupt(e.to_string()))?;
            let deadline: i64 = r.get(8)?;
            let rating: Option<i64> = r.get(12)?;
            let rating = rating.and_then(|n| u8::try_from(n).ok());
            let (overdue, days_overdue, flag) =
                flag_of(config, state, Timestamp(deadline), rating, now);
            let units: Option<String> = r.get(13)?;
            let mut handling_units: Vec<UnitRef> = units
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
                id: r.get(0)?,
                enterprise: r.get(1)?,
                enterprise_name: r.get(2)?,
                town: r.get(3)?,
                state,
                category: r.get(5)?,
                tier: r.get(6)?,
                source: r.get(7)?,
                deadline,
                overdue,
                days_overdue,
                flag,
                owner: r.get(9)?,
                owner_name: r.get(10)?,
                handling_units,
                created_at: r.get(11)?,
                rating,
            });
        }
        Ok(out)
    }

    /// The timeline of `enterprise` as far as `scope` reaches, or `None` when the caller may
    /// read nothing of it (the same answer as for an enterprise that does not exist).
    pub fn enterprise_timeline(
        &self,
        enterprise: EnterpriseId,
        scope: &Scope,
    ) -> Result<Option<Timeline>, StoreError> {
        let key = enterprise.to_string();
        let profile_allowed = scope.allows(&DocId::new(DocKind::Enterprise, &key), &enterprise);
        let profile = if profile_allowed {
            self.conn
                .prepare_cached(
                    "SELECT id, credit_code, name, address, town, industry, size, key_enterprise \
                     FROM enterprises WHERE id = ?1",
                )?
                .query_map([&key], |r| {
                    Ok(EnterpriseProfile {
                        id: r.get(0)?,
                        credit_code: r.get(1)?,
                        name: r.get(2)?,
                        address: r.get(3)?,
                        town: r.get(4)?,
                        industry: r.get(5)?,
                        size: r.get(6)?,
                        key_enterprise: r.get::<_, i64>(7)? != 0,
                    })
                })?
                .next()
                .transpose()?
        } else {
            None
        };
        let mut entries = Vec::new();
        for v in self.visit_rows_for(enterprise)? {
            if !scope.allows(&DocId::new(DocKind::Visit, &v.id), &enterprise) {
                continue;
            }
            entries.push(TimelineEntry {
                at: v.device_time,
                kind: "visit".into(),
                record: v.id.clone(),
                problem: None,
                by: v.created_by.clone(),
                action: v.method.clone(),
                text: v.notes.clone(),
                applied: None,
            });
        }
        let mut problems = Vec::new();
        let found: Vec<TimelineProblem> = self
            .conn
            .prepare_cached(
                "SELECT id, state, category, deadline, created_at, description, created_by \
                 FROM problems WHERE enterprise = ?1 ORDER BY created_at, id",
            )?
            .query_map([&key], |r| {
                Ok((
                    TimelineProblem {
                        id: r.get(0)?,
                        state: r.get(1)?,
                        category: r.get(2)?,
                        deadline: r.get(3)?,
                        created_at: r.get(4)?,
                        description: r.get(5)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            })?
            .filter_map(|row| match row {
                Ok((p, by)) => {
                    if scope.allows(&DocId::new(DocKind::Problem, &p.id), &enterprise) {
                        Some(Ok((p, by)))
                    } else {
                        None
                    }
                }
                Err(e) => Some(Err(e)),
            })
            .map(|row| {
                row.map(|(p, by)| {
                    entries.push(TimelineEntry {
                        at: p.created_at,
                        kind: "problem_created".into(),
                        record: p.id.clone(),
                        problem: Some(p.id.clone()),
                        by,
                        action: p.category.clone(),
                        text: p.description.clone(),
                        applied: None,
                    });
                    p
                })
            })
            .collect::<Result<_, _>>()?;
        let mut events = self.conn.prepare_cached(
            "SELECT id, action, \"by\", at, reason, applied FROM problem_events WHERE problem = ?1",
        )?;
        let mut progress = self
            .conn
            .prepare_cached("SELECT id, kind, text, \"by\", at FROM progress WHERE problem = ?1")?;
        let mut ratings = self
            .conn
            .prepare_cached("SELECT level, comment, \"by\", at FROM ratings WHERE problem = ?1")?;
        for p in found {
            let pid = Some(p.id.clone());
            for e in events.query_map([&p.id], |r| {
                Ok(TimelineEntry {
                    record: r.get(0)?,
                    action: r.get(1)?,
                    by: r.get(2)?,
                    at: r.get(3)?,
                    text: r.get(4)?,
                    applied: Some(r.get::<_, i64>(5)? != 0),
                    kind: "event".into(),
                    problem: pid.clone(),
                })
            })? {
                entries.push(e?);
            }
            for e in progress.query_map([&p.id], |r| {
                Ok(TimelineEntry {
                    record: r.get(0)?,
                    kind: r.get(1)?,
                    text: r.get(2)?,
                    by: r.get(3)?,
                    at: r.get(4)?,
                    action: String::new(),
                    applied: None,
                    problem: pid.clone(),
                })
            })? {
                entries.push(e?);
            }
            for e in ratings.query_map([&p.id], |r| {
                Ok(TimelineEntry {
                    action: r.get::<_, i64>(0)?.to_string(),
                    text: r.get(1)?,
                    by: r.get(2)?,
                    at: r.get(3)?,
                    record: p.id.clone(),
                    kind: "rating".into(),
                    applied: None,
                    problem: pid.clone(),
                })
            })? {
                entries.push(e?);
            }
            problems.push(p);
        }
        if profile.is_none() && entries.is_empty() {
            return Ok(None);
        }
        entries.sort_by(|a, b| {
            (a.at, &a.kind, &a.record, &a.problem).cmp(&(b.at, &b.kind, &b.record, &b.problem))
        });
        Ok(Some(Timeline {
            profile,
            problems,
            entries,
        }))
    }

    /// Data freshness of every officer whose org unit is in `units` (`None`: every officer).
    pub fn officer_freshness(
        &self,
        units: Option<&BTreeSet<OrgUnitId>>,
    ) -> Result<Vec<OfficerFreshness>, StoreError> {
        let (cond, mut params) = match units {
            None => ("1 = 1", Vec::new()),
            Some(set) => (
                "u.org_unit IN (SELECT value FROM json_each(?))",
                vec![Value::Text(
                    serde_json::Value::from(
                        set.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    )
                    .to_string(),
                )],
            ),
        };
        params.insert(0, Value::Text(Role::Officer.code().into()));
        let sql = format!(
            "SELECT u.id, u.name, u.org_unit, d.id, d.last_seen, s.last_seen, s.last_device_time, \
             d.name, o.unsent \
             FROM users u LEFT JOIN devices d ON d.user = u.id AND d.revoked_at IS NULL \
             LEFT JOIN device_sync s ON s.device = d.id \
             LEFT JOIN device_outbox o ON o.device = d.id \
             WHERE u.role = ? AND u.disabled = 0 AND {cond} \
             ORDER BY u.name, u.id, d.last_seen DESC, d.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut out: Vec<OfficerFreshness> = Vec::new();
        while let Some(r) = rows.next()? {
            let user: String = r.get(0)?;
            if out.last().is_none_or(|o| o.user != user) {
                out.push(OfficerFreshness {
                    user: user.clone(),
                    name: r.get(1)?,
                    org_unit: r.get(2)?,
                    devices: 0,
                    last_sync: None,
                    last_seen: None,
                    clock_skew_ms: None,
                    unsent: None,
                    unsent_unknown: 0,
                    device_detail: Vec::new(),
                });
            }
            let Some(o) = out.last_mut() else { continue };
            let Some(device) = r.get::<_, Option<String>>(3)? else {
                continue;
            };
            o.devices += 1;
            let seen: Option<i64> = r.get(4)?;
            o.last_seen = o.last_seen.max(seen);
            let synced: Option<i64> = r.get(5)?;
            let device_time: Option<i64> = r.get(6)?;
            let skew = synced.zip(device_time).map(|(s, t)| s - t);
            if let (Some(s), Some(skew)) = (synced, skew)
                && o.last_sync.is_none_or(|l| s > l)
            {
                o.last_sync = Some(s);
                o.clock_skew_ms = Some(skew);
            }
            let unsent = r
                .get::<_, Option<i64>>(8)?
                .and_then(|n| u32::try_from(n).ok());
            match unsent {
                Some(n) => o.unsent = Some(o.unsent.unwrap_or(0) + u64::from(n)),
                None => o.unsent_unknown += 1,
            }
            o.device_detail.push(DeviceFreshness {
                device,
                name: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                last_sync: synced,
                last_seen: seen,
                clock_skew_ms: skew,
                unsent,
            });
        }
        Ok(out)
    }

    /// Records what `device` reported of its outbox in a sync request at `at`
    /// ([`OfficerFreshness::unsent`]; `None` from an app older than protocol version 2).
    /// Writes only when the number differs from the one stored, so an idle device's periodic
    /// sync costs no write.
    pub fn record_unsent(
        &mut self,
        device: &str,
        unsent: Option<u32>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let stored: Option<Option<i64>> = self
            .conn
            .prepare_cached("SELECT unsent FROM device_outbox WHERE device = ?1")?
            .query_row([device], |r| r.get(0))
            .optional()?;
        let unsent = unsent.map(i64::from);
        if stored == Some(unsent) {
            return Ok(());
        }
        self.conn
            .prepare_cached(
                "INSERT INTO device_outbox (device, unsent, changed_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (device) DO UPDATE SET unsent = excluded.unsent, \
                 changed_at = excluded.changed_at",
            )?
            .execute(rusqlite::params![device, unsent, at.0])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use shared::config::Config;
    use shared::derive::{Derived, derive};
    use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc};
    use shared::model::{
        EnterpriseId, Flag, OrgUnitId, OrgUnitKind, Problem, ProblemState, Timestamp,
    };
    use shared::sync::validate::Scope;

    use super::*;
    use crate::demo::DemoDistrict;
    use crate::store::Unit;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    /// Every problem of the district with what `shared::derive` says of it at `NOW`, and each
    /// enterprise's town — straight from the documents, independently of SQL.
    fn documents(d: &DemoDistrict) -> (Vec<(Problem, Derived)>, BTreeMap<EnterpriseId, OrgUnitId>) {
        let config = Config::default();
        let mut problems = Vec::new();
        let mut towns = BTreeMap::new();
        for (id, doc) in &d.documents {
            match id.kind() {
                DocKind::Problem => {
                    let p = ProblemDoc::from_record(doc.clone())
                        .expect("problem")
                        .read()
                        .expect("reads");
                    let derived = derive(&p, &config, NOW);
                    problems.push((p, derived));
                }
                DocKind::Enterprise => {
                    let e = EnterpriseDoc::from_record(doc.clone())
                        .expect("enterprise")
                        .read()
                        .expect("reads");
                    towns.insert(e.id, e.town);
                }
                _ => {}
            }
        }
        (problems, towns)
    }

    fn all(filter: ProblemFilter) -> ProblemFilter {
        ProblemFilter {
            limit: MAX_PAGE,
            ..filter
        }
    }

    fn ids(page: &ProblemPage) -> BTreeSet<String> {
        page.rows.iter().map(|r| r.id.clone()).collect()
    }

    fn expect_ids<'a>(it: impl Iterator<Item = &'a (Problem, Derived)>) -> BTreeSet<String> {
        it.map(|(p, _)| p.id.to_string()).collect()
    }

    #[test]
    fn filters_match_what_the_documents_say() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (problems, towns) = documents(&district);
        let list = |f: ProblemFilter| {
            store
                .list_problems(&Scope::All, &all(f), &config, NOW)
                .expect("lists")
        };

        let everything = list(ProblemFilter::default());
        assert_eq!(everything.total as usize, problems.len());
        assert!(problems.len() <= MAX_PAGE as usize);
        for row in &everything.rows {
            let (p, d) = problems
                .iter()
                .find(|(p, _)| p.id.to_string() == row.id)
                .expect("a document behind every row");
            assert_eq!(row.state, d.outcome.state, "{}", row.id);
            assert_eq!(row.deadline, d.outcome.deadline.0, "{}", row.id);
            assert_eq!(row.overdue, d.overdue, "{}", row.id);
            assert_eq!(row.days_overdue, d.days_overdue, "{}", row.id);
            assert_eq!(row.flag, d.flag, "{}", row.id);
            let units: BTreeSet<String> = p.handling_units.iter().map(|u| u.to_string()).collect();
            let got: BTreeSet<String> = row.handling_units.iter().map(|u| u.id.clone()).collect();
            assert_eq!(got, units, "{}", row.id);
            assert!(!row.enterprise_name.is_empty());
            assert!(!row.owner_name.is_empty(), "{}", row.id);
        }

        for flag in [Flag::Red, Flag::Green, Flag::Black] {
            let page = list(ProblemFilter {
                flag: Some(flag),
                ..Default::default()
            });
            let want = expect_ids(problems.iter().filter(|(_, d)| d.flag == flag));
            assert_eq!(ids(&page), want, "{flag:?}");
            assert_eq!(page.total as usize, want.len());
        }
        assert!(
            problems.iter().any(|(_, d)| d.flag == Flag::Black),
            "the demo has black flags"
        );

        for overdue in [true, false] {
            let page = list(ProblemFilter {
                overdue: Some(overdue),
                ..Default::default()
            });
            let want = expect_ids(problems.iter().filter(|(_, d)| d.overdue == overdue));
            assert_eq!(ids(&page), want, "overdue {overdue}");
        }
        assert!(
            problems.iter().any(|(_, d)| d.overdue),
            "the demo has overdue problems"
        );

        let states = vec![ProblemState::Assigned, ProblemState::InProgress];
        let page = list(ProblemFilter {
            states: states.clone(),
            ..Default::default()
        });
        let want = expect_ids(
            problems
                .iter()
                .filter(|(_, d)| states.contains(&d.outcome.state)),
        );
        assert!(!want.is_empty());
        assert_eq!(ids(&page), want);

        let town = district
            .org_units
            .iter()
            .find(|u| u.kind == OrgUnitKind::Town)
            .expect("a town")
            .id;
        let category = problems[0].0.category.clone();
        let page = list(ProblemFilter {
            town: Some(town),
            category: Some(category.clone()),
            ..Default::default()
        });
        let want =
            expect_ids(problems.iter().filter(|(p, _)| {
                towns.get(&p.enterprise) == Some(&town) && p.category == category
            }));
        assert_eq!(ids(&page), want);

        let dept = district
            .org_units
            .iter()
            .find(|u| u.kind == OrgUnitKind::Department)
            .expect("a department")
            .id;
        let from = Timestamp(NOW.0 - 30 * shared::model::DAY_MS);
        let page = list(ProblemFilter {
            department: Some(dept),
            created_from: Some(from),
            ..Default::default()
        });
        let want = expect_ids(
            problems
                .iter()
                .filter(|(p, _)| p.handling_units.contains(&dept) && p.created.at >= from),
        );
        assert!(!want.is_empty());
        assert_eq!(ids(&page), want);
    }

    #[test]
    fn pages_follow_the_order_without_gaps_or_repeats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (problems, _) = documents(&district);
        for (sort, desc) in [
            (ProblemSort::Deadline, false),
            (ProblemSort::Created, true),
            (ProblemSort::DaysOverdue, true),
        ] {
            for flag in [None, Some(Flag::Red)] {
                let mut seen = Vec::new();
                let mut offset = 0;
                loop {
                    let page = store
                        .list_problems(
                            &Scope::All,
                            &ProblemFilter {
                                sort,
                                desc,
                                flag,
                                limit: 7,
                                offset,
                                ..Default::default()
                            },
                            &config,
                            NOW,
                        )
                        .expect("lists");
                    assert!(page.rows.len() <= 7);
                    if page.rows.is_empty() {
                        break;
                    }
                    offset += page.rows.len() as u64;
                    seen.extend(page.rows);
                }
                let n = problems
                    .iter()
                    .filter(|(_, d)| flag.is_none_or(|f| d.flag == f))
                    .count();
                assert_eq!(seen.len(), n, "{sort:?} {flag:?}");
                let key = |r: &ProblemListRow| match sort {
                    ProblemSort::Deadline => (r.deadline, 0),
                    ProblemSort::Created => (r.created_at, 0),
                    ProblemSort::DaysOverdue => {
                        (if r.overdue { NOW.0 - r.deadline } else { 0 }, r.deadline)
                    }
                };
                for w in seen.windows(2) {
                    let (a, b) = ((key(&w[0]), &w[0].id), (key(&w[1]), &w[1].id));
                    if desc {
                        assert!(a > b, "{sort:?}: {a:?} before {b:?}");
                    } else {
                        assert!(a < b, "{sort:?}: {a:?} before {b:?}");
                    }
                }
            }
        }
    }

    /// Adds a workflow event row to the projection, as a sync of a problem document would.
    fn add_event(store: &SqliteStore, problem: &str, n: u32, action: &str, at: i64, applied: bool) {
        store
            .conn
            .execute(
                "INSERT INTO problem_events (id, problem, action, \"by\", device, role, at, \
                 reason, applied) VALUES (?1, ?2, ?3, 'u', 'd', 'officer', ?4, '', ?5)",
                rusqlite::params![format!("extra-{n}"), problem, action, at, applied],
            )
            .expect("event row");
    }

    #[test]
    fn the_kpi_lists_count_what_the_kpis_count_even_on_histories_the_demo_lacks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (from, to) = (Timestamp(NOW.0 - 60 * shared::model::DAY_MS), NOW);
        let id = |sql: &str| -> String {
            store
                .conn
                .query_row(sql, [from.0], |r| r.get(0))
                .expect("the demo has such a problem")
        };
        // Answered on time, then answered again long after the deadline (after a reopen):
        // on time by its first answer.
        let twice = id(
            "SELECT p.id FROM problems p JOIN problem_events e ON e.problem = p.id \
             WHERE e.applied = 1 AND e.action = 'respond' AND p.created_at >= ?1 \
             GROUP BY p.id HAVING MIN(e.at) <= p.deadline ORDER BY p.id LIMIT 1",
        );
        let deadline: i64 = store
            .conn
            .query_row(
                "SELECT deadline FROM problems WHERE id = ?1",
                [&twice],
                |r| r.get(0),
            )
            .expect("deadline");
        add_event(&store, &twice, 1, "respond", deadline + 1, true);
        // Never answered, but a superseded (not applied) answer and sign-off are on record.
        let unanswered = id("SELECT id FROM problems WHERE state = 'in_progress' \
             AND created_at >= ?1 ORDER BY id LIMIT 1");
        add_event(&store, &unanswered, 2, "respond", from.0 + 1, false);
        add_event(&store, &unanswered, 3, "sign_off", from.0 + 2, false);
        // A superseded look-back in the period, and a passed one before it.
        let looked = id("SELECT id FROM problems WHERE state = 'signed_off' \
             AND created_at >= ?1 ORDER BY id LIMIT 1");
        add_event(&store, &looked, 4, "look_back_reopen", from.0 + 3, false);
        add_event(&store, &looked, 5, "look_back_pass", from.0 - 1, true);

        let town = district
            .org_units
            .iter()
            .find(|u| u.kind == OrgUnitKind::Town)
            .expect("a town")
            .id;
        for (unit, town) in [(Unit::Zone, None), (Unit::Town(town), Some(town))] {
            let kpis = store.kpis(unit, from, to, NOW).expect("kpis");
            let count = |f: ProblemFilter| {
                store
                    .list_problems(&Scope::All, &all(ProblemFilter { town, ..f }), &config, NOW)
                    .expect("lists")
                    .total
            };
            let raised = || ProblemFilter {
                states: ProblemState::ALL
                    .iter()
                    .copied()
                    .filter(|s| {
                        !matches!(s, ProblemState::Withdrawn | ProblemState::MergedDuplicate)
                    })
                    .collect(),
                created_from: Some(from),
                created_to: Some(to),
                ..Default::default()
            };
            let look_backs = |l: LookBack| ProblemFilter {
                look_back: vec![l],
                event_from: Some(from),
                event_to: Some(to),
                ..Default::default()
            };
            let pairs = [
                ("problems", count(raised()), kpis.problems),
                (
                    "answered",
                    count(ProblemFilter {
                        answered: Some(true),
                        ..raised()
                    }),
                    kpis.answered,
                ),
                (
                    "on_time",
                    count(ProblemFilter {
                        on_time: Some(true),
                        ..raised()
                    }),
                    kpis.on_time,
                ),
                (
                    "rated",
                    count(ProblemFilter {
                        rated: Some(true),
                        ..raised()
                    }),
                    kpis.rated,
                ),
                (
                    "satisfied",
                    count(ProblemFilter {
                        satisfied: Some(true),
                        ..raised()
                    }),
                    kpis.satisfied,
                ),
                (
                    "look_backs_passed",
                    count(look_backs(LookBack::Passed)),
                    kpis.look_backs_passed,
                ),
                (
                    "look_backs_reopened",
                    count(look_backs(LookBack::Reopened)),
                    kpis.look_backs_reopened,
                ),
            ];
            for (kpi, listed, counted) in pairs {
                assert_eq!(listed, counted, "{unit:?} {kpi}: {kpis:?}");
            }
            // The sign-off time is measured over the problems with an applied sign-off.
            let signed = store
                .list_problems(
                    &Scope::All,
                    &ProblemFilter {
                        signed_off: Some(true),
                        limit: MAX_PAGE,
                        town,
                        ..raised()
                    },
                    &config,
                    NOW,
                )
                .expect("lists");
            assert!(signed.total <= u64::from(MAX_PAGE));
            let hours: Vec<f64> = signed
                .rows
                .iter()
                .map(|r| {
                    let at: i64 = store
                        .conn
                        .query_row(
                            "SELECT MIN(at) FROM problem_events WHERE problem = ?1 \
                             AND applied = 1 AND action = 'sign_off'",
                            [&r.id],
                            |row| row.get(0),
                        )
                        .expect("a sign-off");
                    (at - r.created_at) as f64 / 3_600_000.0
                })
                .collect();
            let mut sorted = hours.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted
                .get(sorted.len().div_ceil(2).saturating_sub(1))
                .copied();
            assert_eq!(
                kpis.sign_off_hours.map(|(m, _)| m),
                median,
                "{unit:?}: the sign-off median is over the signed_off list"
            );
        }
    }

    #[test]
    fn a_scope_keeps_other_enterprises_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let config = Config::default();
        let (problems, towns) = documents(&district);
        let town = district
            .org_units
            .iter()
            .find(|u| u.kind == OrgUnitKind::Town)
            .expect("a town")
            .id;
        let mine: BTreeSet<EnterpriseId> = towns
            .iter()
            .filter(|(_, t)| **t == town)
            .map(|(e, _)| *e)
            .collect();
        let page = store
            .list_problems(
                &Scope::Enterprises(mine.clone()),
                &all(ProblemFilter::default()),
                &config,
                NOW,
            )
            .expect("lists");
        let want = expect_ids(
            problems
                .iter()
                .filter(|(p, _)| mine.contains(&p.enterprise)),
        );
        assert!(!want.is_empty() && want.len() < problems.len());
        assert_eq!(ids(&page), want);
        // Asking for another town inside that scope finds nothing.
        let other = towns.values().find(|t| **t != town).copied();
        let page = store
            .list_problems(
                &Scope::Enterprises(mine),
                &all(ProblemFilter {
                    town: other,
                    ..Default::default()
                }),
                &config,
                NOW,
            )
            .expect("lists");
        assert_eq!(page.total, 0);
        assert!(page.rows.is_empty());
    }

    #[test]
    fn a_timeline_is_in_time_order_and_respects_the_scope() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, district) = demo_store(dir.path(), NOW);
        let (problems, _) = documents(&district);
        // The enterprise with the most problems.
        let mut count: BTreeMap<EnterpriseId, usize> = BTreeMap::new();
        for (p, _) in &problems {
            *count.entry(p.enterprise).or_default() += 1;
        }
        let (&enterprise, _) = count.iter().max_by_key(|(_, n)| **n).expect("problems");
        let t = store
            .enterprise_timeline(enterprise, &Scope::All)
            .expect("reads")
            .expect("visible");
        assert!(t.profile.is_some());
        let mine: Vec<&Problem> = problems
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.enterprise == enterprise)
            .collect();
        assert_eq!(t.problems.len(), mine.len());
        let events: usize = mine.iter().map(|p| p.events.len()).sum();
        let logs: usize = mine
            .iter()
            .map(|p| p.progress.len() + p.supervision.len() + usize::from(p.rating.is_some()))
            .sum();
        let visits = t.entries.iter().filter(|e| e.kind == "visit").count();
        assert!(visits > 0);
        assert_eq!(t.entries.len(), visits + mine.len() + events + logs);
        assert!(t.entries.windows(2).all(|w| w[0].at <= w[1].at));

        // Outside the scope it is exactly as missing as an unknown enterprise.
        let outside = store
            .enterprise_timeline(enterprise, &Scope::none())
            .expect("reads");
        assert!(outside.is_none());
        let unknown = EnterpriseId::from_random_bytes([7; 16]);
        assert!(
            store
                .enterprise_timeline(unknown, &Scope::All)
                .expect("reads")
                .is_none()
        );
    }

    #[test]
    fn an_officers_changes_on_device_sum_what_each_device_last_reported() {
        // Setup: one officer of the demo district with three devices — two on the current
        // app, one on the app before sync protocol version 2.
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, district) = demo_store(dir.path(), NOW);
        let officer = district
            .users
            .iter()
            .find(|u| u.user.role == Role::Officer)
            .expect("an officer");
        let id = officer.user.id.to_string();
        for (n, device) in ["phone", "tablet", "old"].into_iter().enumerate() {
            store
                .conn
                .execute(
                    "INSERT INTO devices (id, user, name, actor_id, registered_at, last_seen) \
                     VALUES (?1, ?2, ?1, ?3, 0, ?4)",
                    rusqlite::params![device, id, format!("{n:032x}"), n as i64],
                )
                .expect("device");
        }
        let row = |store: &SqliteStore| {
            store
                .officer_freshness(None)
                .expect("reads")
                .into_iter()
                .find(|o| o.user == id)
                .expect("the officer's row")
        };
        assert_eq!(row(&store).unsent, None, "nothing reported yet: unknown");

        store
            .record_unsent("phone", Some(3), Timestamp(10))
            .expect("records");
        store
            .record_unsent("tablet", Some(4), Timestamp(11))
            .expect("records");
        store
            .record_unsent("old", None, Timestamp(12))
            .expect("records");
        let o = row(&store);
        assert_eq!((o.unsent, o.unsent_unknown), (Some(7), 1));
        let detail: Vec<(&str, Option<u32>)> = o
            .device_detail
            .iter()
            .map(|d| (d.device.as_str(), d.unsent))
            .collect();
        assert_eq!(
            detail,
            [("old", None), ("tablet", Some(4)), ("phone", Some(3))],
            "most recently seen first"
        );

        // The phone's full sync reports 0; reporting the same number again writes nothing.
        store
            .record_unsent("phone", Some(0), Timestamp(20))
            .expect("records");
        store
            .record_unsent("phone", Some(0), Timestamp(30))
            .expect("records");
        assert_eq!(row(&store).unsent, Some(4));
        let changed_at: i64 = store
            .conn
            .query_row(
                "SELECT changed_at FROM device_outbox WHERE device = 'phone'",
                [],
                |r| r.get(0),
            )
            .expect("a row");
        assert_eq!(changed_at, 20);
    }
}
