//! The problem workflow: the main path, the side paths, and every guard's typed refusal.

mod common;

use common::*;
use shared::doc::DocError;
use shared::model::{ProblemState as S, Role, Tier};
use shared::workflow::{Action, TransitionError};

fn refused(
    doc: &mut shared::doc::ProblemDoc,
    who: &Person,
    action: Action,
    reason: &str,
) -> TransitionError {
    match doc.act(&who.actor, at(20), entry(9999), action, reason) {
        Err(DocError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn state(doc: &shared::doc::ProblemDoc) -> S {
    shared::workflow::replay(&doc.read().expect("reads")).state
}

fn respond_text(doc: &mut shared::doc::ProblemDoc, who: &Person) {
    doc.edit(&shared::config::Config::default(), &who.actor, at(5), |e| {
        e.set_response("已协调供电公司增容")
    })
    .expect("edit");
}

#[test]
fn main_path_from_submission_to_look_back_passed() {
    let (wang, zhao, chen) = (officer_wang(), handler_zhao(), leader_chen());
    let mut doc = problem_by_wang();
    walk(
        &mut doc,
        &[
            (&wang, Action::Triage, ""),
            (&chen, Action::Assign { unit: department() }, ""),
            (&zhao, Action::Accept, ""),
            (&zhao, Action::Start, ""),
        ],
    );
    respond_text(&mut doc, &zhao);
    doc.act(&zhao.actor, at(6), entry(1), Action::Respond, "")
        .expect("respond");
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
    assert_eq!(state(&doc), S::SignedOff);
    doc.act(&wang.actor, at(30), entry(4), Action::LookBackPass, "")
        .expect("look-back");
    assert_eq!(state(&doc), S::LookBackPassed);
    let problem = doc.read().expect("reads");
    assert!(
        problem.handling_units.contains(&department()),
        "assign hands the problem to the unit"
    );
    assert_eq!(problem.events.len(), 8);
}

#[test]
fn each_event_records_actor_device_role_and_reason() {
    let (wang, zhao) = (officer_wang(), handler_zhao());
    let mut doc = problem_by_wang();
    walk(
        &mut doc,
        &[
            (&wang, Action::Triage, ""),
            (&wang, Action::Assign { unit: department() }, ""),
        ],
    );
    doc.act(
        &zhao.actor,
        at(2),
        entry(1),
        Action::Return,
        "不属于本部门职责",
    )
    .expect("return");
    let p = doc.read().expect("reads");
    let ret = p
        .events
        .iter()
        .find(|e| e.id == entry(1))
        .expect("recorded");
    assert_eq!(ret.stamp.by, zhao.actor.user);
    assert_eq!(ret.stamp.device, zhao.actor.device);
    assert_eq!(ret.stamp.at, at(2));
    assert_eq!(ret.role, zhao.actor.role);
    assert_eq!(ret.reason, "不属于本部门职责");
    assert_eq!(state(&doc), S::Returned);
}

#[test]
fn an_action_from_the_wrong_state_is_refused() {
    let mut doc = problem_by_wang();
    let e = refused(&mut doc, &handler_zhao(), Action::Accept, "");
    assert_eq!(
        e,
        TransitionError::NotAllowedFrom {
            action: "accept",
            state: S::Submitted
        }
    );
}

#[test]
fn actions_that_need_a_reason_are_refused_without_one() {
    let wang = officer_wang();
    let mut doc = problem_by_wang();
    assert_eq!(
        refused(&mut doc, &wang, Action::Withdraw, "  "),
        TransitionError::ReasonRequired { action: "withdraw" }
    );
}

#[test]
fn responding_without_a_written_response_is_refused() {
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
    assert_eq!(
        refused(&mut doc, &zhao, Action::Respond, ""),
        TransitionError::ResponseMissing { action: "respond" }
    );
}

#[test]
fn sign_off_needs_the_enterprises_confirmation_or_a_waiver() {
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
    respond_text(&mut doc, &zhao);
    doc.act(&zhao.actor, at(6), entry(1), Action::Respond, "")
        .expect("respond");
    assert_eq!(
        refused(&mut doc, &wang, Action::SignOff { waiver: false }, ""),
        TransitionError::ConfirmationOrWaiverMissing
    );
    assert_eq!(
        refused(&mut doc, &wang, Action::SignOff { waiver: true }, ""),
        TransitionError::ReasonRequired { action: "sign_off" }
    );
    doc.act(
        &wang.actor,
        at(7),
        entry(2),
        Action::SignOff { waiver: true },
        "企业负责人出国，电话确认已解决",
    )
    .expect("a recorded waiver allows sign-off");
    assert_eq!(state(&doc), S::SignedOff);
}

#[test]
fn not_resolvable_needs_a_leader_and_an_explanation() {
    let chen = leader_chen();
    let mut doc = problem_by_wang();
    // Who may is the rights table's say (the server enforces it); the guard wants the reason.
    assert!(shared::workflow::rights::role_may(Role::Officer, &Action::NotResolvable).is_err());
    assert!(shared::workflow::rights::role_may(Role::Leader, &Action::NotResolvable).is_ok());
    assert_eq!(
        refused(&mut doc, &chen, Action::NotResolvable, ""),
        TransitionError::ReasonRequired {
            action: "not_resolvable"
        }
    );
    doc.act(
        &chen.actor,
        at(3),
        entry(1),
        Action::NotResolvable,
        "涉及规划调整，现阶段无法解决",
    )
    .expect("leader");
    assert_eq!(state(&doc), S::NotResolvable);
}

#[test]
fn escalation_goes_exactly_one_tier_up_and_raises_the_effective_tier() {
    let chen = leader_chen();
    let mut doc = problem_by_wang();
    assert_eq!(
        refused(
            &mut doc,
            &chen,
            Action::Escalate {
                to: Tier::Department
            },
            "需要协调"
        ),
        TransitionError::TierNotNext {
            from: Tier::Department,
            to: Tier::Department
        }
    );
    doc.act(
        &chen.actor,
        at(1),
        entry(1),
        Action::Escalate {
            to: Tier::CityLeader,
        },
        "跨部门",
    )
    .expect("escalate");
    let outcome = shared::workflow::replay(&doc.read().expect("reads"));
    assert_eq!(outcome.tier, Tier::CityLeader);
    assert_eq!(outcome.state, S::Submitted, "escalation keeps the state");
}

#[test]
fn an_extension_must_move_the_deadline_later() {
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
    let current = doc.read().expect("reads").deadline;
    assert_eq!(
        refused(
            &mut doc,
            &zhao,
            Action::Extend { deadline: current },
            "等待设备"
        ),
        TransitionError::DeadlineNotLater { current }
    );
    let later = shared::model::Timestamp(current.0 + 10 * DAY);
    doc.act(
        &zhao.actor,
        at(4),
        entry(1),
        Action::Extend { deadline: later },
        "等待设备到货",
    )
    .expect("extend");
    assert_eq!(
        shared::workflow::replay(&doc.read().expect("reads")).deadline,
        later
    );
}

#[test]
fn resolving_on_site_is_for_on_site_tier_problems_with_a_response() {
    let wang = officer_wang();
    let mut doc = problem_by_wang();
    respond_text(&mut doc, &wang);
    assert_eq!(
        refused(&mut doc, &wang, Action::ResolveOnSite, ""),
        TransitionError::TierNotOnSite(Tier::Department)
    );
    doc.edit(
        &shared::config::Config::default(),
        &wang.actor,
        at(1),
        |e| e.set_tier(Tier::OnSite),
    )
    .expect("edit");
    doc.act(&wang.actor, at(1), entry(1), Action::ResolveOnSite, "")
        .expect("on site");
    assert_eq!(state(&doc), S::ResolvedOnSite);
}

#[test]
fn a_problem_cannot_be_merged_into_itself() {
    let wang = officer_wang();
    let mut doc = problem_by_wang();
    let id = doc.read().expect("reads").id;
    assert_eq!(
        refused(&mut doc, &wang, Action::MergeDuplicate { into: id }, ""),
        TransitionError::SameProblem
    );
}

#[test]
fn a_look_back_can_reopen_a_signed_off_problem() {
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
    respond_text(&mut doc, &zhao);
    doc.act(&zhao.actor, at(6), entry(1), Action::Respond, "")
        .expect("respond");
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
    doc.act(
        &wang.actor,
        at(40),
        entry(4),
        Action::LookBackReopen,
        "回访发现仍然跳闸",
    )
    .expect("reopen");
    assert_eq!(state(&doc), S::Reopened);
    doc.act(&zhao.actor, at(41), entry(5), Action::Start, "")
        .expect("work resumes");
    assert_eq!(state(&doc), S::InProgress);
}

#[test]
fn an_unknown_category_is_refused_on_create_and_edit() {
    let wang = officer_wang();
    let mut new = new_problem(&wang, Tier::Department);
    new.category = "weather".into();
    let err = shared::doc::ProblemDoc::create(
        &new,
        &shared::config::Config::default(),
        &wang.actor,
        wang.actor_id(),
        T0,
    )
    .expect_err("unknown category");
    assert!(matches!(err, DocError::NotConfigured { .. }), "{err}");
    let mut doc = problem_by_wang();
    let err = doc
        .edit(
            &shared::config::Config::default(),
            &wang.actor,
            at(1),
            |e| e.set_category("weather"),
        )
        .expect_err("unknown category");
    assert!(matches!(err, DocError::NotConfigured { .. }), "{err}");
    assert_eq!(
        doc.read().expect("reads").category,
        "power",
        "a refused edit leaves nothing behind"
    );
}
