//! The sync engine, driven deterministically: named devices, a server core over the in-memory
//! store, a simulated network that can lose requests and responses, and a simulated clock.

mod common;

use common::*;
use shared::config::Config;
use shared::doc::{DocKind, NewProblem, NewVisit, ProblemDoc, VisitDoc};
use shared::model::*;
use shared::sync::client::{Effect, Failure, Input, PersistBatch, SyncClient};
use shared::sync::cut::decode_cut_request;
use shared::sync::limits::MAX_PUSHES;
use shared::sync::memory::MemoryStore;
use shared::sync::policy::{GATHER_MS, NETWORK_FLAT_ATTEMPTS};
use shared::sync::protocol::{DocId, Outcome, Refusal, SyncRequest, SyncResponse};
use shared::sync::replica::{LocalStore as _, MemoryLocalStore, Replica};
use shared::sync::server::{ServerStore as _, SyncContext, handle_sync};
use shared::sync::validate::Scope;

/// What happens to one request on the simulated network.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Delivered,
    /// Lost before the server saw it.
    RequestLost,
    /// The server handled it, the answer was lost.
    ResponseLost,
}

/// A seeded pseudo-random sequence for fates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

struct Server {
    store: MemoryStore,
    config: Config,
    /// What requests are held to (a device's, unless a test says otherwise).
    limits: shared::sync::limits::Limits,
    /// What each request reported as `unsent`, in order.
    unsent: Vec<Option<u32>>,
}

#[derive(Default, Debug)]
struct Counters {
    requests: usize,
    bytes_up: usize,
    bytes_down: usize,
    persisted: Vec<PersistBatch>,
    /// Documents pushed by each request, in order.
    pushed: Vec<usize>,
}

/// How long after it went a request is cut in the tests that cut one: longer than the
/// simulated link's latency (the 100 ms each delivered round takes).
const CUT_AFTER_MS: i64 = 1_000;

struct Device {
    person: Person,
    client: SyncClient,
    now: Timestamp,
    counters: Counters,
}

impl Device {
    fn new(person: Person) -> Self {
        Device {
            person,
            client: SyncClient::new(Replica::new(person.actor_id())),
            now: T0,
            counters: Counters::default(),
        }
    }

    fn new_visit(&mut self, n: u64) -> DocId {
        self.new_visit_noting(
            n,
            format!("第{n}次走访：企业反映用电、用工情况，需协调供电公司"),
        )
    }

    fn new_visit_noting(&mut self, n: u64, notes: String) -> DocId {
        let id = VisitId::from_random_bytes(bytes(20 + self.person.n, n));
        let visit = NewVisit {
            id,
            enterprise: enterprise(),
            method: VisitMethod::OnSite,
            check_in: Some(CheckIn {
                device_time: T0,
                position: PositionFix::PermissionRefused,
                photo_hash: None,
            }),
            operating_status: OperatingStatus::Normal,
            notes,
        };
        let doc = VisitDoc::create(&visit, &self.person.actor, self.person.actor_id(), at(0))
            .expect("create");
        let doc_id = DocId::new(DocKind::Visit, &id.to_string());
        self.client
            .replica_mut()
            .insert_new(doc_id.clone(), doc.into_record());
        doc_id
    }

    fn edit_visit(&mut self, id: &DocId, notes: &str) {
        let doc = self
            .client
            .replica_mut()
            .doc_mut(id)
            .expect("present")
            .expect("builds");
        let mut visit = VisitDoc::from_record(doc.clone()).expect("a visit");
        visit
            .edit(&self.person.actor, self.now, |e| e.set_notes(notes))
            .expect("edit");
        *doc = visit.into_record();
    }

    fn visit_notes(&self, id: &DocId) -> String {
        let doc = self.client.replica().read(id).expect("present");
        VisitDoc::from_record(doc.expect("builds").into_owned())
            .expect("a visit")
            .read()
            .expect("reads")
            .notes
    }

    /// Feeds `input` and carries out effects until the engine is idle with nothing to send,
    /// deciding each request's fate with `fate`. Bounded.
    fn run(&mut self, server: &mut Server, input: Input, fate: &mut dyn FnMut(usize) -> Fate) {
        let mut queue = vec![input];
        for _ in 0..10_000 {
            let Some(input) = queue.pop() else { return };
            for effect in self.client.handle(input, self.now, 12_345) {
                match effect {
                    Effect::Send { body, pushed } => {
                        self.counters.requests += 1;
                        self.counters.pushed.push(pushed);
                        self.counters.bytes_up += body.len();
                        self.now = Timestamp(self.now.0 + 100);
                        match fate(self.counters.requests) {
                            Fate::RequestLost => queue.push(Input::Failed(Failure::Network)),
                            f => {
                                let resp = server.handle(self.person.actor.device, &body, self.now);
                                if f == Fate::ResponseLost {
                                    queue.push(Input::Failed(Failure::Network));
                                } else {
                                    self.counters.bytes_down += resp.len();
                                    queue.push(Input::Response {
                                        body: resp,
                                        elapsed_ms: 100,
                                    });
                                }
                            }
                        }
                    }
                    Effect::Persist(batch) => {
                        self.counters.persisted.push(batch);
                        queue.push(Input::Persisted);
                    }
                    Effect::WakeAt(t) => {
                        if self.client.is_settled() {
                            return;
                        }
                        self.now = t.max(self.now);
                        queue.push(Input::Tick);
                    }
                }
            }
        }
        panic!("sync did not settle within 10,000 steps");
    }

    fn sync(&mut self, server: &mut Server) {
        self.run(server, Input::SyncNow, &mut |_| Fate::Delivered);
    }

    /// The request in flight is cut [`CUT_AFTER_MS`] after it went, long enough to have
    /// reached the server: the engine's effects.
    fn cut(&mut self) -> Vec<Effect> {
        self.now = Timestamp(self.now.0 + CUT_AFTER_MS);
        self.feed(Input::Failed(Failure::Network))
    }

    /// The request in flight fails at once, as a connection refused by a link that is down:
    /// the engine's effects.
    fn refused(&mut self) -> Vec<Effect> {
        self.feed(Input::Failed(Failure::Network))
    }

    /// Hands one input to the engine at the device's time and returns its effects, carrying
    /// none of them out.
    fn feed(&mut self, input: Input) -> Vec<Effect> {
        self.client.handle(input, self.now, 12_345)
    }

    /// An edit of `id` saved `after_ms` later, told to the engine; its effects.
    fn edit_after(&mut self, after_ms: i64, id: &DocId, notes: &str) -> Vec<Effect> {
        self.now = Timestamp(self.now.0 + after_ms);
        self.edit_visit(id, notes);
        self.feed(Input::LocalEdit)
    }

    /// The change-feed position the device has applied.
    fn cursor(&self) -> u64 {
        self.client.replica().cursor
    }
}

/// The one request among `effects`: its body and how many documents it pushes.
fn the_send(effects: Vec<Effect>) -> (Vec<u8>, usize) {
    match effects.as_slice() {
        [Effect::Send { body, pushed }] => (body.clone(), *pushed),
        other => panic!("expected one request, got {other:?}"),
    }
}

/// Wang and Li with `n` visits of Wang's on both devices, all in sync.
fn two_synced_devices(n: u64) -> (Server, Device, Device, Vec<DocId>) {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let ids: Vec<DocId> = (0..n).map(|i| wang.new_visit(i)).collect();
    wang.sync(&mut server);
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    wang.sync(&mut server);
    (server, wang, li, ids)
}

impl Server {
    fn new() -> Self {
        Server {
            store: MemoryStore::new(),
            config: Config::default(),
            limits: shared::sync::limits::Limits::DEVICE,
            unsent: Vec::new(),
        }
    }

    fn handle(&mut self, device: DeviceId, body: &[u8], now: Timestamp) -> Vec<u8> {
        let (req, _) = shared::sync::protocol::decode_request(body).expect("a valid request");
        self.unsent.push(req.unsent);
        let ctx = SyncContext {
            declared: None,
            device,
            read: &Scope::All,
            write: &Scope::All,
            config: &self.config,
            now,
            limits: self.limits,
            authorship: None,
        };
        let resp = handle_sync(&mut self.store, &ctx, &req).expect("the memory store cannot fail");
        shared::sync::protocol::encode(&resp)
    }

    /// Takes what arrived of a request cut in transit, as the server does: its complete
    /// pushes through the same path as a whole request; the answer goes nowhere. Returns the
    /// documents accepted.
    fn handle_cut(&mut self, device: DeviceId, received: &[u8], now: Timestamp) -> Vec<DocId> {
        let (req, _) = decode_cut_request(received).expect("a request's start");
        let ctx = SyncContext {
            declared: None,
            device,
            read: &Scope::All,
            write: &Scope::All,
            config: &self.config,
            now,
            limits: self.limits,
            authorship: None,
        };
        let resp = handle_sync(&mut self.store, &ctx, &req).expect("the memory store cannot fail");
        resp.results
            .into_iter()
            .filter(|r| matches!(r.outcome, Outcome::Accepted { .. }))
            .map(|r| r.doc)
            .collect()
    }
}

#[test]
fn a_cold_upload_of_200_visits_goes_in_link_sized_chunks_and_lands_whole() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let ids: Vec<DocId> = (0..200).map(|n| wang.new_visit(n)).collect();
    let doc_bytes: usize = ids
        .iter()
        .map(|id| {
            wang.client
                .replica_mut()
                .get_mut(id)
                .expect("present")
                .saved()
                .len()
        })
        .sum();
    wang.sync(&mut server);
    assert_eq!(server.store.doc_count(), 200);
    assert!(
        wang.client.replica_mut().pending().is_empty(),
        "the outbox is empty once acknowledged"
    );
    // Chunks start at 32 KiB and double on fast rounds: 200 visits need only a few requests,
    // plus the final one that learns there is nothing more.
    assert!(
        wang.counters.requests <= 2 + doc_bytes.div_ceil(32 * 1024),
        "{} requests",
        wang.counters.requests
    );
    assert!(
        wang.counters.bytes_up <= doc_bytes + 200 * 120,
        "{} bytes up for {doc_bytes} bytes of documents",
        wang.counters.bytes_up
    );
}

#[test]
fn each_request_reports_how_many_documents_stay_on_the_device_besides_its_chunk() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..200 {
        wang.new_visit(n);
    }
    let effects = wang.client.handle(Input::SyncNow, wang.now, 1);
    let Some(Effect::Send { body, pushed }) = effects.into_iter().next() else {
        panic!("sync now sends a request");
    };
    assert!(
        pushed > 0 && pushed < 200,
        "{pushed} pushed in the first chunk"
    );
    let (first, _) = shared::sync::protocol::decode_request(&body).expect("a valid request");
    assert_eq!(first.unsent, Some(200 - pushed as u32));
    // The first request is cut and retried at once: the heads of its documents, which the
    // server never saw and asks for again, and the next chunk.
    let (retry, _) = the_send(wang.cut());
    deliver(&mut wang, &mut server, &retry);
    wang.run(&mut server, Input::Persisted, &mut |_| Fate::Delivered);
    assert!(wang.client.is_settled());
    assert!(server.unsent.len() > 1, "{:?}", server.unsent);
    assert_eq!(server.unsent.last(), Some(&Some(0)), "{:?}", server.unsent);
    assert!(
        server.unsent.windows(2).all(|w| w[0] >= w[1]),
        "the count only falls: {:?}",
        server.unsent
    );
}

/// The documents Wang's second request pushes after a first chunk of 200 visits that went on
/// the wire as `wire(body)` bytes, as a driver that deflates requests itself (the web client)
/// reports with `on_wire`.
fn second_chunk_after_reporting(wire: impl Fn(&[u8]) -> usize) -> usize {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..200 {
        wang.new_visit(n);
    }
    let (body, _) = the_send(wang.feed(Input::SyncNow));
    wang.client.on_wire(wire(&body));
    let resp = server.handle(wang.person.actor.device, &body, wang.now);
    let persist = wang.feed(Input::Response {
        body: resp,
        elapsed_ms: 100,
    });
    assert!(matches!(persist.as_slice(), [Effect::Persist(_)]));
    the_send(wang.feed(Input::Persisted)).1
}

#[test]
fn a_request_the_driver_deflates_is_counted_by_the_size_it_reports_on_the_wire() {
    // Wang's visits deflate well: reported as they are, the next chunk carries many of them.
    let as_sent = second_chunk_after_reporting(|body| body.len());
    // Reported four times larger (a driver that could not deflate), the chunk's budget of
    // document bytes shrinks with it.
    let undeflated = second_chunk_after_reporting(|body| body.len() * 4);
    assert!(
        undeflated * 2 < as_sent,
        "{undeflated} documents after an undeflated report, {as_sent} after the real size"
    );
}

#[test]
fn a_second_device_catches_up_and_sees_the_same_records() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let ids: Vec<DocId> = (0..50).map(|n| wang.new_visit(n)).collect();
    wang.sync(&mut server);
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    assert_eq!(li.client.replica().len(), 50);
    for id in &ids {
        assert_eq!(li.visit_notes(id), wang.visit_notes(id));
    }
    assert!(
        li.client.replica_mut().pending().is_empty(),
        "pulled documents are not pushed back"
    );
}

#[test]
fn a_device_catching_up_stores_pulled_documents_and_builds_one_only_when_it_is_read() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let ids: Vec<DocId> = (0..50).map(|n| wang.new_visit(n)).collect();
    wang.sync(&mut server);
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    assert_eq!(li.client.replica().len(), 50);
    assert_eq!(
        li.client.replica().loads(),
        0,
        "nothing built while pulling"
    );
    let stored: usize = li.counters.persisted.iter().map(|b| b.docs.len()).sum();
    assert_eq!(stored, 50, "each pulled document stored as it came");
    assert_eq!(li.visit_notes(&ids[7]), wang.visit_notes(&ids[7]));
    assert_eq!(li.client.replica().loads(), 1, "built when read");
    // An edit builds it for good; the others stay bytes.
    li.edit_visit(&ids[3], "李：已回访");
    li.edit_visit(&ids[3], "李：已回访两次");
    assert_eq!(li.client.replica().loads(), 2);
    assert_eq!(
        ids.iter()
            .filter(|id| li.client.replica().get(id).is_some_and(|e| e.is_loaded()))
            .count(),
        1
    );
}

#[test]
fn a_restarted_device_restores_its_documents_without_building_them_and_knows_its_outbox() {
    let (mut server, mut wang, _li, ids) = two_synced_devices(5);
    let mut disk = MemoryLocalStore::default();
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    for batch in &li.counters.persisted {
        now_or_never(disk.persist(batch)).expect("stored");
    }
    // A local save goes through the engine's batch, like a sync response's.
    let mut copy = li
        .client
        .replica()
        .read(&ids[1])
        .expect("present")
        .expect("builds")
        .into_owned();
    let mut visit = VisitDoc::from_record(copy.clone()).expect("a visit");
    visit
        .edit(&li.person.actor, li.now, |e| e.set_notes("李：已回访"))
        .expect("edit");
    copy = visit.into_record();
    let batch = li
        .client
        .save_local(vec![(ids[1].clone(), copy)])
        .expect("merges");
    assert_eq!(batch.docs.len(), 1);
    assert_eq!(
        batch.position, None,
        "a local save leaves the feed position"
    );
    now_or_never(disk.persist(&batch)).expect("stored");

    let replica = now_or_never(disk.load(officer_li().actor_id())).expect("restores");
    let mut restarted = Device::new(officer_li());
    restarted.client = SyncClient::new(replica);
    assert_eq!(restarted.client.replica().len(), 5);
    assert_eq!(
        restarted.client.replica().loads(),
        0,
        "nothing built at start"
    );
    assert_eq!(
        restarted.client.replica_mut().pending(),
        vec![ids[1].clone()],
        "the outbox is known from stored heads"
    );
    restarted.sync(&mut server);
    wang.sync(&mut server);
    assert_eq!(wang.visit_notes(&ids[1]), "李：已回访");
}

/// Polls a future that never waits (the in-memory store) once.
fn now_or_never<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the memory store waited"),
    }
}

#[test]
fn small_edits_propagate_and_only_the_edits_travel() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let ids: Vec<DocId> = (0..100).map(|n| wang.new_visit(n)).collect();
    wang.sync(&mut server);
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    let (up0, down0) = (wang.counters.bytes_up, li.counters.bytes_down);
    for id in &ids {
        wang.edit_visit(id, "已复查：用电问题解决");
    }
    wang.sync(&mut server);
    li.sync(&mut server);
    for id in &ids {
        assert_eq!(li.visit_notes(id), "已复查：用电问题解决");
    }
    let (up, down) = (wang.counters.bytes_up - up0, li.counters.bytes_down - down0);
    assert!(up < 100 * 400, "{up} bytes up for 100 small edits");
    assert!(down < 100 * 400, "{down} bytes down for 100 small edits");
}

#[test]
fn an_up_to_date_device_learns_nothing_to_do_in_one_request_whose_size_does_not_grow() {
    let mut sizes = Vec::new();
    for n in [10u64, 400] {
        let mut server = Server::new();
        let mut wang = Device::new(officer_wang());
        for i in 0..n {
            wang.new_visit(i);
        }
        wang.sync(&mut server);
        let before = (
            wang.counters.requests,
            wang.counters.bytes_up,
            wang.counters.bytes_down,
        );
        wang.sync(&mut server);
        let requests = wang.counters.requests - before.0;
        assert_eq!(requests, 1, "{n} documents");
        sizes.push((
            wang.counters.bytes_up - before.1,
            wang.counters.bytes_down - before.2,
        ));
    }
    // Only the cursor's varint width may differ (it is a number, not a list of documents).
    for (small, large) in [(sizes[0].0, sizes[1].0), (sizes[0].1, sizes[1].1)] {
        assert!(
            large <= small + 2,
            "sizes with 10 and 400 documents: {sizes:?}"
        );
    }
    assert!(sizes[1].0 + sizes[1].1 < 100, "{sizes:?}");
}

#[test]
fn lost_requests_and_responses_are_retried_without_loss_or_duplicates() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let ids: Vec<DocId> = (0..120).map(|n| wang.new_visit(n)).collect();
    // Every request's fate cycles: delivered, request lost, response lost.
    // A seeded third of requests is lost on the way, a third loses its response.
    let mut lcg = Lcg(2026);
    let mut fate = move |_: usize| match lcg.next() % 3 {
        0 => Fate::Delivered,
        1 => Fate::RequestLost,
        _ => Fate::ResponseLost,
    };
    wang.run(&mut server, Input::SyncNow, &mut fate);
    assert_eq!(server.store.doc_count(), 120);
    assert_eq!(server.store.change_rows, 120, "each change stored once");
    assert!(wang.client.replica_mut().pending().is_empty());

    // A second device whose responses are lost half the time still ends with everything.
    let mut li = Device::new(officer_li());
    let mut lcg = Lcg(7);
    let mut fate = move |_: usize| {
        if lcg.next().is_multiple_of(2) {
            Fate::ResponseLost
        } else {
            Fate::Delivered
        }
    };
    li.run(&mut server, Input::SyncNow, &mut fate);
    li.sync(&mut server);
    assert_eq!(li.client.replica().len(), 120);
    for id in &ids {
        assert_eq!(li.visit_notes(id), wang.visit_notes(id));
    }
}

#[test]
fn a_refused_document_stays_on_the_device_with_its_reason_and_blocks_nothing() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let good: Vec<DocId> = (0..49).map(|n| wang.new_visit(n)).collect();
    // A problem in a category this district does not configure.
    let mut local_config = Config::default();
    local_config.categories.push(shared::config::Category {
        code: "weather".into(),
        zh: "天气".into(),
        en: "Weather".into(),
    });
    let pid = ProblemId::from_random_bytes(bytes(30, 1));
    let new = NewProblem {
        id: pid,
        category: "weather".into(),
        ..new_problem(&wang.person, Tier::Department)
    };
    let doc = ProblemDoc::create(
        &new,
        &local_config,
        &wang.person.actor,
        wang.person.actor_id(),
        T0,
    )
    .expect("create");
    let bad = DocId::new(DocKind::Problem, &pid.to_string());
    wang.client
        .replica_mut()
        .insert_new(bad.clone(), doc.into_record());

    wang.sync(&mut server);
    assert_eq!(
        server.store.doc_count(),
        49,
        "the 49 good documents are stored"
    );
    let status = wang.client.status();
    assert_eq!(status.refused.len(), 1);
    assert_eq!(status.refused[0].0, bad);
    assert!(
        matches!(&status.refused[0].1, Refusal::Invalid(m) if m.contains("weather")),
        "{:?}",
        status.refused
    );
    assert!(
        wang.client.replica().get(&bad).is_some(),
        "the refused record is kept"
    );
    assert_eq!(
        status.waiting, 0,
        "a refused record is not retried until it is corrected"
    );
    let before = wang.counters.requests;
    wang.sync(&mut server);
    assert_eq!(
        wang.counters.requests - before,
        1,
        "no queue stall, no retry storm"
    );
    assert!(good.iter().all(|id| {
        wang.client
            .replica()
            .get(id)
            .is_some_and(|e| e.refused.is_none())
    }));
}

#[test]
fn a_server_restored_from_an_older_backup_asks_for_what_it_lost() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let id = wang.new_visit(1);
    wang.sync(&mut server);
    server.store.forget(&id);
    wang.edit_visit(&id, "补充：企业已恢复生产");
    wang.sync(&mut server);
    wang.sync(&mut server);
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    assert_eq!(li.visit_notes(&id), "补充：企业已恢复生产");
}

#[test]
fn two_devices_editing_the_same_documents_offline_converge_in_either_order() {
    for wang_first in [true, false] {
        let mut server = Server::new();
        let mut wang = Device::new(officer_wang());
        let ids: Vec<DocId> = (0..20).map(|n| wang.new_visit(n)).collect();
        wang.sync(&mut server);
        let mut li = Device::new(officer_li());
        li.sync(&mut server);
        for id in &ids {
            let base = wang.visit_notes(id);
            wang.edit_visit(id, &format!("王：{base}"));
            li.edit_visit(id, &format!("{base}（李补充）"));
        }
        // Each syncs in turn, then the first one once more to receive the second's edits.
        if wang_first {
            wang.sync(&mut server);
            li.sync(&mut server);
            wang.sync(&mut server);
        } else {
            li.sync(&mut server);
            wang.sync(&mut server);
            li.sync(&mut server);
        }
        for id in &ids {
            let (a, b) = (wang.visit_notes(id), li.visit_notes(id));
            assert_eq!(a, b, "wang first: {wang_first}");
            assert!(a.starts_with("王：") && a.ends_with("（李补充）"), "{a}");
        }
    }
}

#[test]
fn a_new_document_over_the_limit_uncompressed_but_under_it_compressed_still_syncs() {
    use shared::sync::protocol::MAX_DOC_BYTES;
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    // Long notes drawn from 256 characters: about 3 bytes each uncompressed, about one
    // per-column compressed.
    let mut lcg = Lcg(7);
    let notes: String = (0..800_000)
        .map(|_| char::from_u32(0x4E00 + (lcg.next() % 256) as u32).unwrap_or('走'))
        .collect();
    let id = wang.new_visit_noting(1, notes);
    let doc = wang
        .client
        .replica_mut()
        .doc_mut(&id)
        .expect("present")
        .expect("builds");
    let (plain, compressed) = (
        doc.automerge().save_nocompress().len(),
        doc.automerge().save().len(),
    );
    let limit = MAX_DOC_BYTES as usize;
    assert!(plain > limit, "{plain} bytes uncompressed");
    assert!(
        compressed > limit / 3 && compressed <= limit,
        "{compressed} bytes compressed"
    );

    // 800,000 characters are far more operations than a device's push may hold (it is refused
    // as too large under `Limits::DEVICE`): this server lifts only the operation caps, so the
    // byte limit alone is what is checked here.
    server.limits = shared::sync::limits::Limits {
        push_ops: u64::MAX,
        request_ops: u64::MAX,
        ..shared::sync::limits::Limits::DEVICE
    };
    wang.sync(&mut server);
    assert_eq!(server.store.doc_count(), 1);
    assert!(
        wang.client.replica().refused().is_empty(),
        "{:?}",
        wang.client.replica().refused()
    );
    assert!(wang.client.replica_mut().pending().is_empty());
}

#[test]
fn edits_within_the_gather_window_go_in_one_push_when_it_ends() {
    let (mut server, mut wang, _li, ids) = two_synced_devices(3);
    let start = wang.now;
    let until = Timestamp(start.0 + GATHER_MS);
    assert_eq!(
        wang.edit_after(0, &ids[0], "一"),
        [Effect::WakeAt(until)],
        "the first edit opens the window"
    );
    let step = GATHER_MS / 3;
    assert_eq!(
        wang.edit_after(step, &ids[1], "二"),
        [Effect::WakeAt(until)]
    );
    assert_eq!(
        wang.edit_after(step, &ids[2], "三"),
        [Effect::WakeAt(until)]
    );
    assert_eq!(
        wang.feed(Input::Tick),
        [Effect::WakeAt(until)],
        "a tick before the window ends sends nothing"
    );
    let before = wang.counters.requests;
    wang.now = until;
    wang.run(&mut server, Input::Tick, &mut |_| Fate::Delivered);
    assert_eq!(wang.counters.requests - before, 1, "one request");
    assert_eq!(
        wang.counters.pushed.last(),
        Some(&3),
        "with the three edits"
    );
    assert!(wang.client.is_settled());
}

#[test]
fn an_edit_made_while_a_push_is_in_flight_opens_a_new_window_after_it() {
    let (mut server, mut wang, _li, ids) = two_synced_devices(2);
    wang.edit_after(0, &ids[0], "第一次修改");
    wang.now = Timestamp(wang.now.0 + GATHER_MS);
    let (body, pushed) = the_send(wang.feed(Input::Tick));
    assert_eq!(pushed, 1);
    let response = server.handle(wang.person.actor.device, &body, wang.now);
    assert_eq!(
        wang.edit_after(30, &ids[1], "第二次修改"),
        [],
        "the edit waits for the round in flight"
    );
    let edited = wang.now;
    wang.now = Timestamp(wang.now.0 + 10);
    let effects = wang.feed(Input::Response {
        body: response,
        elapsed_ms: 40,
    });
    assert!(
        matches!(effects.as_slice(), [Effect::Persist(_)]),
        "{effects:?}"
    );
    assert_eq!(
        wang.feed(Input::Persisted),
        [Effect::WakeAt(Timestamp(edited.0 + GATHER_MS))],
        "the next push waits for the window counted from the new edit"
    );
    wang.now = Timestamp(edited.0 + GATHER_MS);
    let (_, pushed) = the_send(wang.feed(Input::Tick));
    assert_eq!(pushed, 1);
}

#[test]
fn sync_now_start_the_network_and_a_server_notice_send_at_once_with_waiting_edits() {
    for input in [
        Input::SyncNow,
        Input::Start,
        Input::Online(true),
        Input::PushNotice { seq: None },
        Input::PushNotice {
            seq: Some(u64::MAX),
        },
    ] {
        let (_server, mut wang, _li, ids) = two_synced_devices(1);
        assert!(matches!(
            wang.edit_after(0, &ids[0], "已复查").as_slice(),
            [Effect::WakeAt(_)]
        ));
        let (_, pushed) = the_send(wang.feed(input.clone()));
        assert_eq!(pushed, 1, "{input:?} carries the waiting edit");
    }
}

#[test]
fn a_large_outbox_goes_chunk_after_chunk_without_waiting_between_chunks() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..200 {
        wang.new_visit(n);
    }
    let start = wang.now;
    wang.run(&mut server, Input::LocalEdit, &mut |_| Fate::Delivered);
    assert_eq!(server.store.doc_count(), 200);
    let requests = wang.counters.requests as i64;
    assert!(requests > 2, "{requests} requests");
    // The simulated network takes 100 ms per request: only the first push waited.
    assert_eq!(wang.now.0 - start.0, GATHER_MS + 100 * requests);
}

#[test]
fn a_notice_the_cursor_already_covers_sends_nothing_and_one_it_does_not_pulls() {
    let (mut server, mut wang, mut li, ids) = two_synced_devices(1);
    wang.edit_visit(&ids[0], "已复查：用电问题解决");
    wang.sync(&mut server);
    let seq = server
        .store
        .latest_seq()
        .expect("the memory store cannot fail");
    assert_eq!(wang.cursor(), seq);
    assert_eq!(
        wang.feed(Input::PushNotice { seq: Some(seq) }),
        [],
        "the notice of Wang's own commit"
    );
    assert!(li.cursor() < seq);
    let before = li.counters.requests;
    li.run(
        &mut server,
        Input::PushNotice { seq: Some(seq) },
        &mut |_| Fate::Delivered,
    );
    assert_eq!(li.counters.requests - before, 1);
    assert_eq!(li.visit_notes(&ids[0]), "已复查：用电问题解决");
}

#[test]
fn a_notice_heard_while_a_round_is_in_flight_costs_no_round_if_the_response_covers_it() {
    let (mut server, mut wang, _li, ids) = two_synced_devices(1);
    wang.edit_visit(&ids[0], "已复查");
    let (body, _) = the_send(wang.feed(Input::SyncNow));
    let response = server.handle(wang.person.actor.device, &body, wang.now);
    let seq = server
        .store
        .latest_seq()
        .expect("the memory store cannot fail");
    // The server's notice of this very commit can arrive before its response.
    assert_eq!(wang.feed(Input::PushNotice { seq: Some(seq) }), []);
    wang.feed(Input::Response {
        body: response,
        elapsed_ms: 10,
    });
    let effects = wang.feed(Input::Persisted);
    assert!(
        matches!(effects.as_slice(), [Effect::WakeAt(_)]),
        "no second round: {effects:?}"
    );
    // One for a later commit than the response covers does cost a round.
    let (body, _) = the_send(wang.feed(Input::SyncNow));
    wang.feed(Input::PushNotice { seq: Some(seq + 1) });
    let response = server.handle(wang.person.actor.device, &body, wang.now);
    wang.feed(Input::Response {
        body: response,
        elapsed_ms: 10,
    });
    the_send(wang.feed(Input::Persisted));
}

#[test]
fn offline_edits_wait_for_the_network_however_long_and_then_go_at_once() {
    let (_server, mut wang, _li, ids) = two_synced_devices(1);
    assert_eq!(wang.feed(Input::Online(false)), []);
    assert_eq!(wang.edit_after(0, &ids[0], "离线修改"), []);
    wang.now = Timestamp(wang.now.0 + 10 * GATHER_MS);
    assert_eq!(wang.feed(Input::Tick), [], "nothing goes while offline");
    let (_, pushed) = the_send(wang.feed(Input::Online(true)));
    assert_eq!(pushed, 1);
}

// ---------------------------------------------------------------------------------------------
// Retries, request limits and resuming on a dropping link
// ---------------------------------------------------------------------------------------------

/// The one wake-up among `effects`, as a delay from `now`.
fn the_wait(effects: Vec<Effect>, now: Timestamp) -> i64 {
    match effects.as_slice() {
        [Effect::WakeAt(t)] => t.0 - now.0,
        other => panic!("expected one wake-up, got {other:?}"),
    }
}

fn decoded(body: &[u8]) -> SyncRequest {
    shared::sync::protocol::decode_request(body)
        .expect("a valid request")
        .0
}

fn http(status: u16) -> Input {
    Input::Failed(Failure::Http {
        status,
        message: String::new(),
    })
}

#[test]
fn a_cut_right_after_a_round_that_worked_is_retried_at_once() {
    let (_server, mut wang, _li, ids) = two_synced_devices(1);
    wang.edit_visit(&ids[0], "已复查");
    the_send(wang.feed(Input::SyncNow));
    let (body, _) = the_send(wang.cut());
    assert!(
        decoded(&body).push.iter().all(|p| p.data.is_empty()),
        "the document in doubt goes heads-only"
    );
}

#[test]
fn a_link_that_cuts_every_upload_is_not_retried_in_a_tight_loop() {
    let (mut server, mut wang, _li, ids) = two_synced_devices(2);
    wang.edit_visit(&ids[0], "已复查");
    // An upload is cut and retried at once (heads only); the heads-only round gets through
    // (the server never saw the upload: it asks for the edit again), and the upload goes
    // again at once and is cut again.
    let (body, _) = the_send(wang.feed(Input::SyncNow));
    assert!(decoded(&body).push.iter().any(|p| !p.data.is_empty()));
    let (body, _) = the_send(wang.cut());
    assert!(decoded(&body).push.iter().all(|p| p.data.is_empty()));
    deliver(&mut wang, &mut server, &body);
    let (body, _) = the_send(wang.feed(Input::Persisted));
    assert!(decoded(&body).push.iter().any(|p| !p.data.is_empty()));
    wang.edit_visit(&ids[1], "已复查");
    // Two uploads cut in a row without one getting through: the next try waits, and is a
    // probe: no chunk (not the other edit), only the document the server asked for again,
    // whose data goes once more (after a cut the next request may be the only one to get
    // through, as with a balancer that hands every other request to a dead node).
    let delay = the_wait(wang.cut(), wang.now);
    assert!(delay >= 250, "waited {delay} ms");
    wang.now = Timestamp(wang.now.0 + delay);
    let (body, _) = the_send(wang.feed(Input::Tick));
    assert_eq!(heads_and_data(&body), (vec![], vec![ids[0].clone()]));
    // Cut too: from then on it is confirmed by its heads before its data goes again.
    let delay = the_wait(wang.cut(), wang.now);
    assert!(delay >= 250, "waited {delay} ms");
    wang.now = Timestamp(wang.now.0 + delay);
    let (body, _) = the_send(wang.feed(Input::Tick));
    assert_eq!(heads_and_data(&body), (vec![ids[0].clone()], vec![]));
}

#[test]
fn network_failures_in_a_row_are_retried_at_a_short_flat_interval_that_never_grows_past_a_few_seconds()
 {
    let (_server, mut wang, _li, _ids) = two_synced_devices(1);
    the_send(wang.feed(Input::SyncNow));
    the_send(wang.feed(Input::Failed(Failure::Network)));
    for n in 1..=60u32 {
        let effects = wang.client.handle(
            Input::Failed(Failure::Network),
            wang.now,
            n.wrapping_mul(2_654_435_761),
        );
        let delay = the_wait(effects, wang.now);
        if n <= NETWORK_FLAT_ATTEMPTS {
            assert!((250..=500).contains(&delay), "retry {n}: {delay} ms");
        } else {
            assert!((250..=4_000).contains(&delay), "retry {n}: {delay} ms");
        }
        wang.now = Timestamp(wang.now.0 + delay);
        the_send(wang.feed(Input::Tick));
    }
}

#[test]
fn a_server_that_answers_errors_gets_exponential_backoff_up_to_a_minute() {
    let (_server, mut wang, _li, _ids) = two_synced_devices(1);
    the_send(wang.feed(Input::SyncNow));
    let mut delays = Vec::new();
    for status in [503, 500, 429, 502, 503, 503, 503, 503, 503, 503] {
        let delay = the_wait(wang.feed(http(status)), wang.now);
        delays.push(delay);
        wang.now = Timestamp(wang.now.0 + delay);
        the_send(wang.feed(Input::Tick));
    }
    for (n, delay) in delays.iter().enumerate() {
        let full = (1_000i64 << n).min(60_000);
        assert!(
            (full / 2..=full).contains(delay),
            "error {}: {delay} ms of {delays:?}",
            n + 1
        );
    }
    assert!(
        (30_000..=60_000).contains(&delays[9]),
        "capped at a minute: {delays:?}"
    );
}

#[test]
fn the_status_tells_when_the_next_retry_goes_and_that_the_server_is_unreachable_while_online() {
    let (mut server, mut wang, _li, _ids) = two_synced_devices(1);
    the_send(wang.feed(Input::SyncNow));
    the_send(wang.feed(Input::Failed(Failure::Network)));
    let status = wang.client.status();
    assert!(!status.unreachable, "a cut retried at once is not news yet");
    let delay = the_wait(wang.feed(Input::Failed(Failure::Network)), wang.now);
    let status = wang.client.status();
    assert!(status.online && status.unreachable, "{status:?}");
    assert_eq!(status.retry_at, Some(Timestamp(wang.now.0 + delay)));

    wang.feed(Input::Online(false));
    let offline = wang.client.status();
    assert!(
        !offline.unreachable && offline.retry_at.is_none(),
        "offline is not 'server unreachable': {offline:?}"
    );
    wang.now = Timestamp(wang.now.0 + delay);
    wang.run(&mut server, Input::Online(true), &mut |_| Fate::Delivered);
    let back = wang.client.status();
    assert!(!back.unreachable && back.retry_at.is_none(), "{back:?}");

    // A gateway answering 502 for a server that is down is "unreachable" too; a plain 500 is not.
    the_send(wang.feed(Input::SyncNow));
    wang.feed(http(502));
    assert!(wang.client.status().unreachable);
    wang.now = Timestamp(wang.now.0 + 60_000);
    the_send(wang.feed(Input::Tick));
    wang.feed(http(500));
    assert!(!wang.client.status().unreachable);
}

#[test]
fn a_cut_on_a_link_that_carried_the_chunks_quickly_does_not_shrink_the_chunk() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..300 {
        wang.new_visit(n);
    }
    // Fast rounds grow the chunk; a cut then leaves it as it was.
    wang.sync(&mut server);
    for n in 300..600 {
        wang.new_visit(n);
    }
    let before = wang.client.chunk_size();
    the_send(wang.feed(Input::SyncNow));
    the_send(wang.cut());
    assert_eq!(wang.client.chunk_size(), before, "no halving at a cut");
}

/// Wang with 20 visits synced (the round tells the link's latency) and 600 more waiting,
/// more than one chunk, and the first chunk of those in flight: the documents it pushes.
fn an_upload_in_flight(server: &mut Server, wang: &mut Device) -> Vec<DocId> {
    for n in 0..20 {
        wang.new_visit(n);
    }
    wang.sync(server);
    for n in 20..620 {
        wang.new_visit(n);
    }
    let (chunk, _) = the_send(wang.feed(Input::SyncNow));
    decoded(&chunk).push.into_iter().map(|p| p.doc).collect()
}

/// The documents a request pushes heads-only and those it pushes with data.
fn heads_and_data(body: &[u8]) -> (Vec<DocId>, Vec<DocId>) {
    let (heads, data): (Vec<_>, Vec<_>) = decoded(body)
        .push
        .into_iter()
        .partition(|p| p.data.is_empty());
    (
        heads.into_iter().map(|p| p.doc).collect(),
        data.into_iter().map(|p| p.doc).collect(),
    )
}

#[test]
fn the_retry_after_a_cut_carries_the_next_chunk_beside_the_heads_of_the_documents_in_doubt() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let cut = an_upload_in_flight(&mut server, &mut wang);
    // The chunk is cut on the way; the link comes back at once. The retry does not spend a
    // round finding that out: it confirms the cut chunk by its heads and uploads the next one.
    let (retry, _) = the_send(wang.cut());
    let (heads, data) = heads_and_data(&retry);
    assert_eq!(heads, cut, "the cut chunk's documents, heads only");
    assert!(!data.is_empty(), "and the next chunk's, with their data");
    assert!(data.iter().all(|d| !cut.contains(d)), "{data:?}");
    deliver(&mut wang, &mut server, &retry);
    wang.run(&mut server, Input::Persisted, &mut |_| Fate::Delivered);
    assert!(wang.client.replica_mut().pending().is_empty());
}

#[test]
fn when_the_retry_with_a_chunk_is_cut_too_the_next_try_waits_and_carries_no_data() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let first = an_upload_in_flight(&mut server, &mut wang);
    let (retry, _) = the_send(wang.cut());
    let (_, second) = heads_and_data(&retry);
    assert!(!second.is_empty());
    // Two chunks cut in a row: the link may not carry a chunk now. The next try waits and
    // only confirms both chunks by their heads.
    let delay = the_wait(wang.cut(), wang.now);
    assert!(delay >= 250, "waited {delay} ms");
    wang.now = Timestamp(wang.now.0 + delay);
    let (probe, _) = the_send(wang.feed(Input::Tick));
    let (heads, data) = heads_and_data(&probe);
    assert!(data.is_empty(), "a probe: {data:?}");
    assert_eq!(heads, [first, second].concat());
}

#[test]
fn connections_refused_while_the_link_is_down_leave_the_chunk_and_put_nothing_more_in_doubt() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let cut = an_upload_in_flight(&mut server, &mut wang);
    let (retry, _) = the_send(wang.cut());
    let (_, next) = heads_and_data(&retry);
    let after_cut = wang.client.chunk_size();
    // The link refuses every connection for a while: each retry fails at once, before any of
    // it could reach the server. None is a cut chunk, and none of their documents is in doubt:
    // each retry carries the same heads and, from the same document on, a chunk with its
    // data, not a probe.
    for _ in 0..5 {
        let delay = the_wait(wang.refused(), wang.now);
        assert!(delay >= 250, "waited {delay} ms");
        wang.now = Timestamp(wang.now.0 + delay);
        let (again, _) = the_send(wang.feed(Input::Tick));
        let (heads, data) = heads_and_data(&again);
        assert!(heads == cut, "{} in doubt, not {}", heads.len(), cut.len());
        assert!(
            !data.is_empty() && data[0] == next[0],
            "{} documents with data",
            data.len()
        );
    }
    assert_eq!(
        wang.client.chunk_size(),
        after_cut,
        "refused connections say nothing about the chunk"
    );
}

/// Requests a balancer hands strictly in turn to two nodes on one database, one of them dead
/// (`dead`: the fate of its requests, which are cut after they could have arrived), starting
/// with the dead node when `dead_first`; after `GIVE_UP` requests the dead node is taken out.
/// Returns how many requests went before Wang's outbox was empty, as the counters tell.
fn alternating_with_a_dead_node(
    server: &mut Server,
    wang: &mut Device,
    dead: Fate,
    dead_first: bool,
) -> usize {
    const GIVE_UP: usize = 40;
    let mut fate = move |n: usize| {
        if n > GIVE_UP || n.is_multiple_of(2) == dead_first {
            Fate::Delivered
        } else {
            dead
        }
    };
    wang.run(server, Input::SyncNow, &mut fate);
    assert!(wang.client.replica_mut().pending().is_empty());
    wang.counters.requests
}

#[test]
fn a_device_whose_requests_alternate_between_a_live_and_a_dead_node_uploads_all_the_same() {
    for dead in [Fate::RequestLost, Fate::ResponseLost] {
        for dead_first in [true, false] {
            let (mut server, mut wang, mut li, ids) = two_synced_devices(3);
            for id in &ids {
                wang.edit_visit(id, "已复查：企业用电恢复正常");
            }
            let new = wang.new_visit(99);
            let rows = server.store.change_rows;
            wang.counters = Counters::default();
            let requests = alternating_with_a_dead_node(&mut server, &mut wang, dead, dead_first);
            // Each document is cut at most once on the dead node, confirmed or asked for
            // again on the live one, and carried there with its data.
            assert!(
                requests <= 6,
                "{dead:?}, dead node first: {dead_first}: {requests} requests"
            );
            assert_eq!(
                server.store.change_rows,
                rows + 4,
                "each change stored once"
            );
            li.sync(&mut server);
            assert_eq!(li.visit_notes(&ids[2]), "已复查：企业用电恢复正常");
            assert_eq!(li.visit_notes(&new), wang.visit_notes(&new));
        }
    }
}

#[test]
fn no_request_pushes_more_than_the_servers_limit_of_documents() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..1_600 {
        wang.new_visit(n);
    }
    wang.sync(&mut server);
    assert_eq!(server.store.doc_count(), 1_600);
    let most = wang.counters.pushed.iter().max().copied();
    assert_eq!(
        most,
        Some(MAX_PUSHES),
        "chunks grew up to the cap: {:?}",
        wang.counters.pushed
    );
}

#[test]
fn an_http_413_halves_the_documents_per_request_at_once_and_the_halved_cap_holds_for_a_while() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..40 {
        wang.new_visit(n);
    }
    let (_, first) = the_send(wang.feed(Input::SyncNow));
    assert!(first >= 4, "{first} documents in the first request");
    let (body, second) = the_send(wang.feed(http(413)));
    assert_eq!(second, first / 2, "half as many, at once");
    assert!(decoded(&body).push.iter().all(|p| !p.data.is_empty()));
    assert_eq!(wang.client.max_pushes(), first / 2);
    // Delivered from here on: the next rounds keep the halved cap.
    let response = server.handle(wang.person.actor.device, &body, wang.now);
    wang.feed(Input::Response {
        body: response,
        elapsed_ms: 100,
    });
    wang.run(&mut server, Input::Persisted, &mut |_| Fate::Delivered);
    assert_eq!(server.store.doc_count(), 40);
    assert!(
        wang.counters.pushed.iter().all(|&p| p <= first / 2),
        "{:?}",
        wang.counters.pushed
    );
}

#[test]
fn an_http_413_for_a_request_of_one_document_refuses_that_document_and_the_rest_go_on() {
    let (mut server, mut wang, mut li, ids) = two_synced_devices(3);
    for id in &ids {
        wang.edit_visit(id, "已复查：企业用电恢复正常");
    }
    let (_, pushed) = the_send(wang.feed(Input::SyncNow));
    assert_eq!(pushed, 3);
    let (body, pushed) = the_send(wang.feed(http(413)));
    assert_eq!(pushed, 1, "halved to one document");
    let big = decoded(&body).push[0].doc.clone();
    // The document alone is over a limit: refused on the device and the refusal stored.
    let effects = wang.feed(http(413));
    let [Effect::Persist(batch)] = effects.as_slice() else {
        panic!("expected the refusal stored, got {effects:?}");
    };
    assert!(
        matches!(batch.refused.as_slice(), [(id, Some((_, Refusal::TooLarge { .. })))] if *id == big),
        "{batch:?}"
    );
    assert_eq!(batch.position, None, "the feed position is left as it was");
    // The others go on at once; the refused one is not pushed again.
    wang.run(&mut server, Input::Persisted, &mut |_| Fate::Delivered);
    let status = wang.client.status();
    assert_eq!(status.error, None, "sync did not stop");
    assert!(
        matches!(status.refused.as_slice(), [(id, Refusal::TooLarge { .. })] if *id == big),
        "shown for fixing: {:?}",
        status.refused
    );
    assert_eq!(status.waiting, 0);
    li.sync(&mut server);
    for id in ids.iter().filter(|id| **id != big) {
        assert_eq!(li.visit_notes(id), "已复查：企业用电恢复正常");
    }
    assert_ne!(li.visit_notes(&big), "已复查：企业用电恢复正常");
    // Fixed (edited again), it goes.
    wang.edit_visit(&big, "已复查");
    wang.sync(&mut server);
    assert!(wang.client.status().refused.is_empty());
    li.sync(&mut server);
    assert_eq!(li.visit_notes(&big), "已复查");
}

#[test]
fn a_gateway_error_after_the_server_committed_is_confirmed_heads_only_without_sending_the_data_again()
 {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    for n in 0..10 {
        wang.new_visit(n);
    }
    let (body, pushed) = the_send(wang.feed(Input::SyncNow));
    assert_eq!(pushed, 10);
    // The server commits; the proxy in front of it answers 502 (or 504) all the same.
    server.handle(wang.person.actor.device, &body, wang.now);
    let delay = the_wait(wang.feed(http(502)), wang.now);
    wang.now = Timestamp(wang.now.0 + delay);
    let (resume, again) = the_send(wang.feed(Input::Tick));
    assert_eq!(again, 10, "the ten are in doubt");
    assert!(decoded(&resume).push.iter().all(|p| p.data.is_empty()));
    confirmed_once(&mut wang, &mut server, &resume);
}

/// Delivers the heads-only `resume` of ten in-doubt documents and checks that the server
/// confirms them all, each change stored once, with nothing pushed again.
fn confirmed_once(wang: &mut Device, server: &mut Server, resume: &[u8]) {
    let response = deliver(wang, server, resume);
    assert!(
        response
            .results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Accepted { .. })),
        "{:?}",
        response.results
    );
    wang.run(server, Input::Persisted, &mut |_| Fate::Delivered);
    assert!(wang.client.replica_mut().pending().is_empty());
    assert_eq!(server.store.change_rows, 10, "each change stored once");
    assert!(wang.counters.pushed.is_empty(), "nothing pushed again");
}

/// Sends `body` to the server, feeds its response and persists, returning the response.
fn deliver(wang: &mut Device, server: &mut Server, body: &[u8]) -> SyncResponse {
    let response = server.handle(wang.person.actor.device, body, wang.now);
    let decoded: SyncResponse = shared::sync::protocol::decode(&response).expect("a response");
    let effects = wang.feed(Input::Response {
        body: response,
        elapsed_ms: 100,
    });
    assert!(matches!(effects.as_slice(), [Effect::Persist(_)]));
    decoded
}

#[test]
fn an_upload_cut_after_the_server_committed_it_is_confirmed_heads_only_without_sending_the_data_again()
 {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    // Notes that do not compress, as in the field: 300 characters drawn from 4,096.
    let mut lcg = Lcg(11);
    for n in 0..10 {
        let notes: String = (0..300)
            .map(|_| char::from_u32(0x4E00 + (lcg.next() % 4096) as u32).unwrap_or('走'))
            .collect();
        wang.new_visit_noting(n, notes);
    }
    let (body, pushed) = the_send(wang.feed(Input::SyncNow));
    assert_eq!(pushed, 10);
    // The server commits; the answer is lost in a cut.
    server.handle(wang.person.actor.device, &body, wang.now);
    let (resume, again) = the_send(wang.cut());
    assert_eq!(again, 10);
    let request = decoded(&resume);
    assert!(request.push.iter().all(|p| p.data.is_empty()));
    assert!(
        resume.len() * 3 < body.len(),
        "{} bytes to confirm {} bytes",
        resume.len(),
        body.len()
    );
    confirmed_once(&mut wang, &mut server, &resume);
}

/// The shortest prefix of `body` in which `pushes` pushes arrived whole.
fn prefix_with(body: &[u8], pushes: usize) -> usize {
    let arrived = |cut: usize| decode_cut_request(&body[..cut]).map_or(0, |(r, _)| r.push.len());
    let (mut lo, mut hi) = (0, body.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if arrived(mid) >= pushes {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

#[test]
fn after_an_upload_cut_midway_the_device_sends_again_only_what_the_server_did_not_keep() {
    let mut server = Server::new();
    let mut wang = Device::new(officer_wang());
    let mut lcg = Lcg(12);
    for n in 0..10 {
        let notes: String = (0..300)
            .map(|_| char::from_u32(0x4E00 + (lcg.next() % 4096) as u32).unwrap_or('走'))
            .collect();
        wang.new_visit_noting(n, notes);
    }
    let (body, pushed) = the_send(wang.feed(Input::SyncNow));
    assert_eq!(pushed, 10);
    let order: Vec<DocId> = decoded(&body).push.into_iter().map(|p| p.doc).collect();
    // The link is cut one byte before the fifth push's end: the server keeps the four before.
    let cut = prefix_with(&body, 5) - 1;
    let kept = server.handle_cut(wang.person.actor.device, &body[..cut], wang.now);
    assert_eq!(kept, order[..4]);
    // No answer came: the probe carries the heads of all ten.
    let (probe, in_doubt) = the_send(wang.cut());
    assert_eq!(in_doubt, 10);
    assert!(decoded(&probe).push.iter().all(|p| p.data.is_empty()));
    let response = deliver(&mut wang, &mut server, &probe);
    let accepted: Vec<&DocId> = response
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Accepted { .. }))
        .map(|r| &r.doc)
        .collect();
    assert_eq!(accepted, order[..4].iter().collect::<Vec<_>>());
    // The next chunk carries the six the server lacks, whole, and nothing of the four.
    let (rest, pushed) = the_send(wang.feed(Input::Persisted));
    assert_eq!(pushed, 6);
    let request = decoded(&rest);
    let sent: Vec<DocId> = request.push.iter().map(|p| p.doc.clone()).collect();
    assert_eq!(sent, order[4..]);
    assert!(request.push.iter().all(|p| !p.data.is_empty()));
    deliver(&mut wang, &mut server, &rest);
    wang.run(&mut server, Input::Persisted, &mut |_| Fate::Delivered);
    assert!(wang.client.replica_mut().pending().is_empty());
    assert_eq!(server.store.change_rows, 10, "each change stored once");
}

#[test]
fn an_upload_cut_before_the_server_saw_it_resumes_from_the_servers_heads() {
    let (mut server, mut wang, _li, ids) = two_synced_devices(3);
    for id in &ids {
        wang.edit_visit(id, "已复查：企业用电恢复正常");
    }
    let new = wang.new_visit(99);
    let (_lost, pushed) = the_send(wang.feed(Input::SyncNow));
    assert_eq!(pushed, 4);
    let (resume, _) = the_send(wang.cut());
    let response = deliver(&mut wang, &mut server, &resume);
    assert!(
        response
            .results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Resend { .. })),
        "the server has none of them: {:?}",
        response.results
    );
    // The next request pushes what follows the server's heads: the edits, and the new visit
    // whole (the server has nothing of it).
    let (body, pushed) = the_send(wang.feed(Input::Persisted));
    assert_eq!(pushed, 4);
    let request = decoded(&body);
    for push in &request.push {
        if push.doc == new {
            assert!(push.base.is_empty() && !push.data.is_empty());
        } else {
            assert!(
                !push.base.is_empty(),
                "{}: from the acknowledged heads",
                push.doc
            );
            assert!(
                push.data.len() < 400,
                "{}: {} bytes",
                push.doc,
                push.data.len()
            );
        }
    }
    deliver(&mut wang, &mut server, &body);
    wang.run(&mut server, Input::Persisted, &mut |_| Fate::Delivered);
    assert!(wang.client.replica_mut().pending().is_empty());
    let mut li = Device::new(officer_li());
    li.sync(&mut server);
    assert_eq!(li.visit_notes(&ids[2]), "已复查：企业用电恢复正常");
    assert_eq!(li.client.replica().len(), 4);
}

#[test]
fn a_handover_carries_every_unacknowledged_document_and_the_server_takes_it_as_the_devices_push() {
    // Wang's phone synced two visits, then, never online again, edited one and made a third.
    let (mut server, mut wang, mut li, ids) = two_synced_devices(2);
    wang.edit_visit(&ids[0], "没有信号时补充的走访记录");
    let third = wang.new_visit(2);
    let pushes = wang.client.handover_pushes();
    let mut docs: Vec<&DocId> = pushes.iter().map(|p| &p.doc).collect();
    docs.sort();
    let mut expected = vec![&ids[0], &third];
    expected.sort();
    assert_eq!(docs, expected, "what the server lacks, and only that");

    // IT applies them as the device's own push: the other phone then sees both.
    let file = shared::sync::handover::write(
        &shared::sync::handover::Handover {
            device: wang.person.actor.device,
            user: wang.person.actor.user,
            created_at: wang.now,
            push: pushes,
        },
        "wang's device secret",
    );
    let read: shared::sync::handover::HandoverFile =
        shared::sync::protocol::decode(&file).expect("a handover file");
    let handover: shared::sync::handover::Handover =
        postcard::from_bytes(&read.payload).expect("its payload");
    let request = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: handover.created_at,
        push: handover.push,
        max_response_bytes: 1 << 20,
        unsent: Some(0),
    };
    let body = shared::sync::protocol::encode(&request);
    server.handle(wang.person.actor.device, &body, wang.now);
    li.sync(&mut server);
    assert_eq!(li.visit_notes(&ids[0]), "没有信号时补充的走访记录");
    assert_eq!(li.visit_notes(&third), wang.visit_notes(&third));
}
