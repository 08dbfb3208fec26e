//! The server's side of sync holds each request to its limits and decides what it can before
//! loading a stored document: scenarios over the in-memory store, with a store wrapper that
//! counts how often a stored document is read whole.

mod common;

use std::collections::BTreeSet;

use automerge::ChangeHash;
use common::*;
use shared::config::Config;
use shared::doc::{DocKind, NewVisit, RecordDoc, VisitDoc};
use shared::model::*;
use shared::sync::limits::{Limit, Limits};
use shared::sync::memory::MemoryStore;
use shared::sync::protocol::{DocId, DocPush, Outcome, Refusal, SyncRequest, to_wire};
use shared::sync::server::{
    ChangeHeader, Commit, DocMeta, ServerStore, StoredDoc, SyncContext, SyncError, handle_sync,
};
use shared::sync::validate::Scope;

/// The in-memory store, counting the reads of whole stored documents.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    loads: usize,
}

impl ServerStore for Counting {
    type Error = std::convert::Infallible;
    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, Self::Error> {
        self.loads += 1;
        self.inner.load_doc(doc)
    }
    fn doc_heads(&mut self, doc: &DocId) -> Result<Option<Vec<ChangeHash>>, Self::Error> {
        Ok(self.inner.doc_meta(doc)?.map(|m| m.heads))
    }
    fn doc_meta(&mut self, doc: &DocId) -> Result<Option<DocMeta>, Self::Error> {
        self.inner.doc_meta(doc)
    }
    fn known_changes(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
    ) -> Result<BTreeSet<ChangeHash>, Self::Error> {
        self.inner.known_changes(doc, hashes)
    }
    fn commit(&mut self, commit: &Commit) -> Result<(), Self::Error> {
        self.inner.commit(commit)
    }
    fn changed_since(
        &mut self,
        scope: &Scope,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(DocId, u64)>, Self::Error> {
        self.inner.changed_since(scope, after, limit)
    }
    fn latest_seq(&mut self) -> Result<u64, Self::Error> {
        self.inner.latest_seq()
    }
    fn confirm_delivery(&mut self, device: DeviceId, ack: u64) -> Result<(), Self::Error> {
        self.inner.confirm_delivery(device, ack)
    }
    fn known_heads(
        &mut self,
        device: DeviceId,
        doc: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, Self::Error> {
        self.inner.known_heads(device, doc)
    }
    fn record_delivery(
        &mut self,
        device: DeviceId,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<u64, Self::Error> {
        self.inner.record_delivery(device, docs)
    }
}

/// Nothing to read (the feed would load documents to send them): only the pushes count.
static READS_NOTHING: std::sync::LazyLock<Scope> = std::sync::LazyLock::new(Scope::none);

fn ctx<'a>(config: &'a Config, who: &Person, write: &'a Scope, limits: Limits) -> SyncContext<'a> {
    SyncContext {
        declared: None,
        device: who.actor.device,
        read: &READS_NOTHING,
        write,
        config,
        now: T0,
        limits,
        authorship: None,
    }
}

fn request(push: Vec<DocPush>) -> SyncRequest {
    SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push,
        max_response_bytes: 1 << 20,
        unsent: Some(0),
    }
}

/// Wang's visit number `n` to the test enterprise, with `notes`.
fn wangs_visit(n: u64, notes: &str) -> (DocId, RecordDoc) {
    let wang = officer_wang();
    let v = NewVisit {
        id: VisitId::from_random_bytes(bytes(8, n)),
        enterprise: enterprise(),
        method: VisitMethod::OnSite,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: notes.into(),
    };
    let doc = VisitDoc::create(&v, &wang.actor, wang.actor_id(), T0)
        .expect("a valid visit")
        .into_record();
    (DocId::new(DocKind::Visit, &v.id.to_string()), doc)
}

fn push_after(id: &DocId, doc: &mut RecordDoc, base: &[ChangeHash]) -> DocPush {
    DocPush {
        doc: id.clone(),
        base: to_wire(base),
        heads: to_wire(&doc.heads()),
        data: doc.automerge().save_after(base),
    }
}

/// Wang's edit of the notes, on top of what `doc` has.
fn edited(doc: &RecordDoc, notes: &str) -> RecordDoc {
    let wang = officer_wang();
    let mut visit = VisitDoc::from_record(doc.clone()).expect("a visit");
    visit
        .edit(&wang.actor, at(1), |e| e.set_notes(notes))
        .expect("edited");
    visit.into_record()
}

/// A store holding Wang's visit `n`, and the visit.
fn stored_visit(store: &mut Counting, n: u64, notes: &str) -> (DocId, RecordDoc) {
    let config = Config::default();
    let (id, mut doc) = wangs_visit(n, notes);
    let push = push_after(&id, &mut doc, &[]);
    let answer = handle_sync(
        store,
        &ctx(&config, &officer_wang(), &Scope::All, Limits::DEVICE),
        &request(vec![push]),
    )
    .expect("stored");
    assert!(matches!(
        answer.results[0].outcome,
        Outcome::Accepted { .. }
    ));
    store.loads = 0;
    (id, doc)
}

#[test]
fn a_retried_push_of_what_the_server_has_is_accepted_without_loading_the_document() {
    let config = Config::default();
    let mut store = Counting::default();
    let (id, mut doc) = stored_visit(&mut store, 1, "走访");
    let heads = doc.heads();

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, Limits::DEVICE),
        &request(vec![push_after(&id, &mut doc, &[])]),
    )
    .expect("answered");

    assert_eq!(
        answer.results[0].outcome,
        Outcome::Accepted {
            heads: to_wire(&heads)
        }
    );
    assert_eq!(store.loads, 0, "no stored document was read whole");
}

#[test]
fn a_push_outside_the_write_scope_is_refused_without_loading_the_document() {
    let config = Config::default();
    let mut store = Counting::default();
    let (id, doc) = stored_visit(&mut store, 2, "走访");
    let base = doc.clone().heads();
    let mut edit = edited(&doc, "改动");

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_li(), &Scope::none(), Limits::DEVICE),
        &request(vec![push_after(&id, &mut edit, &base)]),
    )
    .expect("answered");

    assert_eq!(
        answer.results[0].outcome,
        Outcome::Refused(Refusal::OutOfScope)
    );
    assert_eq!(store.loads, 0);
}

#[test]
fn a_change_that_is_not_the_devices_own_is_refused_before_the_document_is_loaded() {
    let config = Config::default();
    let mut store = Counting::default();
    let (id, doc) = stored_visit(&mut store, 3, "走访");
    let base = doc.clone().heads();
    let mut edit = edited(&doc, "王的改动");
    let li = officer_li();
    let only_lis_actor = move |c: &ChangeHeader| {
        if c.actor == li.actor_id() {
            Ok(())
        } else {
            Err("not this device's actor".to_string())
        }
    };
    let mut context = ctx(&config, &li, &Scope::All, Limits::DEVICE);
    context.authorship = Some(&only_lis_actor);

    let answer = handle_sync(
        &mut store,
        &context,
        &request(vec![push_after(&id, &mut edit, &base)]),
    )
    .expect("answered");

    assert!(matches!(
        &answer.results[0].outcome,
        Outcome::Refused(Refusal::Forbidden(why)) if why.contains("actor")
    ));
    assert_eq!(store.loads, 0);
}

#[test]
fn the_same_document_twice_in_one_request_is_refused_the_second_time_only() {
    let config = Config::default();
    let mut store = Counting::default();
    let (id, mut doc) = wangs_visit(4, "走访");
    let push = push_after(&id, &mut doc, &[]);

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, Limits::DEVICE),
        &request(vec![push.clone(), push]),
    )
    .expect("answered");

    assert!(matches!(
        answer.results[0].outcome,
        Outcome::Accepted { .. }
    ));
    assert!(matches!(
        &answer.results[1].outcome,
        Outcome::Refused(Refusal::Malformed(why)) if why.contains("twice")
    ));
}

#[test]
fn more_pushes_than_the_limit_refuse_the_request_before_anything_is_read() {
    let config = Config::default();
    let mut store = Counting::default();
    let (id, mut doc) = stored_visit(&mut store, 5, "走访");
    let push = push_after(&id, &mut doc, &[]);
    let limits = Limits {
        pushes: 3,
        ..Limits::DEVICE
    };

    let result = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, limits),
        &request(vec![push; 4]),
    );

    assert!(matches!(result, Err(SyncError::Limit(Limit::Pushes(4)))));
    assert_eq!(store.loads, 0);
}

#[test]
fn pushes_whose_stored_documents_exceed_the_merge_budget_refuse_the_request_before_loading() {
    let config = Config::default();
    let mut store = Counting::default();
    let (first, one) = stored_visit(&mut store, 6, "第一份记录");
    let (second, two) = stored_visit(&mut store, 7, "第二份记录");
    let size = store
        .inner
        .doc_meta(&first)
        .expect("memory")
        .expect("stored")
        .size;
    let limits = Limits {
        merge_bytes: size + size / 2,
        ..Limits::DEVICE
    };
    let pushes = vec![
        push_after(&first, &mut edited(&one, "一"), &one.clone().heads()),
        push_after(&second, &mut edited(&two, "二"), &two.clone().heads()),
    ];

    let both = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, limits),
        &request(pushes.clone()),
    );
    assert!(matches!(both, Err(SyncError::Limit(Limit::MergeBytes(_)))));
    assert_eq!(store.loads, 0, "refused before loading");

    // One at a time, each fits.
    for push in pushes {
        let answer = handle_sync(
            &mut store,
            &ctx(&config, &officer_wang(), &Scope::All, limits),
            &request(vec![push]),
        )
        .expect("answered");
        assert!(matches!(
            answer.results[0].outcome,
            Outcome::Accepted { .. }
        ));
    }
}

#[test]
fn an_edit_that_would_grow_a_document_past_the_stored_limit_is_refused_and_nothing_is_stored() {
    let config = Config::default();
    let mut store = Counting::default();
    let (id, doc) = stored_visit(&mut store, 8, "走访");
    let size = store
        .inner
        .doc_meta(&id)
        .expect("memory")
        .expect("stored")
        .size;
    let limits = Limits {
        stored_doc_bytes: size + 200,
        ..Limits::DEVICE
    };
    let base = doc.clone().heads();
    let mut long = edited(
        &doc,
        &"企业反映用地指标紧张，需要自然资源局协调。".repeat(40),
    );

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, limits),
        &request(vec![push_after(&id, &mut long, &base)]),
    )
    .expect("answered");

    assert_eq!(
        answer.results[0].outcome,
        Outcome::Refused(Refusal::TooLarge {
            limit: u32::try_from(size + 200).expect("small")
        })
    );
    let heads = store
        .inner
        .doc_meta(&id)
        .expect("memory")
        .expect("stored")
        .heads;
    assert_eq!(heads, base, "nothing of the edit was stored");
}

#[test]
fn bytes_that_are_not_automerge_chunks_are_refused_alone() {
    let config = Config::default();
    let mut store = Counting::default();
    let (good_id, mut good) = wangs_visit(9, "好的记录");
    let (bad_id, mut bad) = wangs_visit(10, "坏的记录");
    let mut bad_push = push_after(&bad_id, &mut bad, &[]);
    bad_push.data.truncate(bad_push.data.len() / 2);

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, Limits::DEVICE),
        &request(vec![bad_push, push_after(&good_id, &mut good, &[])]),
    )
    .expect("answered");

    assert!(matches!(
        answer.results[0].outcome,
        Outcome::Refused(Refusal::Malformed(_))
    ));
    assert!(matches!(
        answer.results[1].outcome,
        Outcome::Accepted { .. }
    ));
}

#[test]
fn deflated_pushes_inflating_past_the_merge_budget_together_refuse_the_request_before_parsing() {
    use automerge::transaction::Transactable;
    let config = Config::default();
    let mut store = Counting::default();
    // One change holding 300 KB of one character: a few hundred bytes deflated.
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "notes", "企".repeat(100_000))
        .expect("put");
    doc.commit();
    let deflated = doc.get_changes(&[]).remove(0).bytes().into_owned();
    assert!(deflated.len() < 2_000, "{} bytes", deflated.len());
    let pushes: Vec<DocPush> = (0..10)
        .map(|n| DocPush {
            doc: wangs_visit(100 + n, "").0,
            base: Vec::new(),
            heads: Vec::new(),
            data: deflated.clone(),
        })
        .collect();
    let limits = Limits {
        merge_bytes: 1_000_000,
        ..Limits::DEVICE
    };

    let result = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, limits),
        &request(pushes.clone()),
    );

    assert!(
        matches!(result, Err(SyncError::Limit(Limit::MergeBytes(w))) if w > 1_000_000),
        "{result:?}"
    );
    assert_eq!(store.loads, 0);
    // Three of them fit.
    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, limits),
        &request(pushes[..3].to_vec()),
    );
    assert!(answer.is_ok(), "{answer:?}");
}

/// A 74-byte change chunk whose run-length encoded columns claim 4,000,000,000 operations
/// (every column one run of "set `a` on the root to null"; made by `claiming_ops` in
/// `shared/src/sync/server/chunks/tests.rs`, which checks these bytes). Automerge decodes every
/// claimed operation when it parses the change: hours of work for 74 bytes.
const CLAIMS_FOUR_BILLION_OPS: &[u8] = include_bytes!("fixtures/change-claiming-4e9-ops.bin");

#[test]
fn a_change_claiming_billions_of_operations_is_refused_from_its_run_headers_alone() {
    let config = Config::default();
    let mut store = Counting::default();
    let (bomb_id, _) = wangs_visit(11, "");
    let (good_id, mut good) = wangs_visit(12, "好的记录");
    let bomb = DocPush {
        doc: bomb_id.clone(),
        base: Vec::new(),
        heads: Vec::new(),
        data: CLAIMS_FOUR_BILLION_OPS.to_vec(),
    };
    let started = std::time::Instant::now();

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, Limits::DEVICE),
        &request(vec![bomb, push_after(&good_id, &mut good, &[])]),
    )
    .expect("answered");

    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered in {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            &answer.results[0].outcome,
            Outcome::Refused(Refusal::TooLarge { .. })
        ),
        "{:?}",
        answer.results[0].outcome
    );
    assert!(matches!(
        answer.results[1].outcome,
        Outcome::Accepted { .. }
    ));
    assert!(store.inner.load_doc(&bomb_id).expect("memory").is_none());
}

#[test]
fn a_valid_visit_holding_more_operations_than_a_push_may_is_refused_as_too_large_alone() {
    // Each character is a text operation: within 2 MiB on the wire, but more operations than
    // the server builds for one push.
    let config = Config::default();
    let mut store = Counting::default();
    let ops = usize::try_from(shared::sync::limits::MAX_PUSH_OPS).expect("fits");
    let huge_notes: String = "用".repeat(ops + 8_000);
    let (huge_id, mut huge) = wangs_visit(30, &huge_notes);
    let (good_id, mut good) = wangs_visit(31, "企业反映用工紧张");
    let huge_push = push_after(&huge_id, &mut huge, &[]);
    assert!(huge_push.data.len() < Limits::DEVICE.doc_bytes as usize);

    let answer = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, Limits::DEVICE),
        &request(vec![huge_push, push_after(&good_id, &mut good, &[])]),
    )
    .expect("answered");

    assert!(
        matches!(
            answer.results[0].outcome,
            Outcome::Refused(Refusal::TooLarge { .. })
        ),
        "{:?}",
        answer.results[0].outcome
    );
    assert!(matches!(
        answer.results[1].outcome,
        Outcome::Accepted { .. }
    ));
}

#[test]
fn pushes_holding_more_operations_together_than_a_request_may_refuse_it_as_too_much_work() {
    let config = Config::default();
    let mut store = Counting::default();
    // Each document alone is within the per-push limit; together they are not.
    let limits = Limits {
        request_ops: 3_000,
        ..Limits::DEVICE
    };
    let pushes: Vec<DocPush> = (0..3)
        .map(|n| {
            let (id, mut doc) = wangs_visit(40 + n, &"访".repeat(1_200));
            push_after(&id, &mut doc, &[])
        })
        .collect();

    let result = handle_sync(
        &mut store,
        &ctx(&config, &officer_wang(), &Scope::All, limits),
        &request(pushes),
    );

    assert!(
        matches!(result, Err(SyncError::Limit(ref l @ Limit::Ops(_))) if l.code() == "too_much_work"),
        "{result:?}"
    );
    assert_eq!(store.loads, 0);
}
