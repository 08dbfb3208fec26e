//! Derived values: deadlines from the SLA policy, overdue status and flags (红绿黑旗, 临期) from
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
fn an_open_problem_is_green_then_due_soon_in_its_last_two_days_then_black() {
    let cfg = Config::default();
    let p = problem_by_wang().read().expect("reads");
    let within = derive(&p, &cfg, at(2));
    assert_eq!((within.flag, within.overdue), (Flag::Green, false));
    let near = derive(&p, &cfg, at(6));
    assert_eq!((near.flag, near.overdue), (Flag::DueSoon, false));
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
    assert_eq!(d.flag, Flag::Green);
}

#[test]
fn a_signed_off_problem_is_red_and_never_overdue() {
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
    assert_eq!((d.flag, d.overdue), (Flag::Red, false));
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
    // A district that calls a problem due soon five days before its deadline...
    let mut cfg = Config::demo();
    for rule in &mut cfg.flag_rules {
        if rule.flag == Some(Flag::DueSoon) {
            rule.due_within_days = Some(5);
        }
    }
    cfg.validate().expect("valid");
    let p = problem_by_wang().read().expect("reads");
    assert_eq!(derive(&p, &cfg, at(1)).flag, Flag::Green);
    assert_eq!(derive(&p, &cfg, at(3)).flag, Flag::DueSoon);
    // ...and one that still reads every open problem as red, black once overdue.
    cfg.flag_rules = vec![FlagRule {
        flag: Some(Flag::Black),
        overdue: Some(true),
        ..FlagRule::default()
    }];
    cfg.default_flag = Flag::Red;
    cfg.validate().expect("valid");
    assert_eq!(derive(&p, &cfg, at(6)).flag, Flag::Red);
    assert_eq!(derive(&p, &cfg, at(9)).flag, Flag::Black);
}

/// The default rule table, pinned: 红旗 is an honour (solved and the enterprise satisfied),
/// 绿旗 progress within the deadline, 临期 the last two days, 黑旗 overdue, disputed, reopened
/// or rated badly (and a look-back owed after a bad rating).
#[test]
fn the_default_flag_table_reads_flags_the_way_the_offices_do() {
    use shared::derive::{FlagFacts, flag_of};
    use shared::model::ProblemState as S;
    let cfg = Config::default();
    let deadline = at(7);
    let flag = |state, now: i64, rating: Option<u8>, look_back_owed| {
        let facts = FlagFacts {
            state,
            deadline,
            rating,
            look_back_owed,
        };
        flag_of(&cfg, facts, at(now)).2
    };
    let cases = [
        // (state, day, rating, look-back owed) → flag
        ((S::Submitted, 1, None, false), Flag::Green),
        ((S::InProgress, 4, None, false), Flag::Green),
        ((S::Responded, 4, Some(4), false), Flag::Green),
        ((S::InProgress, 6, None, false), Flag::DueSoon),
        ((S::Assigned, 5, None, false), Flag::Green),
        ((S::Returned, 6, None, false), Flag::DueSoon),
        ((S::InProgress, 8, None, false), Flag::Black),
        ((S::Disputed, 2, None, false), Flag::Black),
        ((S::Reopened, 2, None, false), Flag::Black),
        ((S::Responded, 2, Some(2), false), Flag::Black),
        ((S::Confirmed, 2, Some(1), false), Flag::Black),
        ((S::SignedOff, 20, Some(2), true), Flag::Black),
        ((S::Confirmed, 2, None, false), Flag::Red),
        ((S::Confirmed, 9, Some(5), false), Flag::Red),
        ((S::SignedOff, 20, Some(3), false), Flag::Red),
        ((S::SignedOff, 20, None, false), Flag::Red),
        ((S::LookBackPassed, 60, Some(2), false), Flag::Red),
        ((S::ResolvedOnSite, 0, None, false), Flag::Red),
        ((S::Withdrawn, 20, None, false), Flag::Green),
        ((S::NotResolvable, 20, None, false), Flag::Green),
    ];
    for ((state, day, rating, owed), want) in cases {
        assert_eq!(
            flag(state, day, rating, owed),
            want,
            "{state:?} on day {day}, rated {rating:?}, look-back owed {owed}"
        );
    }
    assert_eq!(
        Flag::ALL,
        &[Flag::Red, Flag::Green, Flag::DueSoon, Flag::Black],
        "legends list the flags from best to worst"
    );
}
