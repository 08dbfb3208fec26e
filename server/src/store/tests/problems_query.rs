//! The problem list's tests (`store/problems_query.rs`): filters, scopes, sorts and pages over
//! the demo district.

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
    let want = expect_ids(
        problems
            .iter()
            .filter(|(p, _)| towns.get(&p.enterprise) == Some(&town) && p.category == category),
    );
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
                .filter(|s| !matches!(s, ProblemState::Withdrawn | ProblemState::MergedDuplicate))
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

#[test]
fn the_sql_list_of_states_awaiting_a_result_is_the_rule_tables() {
    // What the KPIs, breakdowns and the list count as overdue-able in SQL is exactly the
    // states `shared::derive::awaiting_result` names.
    let in_sql: BTreeSet<String> = AWAITING
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .collect();
    let rule: BTreeSet<String> = ProblemState::ALL
        .iter()
        .filter(|s| shared::derive::awaiting_result(**s))
        .map(|s| s.code().to_string())
        .collect();
    assert_eq!(in_sql, rule);
}
