//! Deadlines on the server's clock: the configured SLA counted from the creation time the KPIs
//! count, moved only by a leader's extension (`shared::server_time::server_outcome`).

mod common;

use common::*;
use shared::config::SlaPolicy;
use shared::doc::ProblemDoc;
use shared::model::{Tier, Timestamp};
use shared::server_time::server_outcome;
use shared::workflow::Action;

/// Wang's problem, triaged, handed to the department and accepted by handler Zhao.
fn accepted() -> ProblemDoc {
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
    doc
}

#[test]
fn a_deadline_a_device_wrote_does_not_count_the_slas_from_the_counted_creation_does() {
    let sla = SlaPolicy::default();
    let mut doc = problem_by_wang();
    doc.edit(
        &shared::config::Config::default(),
        &leader_chen().actor,
        at(0),
        |p| p.set_deadline(at(365)),
    )
    .expect("edit");
    let p = doc.read().expect("reads");
    // The server counts the problem as created two days after the device claims.
    let counted = server_outcome(&sla, &p, at(2));
    assert_eq!(counted.deadline, at(2 + i64::from(sla.routine_days)));
}

#[test]
fn a_handlers_request_leaves_the_deadline_and_a_leaders_extension_moves_it() {
    let sla = SlaPolicy::default();
    let mut doc = accepted();
    let zhao = handler_zhao();
    doc.act(
        &zhao.actor,
        at(4),
        entry(1),
        Action::RequestExtension { deadline: at(20) },
        "等待设备到货",
    )
    .expect("request");
    let asked = server_outcome(&sla, &doc.read().expect("reads"), T0);
    assert_eq!(
        asked.deadline,
        at(7),
        "the SLA deadline counts until approved"
    );
    assert_eq!(asked.pending_extension, Some(at(20)));

    doc.act(
        &leader_chen().actor,
        at(5),
        entry(2),
        Action::Extend { deadline: at(20) },
        "同意延期",
    )
    .expect("extend");
    let approved = server_outcome(&sla, &doc.read().expect("reads"), T0);
    assert_eq!(approved.deadline, at(20));
}

#[test]
fn an_escalation_to_a_city_leader_gets_that_tiers_time_limit() {
    let sla = SlaPolicy::default();
    let mut doc = accepted();
    doc.act(
        &leader_chen().actor,
        at(3),
        entry(1),
        Action::Escalate {
            to: Tier::CityLeader,
        },
        "需协调多个部门",
    )
    .expect("escalate");
    let out = server_outcome(&sla, &doc.read().expect("reads"), T0);
    assert_eq!(out.tier, Tier::CityLeader);
    assert_eq!(
        out.deadline,
        Timestamp(T0.0 + i64::from(sla.major_days) * DAY)
    );
}
