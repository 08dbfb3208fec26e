//! The officer's to-do, by scenario: one officer's problems in the states that make each kind
//! of item, and those that make none.

use super::*;
use crate::derive::initial_deadline;
use crate::doc::{ActorId, NewProblem, ProblemDoc};
use crate::model::{
    Actor, Addressee, DAY_MS, DeviceId, EntryId, ProblemClass, ProblemId, ProblemSource, Rating,
    RatingChannel, Role, Tier,
};
use crate::test_support::officer;
use crate::workflow::Action;

const START: Timestamp = Timestamp(20_000 * DAY_MS);

fn me() -> Officer {
    Officer {
        user: officer().user,
        unit: OrgUnitId::from_random_bytes([40; 16]),
    }
}

fn leader() -> Actor {
    Actor {
        user: UserId::from_random_bytes([30; 16]),
        device: DeviceId::from_random_bytes([31; 16]),
        role: Role::Leader,
    }
}

fn id(n: u8, k: u8) -> EntryId {
    EntryId::from_random_bytes([n, k, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
}

/// A department-tier problem created at `created` (7 days to its deadline), owned by `owner`.
fn problem(n: u8, owner: UserId, created: Timestamp) -> ProblemDoc {
    problem_of_tier(n, owner, created, Tier::Department)
}

fn problem_of_tier(n: u8, owner: UserId, created: Timestamp, tier: Tier) -> ProblemDoc {
    let config = Config::default();
    let new = NewProblem {
        id: ProblemId::from_random_bytes([n; 16]),
        enterprise: EnterpriseId::from_random_bytes([9; 16]),
        visit: None,
        source: ProblemSource::Visit,
        category: "land".into(),
        class: ProblemClass::B,
        tier,
        owner,
        leader: None,
        deadline: initial_deadline(&config, tier, created),
        description: format!("问题 {n}"),
        expectation: String::new(),
    };
    ProblemDoc::create(&new, &config, &officer(), ActorId::from([n; 16]), created).expect("created")
}

fn resolved_on_site(n: u8, at: Timestamp) -> ProblemDoc {
    let mut doc = problem_of_tier(n, officer().user, at, Tier::OnSite);
    doc.edit(&Config::default(), &officer(), at, |e| {
        e.set_response("已解决")
    })
    .expect("response");
    doc.act(&officer(), at, id(n, 1), Action::ResolveOnSite, "")
        .expect("resolved");
    doc
}

fn kinds(items: &[TodoItem]) -> Vec<(u8, TodoKind)> {
    items
        .iter()
        .map(|i| {
            let n = ProblemId::parse(i.record.root_id())
                .map(|p| p.to_string())
                .unwrap_or_default();
            let first = (0..=255u8)
                .find(|k| ProblemId::from_random_bytes([*k; 16]).to_string() == n)
                .unwrap_or(0);
            (first, i.kind)
        })
        .collect()
}

#[test]
fn an_officers_todo_lists_what_they_must_act_on_and_nothing_else() {
    let config = Config::default();
    let now = START.plus_days(30);
    let someone_else = UserId::from_random_bytes([50; 16]);
    let mut supervised = problem(6, someone_else, now);
    supervised
        .edit(&config, &leader(), now, |e| {
            e.supervise(
                id(6, 1),
                "请包联干部配合",
                Addressee::Person(me().user),
                now.plus_days(2),
            )?;
            e.supervise(
                id(6, 2),
                "已签收的一条",
                Addressee::Unit(me().unit),
                now.plus_days(2),
            )?;
            e.supervise(
                id(6, 3),
                "给别人的",
                Addressee::Person(someone_else),
                now.plus_days(2),
            )
        })
        .expect("supervised");
    supervised
        .edit(&config, &officer(), now, |e| {
            e.acknowledge_supervision(id(6, 2), id(6, 9))
        })
        .expect("acknowledged");
    let mut rated_badly = resolved_on_site(5, START.plus_days(29));
    rated_badly
        .rate(
            &config,
            &officer(),
            START.plus_days(29),
            id(5, 2),
            Rating::VeryDissatisfied,
            "没解决",
            RatingChannel::Officer,
        )
        .expect("rated");
    let docs = [
        problem(1, officer().user, START), // 7 days: long overdue
        problem(2, officer().user, START.plus_days(24)), // due in 1 day: inside 临期's 2
        problem(3, officer().user, START.plus_days(29)), // due in 6 days
        resolved_on_site(4, START.plus_days(29)), // waits for the enterprise
        rated_badly,                       // revisit
        supervised,                        // one instruction to acknowledge
        problem(7, someone_else, START),   // someone else's, overdue
    ];
    let problems: Vec<_> = docs.iter().map(|d| d.read().expect("read")).collect();
    let refused = [DocId::new(DocKind::Visit, "v1")];
    let items = officer_todo(
        me(),
        &problems,
        &refused,
        &config,
        now,
        config.due_soon_days(),
    );
    assert_eq!(
        kinds(&items),
        vec![
            (1, TodoKind::Overdue),
            (2, TodoKind::DueSoon),
            (4, TodoKind::AwaitingConfirmation),
            // Reopened, it waits for its result again: its on-site deadline is today.
            (5, TodoKind::DueSoon),
            (5, TodoKind::Revisit),
            (6, TodoKind::Supervision),
            (0, TodoKind::Refused),
        ]
    );
    let counts = TodoCounts::of(&items, true);
    assert_eq!((counts.refused, counts.total()), (Some(1), 7));
    assert_eq!(TodoCounts::of(&items, false).refused, None);
}

#[test]
fn a_look_back_counts_once_it_falls_due_and_a_closed_problem_owes_no_supervision() {
    let config = Config::default();
    let signed = START.plus_days(1);
    let mut doc = resolved_on_site(1, signed);
    doc.act(&officer(), signed, id(1, 4), Action::Confirm, "")
        .expect("confirmed");
    doc.act(
        &officer(),
        signed,
        id(1, 2),
        Action::SignOff { waiver: false },
        "",
    )
    .expect("signed off");
    doc.edit(&config, &leader(), signed, |e| {
        e.supervise(
            id(1, 3),
            "回头看要认真",
            Addressee::Person(me().user),
            signed.plus_days(1),
        )
    })
    .expect("supervised");
    let problems = [doc.read().expect("read")];
    let before = START.plus_days(1 + config.follow_up.look_back_days - 1);
    let after = START.plus_days(1 + config.follow_up.look_back_days + 1);
    assert_eq!(
        kinds(&officer_todo(me(), &problems, &[], &config, before, 3)),
        vec![]
    );
    assert_eq!(
        kinds(&officer_todo(me(), &problems, &[], &config, after, 3)),
        vec![(1, TodoKind::LookBack)]
    );
}

#[test]
fn a_handlers_inbox_counts_new_due_and_overdue_and_what_arrived_since_last_seen() {
    let config = Config::default();
    let dept = OrgUnitId::from_random_bytes([60; 16]);
    let other = OrgUnitId::from_random_bytes([61; 16]);
    let hand_out = |doc: &mut ProblemDoc, n: u8, unit: OrgUnitId, at: Timestamp| {
        doc.act(&leader(), at, id(n, 1), Action::Triage, "")
            .expect("triaged");
        doc.act(&leader(), at, id(n, 2), Action::Assign { unit }, "")
            .expect("handed out");
    };
    // Handed out on day 0 (now overdue), day 4 (due in 1 day) and day 6 (to another unit).
    let mut old = problem(1, officer().user, START);
    hand_out(&mut old, 1, dept, START);
    let mut recent = problem(2, officer().user, START.plus_days(4));
    hand_out(&mut recent, 2, dept, START.plus_days(4));
    let mut elsewhere = problem(3, officer().user, START.plus_days(6));
    hand_out(&mut elsewhere, 3, other, START.plus_days(6));
    let problems: Vec<_> = [old, recent, elsewhere]
        .iter()
        .map(|d| d.read().expect("read"))
        .collect();
    let now = START.plus_days(10);
    let seen = Some(START.plus_days(3));
    assert_eq!(
        handler_inbox(dept, &problems, &config, now, config.due_soon_days(), seen),
        InboxCounts {
            new: 2,
            due_soon: 1,
            overdue: 1,
            unseen: 1,
        }
    );
    assert_eq!(
        handler_inbox(dept, &problems, &config, now, config.due_soon_days(), None).unseen,
        2,
        "never looked: everything is unseen"
    );
    let after_both = Some(START.plus_days(6));
    assert_eq!(
        handler_inbox(
            dept,
            &problems,
            &config,
            now,
            config.due_soon_days(),
            after_both
        )
        .unseen,
        0,
        "looked after both arrived"
    );
}

#[test]
fn the_to_do_and_the_inbox_count_due_soon_with_the_districts_due_soon_flag_window() {
    // A problem due in 2 days: outside the default 临期 window (under 2 days), inside a
    // district's 3-day one. The to-do, the inbox and the flag agree in both districts.
    let dept = OrgUnitId::from_random_bytes([60; 16]);
    let now = START.plus_days(30);
    let created = START.plus_days(25);
    let mut doc = problem(1, officer().user, created);
    doc.act(&leader(), created, id(1, 1), Action::Triage, "")
        .expect("triaged");
    doc.act(
        &leader(),
        created,
        id(1, 2),
        Action::Assign { unit: dept },
        "",
    )
    .expect("handed out");
    let problems = [doc.read().expect("read")];
    let mut wider = Config::default();
    for rule in &mut wider.flag_rules {
        if rule.flag == Some(crate::model::Flag::DueSoon) {
            rule.due_within_days = Some(3);
        }
    }
    for (config, expected) in [(Config::default(), false), (wider, true)] {
        let days = config.due_soon_days();
        let todo = officer_todo(me(), &problems, &[], &config, now, days);
        let inbox = handler_inbox(dept, &problems, &config, now, days, None);
        let flag = derive(&problems[0], &config, now).flag;
        assert_eq!(
            (
                todo.iter().any(|i| i.kind == TodoKind::DueSoon),
                inbox.due_soon == 1,
                flag == crate::model::Flag::DueSoon,
            ),
            (expected, expected, expected),
            "window {days} days"
        );
    }
}
