//! One bad document does not fail its batch: a pushed document on which automerge panics while
//! merging (the reproducers of `tests/fuzz-crashers/`) is refused alone, and the good documents
//! pushed in the same request are stored and acknowledged (issue 12).

mod common;

use common::*;
use shared::config::Config;
use shared::doc::{DocKind, NewVisit, VisitDoc};
use shared::model::*;
use shared::sync::memory::MemoryStore;
use shared::sync::protocol::{DocId, DocPush, Outcome, SyncRequest, SyncResponse, to_wire};
use shared::sync::server::{ServerStore as _, SyncContext, handle_sync};
use shared::sync::validate::Scope;

/// Automerge 0.12.0 panics decoding it (hexane's `unpack` unwrap; see the README beside it).
const HEXANE_UNPACK: &[u8] = include_bytes!("fuzz-crashers/automerge-hexane-unpack.bin");
/// The same with a head no document has, so it is decoded when merged into a stored document.
const HEXANE_UNPACK_WITH_HEAD: &[u8] =
    include_bytes!("fuzz-crashers/automerge-hexane-unpack-with-head.bin");

/// A profile automerge 0.12.0 loads, then panics listing its changes (`get_changes`), which the
/// server does after merging: a panic after the load must be caught as well.
const GET_CHANGES_MISSING_OPS: &[u8] =
    include_bytes!("fuzz-crashers/automerge-get-changes-missing-ops.bin");

fn visit(n: u64) -> (DocId, VisitDoc) {
    let wang = officer_wang();
    let new = NewVisit {
        id: VisitId::from_random_bytes(bytes(8, n)),
        enterprise: enterprise(),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "企业反映用电紧张".into(),
    };
    let doc = VisitDoc::create(&new, &wang.actor, wang.actor_id(), T0).expect("a valid visit");
    (DocId::new(DocKind::Visit, &new.id.to_string()), doc)
}

/// A push of `data` claiming the heads it loads to, as a device would (none when it does not
/// load): a push claiming its true heads needs nothing sent back, so nothing on the way back
/// takes the document apart for it.
fn push(doc: &DocId, data: Vec<u8>) -> DocPush {
    let heads = std::panic::catch_unwind(|| {
        automerge::AutoCommit::load(&data)
            .map(|mut d| d.get_heads())
            .unwrap_or_default()
    })
    .unwrap_or_default();
    DocPush {
        doc: doc.clone(),
        base: vec![],
        heads: shared::sync::protocol::to_wire(&heads),
        data,
    }
}

fn sync(store: &mut MemoryStore, push: Vec<DocPush>) -> SyncResponse {
    let config = Config::default();
    let ctx = SyncContext {
        declared: None,
        device: officer_wang().actor.device,
        read: &Scope::All,
        write: &Scope::All,
        config: &config,
        now: T0,
        limits: shared::sync::limits::Limits::DEVICE,
        authorship: None,
    };
    let request = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push,
        max_response_bytes: 1 << 20,
        unsent: Some(0),
    };
    handle_sync(store, &ctx, &request).expect("the memory store cannot fail")
}

fn outcome<'r>(response: &'r SyncResponse, doc: &DocId) -> &'r Outcome {
    &response
        .results
        .iter()
        .find(|r| &r.doc == doc)
        .expect("an outcome for every pushed document")
        .outcome
}

#[test]
fn a_new_document_automerge_panics_on_is_refused_and_the_good_one_beside_it_is_stored() {
    let mut store = MemoryStore::new();
    let (bad, _) = visit(1);
    let (good, mut good_doc) = visit(2);
    let good_heads = good_doc.record().heads();

    let response = sync(
        &mut store,
        vec![
            push(&bad, HEXANE_UNPACK.to_vec()),
            push(&good, good_doc.record().automerge().save_nocompress()),
        ],
    );

    assert!(
        matches!(outcome(&response, &bad), Outcome::Refused(_)),
        "{:?}",
        outcome(&response, &bad)
    );
    assert_eq!(
        outcome(&response, &good),
        &Outcome::Accepted {
            heads: to_wire(&good_heads)
        }
    );
    assert!(store.load_doc(&bad).expect("memory").is_none());
    assert!(store.load_doc(&good).expect("memory").is_some());
}

#[test]
fn changes_automerge_panics_on_are_refused_and_the_stored_document_is_unchanged() {
    let mut store = MemoryStore::new();
    let (stored, mut stored_doc) = visit(3);
    let stored_heads = stored_doc.record().heads();
    sync(
        &mut store,
        vec![push(
            &stored,
            stored_doc.record().automerge().save_nocompress(),
        )],
    );
    let (good, mut good_doc) = visit(4);

    let response = sync(
        &mut store,
        vec![
            push(&stored, HEXANE_UNPACK_WITH_HEAD.to_vec()),
            push(&good, good_doc.record().automerge().save_nocompress()),
        ],
    );

    assert!(
        matches!(outcome(&response, &stored), Outcome::Refused(_)),
        "{:?}",
        outcome(&response, &stored)
    );
    assert!(matches!(
        outcome(&response, &good),
        Outcome::Accepted { .. }
    ));
    let mut kept = store.load_doc(&stored).expect("memory").expect("stored");
    kept.heads.sort();
    let mut expected = stored_heads;
    expected.sort();
    assert_eq!(kept.heads, expected, "the stored visit is as it was");
    assert!(store.load_doc(&good).expect("memory").is_some());
}

#[test]
fn a_document_automerge_panics_on_after_loading_it_is_refused_alone() {
    let mut store = MemoryStore::new();
    let profile = DocId::new(DocKind::Enterprise, &enterprise().to_string());
    let (good, mut good_doc) = visit(5);

    let response = sync(
        &mut store,
        vec![
            push(&profile, GET_CHANGES_MISSING_OPS.to_vec()),
            push(&good, good_doc.record().automerge().save_nocompress()),
        ],
    );

    assert!(
        matches!(outcome(&response, &profile), Outcome::Refused(_)),
        "{:?}",
        outcome(&response, &profile)
    );
    assert!(matches!(
        outcome(&response, &good),
        Outcome::Accepted { .. }
    ));
    assert!(store.load_doc(&profile).expect("memory").is_none());
    assert!(store.load_doc(&good).expect("memory").is_some());
}
