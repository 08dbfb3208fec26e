//! Tests of the sync driver.

use shared::model::{DeviceId, Role, Timestamp};
use shared::sync::protocol::SyncRequest;

use super::*;
use crate::store::test_support::demo_store;
use crate::store::{Device, TokenHash};

const NOW: Timestamp = Timestamp(1_795_000_000_000);

/// Runs both phases of a no-push request under one lock, as the driver does.
fn sync_once(store: &mut SqliteStore, who: &Authenticated, ack: u64) -> u64 {
    let phase_one = start(store, who, ack);
    finish(store, phase_one)
}

fn start(
    store: &mut SqliteStore,
    who: &Authenticated,
    ack: u64,
) -> (Scoped, SyncRequest, Prepared) {
    let mut request = SyncRequest {
        cursor: 0,
        ack,
        device_time: NOW,
        push: Vec::new(),
        max_response_bytes: 1 << 20,
        unsent: Some(0),
    };
    let config = Judged {
        current: Arc::new(Config::default()),
        declared: None,
    };
    let parsed =
        shared::sync::server::parse_pushes(&Limits::DEVICE, &request).expect("within the limits");
    let (scoped, read) = read_phase(store, config, who, &mut request, parsed, NOW).expect("read");
    let prepared = merge_pushed(&scoped.context(NOW), &request, read);
    (scoped, request, prepared)
}

fn finish(
    store: &mut SqliteStore,
    (scoped, request, prepared): (Scoped, SyncRequest, Prepared),
) -> u64 {
    let ctx = scoped.context(NOW);
    finish_phase(store, &ctx, &scoped, &request, prepared, false)
        .expect("finished")
        .delivery
}

#[test]
fn a_request_read_before_another_confirmed_the_scope_does_not_undo_the_confirmation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut store, district) = demo_store(dir.path(), NOW);
    let officer = district
        .users
        .iter()
        .find(|u| u.user.role == Role::Officer)
        .expect("an officer")
        .user
        .clone();
    let device = Device {
        id: DeviceId::from_random_bytes([9; 16]),
        user: officer.id,
        name: "王芳的手机".into(),
        actor_id: "09".repeat(16),
        registered_at: NOW,
        revoked_at: None,
        last_seen: NOW,
    };
    store.add_device(&device).expect("device");
    let who = Authenticated {
        user: officer,
        device,
        token: TokenHash([0; 32]),
    };
    // The first sync serves the scope from cursor 0 and waits for its acknowledgement.
    let served = sync_once(&mut store, &who, 0);

    // A second request reads the state before the acknowledgement arrives; a third
    // acknowledges and confirms the scope; then the second finishes.
    let stale = start(&mut store, &who, 0);
    sync_once(&mut store, &who, served);
    let confirmed = store.scope_state(who.device.id).expect("state").confirmed;
    assert!(
        confirmed.is_some(),
        "the acknowledgement confirmed the scope"
    );
    finish(&mut store, stale);

    assert_eq!(
        store.scope_state(who.device.id).expect("state").confirmed,
        confirmed,
        "the confirmation stays"
    );
}

/// Hands `frames` to [`receive`] as a body declaring `declared` bytes.
fn received(declared: Option<u64>, frames: Vec<Result<&'static [u8], ()>>) -> Received {
    let stream = futures_util::stream::iter(frames.into_iter().map(|f| f.map(Bytes::from_static)));
    futures_util::FutureExt::now_or_never(receive(declared, stream))
        .expect("the frames are all there")
        .expect("within the limit")
}

#[test]
fn a_body_read_to_its_end_is_whole_and_one_whose_connection_fails_is_cut_with_what_arrived() {
    assert_eq!(
        received(Some(6), vec![Ok(b"LX"), Ok(b"\x03\x01")]),
        Received::Whole(Bytes::from_static(b"LX\x03\x01"))
    );
    assert_eq!(
        received(
            Some(9),
            vec![Ok(b"LX"), Ok(b"\x03\x01"), Err(()), Ok(b"late")]
        ),
        Received::Cut(Bytes::from_static(b"LX\x03\x01"))
    );
}

#[test]
fn a_body_over_the_limit_is_refused_whole_whether_declared_or_read_and_cut_or_not() {
    let over = |declared: Option<u64>, frames: Vec<Result<Bytes, ()>>| {
        let stream = futures_util::stream::iter(frames);
        matches!(
            futures_util::FutureExt::now_or_never(receive(declared, stream)),
            Some(Err(SyncApiError::Limit(Limit::RequestBytes)))
        )
    };
    assert!(over(Some(MAX_REQUEST_BYTES as u64 + 1), vec![]));
    let big = Bytes::from(vec![0u8; MAX_REQUEST_BYTES]);
    assert!(over(
        None,
        vec![Ok(big.clone()), Ok(Bytes::from_static(b"1"))]
    ));
    assert!(over(
        None,
        vec![Ok(big), Ok(Bytes::from_static(b"1")), Err(())]
    ));
}
