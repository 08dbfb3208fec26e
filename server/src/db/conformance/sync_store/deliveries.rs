//! What a device is known to hold, on both backends: a response's delivery becomes known only
//! when the device acknowledges that very delivery. On PostgreSQL one device's requests can
//! run at once on two servers (a phone gives up on a slow attempt and tries the other server,
//! which the first keeps serving): the abandoned request's delivery can be recorded between
//! the confirmation that opens the request the device does apply and that request's own
//! delivery, so its number is below the one the device then acknowledges. It never reached
//! the device; counted as held, the feed would never send those heads again.

use automerge::ChangeHash;
use shared::model::DeviceId;
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore;

use super::{Backend, Store, officer, visit_id};

impl Store {
    fn confirm(&mut self, device: DeviceId, ack: u64) {
        with_store!(self, |s| s.confirm_delivery(device, ack)).expect("confirmed");
    }

    fn deliver(&mut self, device: DeviceId, docs: &[(DocId, Vec<ChangeHash>)]) -> u64 {
        with_store!(self, |s| s.record_delivery(device, docs)).expect("recorded")
    }

    fn known_to(&mut self, device: DeviceId, doc: &DocId) -> Option<Vec<ChangeHash>> {
        with_store!(self, |s| s.known_heads(device, doc)).expect("known heads")
    }
}

pub(super) fn a_delivery_the_device_abandoned_is_never_known_though_numbered_below_its_ack(
    b: &Backend,
) {
    let device = officer(1).0.device;
    let (abandoned_doc, applied_doc) = (visit_id(1), visit_id(2));
    let (mut applying, mut abandoned) = (b.store(), b.store());
    // The request the device will apply starts: it confirms what the device acknowledged.
    applying.confirm(device, 0);
    // The attempt the device gave up on, still served by the other server, delivers first.
    abandoned.deliver(
        device,
        &[(abandoned_doc.clone(), vec![ChangeHash([1; 32])])],
    );
    let applied = applying.deliver(device, &[(applied_doc.clone(), vec![ChangeHash([2; 32])])]);

    // The device applied that response and acknowledges it.
    applying.confirm(device, applied);

    assert_eq!(
        applying.known_to(device, &applied_doc),
        Some(vec![ChangeHash([2; 32])])
    );
    assert_eq!(
        applying.known_to(device, &abandoned_doc),
        None,
        "a delivery that never reached the device counts as held"
    );
}

pub(super) fn a_delivery_recorded_after_the_acknowledged_one_is_never_known_later(b: &Backend) {
    let device = officer(1).0.device;
    let (abandoned_doc, first, second) = (visit_id(1), visit_id(2), visit_id(3));
    let (mut applying, mut abandoned) = (b.store(), b.store());
    applying.confirm(device, 0);
    let applied = applying.deliver(device, &[(first.clone(), vec![ChangeHash([2; 32])])]);
    // The abandoned attempt delivers after the response the device applies.
    abandoned.deliver(
        device,
        &[(abandoned_doc.clone(), vec![ChangeHash([1; 32])])],
    );
    applying.confirm(device, applied);
    let next = applying.deliver(device, &[(second.clone(), vec![ChangeHash([3; 32])])]);

    applying.confirm(device, next);

    assert_eq!(
        applying.known_to(device, &first),
        Some(vec![ChangeHash([2; 32])])
    );
    assert_eq!(
        applying.known_to(device, &second),
        Some(vec![ChangeHash([3; 32])])
    );
    assert_eq!(
        applying.known_to(device, &abandoned_doc),
        None,
        "a delivery that never reached the device counts as held"
    );
}

pub(super) fn a_delivery_survives_the_confirmation_of_an_abandoned_attempt(b: &Backend) {
    let device = officer(1).0.device;
    let doc = visit_id(1);
    let (mut applying, mut abandoned) = (b.store(), b.store());
    applying.confirm(device, 0);
    let applied = applying.deliver(device, &[(doc.clone(), vec![ChangeHash([2; 32])])]);
    // The abandoned attempt, carrying the older acknowledgement, confirms only after that.
    abandoned.confirm(device, 0);

    applying.confirm(device, applied);

    assert_eq!(
        applying.known_to(device, &doc),
        Some(vec![ChangeHash([2; 32])]),
        "what the device applied is sent to it again"
    );
}

on_both_sync_stores!(
    a_delivery_the_device_abandoned_is_never_known_though_numbered_below_its_ack,
    a_delivery_recorded_after_the_acknowledged_one_is_never_known_later,
    a_delivery_survives_the_confirmation_of_an_abandoned_attempt,
);
