//! Fixtures shared by the `shared` crate's scenario tests: named people, devices, a problem.
#![allow(dead_code, missing_docs)]

use shared::config::Config;
use shared::doc::{ActorId, NewProblem, NewVisit, ProblemDoc, VisitDoc};
use shared::model::*;

pub const DAY: i64 = DAY_MS;
/// 2026-11-01T00:00:00Z
pub const T0: Timestamp = Timestamp(1_793_491_200_000);

pub fn at(days: i64) -> Timestamp {
    Timestamp(T0.0 + days * DAY)
}

/// Deterministic 16-byte ids: the tag and a counter.
pub fn bytes(tag: u8, n: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = tag;
    b[8..].copy_from_slice(&n.to_be_bytes());
    b
}

pub fn entry(n: u64) -> EntryId {
    EntryId::from_random_bytes(bytes(9, n))
}

/// A named person with one device and an Automerge actor of their own.
#[derive(Clone, Copy)]
pub struct Person {
    pub actor: Actor,
    pub n: u8,
}

impl Person {
    pub fn new(n: u8, role: Role) -> Self {
        Person {
            actor: Actor {
                user: UserId::from_random_bytes(bytes(1, u64::from(n))),
                device: DeviceId::from_random_bytes(bytes(2, u64::from(n))),
                role,
            },
            n,
        }
    }
    pub fn actor_id(&self) -> ActorId {
        ActorId::from(bytes(3, u64::from(self.n)).to_vec())
    }
}

pub fn officer_wang() -> Person {
    Person::new(1, Role::Officer)
}
pub fn officer_li() -> Person {
    Person::new(2, Role::Officer)
}
pub fn handler_zhao() -> Person {
    Person::new(3, Role::DepartmentHandler)
}
pub fn leader_chen() -> Person {
    Person::new(4, Role::Leader)
}

pub fn enterprise() -> EnterpriseId {
    EnterpriseId::from_random_bytes(bytes(5, 1))
}
pub fn department() -> OrgUnitId {
    OrgUnitId::from_random_bytes(bytes(6, 1))
}

pub fn new_problem(owner: &Person, tier: Tier) -> NewProblem {
    NewProblem {
        id: ProblemId::from_random_bytes(bytes(7, 1)),
        enterprise: enterprise(),
        visit: None,
        source: ProblemSource::Visit,
        category: "power".into(),
        class: ProblemClass::C,
        tier,
        owner: owner.actor.user,
        leader: None,
        deadline: shared::derive::initial_deadline(&Config::default(), tier, T0),
        description: "厂区变压器容量不足，扩产后经常跳闸".into(),
        expectation: "一个月内完成增容".into(),
    }
}

/// A department-tier problem created by officer Wang at T0.
pub fn problem_by_wang() -> ProblemDoc {
    let wang = officer_wang();
    ProblemDoc::create(
        &new_problem(&wang, Tier::Department),
        &Config::default(),
        &wang.actor,
        wang.actor_id(),
        T0,
    )
    .expect("a valid new problem")
}

/// The same document as another person's replica (loaded from saved bytes).
pub fn replica(doc: &mut ProblemDoc, who: &Person) -> ProblemDoc {
    let bytes = doc.record().save();
    ProblemDoc::load(&bytes, who.actor_id()).expect("loads")
}

pub fn visit_by_wang() -> VisitDoc {
    let wang = officer_wang();
    let new = NewVisit {
        id: VisitId::from_random_bytes(bytes(8, 1)),
        enterprise: enterprise(),
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: T0,
            position: PositionFix::Fixed(Position::new(35.09, 112.59, 8.0).expect("valid")),
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: "企业反映用电紧张".into(),
    };
    VisitDoc::create(&new, &wang.actor, wang.actor_id(), T0).expect("a valid new visit")
}

/// Takes `doc` along the main path up to (and including) `last`.
pub fn walk(doc: &mut ProblemDoc, steps: &[(&Person, shared::workflow::Action, &str)]) {
    for (i, (who, action, reason)) in steps.iter().enumerate() {
        doc.act(
            &who.actor,
            at(i as i64),
            entry(1000 + i as u64),
            action.clone(),
            reason,
        )
        .unwrap_or_else(|e| panic!("step {i} {action:?}: {e}"));
    }
}
