//! The lower bound of a device's claims (issue 13, item 5): its last settled sync, kept only
//! for `[clock] settle_within_hours` while it keeps reporting work left to send, then its
//! previous sync.

use super::*;
use shared::config::ClockRules;

#[test]
fn a_device_keeps_its_settled_bound_within_the_window_and_its_previous_sync_after_it() {
    let (_dir, mut store) = fresh();
    let phone = DeviceId::from_random_bytes(bytes(3, 1));
    let clock = ClockRules::default();
    let hour = 3_600_000;
    let sync = |store: &mut SqliteStore, after_ms: i64, settled: bool| {
        let at = Timestamp(T0.0 + after_ms);
        store.record_sync(phone, at, at, settled).expect("recorded");
    };
    let bound = |store: &SqliteStore, after_ms: i64| {
        store
            .previous_sync(phone, Timestamp(T0.0 + after_ms), &clock)
            .expect("read")
    };

    // Settled at T0; ten seconds later it comes back with work left (a write, although the
    // last one is recent: the device stopped being settled).
    sync(&mut store, 0, true);
    sync(&mut store, 10_000, false);
    assert_eq!(bound(&store, 20_000), Some(T0), "within the window");
    assert_eq!(
        bound(&store, 10_000 + 24 * hour + 1),
        Some(Timestamp(T0.0 + 10_000)),
        "past the window: the previous sync"
    );
    // Settled again twenty seconds in, then back with work left at thirty: a new window
    // starts then, not at ten.
    sync(&mut store, 20_000, true);
    sync(&mut store, 30_000, false);
    assert_eq!(
        bound(&store, 10_000 + 24 * hour + 1),
        Some(Timestamp(T0.0 + 20_000)),
        "the window counts from the first sync after the last settled one"
    );
    assert_eq!(
        bound(&store, 30_000 + 24 * hour + 1),
        Some(Timestamp(T0.0 + 30_000))
    );
}
