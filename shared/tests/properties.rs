//! Property: replicas that edit offline and merge in any order end identical — same heads, same
//! hydrated records, same workflow outcome — and a saved document loads back unchanged.

mod common;

use common::*;
use proptest::prelude::*;
use shared::config::Config;
use shared::doc::{DocError, ProblemDoc, VisitDoc};
use shared::model::*;
use shared::workflow::{Action, replay};

#[derive(Debug, Clone)]
enum Op {
    Category(usize),
    Class(usize),
    Tier(usize),
    Deadline(i64),
    Description {
        at: usize,
        insert: String,
        delete: usize,
    },
    Response(String),
    Progress(String),
    AddUnit(u8),
    RemoveUnit(u8),
    Act(usize, bool),
    Rate(usize),
    Merge(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..12).prop_map(Op::Category),
        (0usize..4).prop_map(Op::Class),
        (0usize..3).prop_map(Op::Tier),
        (0i64..60).prop_map(Op::Deadline),
        (0usize..40, "[a-z企业用电]{0,6}", 0usize..4)
            .prop_map(|(at, insert, delete)| Op::Description { at, insert, delete }),
        "[a-z已处理]{0,8}".prop_map(Op::Response),
        "[a-z进展]{1,8}".prop_map(Op::Progress),
        (0u8..3).prop_map(Op::AddUnit),
        (0u8..3).prop_map(Op::RemoveUnit),
        (0usize..17, any::<bool>()).prop_map(|(a, r)| Op::Act(a, r)),
        (0usize..5).prop_map(Op::Rate),
        (0usize..5).prop_map(Op::Merge),
    ]
}

fn action(i: usize, problem: &Problem, n: u64) -> Action {
    let unit = OrgUnitId::from_random_bytes(bytes(6, n % 3));
    match i {
        0 => Action::Triage,
        1 => Action::Assign { unit },
        2 => Action::Accept,
        3 => Action::Return,
        4 => Action::Start,
        5 => Action::Respond,
        6 => Action::ResolveOnSite,
        7 => Action::Confirm,
        8 => Action::Dispute,
        9 => Action::SignOff {
            waiver: n.is_multiple_of(2),
        },
        10 => Action::LookBackPass,
        11 => Action::LookBackReopen,
        12 => Action::Extend {
            deadline: Timestamp(problem.deadline.0 + (n as i64 % 5) * DAY),
        },
        13 => Action::Escalate {
            to: problem.tier.next().unwrap_or(Tier::CityLeader),
        },
        14 => Action::MergeDuplicate {
            into: ProblemId::from_random_bytes(bytes(7, 2)),
        },
        15 => Action::Withdraw,
        _ => Action::NotResolvable,
    }
}

fn people(n: usize) -> Vec<Person> {
    let roles = [
        Role::Leader,
        Role::Officer,
        Role::DepartmentHandler,
        Role::Officer,
        Role::Supervisor,
    ];
    (0..n)
        .map(|i| Person::new(10 + i as u8, roles[i]))
        .collect()
}

fn apply(doc: &mut ProblemDoc, who: &Person, op: &Op, n: u64) -> Result<(), DocError> {
    let cfg = Config::default();
    let now = at(n as i64 % 30);
    let result = match op {
        Op::Category(i) => doc.edit(&cfg, &who.actor, now, |e| {
            e.set_category(&cfg.categories[*i].code)
        }),
        Op::Class(i) => doc.edit(&cfg, &who.actor, now, |e| {
            e.set_class(ProblemClass::ALL[*i])
        }),
        Op::Tier(i) => doc.edit(&cfg, &who.actor, now, |e| e.set_tier(Tier::ALL[*i])),
        Op::Deadline(d) => doc.edit(&cfg, &who.actor, now, |e| e.set_deadline(at(*d))),
        Op::Description {
            at: pos,
            insert,
            delete,
        } => {
            let current: Vec<char> = doc.read()?.description.chars().collect();
            let start = (*pos).min(current.len());
            let end = (start + delete).min(current.len());
            let text: String = current[..start]
                .iter()
                .chain(insert.chars().collect::<Vec<_>>().iter())
                .chain(current[end..].iter())
                .collect();
            doc.edit(&cfg, &who.actor, now, |e| e.set_description(&text))
        }
        Op::Response(t) => doc.edit(&cfg, &who.actor, now, |e| e.set_response(t)),
        Op::Progress(t) => doc.edit(&cfg, &who.actor, now, |e| e.add_progress(entry(n), t)),
        Op::AddUnit(u) => doc.edit(&cfg, &who.actor, now, |e| {
            e.add_handling_unit(OrgUnitId::from_random_bytes(bytes(6, u64::from(*u))))
        }),
        Op::RemoveUnit(u) => doc.edit(&cfg, &who.actor, now, |e| {
            e.remove_handling_unit(OrgUnitId::from_random_bytes(bytes(6, u64::from(*u))))
        }),
        Op::Act(i, with_reason) => {
            let problem = doc.read()?;
            let reason = if *with_reason { "理由" } else { "" };
            doc.act(&who.actor, now, entry(n), action(*i, &problem, n), reason)
                .map(|_| ())
        }
        Op::Rate(i) => doc
            .rate(
                &cfg,
                &who.actor,
                now,
                entry(n),
                Rating::ALL[*i],
                "评价",
                shared::model::RatingChannel::Officer,
            )
            .map(|_| ()),
        Op::Merge(_) => Ok(()),
    };
    match result {
        Err(DocError::Refused(_)) => Ok(()),
        other => other,
    }
}

fn assert_identical(replicas: &mut [ProblemDoc]) -> Result<(), TestCaseError> {
    let heads0 = replicas[0].record().heads();
    let read0 = replicas[0]
        .read()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let outcome0 = replay(&read0);
    for r in replicas.iter_mut().skip(1) {
        prop_assert_eq!(&r.record().heads(), &heads0);
        let read = r.read().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&read, &read0);
        prop_assert_eq!(replay(&read), outcome0.clone());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn problem_replicas_converge_whatever_the_edits_and_merge_order(
        n in 2usize..=5,
        ops in prop::collection::vec((0usize..5, op()), 1..40),
        order in Just(()).prop_perturb(|_, mut rng| {
            let mut v: Vec<usize> = (0..5).collect();
            for i in (1..v.len()).rev() { v.swap(i, rng.random_range(0..=i)); }
            v
        }),
    ) {
        let who = people(n);
        let mut origin = problem_by_wang();
        let mut replicas: Vec<ProblemDoc> = who.iter().map(|p| replica(&mut origin, p)).collect();
        for (k, (r, op)) in ops.iter().enumerate() {
            let r = r % n;
            if let Op::Merge(from) = op {
                let from = from % n;
                if from != r {
                    let mut source = replicas[from].clone();
                    replicas[r].record().merge(source.record()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                continue;
            }
            apply(&mut replicas[r], &who[r], op, k as u64 + 1).map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
        }
        // Every replica receives every other one, each in its own random order.
        let snapshots: Vec<ProblemDoc> = replicas.clone();
        for (i, target) in replicas.iter_mut().enumerate() {
            for &j in order.iter().filter(|&&j| j < n && j != i) {
                let mut source = snapshots[j].clone();
                target.record().merge(source.record()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        assert_identical(&mut replicas)?;

        // load(save(doc)) equals doc.
        let bytes = replicas[0].record().save();
        let mut loaded = ProblemDoc::load(&bytes, who[0].actor_id()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(loaded.record().heads(), replicas[0].record().heads());
        prop_assert_eq!(loaded.read().map_err(|e| TestCaseError::fail(e.to_string()))?, replicas[0].read().map_err(|e| TestCaseError::fail(e.to_string()))?);
    }

    #[test]
    fn visit_replicas_converge_and_survive_save_and_load(
        n in 2usize..=5,
        ops in prop::collection::vec((0usize..5, 0usize..5, "[a-z走访记录]{0,6}", 0usize..20), 1..30),
    ) {
        let who = people(n);
        let mut origin = visit_by_wang();
        let bytes0 = origin.record().save();
        let mut replicas: Vec<VisitDoc> = who.iter().map(|p| VisitDoc::load(&bytes0, p.actor_id()).expect("loads")).collect();
        for (k, (r, kind, text, pos)) in ops.iter().enumerate() {
            let r = r % n;
            let actor = who[r].actor;
            let now = at(k as i64);
            let current: Vec<char> = replicas[r].read().map_err(|e| TestCaseError::fail(e.to_string()))?.notes.chars().collect();
            let result = replicas[r].edit(&actor, now, |e| match kind {
                0 => {
                    let p = (*pos).min(current.len());
                    let notes: String = current[..p].iter().copied().chain(text.chars()).chain(current[p..].iter().copied()).collect();
                    e.set_notes(&notes)
                }
                1 => e.add_attendee(if text.is_empty() { "张经理" } else { text }),
                2 => e.remove_attendee(if text.is_empty() { "张经理" } else { text }),
                3 => e.set_operating_status(OperatingStatus::ALL[pos % OperatingStatus::ALL.len()]),
                _ => e.add_officer(actor.user),
            });
            result.map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let snapshots = replicas.clone();
        for (i, target) in replicas.iter_mut().enumerate() {
            for (j, s) in snapshots.iter().enumerate().rev() {
                if i != j {
                    target.record().merge(s.clone().record()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
        }
        let first = replicas[0].read().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let heads = replicas[0].record().heads();
        for r in replicas.iter_mut() {
            prop_assert_eq!(r.record().heads(), heads.clone());
            prop_assert_eq!(r.read().map_err(|e| TestCaseError::fail(e.to_string()))?, first.clone());
        }
        let saved = replicas[0].record().save();
        let loaded = VisitDoc::load(&saved, who[0].actor_id()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(loaded.read().map_err(|e| TestCaseError::fail(e.to_string()))?, first);
    }
}
