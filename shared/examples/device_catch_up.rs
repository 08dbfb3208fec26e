//! A fresh device's catch-up (the bench's S2) on the device's side, in one process: an
//! officer's 1,000 visits are on an in-memory server; a new device pulls them all, once
//! storing the pulled bytes as the engine does (documents built when first read), once also
//! building and re-saving each pulled document as it arrives (what the device did before lazy
//! loading). Rounds alternate between the two and the medians are compared in the same run.
//!
//! `cargo run --release -p shared --example device_catch_up [documents] [rounds]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use shared::config::Config;
use shared::doc::{DocKind, NewVisit, VisitDoc};
use shared::model::*;
use shared::sync::client::{Effect, Input, SyncClient};
use shared::sync::limits::Limits;
use shared::sync::memory::MemoryStore;
use shared::sync::protocol::{self, DocId};
use shared::sync::replica::Replica;
use shared::sync::server::{SyncContext, handle_sync};
use shared::sync::validate::Scope;

/// Runs one device until it is idle; `eager` builds and saves every pulled document as it
/// arrives. Returns the time spent in the device (the engine and, if eager, the building) and
/// in all (the in-memory server's work included).
fn catch_up(
    store: &mut MemoryStore,
    person: Person,
    eager: bool,
) -> (Duration, Duration, SyncClient) {
    let all = Instant::now();
    let config = Config::default();
    let mut client = SyncClient::new(Replica::new(person.actor_id()));
    let mut device = Duration::ZERO;
    let mut now = T0;
    let mut queue = vec![Input::SyncNow];
    for _ in 0..100_000 {
        let Some(input) = queue.pop() else { break };
        let started = Instant::now();
        let effects = client.handle(input, now, 7);
        device += started.elapsed();
        for effect in effects {
            match effect {
                Effect::Send { body, .. } => {
                    now = Timestamp(now.0 + 10);
                    queue.push(Input::Response {
                        body: serve(store, &config, person, now, &body),
                        elapsed_ms: 10,
                    });
                }
                Effect::Persist(batch) => {
                    if eager {
                        let started = Instant::now();
                        let replica = client.replica_mut();
                        for saved in &batch.docs {
                            let doc = replica.doc_mut(&saved.id).expect("pulled");
                            std::hint::black_box(doc.expect("builds").save());
                        }
                        device += started.elapsed();
                    }
                    queue.push(Input::Persisted);
                }
                Effect::WakeAt(_) => {}
            }
        }
    }
    (device, all.elapsed(), client)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let wang = officer_wang();
    let mut uploader = SyncClient::new(Replica::new(wang.actor_id()));
    for i in 0..n {
        let id = VisitId::from_random_bytes(bytes(20, i));
        let visit = NewVisit {
            id,
            enterprise: enterprise(),
            method: VisitMethod::OnSite,
            check_in: None,
            operating_status: OperatingStatus::Normal,
            notes: format!(
                "第{i}次走访：企业反映用电、用工情况，需协调供电公司。{}",
                "记录".repeat(40)
            ),
        };
        let doc = VisitDoc::create(&visit, &wang.actor, wang.actor_id(), at(0)).expect("create");
        uploader.replica_mut().insert_new(
            DocId::new(DocKind::Visit, &id.to_string()),
            doc.into_record(),
        );
    }
    let mut store = MemoryStore::new();
    upload(&mut store, wang, uploader);

    let (mut lazy, mut eager) = (Vec::new(), Vec::new());
    let (mut lazy_all, mut eager_all) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for mode in [round % 2 == 0, round % 2 == 1] {
            // A new device each time: another person, so the server sends everything.
            let person = Person::new(100 + (round * 2) as u8 + u8::from(mode), Role::Officer);
            let (took, all, mut client) = catch_up(&mut store, person, mode);
            assert_eq!(client.replica().len() as u64, n);
            assert!(client.replica_mut().pending().is_empty());
            if mode {
                eager.push(took);
                eager_all.push(all);
            } else {
                lazy.push(took);
                lazy_all.push(all);
            }
        }
    }
    for (what, lazy, eager) in [
        ("device time", &mut lazy, &mut eager),
        ("with the in-memory server", &mut lazy_all, &mut eager_all),
    ] {
        lazy.sort();
        eager.sort();
        let (l, e) = (lazy[lazy.len() / 2], eager[eager.len() / 2]);
        println!(
            "{n} documents, {rounds} rounds each, {what}, median: stored as pulled {:.1} ms, \
             built and saved as pulled {:.1} ms; ratio {:.2}x",
            l.as_secs_f64() * 1e3,
            e.as_secs_f64() * 1e3,
            e.as_secs_f64() / l.as_secs_f64()
        );
    }
}

/// The server's answer to one request of `person`'s device.
fn serve(
    store: &mut MemoryStore,
    config: &Config,
    person: Person,
    now: Timestamp,
    body: &[u8],
) -> Vec<u8> {
    let (req, _) = protocol::decode_request(body).expect("a request");
    let ctx = SyncContext {
        declared: None,
        device: person.actor.device,
        read: &Scope::All,
        write: &Scope::All,
        config,
        now,
        limits: Limits::DEVICE,
        authorship: None,
    };
    protocol::encode(&handle_sync(store, &ctx, &req).expect("memory store"))
}

/// Uploads the uploader's documents to `store`.
fn upload(store: &mut MemoryStore, person: Person, mut client: SyncClient) {
    let config = Config::default();
    let mut queue = vec![Input::SyncNow];
    for _ in 0..100_000 {
        let Some(input) = queue.pop() else { return };
        for effect in client.handle(input, T0, 7) {
            match effect {
                Effect::Send { body, .. } => queue.push(Input::Response {
                    body: serve(store, &config, person, T0, &body),
                    elapsed_ms: 10,
                }),
                Effect::Persist(_) => queue.push(Input::Persisted),
                Effect::WakeAt(_) => {}
            }
        }
    }
}
