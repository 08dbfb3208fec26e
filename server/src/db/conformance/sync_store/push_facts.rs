//! What the server-time rules judge a device's push by, read alike on both backends
//! (`store::push_facts`, which SQLite's sync and PostgreSQL's both call): the device's previous
//! settled sync, and for the pushed problems their stored sign-offs and the check-in visits to
//! their enterprises, each at its counted time.

use shared::config::{ClockRules, Config};
use shared::doc::{NewProblem, NewVisit, ProblemDoc, VisitDoc};
use shared::model::{
    CheckIn, OperatingStatus, PositionFix, ProblemClass, ProblemId, ProblemSource, Tier, Timestamp,
    VisitId, VisitMethod,
};
use shared::workflow::Action;

use super::{Backend, Store, T0, commit_of, doc_commit, enterprise, officer};
use crate::store::PushFacts;
use shared::model::EntryId;
use shared::sync::server::Commit;

const HOUR: i64 = 3_600_000;

fn problem_id() -> ProblemId {
    ProblemId::from_random_bytes([7; 16])
}

/// The facts for a push of `problems` by officer 1's device at `now`.
fn facts(b: &Backend, now: Timestamp, problems: &[&str]) -> PushFacts {
    let device = officer(1).0.device;
    let clock = ClockRules::default();
    match b.store() {
        Store::Sqlite(db) => db.lock_writer().push_facts(device, now, &clock, problems),
        Store::Postgres(mut pg) => pg.push_facts(device, now, &clock, problems),
    }
    .expect("read")
}

/// Officer 1's visit to enterprise 1, checked in at `at`.
fn checked_in_visit(at: Timestamp) -> VisitDoc {
    let new = NewVisit {
        id: VisitId::from_random_bytes([9; 16]),
        enterprise: enterprise(1),
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: at,
            position: PositionFix::PermissionRefused,
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: "回访".into(),
    };
    let (wang, actor) = officer(1);
    VisitDoc::create(&new, &wang, actor, at).expect("a valid visit")
}

/// Officer 1's problem at enterprise 1, resolved on the spot, confirmed and signed off at
/// `at` (the sign-off's event id: `sign_off`).
fn signed_off(at: Timestamp, sign_off: EntryId) -> ProblemDoc {
    let (wang, actor) = officer(1);
    let config = Config::default();
    let new = NewProblem {
        id: problem_id(),
        enterprise: enterprise(1),
        visit: None,
        source: ProblemSource::Visit,
        category: "power".into(),
        class: ProblemClass::B,
        tier: Tier::OnSite,
        owner: wang.user,
        leader: None,
        deadline: at.plus_days(7),
        description: "配电柜漏电".into(),
        expectation: "更换配电柜".into(),
    };
    let mut doc = ProblemDoc::create(&new, &config, &wang, actor, at).expect("created");
    doc.edit(&config, &wang, at, |p| p.set_response("已更换"))
        .expect("responded");
    for (k, action) in [
        (1, Action::ResolveOnSite),
        (2, Action::Confirm),
        (3, Action::SignOff { waiver: false }),
    ] {
        let event = if k == 3 {
            sign_off
        } else {
            EntryId::from_random_bytes([30 + k; 16])
        };
        doc.act(&wang, at, event, action, "").expect("acted");
    }
    doc
}

fn a_push_is_judged_by_the_stored_sign_off_the_check_ins_and_the_settled_sync(b: &Backend) {
    let sign_off = EntryId::from_random_bytes([33; 16]);
    let (visited, signed) = (T0, Timestamp(T0.0 + HOUR));
    let mut visit = checked_in_visit(visited);
    let mut problem = signed_off(signed, sign_off);
    let stored = problem_id().to_string();
    let commit = Commit {
        received_at: Timestamp(T0.0 + 2 * HOUR),
        device_time: Timestamp(T0.0 + 2 * HOUR),
        ..commit_of(vec![
            doc_commit(visit.record(), None),
            doc_commit(problem.record(), None),
        ])
    };
    b.store().commit(&commit).expect("committed");
    let settled = Timestamp(T0.0 + 3 * HOUR);
    match b.store() {
        Store::Sqlite(db) => {
            db.lock_writer()
                .record_sync(officer(1).0.device, settled, settled, true)
        }
        Store::Postgres(mut pg) => pg.record_sync(officer(1).0.device, settled, settled, true),
    }
    .expect("recorded");

    let read = facts(
        b,
        Timestamp(T0.0 + 4 * HOUR),
        &[&stored, "not-a-stored-problem"],
    );

    assert_eq!(read.previous, Some(settled), "the previous sync");
    assert_eq!(
        read.look_back.check_ins.get(&enterprise(1)),
        Some(&vec![visited]),
        "the check-ins at the problem's enterprise"
    );
    assert_eq!(
        read.look_back
            .event_times
            .get(&(problem_id(), sign_off))
            .copied(),
        Some(signed),
        "the stored sign-off at its counted time"
    );
    assert_eq!(read.look_back.event_times.len(), 1, "only sign-offs");
}

on_both_sync_stores!(a_push_is_judged_by_the_stored_sign_off_the_check_ins_and_the_settled_sync,);
