//! The derivation of reminders from problem states, rule by rule.

use super::*;

const NOW: Timestamp = Timestamp(1_800_000_000_000);
const HOUR: i64 = 3_600_000;
/// The outbox started a week before `NOW`.
const SINCE: Timestamp = Timestamp(NOW.0 - 7 * DAY_MS);

fn problem(state: ProblemState, deadline: Timestamp) -> ProblemFacts {
    ProblemFacts {
        id: "p1".into(),
        state,
        deadline,
        owner: "wang".into(),
        leader: None,
        events: Vec::new(),
        supervision: Vec::new(),
    }
}

fn event(id: &str, action: ActionKind, unit: Option<&str>, at: Timestamp) -> EventFact {
    EventFact {
        id: id.into(),
        action: action.code().into(),
        unit: unit.map(str::to_string),
        at,
    }
}

fn kinds(d: &Derivation) -> Vec<(ReminderKind, Vec<Addressee>)> {
    d.due.iter().map(|o| (o.kind, o.to.clone())).collect()
}

fn user(u: &str) -> Addressee {
    Addressee::User(u.into())
}

fn unit(u: &str) -> Addressee {
    Addressee::Unit(u.into())
}

#[test]
fn a_hand_out_reminds_the_department_it_names_once_per_event() {
    let mut p = problem(ProblemState::Assigned, Timestamp(NOW.0 + 5 * DAY_MS));
    p.events = vec![
        event("e1", ActionKind::Triage, None, Timestamp(NOW.0 - HOUR)),
        event(
            "e2",
            ActionKind::Assign,
            Some("d1"),
            Timestamp(NOW.0 - HOUR),
        ),
    ];
    let d = derive(&p, NOW, SINCE, 30);
    assert_eq!(kinds(&d), vec![(ReminderKind::HandOut, vec![unit("d1")])]);
    assert_eq!(d.due[0].key, "e2");
    assert_eq!(d.due[0].due_at, Timestamp(NOW.0 - HOUR));
}

#[test]
fn events_from_before_the_outbox_started_remind_no_one() {
    let mut p = problem(ProblemState::Assigned, Timestamp(NOW.0 + 5 * DAY_MS));
    p.events = vec![event(
        "e2",
        ActionKind::Assign,
        Some("d1"),
        Timestamp(SINCE.0 - 1),
    )];
    p.supervision = vec![EntryFact {
        id: "s1".into(),
        text: "抓紧".into(),
        at: Timestamp(SINCE.0 - 1),
        to: None,
    }];
    assert_eq!(derive(&p, NOW, SINCE, 30).due, Vec::new());
}

#[test]
fn supervision_goes_to_the_department_holding_the_problem_else_to_the_owner() {
    let mut p = problem(ProblemState::InProgress, Timestamp(NOW.0 + 5 * DAY_MS));
    p.events = vec![
        event(
            "a1",
            ActionKind::Assign,
            Some("d1"),
            Timestamp(NOW.0 - 3 * HOUR),
        ),
        event(
            "a2",
            ActionKind::Assign,
            Some("d2"),
            Timestamp(NOW.0 - 2 * HOUR),
        ),
    ];
    p.supervision = vec![EntryFact {
        id: "s1".into(),
        text: "请本周内办结".into(),
        at: Timestamp(NOW.0 - HOUR),
        to: None,
    }];
    let d = derive(&p, NOW, SINCE, 30);
    let sup: Vec<_> = d
        .due
        .iter()
        .filter(|o| o.kind == ReminderKind::Supervision)
        .collect();
    assert_eq!(sup.len(), 1);
    assert_eq!(sup[0].to, vec![unit("d2")], "the latest hand-out holds it");
    assert_eq!(sup[0].detail.as_deref(), Some("请本周内办结"));

    p.state = ProblemState::Returned;
    let d = derive(&p, NOW, SINCE, 30);
    let sup = d.due.iter().find(|o| o.kind == ReminderKind::Supervision);
    assert_eq!(sup.map(|o| o.to.clone()), Some(vec![user("wang")]));
}

#[test]
fn an_addressed_supervision_instruction_goes_to_its_addressee_not_to_the_holder() {
    let mut p = problem(ProblemState::InProgress, Timestamp(NOW.0 + 5 * DAY_MS));
    p.events = vec![event(
        "a1",
        ActionKind::Assign,
        Some("d1"),
        Timestamp(NOW.0 - 3 * HOUR),
    )];
    p.supervision = vec![
        EntryFact {
            id: "s1".into(),
            text: "请镇里协调".into(),
            at: Timestamp(NOW.0 - HOUR),
            to: Some(Addressee::Members("town1".into())),
        },
        EntryFact {
            id: "s2".into(),
            text: "请李科长牵头".into(),
            at: Timestamp(NOW.0 - HOUR),
            to: Some(user("li")),
        },
    ];
    let d = derive(&p, NOW, SINCE, 30);
    let to: Vec<_> = d
        .due
        .iter()
        .filter(|o| o.kind == ReminderKind::Supervision)
        .map(|o| (o.key.clone(), o.to.clone()))
        .collect();
    assert_eq!(
        to,
        vec![
            ("s1".into(), vec![Addressee::Members("town1".into())]),
            ("s2".into(), vec![user("li")]),
        ]
    );
}

#[test]
fn a_bad_rating_reminds_the_owner_officer() {
    let mut p = problem(ProblemState::Reopened, Timestamp(NOW.0 + 5 * DAY_MS));
    p.events = vec![event(
        "b1",
        ActionKind::BadRating,
        None,
        Timestamp(NOW.0 - HOUR),
    )];
    let d = derive(&p, NOW, SINCE, 30);
    assert_eq!(
        kinds(&d),
        vec![(ReminderKind::BadRating, vec![user("wang")])]
    );
}

#[test]
fn a_deadline_within_a_day_reminds_whoever_holds_the_problem_and_names_the_next_look() {
    let deadline = Timestamp(NOW.0 + 20 * HOUR);
    let mut p = problem(ProblemState::Accepted, deadline);
    p.events = vec![event("a1", ActionKind::Assign, Some("d1"), SINCE)];
    let d = derive(&p, NOW, Timestamp(NOW.0), 30);
    assert_eq!(
        kinds(&d),
        vec![(ReminderKind::DeadlineTomorrow, vec![unit("d1")])]
    );
    assert_eq!(d.due[0].key, deadline.0.to_string());
    assert_eq!(d.due[0].due_at, Timestamp(deadline.0 - DAY_MS));
    assert_eq!(d.next_at, Some(Timestamp(deadline.0 + 1)), "overdue next");
}

#[test]
fn a_deadline_further_away_reminds_no_one_yet_but_is_watched_from_its_eve() {
    let deadline = Timestamp(NOW.0 + 3 * DAY_MS);
    let p = problem(ProblemState::Submitted, deadline);
    let d = derive(&p, NOW, SINCE, 30);
    assert_eq!(d.due, Vec::new());
    assert_eq!(d.next_at, Some(Timestamp(deadline.0 - DAY_MS)));
}

#[test]
fn a_passed_deadline_is_overdue_for_the_holder_and_the_leader_and_not_also_due_tomorrow() {
    let deadline = Timestamp(NOW.0 - HOUR);
    let mut p = problem(ProblemState::Submitted, deadline);
    p.leader = Some("boss".into());
    let d = derive(&p, NOW, SINCE, 30);
    assert_eq!(
        kinds(&d),
        vec![(ReminderKind::Overdue, vec![user("wang"), user("boss")])]
    );
    assert_eq!(
        d.next_at, None,
        "nothing else will fall due without a change"
    );
}

#[test]
fn an_extension_is_a_new_occasion() {
    let p1 = problem(ProblemState::InProgress, Timestamp(NOW.0 - HOUR));
    let p2 = problem(ProblemState::InProgress, Timestamp(NOW.0 - 2 * HOUR));
    let k1 = derive(&p1, NOW, SINCE, 30).due[0].key.clone();
    let k2 = derive(&p2, NOW, SINCE, 30).due[0].key.clone();
    assert_ne!(k1, k2);
}

#[test]
fn problems_not_awaiting_a_result_have_no_deadline_reminders() {
    for state in [
        ProblemState::Responded,
        ProblemState::Confirmed,
        ProblemState::LookBackPassed,
        ProblemState::Withdrawn,
    ] {
        let d = derive(&problem(state, Timestamp(NOW.0 - HOUR)), NOW, SINCE, 30);
        assert_eq!(d, Derivation::default(), "{state:?}");
    }
}

#[test]
fn a_look_back_falls_due_the_configured_days_after_the_latest_sign_off() {
    let signed = Timestamp(NOW.0 - 31 * DAY_MS);
    let mut p = problem(ProblemState::SignedOff, Timestamp(NOW.0 - 40 * DAY_MS));
    p.events = vec![
        event(
            "s0",
            ActionKind::SignOff,
            None,
            Timestamp(signed.0 - DAY_MS),
        ),
        event("s1", ActionKind::SignOff, None, signed),
    ];
    let d = derive(&p, NOW, SINCE, 30);
    assert_eq!(
        kinds(&d),
        vec![(ReminderKind::LookBackDue, vec![user("wang")])]
    );
    assert_eq!(d.due[0].key, "s1");
    assert_eq!(d.due[0].due_at, signed.plus_days(30));

    let d = derive(&p, NOW, SINCE, 40);
    assert_eq!(d.due, Vec::new());
    assert_eq!(d.next_at, Some(signed.plus_days(40)));
}
