//! Derived values: deadlines from the SLA policy, overdue status and red/green/black flags from
//! the configured rule table at a given "now".

mod common;

use common::*;
use shared::config::{Config, FlagRule};
use shared::derive::{derive, initial_deadline};
use shared::model::{Flag, Rating, Tier};
use shared::workflow::Action;

#[test]
fn the_default_sla_gives_7_days_for_routine_and_30_for_major_problems() {
    let cfg = Config::default();
    assert_eq!(initial_deadline(&cfg, Tier::Department, T0), at(7));
    assert_eq!(initial_deadline(&cfg, Tier::CityLeader, T0), at(30));
    assert_eq!(initial_deadline(&cfg, Tier::OnSite, T0), at(1));
}

#[test]
fn an_open_problem_is_red_until_its_deadline_passes_then_black() {
    let cfg = Config::default();
    let p = problem_by_wang().read().expect("reads");
    let before = derive(&p, &cfg, at(6));
    assert_eq!((before.flag, before.overdue), (Flag::Red, false));
    let after = derive(&p, &cfg, at(9));
    assert_eq!(
        (after.flag, after.overdue, after.days_overdue),
        (Flag::Black, true, 2)
    );
    assert_eq!(after.first_feedback_due, at(3));
    assert_eq!(after.route_due, at(1));
}

#[test]
fn an_extension_moves_the_overdue_line() {
    let cfg = Config::default();
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
    doc.act(
        &zhao.actor,
        at(5),
        entry(1),
        Action::Extend { deadline: at(20) },
        "等待设备",
    )
    .expect("extend");
    let d = derive(&doc.read().expect("reads"), &cfg, at(9));
    assert!(!d.overdue);
    assert_eq!(d.flag, Flag::Red);
}

#[test]
fn a_signed_off_problem_is_green_and_never_overdue() {
    let cfg = Config::default();
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
    doc.edit(&cfg, &zhao.actor, at(4), |e| e.set_response("已解决"))
        .expect("edit");
    doc.act(&zhao.actor, at(4), entry(1), Action::Respond, "")
        .expect("respond");
    doc.act(&wang.actor, at(5), entry(2), Action::Confirm, "")
        .expect("confirm");
    doc.act(
        &wang.actor,
        at(5),
        entry(3),
        Action::SignOff { waiver: false },
        "",
    )
    .expect("sign off");
    let d = derive(&doc.read().expect("reads"), &cfg, at(100));
    assert_eq!((d.flag, d.overdue), (Flag::Green, false));
}

#[test]
fn a_bad_rating_on_an_open_problem_is_black() {
    let cfg = Config::default();
    let mut doc = problem_by_wang();
    doc.rate(
        &cfg,
        &officer_wang().actor,
        at(1),
        entry(1),
        Rating::Dissatisfied,
        "迟迟没有回复",
        shared::model::RatingChannel::Officer,
    )
    .expect("rated");
    assert_eq!(
        derive(&doc.read().expect("reads"), &cfg, at(2)).flag,
        Flag::Black
    );
}

#[test]
fn flag_rules_come_from_configuration() {
    // A district that wants a red flag only in the last two days before the deadline.
    let mut cfg = Config::demo();
    cfg.flag_rules.push(FlagRule {
        flag: Some(Flag::Red),
        due_within_days: Some(2),
        ..FlagRule::default()
    });
    cfg.default_flag = Flag::Green;
    cfg.validate().expect("valid");
    let p = problem_by_wang().read().expect("reads");
    assert_eq!(derive(&p, &cfg, at(1)).flag, Flag::Green);
    assert_eq!(derive(&p, &cfg, at(6)).flag, Flag::Red);
}
