//! What follows an answer (issue 13, items 3 and 4): a bad rating or a dispute reopens the
//! problem for the owner officer's revisit (回访), a problem signed off after a bad rating is
//! black until a look-back passes, and the look-back (回头看) falls due a configured number of
//! days after sign-off and passes only after a visit with a check-in.

mod common;

use common::*;
use shared::config::Config;
use shared::derive::{TaskKind, derive};
use shared::doc::{DocError, ProblemDoc};
use shared::model::{
    CheckIn, Flag, Position, PositionFix, ProblemState as S, Rating, RatingChannel,
};
use shared::workflow::{Action, Evidence, TransitionError, replay};

/// Wang's problem, handed to Zhao's department and answered on day 6.
fn answered() -> ProblemDoc {
    let (wang, zhao) = (officer_wang(), handler_zhao());
    let mut doc = problem_by_wang();
    walk(
        &mut doc,
        &[
            (&wang, Action::Triage, ""),
            (&wang, Action::Assign { unit: department() }, ""),
            (&zhao, Action::Accept, ""),
        ],
    );
    doc.edit(&Config::default(), &zhao.actor, at(5), |e| {
        e.set_response("已协调供电公司增容")
    })
    .expect("response written");
    doc.act(&zhao.actor, at(6), entry(1), Action::Respond, "")
        .expect("respond");
    doc
}

/// `answered`, confirmed and signed off by Wang on day 8.
fn signed_off() -> ProblemDoc {
    let wang = officer_wang();
    let mut doc = answered();
    doc.act(&wang.actor, at(7), entry(2), Action::Confirm, "")
        .expect("confirm");
    doc.act(
        &wang.actor,
        at(8),
        entry(3),
        Action::SignOff { waiver: false },
        "",
    )
    .expect("sign off");
    doc
}

/// Wang records the enterprise's `rating` on `day` (event id `n`); whether it reopened.
fn rate(doc: &mut ProblemDoc, config: &Config, day: i64, n: u64, rating: Rating) -> bool {
    doc.rate(
        config,
        &officer_wang().actor,
        at(day),
        entry(n),
        rating,
        "还是经常跳闸",
        RatingChannel::Officer,
    )
    .expect("rated")
}

fn state(doc: &ProblemDoc) -> S {
    replay(&doc.read().expect("reads")).state
}

/// Evidence of one visit checked in on `day`, under `config`.
fn visited(config: &Config, day: i64) -> Evidence {
    let mut visit = visit_by_wang().read().expect("reads");
    visit.check_in = Some(CheckIn {
        device_time: at(day),
        position: PositionFix::Fixed(Position::new(35.09, 112.59, 8.0).expect("valid")),
        photo_hash: None,
    });
    Evidence::of_visits(config, enterprise(), [&visit])
}

#[test]
fn a_bad_rating_after_the_answer_reopens_the_problem_with_a_revisit_due_in_the_configured_days() {
    let config = Config::default();
    let mut doc = answered();
    assert!(rate(&mut doc, &config, 9, 10, Rating::Dissatisfied));
    let problem = doc.read().expect("reads");
    let d = derive(&problem, &config, at(10));
    assert_eq!(d.outcome.state, S::Reopened);
    assert_eq!(d.flag, Flag::Black);
    let revisit = d.revisit.expect("a revisit task");
    assert_eq!(revisit.kind, TaskKind::Revisit);
    assert_eq!(revisit.event, Some(entry(10)), "the bad rating reopened it");
    assert_eq!(
        revisit.due,
        at(9 + i64::from(config.follow_up.revisit_days))
    );
    assert!(!revisit.overdue);
    assert!(
        derive(&problem, &config, at(13))
            .revisit
            .expect("still owed")
            .overdue
    );
}

#[test]
fn a_dispute_reopens_the_problem_for_a_revisit() {
    let config = Config::default();
    let mut doc = answered();
    doc.act(
        &officer_wang().actor,
        at(9),
        entry(2),
        Action::Dispute,
        "企业认为仍未解决",
    )
    .expect("dispute");
    let d = derive(&doc.read().expect("reads"), &config, at(9));
    assert_eq!(d.outcome.state, S::Disputed);
    let revisit = d.revisit.expect("a revisit task");
    assert_eq!(
        (revisit.event, revisit.due),
        (
            Some(entry(2)),
            at(9).plus_days(config.follow_up.revisit_days)
        )
    );
}

#[test]
fn a_good_rating_reopens_nothing() {
    let config = Config::default();
    let mut doc = answered();
    assert!(!rate(&mut doc, &config, 9, 10, Rating::FairlySatisfied));
    let d = derive(&doc.read().expect("reads"), &config, at(9));
    assert_eq!((d.outcome.state, d.revisit), (S::Responded, None));
}

#[test]
fn the_level_that_counts_as_bad_is_configured() {
    let mut config = Config::default();
    config.follow_up.bad_rating_at_most = 3;
    let mut doc = answered();
    assert!(rate(&mut doc, &config, 9, 10, Rating::FairlySatisfied));
    assert_eq!(state(&doc), S::Reopened);
}

#[test]
fn rating_twice_the_latest_counts_and_the_reopening_stays_in_the_history() {
    let config = Config::default();
    let (wang, zhao) = (officer_wang(), handler_zhao());
    let mut doc = answered();
    assert!(!rate(&mut doc, &config, 9, 10, Rating::Satisfied));
    assert!(rate(&mut doc, &config, 10, 11, Rating::VeryDissatisfied));
    assert_eq!(
        state(&doc),
        S::Reopened,
        "the latest rating, a bad one, counts"
    );
    // The revisit: a new answer, then the enterprise changes its mind.
    doc.act(&zhao.actor, at(11), entry(12), Action::Respond, "")
        .expect("a new answer after the revisit");
    assert!(!rate(&mut doc, &config, 12, 13, Rating::Satisfied));
    let problem = doc.read().expect("reads");
    assert_eq!(
        problem.rating.as_ref().map(|r| r.rating),
        Some(Rating::Satisfied)
    );
    let outcome = replay(&problem);
    assert_eq!(outcome.state, S::Responded);
    assert!(
        outcome.applied.contains(&entry(11)),
        "the reopening is kept"
    );
    doc.act(&wang.actor, at(13), entry(14), Action::Confirm, "")
        .expect("confirm");
    assert_eq!(state(&doc), S::Confirmed);
}

#[test]
fn a_problem_signed_off_after_a_bad_rating_is_black_until_a_look_back_passes() {
    let config = Config::default();
    let (wang, zhao) = (officer_wang(), handler_zhao());
    let mut doc = answered();
    assert!(rate(&mut doc, &config, 7, 10, Rating::Dissatisfied));
    doc.act(&zhao.actor, at(8), entry(11), Action::Respond, "")
        .expect("answered again");
    doc.act(
        &wang.actor,
        at(9),
        entry(12),
        Action::SignOff { waiver: false },
        "",
    )
    .expect_err("the enterprise has not confirmed");
    doc.act(&wang.actor, at(9), entry(12), Action::Confirm, "")
        .expect("confirm");
    doc.act(
        &wang.actor,
        at(9),
        entry(13),
        Action::SignOff { waiver: false },
        "",
    )
    .expect("sign off");
    let d = derive(&doc.read().expect("reads"), &config, at(10));
    assert_eq!((d.outcome.state, d.flag), (S::SignedOff, Flag::Black));
    assert!(d.outcome.look_back_owed);

    let due_day = 9 + i64::from(config.follow_up.look_back_days);
    let due = at(due_day);
    doc.act_with(
        &wang.actor,
        due,
        entry(14),
        Action::LookBackPass,
        "",
        &visited(&config, due_day),
    )
    .expect("the look-back passes after a visit");
    let d = derive(&doc.read().expect("reads"), &config, due);
    assert_eq!((d.outcome.state, d.flag), (S::LookBackPassed, Flag::Red));
}

#[test]
fn a_problem_signed_off_without_a_bad_rating_is_red() {
    let config = Config::default();
    let d = derive(&signed_off().read().expect("reads"), &config, at(9));
    assert_eq!((d.flag, d.outcome.look_back_owed), (Flag::Red, false));
}

#[test]
fn the_look_back_falls_due_the_configured_days_after_sign_off() {
    let mut config = Config::default();
    config.follow_up.look_back_days = 20;
    let problem = signed_off().read().expect("reads");
    let d = derive(&problem, &config, at(9));
    let look_back = d.look_back.expect("a look-back is scheduled");
    assert_eq!(
        (look_back.kind, look_back.since, look_back.due),
        (TaskKind::LookBack, at(8), at(28))
    );
    assert!(!look_back.is_due(at(27)) && look_back.is_due(at(28)));
    let officer = officer_wang().actor.user;
    let list =
        |day| shared::forms::follow_ups(officer, std::slice::from_ref(&problem), &config, at(day));
    assert!(list(27).is_empty(), "not listed before it falls due");
    assert_eq!(list(28).len(), 1);
    assert!(list(29)[0].2.overdue);
    let other = officer_li().actor.user;
    assert!(
        shared::forms::follow_ups(other, std::slice::from_ref(&problem), &config, at(29))
            .is_empty(),
        "the owner's task, not another officer's"
    );
}

#[test]
fn passing_a_look_back_is_refused_without_a_check_in_visit_since_it_fell_due() {
    let config = Config::default();
    let wang = officer_wang();
    let mut doc = signed_off();
    let due = at(8).plus_days(config.follow_up.look_back_days);
    for evidence in [
        Evidence::of_visits(&config, enterprise(), []),
        visited(&config, 20),
    ] {
        match doc.act_with(
            &wang.actor,
            at(40),
            entry(20),
            Action::LookBackPass,
            "",
            &evidence,
        ) {
            Err(DocError::Refused(e)) => {
                assert_eq!(e, TransitionError::LookBackVisitMissing { due })
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(state(&doc), S::SignedOff);
    doc.act_with(
        &wang.actor,
        at(40),
        entry(20),
        Action::LookBackPass,
        "",
        &visited(&config, 38),
    )
    .expect("accepted with a check-in after it fell due");
    assert_eq!(state(&doc), S::LookBackPassed);
}

#[test]
fn a_bad_rating_beats_a_concurrent_sign_off() {
    let config = Config::default();
    let wang = officer_wang();
    let mut doc = answered();
    doc.act(&wang.actor, at(7), entry(2), Action::Confirm, "")
        .expect("confirm");
    let mut card = replica(&mut doc, &officer_li());
    doc.act(
        &wang.actor,
        at(8),
        entry(3),
        Action::SignOff { waiver: false },
        "",
    )
    .expect("signed off offline");
    assert!(rate(&mut card, &config, 8, 10, Rating::VeryDissatisfied));
    doc.record().merge(card.record()).expect("merged");
    let outcome = replay(&doc.read().expect("reads"));
    assert_eq!(outcome.state, S::Reopened, "no fake closure");
    assert!(outcome.superseded.iter().any(|s| s.event == entry(3)));
}
