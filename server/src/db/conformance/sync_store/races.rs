//! The sync store with two servers at once: two connections to PostgreSQL (two threads taking
//! turns at SQLite's one writer) editing one document, or committing while a third reads the
//! feed; and, on PostgreSQL only, a commit merged onto heads another server moved.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};

use automerge::{AutoCommit, ChangeHash};
use shared::config::Config;
use shared::doc::{RecordDoc, VisitDoc};
use shared::sync::limits::Limits;
use shared::sync::protocol::{DocPush, Outcome, SyncRequest, to_wire};
use shared::sync::server::{Commit, SyncContext};
use shared::sync::validate::Scope;

use super::{Backend, T0, commit_of, doc_commit, doc_id, officer, visit};
use crate::store::StoreError;

/// A request pushing what `doc` holds after `base`.
fn pushing(doc: &mut RecordDoc, base: &[ChangeHash]) -> SyncRequest {
    SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: T0,
        push: vec![DocPush {
            doc: doc_id(doc),
            base: to_wire(base),
            heads: to_wire(&doc.heads()),
            data: doc.automerge().save_after(base),
        }],
        max_response_bytes: 1 << 20,
        unsent: None,
    }
}

fn two_servers_committing_to_one_document_both_land(b: &Backend) {
    const EDITS: usize = 15;
    let mut visit = visit(1, 1);
    let id = doc_id(visit.record());
    b.store()
        .commit(&commit_of(vec![doc_commit(visit.record(), None)]))
        .expect("the visit stored");
    let bytes = visit.record().save();
    let start = Barrier::new(2);

    // Officers 1 and 2 edit their own copies, each pushing through a server of their own.
    let made: Vec<Vec<ChangeHash>> = std::thread::scope(|s| {
        let threads: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|n| {
                let (start, bytes, id) = (&start, &bytes, &id);
                let mut store = b.store();
                s.spawn(move || {
                    let (who, actor) = officer(n);
                    let mut copy = VisitDoc::load(bytes, actor).expect("a copy");
                    let mut pushed = copy.record().heads();
                    let config = Config::default();
                    let ctx = SyncContext {
                        device: who.device,
                        read: &Scope::All,
                        write: &Scope::All,
                        config: &config,
                        declared: None,
                        now: T0,
                        limits: Limits::DEVICE,
                        authorship: None,
                    };
                    start.wait();
                    for k in 0..EDITS {
                        copy.edit(&who, T0, |e| e.set_notes(&format!("{n}：第{k}次")))
                            .expect("edited");
                        let response = store.sync(&ctx, &pushing(copy.record(), &pushed));
                        // Pushed after what the server accepted: anything but `Accepted` (a
                        // `Resend`) says the server lost a change it had accepted.
                        assert!(
                            matches!(response.results[0].outcome, Outcome::Accepted { .. }),
                            "officer {n}'s edit {k} of {id}: {:?}",
                            response.results[0].outcome
                        );
                        pushed = copy.record().heads();
                    }
                    copy.record()
                        .automerge()
                        .get_changes(&[])
                        .iter()
                        .map(|c| c.hash())
                        .collect()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("an officer's thread"))
            .collect()
    });

    let stored = b.store().load(&id).expect("stored");
    let mut merged = AutoCommit::load(&stored.bytes).expect("loadable");
    for (n, hashes) in made.iter().enumerate() {
        let lost = hashes
            .iter()
            .filter(|h| merged.get_change_meta_by_hash(h).is_none())
            .count();
        assert_eq!(
            lost,
            0,
            "officer {}'s changes lost from the document",
            n + 1
        );
        assert_eq!(
            b.store().known(&id, hashes).len(),
            hashes.len(),
            "officer {}'s changes missing from the change table",
            n + 1
        );
    }
}

fn a_reader_polling_the_feed_while_two_servers_commit_skips_no_number(b: &Backend) {
    const EACH: u16 = 100;
    // Every visit is new and committed once: numbers 1 to 2 × EACH, each kept by its visit.
    let batches: Vec<Vec<Commit>> = (0..2u16)
        .map(|server| {
            (0..EACH)
                .map(|n| {
                    let mut v = visit(server * EACH + n, 1);
                    commit_of(vec![doc_commit(v.record(), None)])
                })
                .collect()
        })
        .collect();
    let done = AtomicBool::new(false);
    let start = Barrier::new(3);

    let seen: Vec<u64> = std::thread::scope(|s| {
        let reader = {
            let (done, start) = (&done, &start);
            let mut store = b.store();
            s.spawn(move || {
                let mut seen = Vec::new();
                let mut cursor = 0;
                start.wait();
                // Bounded: each pass either reads something new or comes after the last commit.
                for _ in 0..1_000_000 {
                    let finished = done.load(Ordering::SeqCst);
                    let feed = store.feed(&Scope::All, cursor, 1000);
                    if let Some((_, last)) = feed.last() {
                        cursor = *last;
                    }
                    seen.extend(feed.into_iter().map(|(_, seq)| seq));
                    if finished {
                        break;
                    }
                }
                seen
            })
        };
        let committers: Vec<_> = batches
            .iter()
            .map(|batch| {
                let start = &start;
                let mut store = b.store();
                s.spawn(move || {
                    start.wait();
                    for commit in batch {
                        store.commit(commit).expect("committed");
                    }
                })
            })
            .collect();
        for c in committers {
            c.join().expect("a committer");
        }
        done.store(true, Ordering::SeqCst);
        reader.join().expect("the reader")
    });

    let all: Vec<u64> = (1..=u64::from(2 * EACH)).collect();
    let missed: Vec<&u64> = all.iter().filter(|n| !seen.contains(n)).collect();
    assert!(missed.is_empty(), "the reader skipped {missed:?}");
    assert_eq!(seen, all, "each number once, in order");
}

/// PostgreSQL only (SQLite's one writer never commits a merge of an older version): a commit
/// whose merge started from heads another server has moved since is refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_commit_merged_onto_heads_another_server_moved_stores_nothing() {
    super::run(super::postgres().await, |b| {
        let mut store = b.store();
        let mut visit_one = visit(1, 1);
        let first = doc_commit(visit_one.record(), None);
        store
            .commit(&commit_of(vec![first.clone()]))
            .expect("the visit stored");
        let mut theirs = VisitDoc::load(&first.snapshot, officer(2).1).expect("a copy");
        theirs
            .edit(&officer(2).0, T0, |e| e.set_notes("李：用工已对接"))
            .expect("edited");
        let moved = doc_commit(theirs.record(), Some(first.heads.clone()));
        store
            .commit(&commit_of(vec![moved.clone()]))
            .expect("the other server's commit");
        visit_one
            .edit(&officer(1).0, T0, |e| e.set_notes("王：已协调供电"))
            .expect("edited");
        let mut visit_two = visit(2, 1);
        let new = doc_commit(visit_two.record(), None);

        let refused = store.commit(&commit_of(vec![
            new.clone(),
            doc_commit(visit_one.record(), Some(first.heads.clone())),
        ]));

        assert!(
            matches!(refused, Err(StoreError::Moved { .. })),
            "merged onto moved heads: {refused:?}"
        );
        assert_eq!(
            store.heads(&first.doc),
            Some(moved.heads),
            "the other server's edit"
        );
        assert!(
            store.load(&new.doc).is_none(),
            "the commit's other document"
        );
        assert_eq!(store.latest(), 2);
    })
    .await;
}

on_both_sync_stores!(
    two_servers_committing_to_one_document_both_land,
    a_reader_polling_the_feed_while_two_servers_commit_skips_no_number,
);
