//! The problem list behind the leaders' and handlers' screens, in SQL over the projection
//! tables: filtered, sorted and paginated, never a row outside the caller's read [`Scope`];
//! and the SQL pieces the KPI queries share with it (answer, sign-off and look-back actions).
//! An enterprise's timeline is in `timeline`, data freshness in `freshness`.

use std::collections::BTreeMap;

use rusqlite::params_from_iter;
use rusqlite::types::Value;
use shared::config::Config;
use shared::derive::{FlagFacts, flag_of};
use shared::doc::DocKind;
use shared::model::{ProblemState, Timestamp};
use shared::sync::validate::Scope;

use super::{SqliteStore, StoreError};
use crate::api::{MAX_PAGE, ProblemFilter, ProblemListRow, ProblemPage, ProblemSort, UnitRef};

/// States in which a passed deadline makes a problem overdue (`shared::derive::awaiting_result`).
const AWAITING: &str =
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
pub(super) fn scope_sql(scope: &Scope, alias: &str, kind: DocKind) -> (String, Vec<Value>) {
    fn json(ids: impl Iterator<Item = String>) -> Value {
        Value::Text(serde_json::Value::from(ids.collect::<Vec<_>>()).to_string())
    }
    match scope {
        Scope::All => ("1 = 1".into(), Vec::new()),
        Scope::Enterprises(set) => (
            format!("{alias}.enterprise IN (SELECT value FROM json_each(?))"),
            vec![json(set.iter().map(ToString::to_string))],
        ),
        // Profiles-only grants hold no record of this kind (`Scope::allows`).
        Scope::Grants {
            enterprises, docs, ..
        } => (
            format!(
                "({alias}.enterprise IN (SELECT value FROM json_each(?)) \
                 OR {alias}.id IN (SELECT value FROM json_each(?)))"
            ),
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

const ROW_SELECT: &str = "SELECT p.id, p.enterprise, coalesce(e.name, ''), e.town, p.state, \
     p.category, p.tier, p.source, p.deadline, p.owner, coalesce(u.name, ''), p.created_at, \
     p.rating, (SELECT group_concat(pu.unit || char(31) || coalesce(o.name, ''), char(30)) \
     FROM problem_units pu LEFT JOIN org_units o ON o.id = pu.unit WHERE pu.problem = p.id), \
     p.look_back_owed, hv.intact, hv.broken FROM problems p \
     LEFT JOIN enterprises e ON e.id = p.enterprise LEFT JOIN users u ON u.id = p.owner \
     LEFT JOIN history_verdicts hv ON hv.doc_id = 'problem/' || p.id";

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
        let (scope_cond, mut params) = scope_sql(scope, "p", DocKind::Problem);
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
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(all))?;
            let mut kept = Vec::new();
            while let Some(r) = rows.next()? {
                let state: String = r.get(1)?;
                let state = ProblemState::from_code(&state).map_err(|e| corrupt(e.to_string()))?;
                let rating: Option<i64> = r.get(3)?;
                let rating = rating.and_then(|n| u8::try_from(n).ok());
                let facts = FlagFacts {
                    state,
                    deadline: Timestamp(r.get(2)?),
                    rating,
                    look_back_owed: r.get(4)?,
                };
                let (_, _, f) = flag_of(config, facts, now);
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
            let facts = FlagFacts {
                state,
                deadline: Timestamp(deadline),
                rating,
                look_back_owed: r.get(14)?,
            };
            let (overdue, days_overdue, flag) = flag_of(config, facts, now);
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
                history_intact: r.get(15)?,
                history_broken: r.get(16)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use shared::config::Config;
    use shared::derive::Derived;
    use shared::model::{EnterpriseId, Flag, OrgUnitKind, Problem, ProblemState, Timestamp};
    use shared::sync::validate::Scope;

    use super::*;
    use crate::api::{LookBack, Unit};
    use crate::store::test_support::{demo_problems, demo_store};

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

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
        let (problems, towns) = demo_problems(&district, NOW);
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

        for &flag in Flag::ALL {
            let page = list(ProblemFilter {
                flag: Some(flag),
                ..Default::default()
            });
            let want = expect_ids(problems.iter().filter(|(_, d)| d.flag == flag));
            assert_eq!(ids(&page), want, "{flag:?}");
            assert_eq!(page.total as usize, want.len());
        }
        for flag in [Flag::Black, Flag::Green, Flag::Red] {
            assert!(
                problems.iter().any(|(_, d)| d.flag == flag),
                "the demo has {flag:?} flags"
            );
        }

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
        let (problems, _) = demo_problems(&district, NOW);
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
            let kpis = store
                .kpis(unit, from, to, NOW, &Default::default())
                .expect("kpis");
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
        let (problems, towns) = demo_problems(&district, NOW);
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
}
