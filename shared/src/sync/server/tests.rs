//! Tests of the server side of the sync engine against the in-memory store.

use super::*;
use crate::doc::{ActorId, DocKind, NewVisit, VisitDoc};
use crate::model::{Actor, OperatingStatus, Role, UserId, VisitId, VisitMethod};
use crate::sync::memory::MemoryStore;
use crate::sync::protocol::DocPush;
use crate::sync::validate::Scope;

const T0: Timestamp = Timestamp(1_793_491_200_000);

fn officer(n: u8) -> (Actor, ActorId) {
    let id = |tag: u8| {
        let mut b = [0u8; 16];
        b[0] = tag;
        b[15] = n;
        b
    };
    let actor = Actor {
        user: UserId::from_random_bytes(id(1)),
        device: DeviceId::from_random_bytes(id(2)),
        role: Role::Officer,
    };
    (actor, ActorId::from(id(3).to_vec()))
}

fn ctx(config: &Config, device: DeviceId) -> SyncContext<'_> {
    SyncContext {
        declared: None,
        device,
        read: &Scope::All,
        write: &Scope::All,
        config,
        now: T0,
        limits: Limits {
            doc_bytes: 1 << 20,
            ..Limits::DEVICE
        },
        authorship: None,
    }
}

/// The first two phases of a request, as the server runs them before committing.
fn prepare(store: &mut MemoryStore, ctx: &SyncContext<'_>, req: &SyncRequest) -> Prepared {
    let parsed = parse_pushes(&ctx.limits, req).expect("within the limits");
    let read = read_pushed(store, ctx, req, parsed).expect("read");
    merge_pushed(ctx, req, read)
}

/// A request pushing everything of `doc` after `base`.
fn pushing(id: &DocId, doc: &mut VisitDoc, base: &[ChangeHash]) -> SyncRequest {
    let mut record = doc.clone().into_record();
    SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push: vec![DocPush {
            doc: id.clone(),
            base: to_wire(base),
            heads: to_wire(&record.heads()),
            data: record.automerge().save_after(base),
        }],
        max_response_bytes: 1 << 20,
        unsent: None,
    }
}

fn edit_notes(doc: &mut VisitDoc, who: &Actor, notes: &str) {
    doc.edit(who, T0, |e| e.set_notes(notes)).expect("edited");
}

fn a_visit(n: u8) -> NewVisit {
    NewVisit {
        id: VisitId::from_random_bytes([n; 16]),
        enterprise: EnterpriseId::from_random_bytes([5; 16]),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "走访".into(),
    }
}

#[test]
fn a_push_claiming_heads_its_changes_do_not_reach_is_asked_to_resend() {
    let config = Config::default();
    let mut store = MemoryStore::new();
    let (wang, wang_actor) = officer(1);
    let visit = a_visit(8);
    let id = DocId::new(DocKind::Visit, &visit.id.to_string());
    let mut doc = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
    let mut request = pushing(&id, &mut doc, &[]);
    request.push[0].heads = to_wire(&[ChangeHash([9; 32])]);

    let response = handle_sync(&mut store, &ctx(&config, wang.device), &request).expect("answered");

    assert!(matches!(
        response.results[0].outcome,
        Outcome::Resend { .. }
    ));
    assert!(
        store.load_doc(&id).expect("memory").is_none(),
        "nothing stored"
    );
}

#[test]
fn a_push_claiming_older_heads_than_the_merged_ones_is_accepted() {
    let config = Config::default();
    let mut store = MemoryStore::new();
    let (wang, wang_actor) = officer(1);
    let visit = a_visit(9);
    let id = DocId::new(DocKind::Visit, &visit.id.to_string());
    let mut doc = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
    let first = doc.clone().into_record().heads();
    edit_notes(&mut doc, &wang, "王：已协调供电");
    let mut request = pushing(&id, &mut doc, &[]);
    // Heads the device had before its last edit: in the document, but not its heads.
    request.push[0].heads = to_wire(&first);

    let response = handle_sync(&mut store, &ctx(&config, wang.device), &request).expect("answered");

    assert!(matches!(
        response.results[0].outcome,
        Outcome::Accepted { .. }
    ));
}

#[test]
fn a_document_another_request_changed_between_merge_and_commit_is_merged_again() {
    let config = Config::default();
    let mut store = MemoryStore::new();
    let (wang, wang_actor) = officer(1);
    let (li, li_actor) = officer(2);
    let visit = NewVisit {
        id: VisitId::from_random_bytes([7; 16]),
        enterprise: EnterpriseId::from_random_bytes([5; 16]),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "走访".into(),
    };
    let id = DocId::new(DocKind::Visit, &visit.id.to_string());
    let mut wangs = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
    handle_sync(
        &mut store,
        &ctx(&config, wang.device),
        &pushing(&id, &mut wangs, &[]),
    )
    .expect("stored");
    let base = wangs.clone().into_record().heads();
    let mut lis = VisitDoc::from_record(
        crate::doc::RecordDoc::load(&wangs.clone().into_record().save(), li_actor).expect("loads"),
    )
    .expect("a visit");

    // Wang's request is read and merged; before it commits, Li's edit of the same visit
    // is committed by another request.
    edit_notes(&mut wangs, &wang, "王：已协调供电");
    let wang_request = pushing(&id, &mut wangs, &base);
    let prepared = prepare(&mut store, &ctx(&config, wang.device), &wang_request);
    edit_notes(&mut lis, &li, "李：用工已对接");
    handle_sync(
        &mut store,
        &ctx(&config, li.device),
        &pushing(&id, &mut lis, &base),
    )
    .expect("li's edit stored");
    let response = finish_sync(
        &mut store,
        &ctx(&config, wang.device),
        &wang_request,
        prepared,
    )
    .expect("wang's edit stored");

    let stored = store.load_doc(&id).expect("memory").expect("stored");
    assert_eq!(stored.heads.len(), 2, "both edits are kept");
    assert_eq!(
        response.results[0].outcome,
        Outcome::Accepted {
            heads: to_wire(&stored.heads)
        }
    );
    assert!(
        response.pulls.iter().any(|p| p.doc == id),
        "Wang is sent Li's edit"
    );
}

#[test]
fn merges_prepared_for_another_request_are_not_committed_to_its_documents() {
    let config = Config::default();
    let mut store = MemoryStore::new();
    let (wang, wang_actor) = officer(1);
    let visit = |tag: u8, notes: &str| NewVisit {
        id: VisitId::from_random_bytes([tag; 16]),
        enterprise: EnterpriseId::from_random_bytes([5; 16]),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: notes.into(),
    };
    let (first, second) = (visit(7, "第一次走访"), visit(8, "第二次走访"));
    let first_id = DocId::new(DocKind::Visit, &first.id.to_string());
    let second_id = DocId::new(DocKind::Visit, &second.id.to_string());
    let mut first_doc = VisitDoc::create(&first, &wang, wang_actor.clone(), T0).expect("new");
    let mut second_doc = VisitDoc::create(&second, &wang, wang_actor, T0).expect("new");
    let ctx = ctx(&config, wang.device);

    // The merges of a request pushing the first visit are given with a request pushing
    // the second: as many pushes, other documents.
    let first_request = pushing(&first_id, &mut first_doc, &[]);
    let prepared = prepare(&mut store, &ctx, &first_request);
    let second_request = pushing(&second_id, &mut second_doc, &[]);
    let response = finish_sync(&mut store, &ctx, &second_request, prepared).expect("stored");

    assert!(
        store.load_doc(&first_id).expect("memory").is_none(),
        "the first visit was not pushed by this request"
    );
    let stored = store.load_doc(&second_id).expect("memory").expect("stored");
    assert_eq!(
        stored.heads,
        second_doc.into_record().heads(),
        "the second visit is stored as pushed"
    );
    assert_eq!(
        response.results[0].outcome,
        Outcome::Accepted {
            heads: to_wire(&stored.heads)
        }
    );
}

#[test]
fn heads_offered_again_of_a_document_read_but_not_written_are_acknowledged_not_refused() {
    // A device that only reads a document offers its heads again after a restore.
    let config = Config::default();
    let mut store = MemoryStore::new();
    let (wang, wang_actor) = officer(1);
    let visit = a_visit(11);
    let id = DocId::new(DocKind::Visit, &visit.id.to_string());
    let mut doc = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
    handle_sync(
        &mut store,
        &ctx(&config, wang.device),
        &pushing(&id, &mut doc, &[]),
    )
    .expect("stored");
    let (reader, _) = officer(2);
    let nothing = Scope::Enterprises(BTreeSet::new());
    let read_only = SyncContext {
        declared: None,
        write: &nothing,
        ..ctx(&config, reader.device)
    };
    let mut offer = pushing(&id, &mut doc, &[]);
    offer.push[0].data = Vec::new();

    let known = handle_sync(&mut store, &read_only, &offer).expect("answered");
    assert_eq!(
        known.results[0].outcome,
        Outcome::Accepted {
            heads: offer.push[0].heads.clone()
        }
    );

    // Heads the server lacks are changes the device may not write: refused as before.
    offer.push[0].heads = to_wire(&[ChangeHash([9; 32])]);
    let unknown = handle_sync(&mut store, &read_only, &offer).expect("answered");
    assert_eq!(
        unknown.results[0].outcome,
        Outcome::Refused(Refusal::OutOfScope)
    );
    // And so is a document it may not even read.
    let neither = SyncContext {
        declared: None,
        read: &nothing,
        ..read_only
    };
    offer.push[0].heads = to_wire(&doc.clone().into_record().heads());
    let hidden = handle_sync(&mut store, &neither, &offer).expect("answered");
    assert_eq!(
        hidden.results[0].outcome,
        Outcome::Refused(Refusal::OutOfScope)
    );
}

/// The in-memory store with another server committing to it: the first time the feed is read,
/// the other server's request (`theirs`, of device `their_device`) commits just after.
struct AnotherServer {
    inner: MemoryStore,
    config: Config,
    theirs: Option<(DeviceId, SyncRequest)>,
}

impl ServerStore for AnotherServer {
    type Error = std::convert::Infallible;
    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, Self::Error> {
        self.inner.load_doc(doc)
    }
    fn doc_meta(&mut self, doc: &DocId) -> Result<Option<DocMeta>, Self::Error> {
        self.inner.doc_meta(doc)
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
        let feed = self.inner.changed_since(scope, after, limit)?;
        if let Some((device, req)) = self.theirs.take() {
            handle_sync(&mut self.inner, &ctx(&self.config, device), &req)
                .expect("the other server's commit");
        }
        Ok(feed)
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

#[test]
fn a_document_another_server_commits_while_the_feed_is_read_reaches_the_device_next_time() {
    let config = Config::default();
    let (wang, _) = officer(1);
    let (li, li_actor) = officer(2);
    let visit = a_visit(21);
    let id = DocId::new(DocKind::Visit, &visit.id.to_string());
    let mut lis = VisitDoc::create(&visit, &li, li_actor, T0).expect("created");
    let mut store = AnotherServer {
        inner: MemoryStore::new(),
        config: config.clone(),
        theirs: Some((li.device, pushing(&id, &mut lis, &[]))),
    };
    let idle = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push: Vec::new(),
        max_response_bytes: 1 << 20,
        unsent: None,
    };

    // Wang's feed is read before Li's visit lands on the other server, and the response's
    // cursor is handed out after.
    let first = handle_sync(&mut store, &ctx(&config, wang.device), &idle).expect("answered");
    let next = SyncRequest {
        cursor: first.cursor,
        ack: first.delivery,
        ..idle
    };
    let second = handle_sync(&mut store, &ctx(&config, wang.device), &next).expect("answered");

    assert!(
        first.pulls.iter().chain(&second.pulls).any(|p| p.doc == id),
        "Li's visit never reaches Wang: the cursor {} passed it",
        first.cursor
    );
}

#[test]
fn a_delivery_numbered_below_the_acknowledged_one_never_reached_the_device() {
    // As `server/src/db/conformance/sync_store/deliveries.rs` on the real stores: a request
    // the device gave up on records its delivery after the request it applies began.
    let mut store = MemoryStore::new();
    let device = officer(1).0.device;
    let (abandoned_doc, applied_doc) = (
        DocId::new(
            DocKind::Visit,
            &VisitId::from_random_bytes([1; 16]).to_string(),
        ),
        DocId::new(
            DocKind::Visit,
            &VisitId::from_random_bytes([2; 16]).to_string(),
        ),
    );
    store.confirm_delivery(device, 0).expect("confirmed");
    store
        .record_delivery(
            device,
            &[(abandoned_doc.clone(), vec![ChangeHash([1; 32])])],
        )
        .expect("recorded");
    let applied = store
        .record_delivery(device, &[(applied_doc.clone(), vec![ChangeHash([2; 32])])])
        .expect("recorded");
    // An older acknowledgement (the abandoned request's) keeps the one still on its way.
    store.confirm_delivery(device, 0).expect("confirmed");

    store.confirm_delivery(device, applied).expect("confirmed");

    assert_eq!(
        store.known_heads(device, &applied_doc).expect("known"),
        Some(vec![ChangeHash([2; 32])])
    );
    assert_eq!(
        store.known_heads(device, &abandoned_doc).expect("known"),
        None,
        "a delivery that never reached the device counts as held"
    );
}

/// The in-memory store with another server committing to it right after this request's
/// commit, before its feed's horizon is read: the other server's request (`theirs`) lands
/// between the two, as it can on PostgreSQL.
struct RightAfterTheCommit {
    inner: MemoryStore,
    config: Config,
    committed: bool,
    theirs: Option<(DeviceId, SyncRequest)>,
}

impl ServerStore for RightAfterTheCommit {
    type Error = std::convert::Infallible;
    fn load_doc(&mut self, doc: &DocId) -> Result<Option<StoredDoc>, Self::Error> {
        self.inner.load_doc(doc)
    }
    fn commit(&mut self, commit: &Commit) -> Result<(), Self::Error> {
        self.committed = true;
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
        if self.committed
            && let Some((device, req)) = self.theirs.take()
        {
            handle_sync(&mut self.inner, &ctx(&self.config, device), &req)
                .expect("the other server's commit");
        }
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

#[test]
fn an_edit_another_server_commits_right_after_a_push_of_the_same_document_reaches_the_pusher() {
    let config = Config::default();
    let (wang, wang_actor) = officer(1);
    let (li, li_actor) = officer(2);
    let visit = a_visit(23);
    let id = DocId::new(DocKind::Visit, &visit.id.to_string());
    let mut wangs = VisitDoc::create(&visit, &wang, wang_actor, T0).expect("created");
    let mut lis = VisitDoc::from_record(
        crate::doc::RecordDoc::load(&wangs.clone().into_record().save(), li_actor).expect("loads"),
    )
    .expect("a visit");
    edit_notes(&mut lis, &li, "李：已协调供电");
    let mut li_heads = lis.clone().into_record().heads();
    li_heads.sort();
    let mut store = RightAfterTheCommit {
        inner: MemoryStore::new(),
        config: config.clone(),
        committed: false,
        theirs: Some((li.device, pushing(&id, &mut lis, &[]))),
    };

    // Wang pushes the visit; Li's edit of it lands on the other server right after.
    let first = handle_sync(
        &mut store,
        &ctx(&config, wang.device),
        &pushing(&id, &mut wangs, &[]),
    )
    .expect("answered");
    let next = SyncRequest {
        cursor: first.cursor,
        ack: first.delivery,
        device_time: T0,
        push: Vec::new(),
        max_response_bytes: 1 << 20,
        unsent: None,
    };
    let second = handle_sync(&mut store, &ctx(&config, wang.device), &next).expect("answered");

    assert!(
        first
            .pulls
            .iter()
            .chain(&second.pulls)
            .any(|p| p.doc == id && protocol::from_wire(&p.heads) == li_heads),
        "Li's edit never reaches Wang: the cursor {} passed it",
        first.cursor
    );
}
