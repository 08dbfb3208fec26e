//! The settling window on both backends (`store/device_sync.rs`, `shared::server_time`): a
//! device's recorded syncs bound the times its later commits may claim. Settled (nothing left
//! to send) at a sync, it may not claim a time before that sync less the allowed skew; a sync
//! that leaves work behind does not raise the bound, until it has kept doing so for longer
//! than `settle_within_hours`, when its last sync bounds it whatever it says is left.

use shared::config::{ClockRules, Config};
use shared::doc::{NewProblem, ProblemDoc};
use shared::model::{
    DAY_MS, EnterpriseId, ProblemClass, ProblemId, ProblemSource, Tier, Timestamp,
};
use shared::sync::server::Commit;

use super::{Backend, Store, T0, commit_of, doc_commit, officer};

const HOUR: i64 = 3_600_000;

/// Records a sync of officer 1's device received at `at`, as the sync driver does.
fn record_sync(b: &Backend, at: Timestamp, settled: bool) {
    let device = officer(1).0.device;
    match b.store() {
        Store::Sqlite(db) => db.lock_writer().record_sync(device, at, at, settled),
        Store::Postgres(mut pg) => pg.record_sync(device, at, at, settled),
    }
    .expect("recorded");
}

/// Officer 1's device pushes a new problem it claims it created at `claimed`, received at
/// `received_at`. The counted creation time: (counted, claimed, clamped).
fn push_problem(b: &Backend, claimed: Timestamp, received_at: Timestamp) -> (i64, i64, i64) {
    let (by, actor) = officer(1);
    let new = NewProblem {
        id: ProblemId::from_random_bytes([3; 16]),
        enterprise: EnterpriseId::from_random_bytes([4; 16]),
        visit: None,
        source: ProblemSource::Visit,
        category: "land".into(),
        class: ProblemClass::B,
        tier: Tier::Department,
        owner: by.user,
        leader: None,
        deadline: claimed.plus_days(7),
        description: "用地指标".into(),
        expectation: String::new(),
    };
    let mut doc =
        ProblemDoc::create(&new, &Config::default(), &by, actor, claimed).expect("created");
    let commit = Commit {
        received_at,
        device_time: received_at,
        ..commit_of(vec![doc_commit(doc.record(), None)])
    };
    b.store().commit(&commit).expect("committed");
    let rows = b.rows("SELECT created_at, claimed_created_at, clamped FROM problems");
    let [row] = rows.as_slice() else {
        panic!("one problem: {rows:?}")
    };
    (
        row.int(0).expect("counted"),
        row.int(1).expect("claimed"),
        row.int(2).expect("clamped"),
    )
}

fn skew() -> i64 {
    i64::from(ClockRules::default().allowed_skew_minutes) * 60_000
}

fn a_backdated_creation_counts_at_the_settled_sync_less_the_skew(b: &Backend) {
    record_sync(b, T0, true);
    let claimed = Timestamp(T0.0 - 3 * DAY_MS);
    assert_eq!(
        push_problem(b, claimed, Timestamp(T0.0 + HOUR)),
        (T0.0 - skew(), claimed.0, 1)
    );
}

fn a_sync_that_leaves_work_behind_does_not_raise_the_bound(b: &Backend) {
    record_sync(b, T0, true);
    record_sync(b, Timestamp(T0.0 + DAY_MS), false);
    let claimed = Timestamp(T0.0 + 12 * HOUR);
    assert_eq!(
        push_problem(b, claimed, Timestamp(T0.0 + DAY_MS + 60_000)),
        (claimed.0, claimed.0, 0)
    );
}

fn unsettled_past_the_window_a_device_is_bounded_by_its_last_sync(b: &Backend) {
    let window = ClockRules::default().settle_within_ms();
    record_sync(b, T0, true);
    // Work left behind from an hour later, and still at a sync past the window.
    record_sync(b, Timestamp(T0.0 + HOUR), false);
    let last = Timestamp(T0.0 + 2 * HOUR + window);
    record_sync(b, last, false);
    let claimed = Timestamp(T0.0 + 2 * HOUR);
    assert_eq!(
        push_problem(b, claimed, Timestamp(last.0 + 60_000)),
        (last.0 - skew(), claimed.0, 1)
    );
}

on_both_sync_stores!(
    a_backdated_creation_counts_at_the_settled_sync_less_the_skew,
    a_sync_that_leaves_work_behind_does_not_raise_the_bound,
    unsettled_past_the_window_a_device_is_bounded_by_its_last_sync,
);
