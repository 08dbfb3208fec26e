//! The sync store on both backends (issue 16 items 2–4): what a commit stores loads back as it
//! was, the change feed numbers, scopes, orders and limits its documents, a failed commit
//! leaves nothing, and two servers at once (two connections to PostgreSQL; two threads taking
//! turns at SQLite's one writer) neither lose a change of one document nor let a reader of
//! the feed skip a number.
//!
//! Two servers at once are in `races.rs`; the query tables a commit writes and the queries
//! over them in `query_tables.rs`; the leaders' answers compared across the two backends in
//! `answers.rs`; the settling window a device's syncs set in `settling.rs`. The store's trait is synchronous: each behaviour
//! runs on a blocking thread, as the server runs its sync work, with the runtime's worker
//! threads free to drive the PostgreSQL connections.

use std::collections::BTreeSet;
use std::sync::Arc;

use automerge::{AutoCommit, ChangeHash};
use shared::config::Config;
use shared::doc::{ActorId, EnterpriseDoc, NewEnterprise, NewVisit, RecordDoc, VisitDoc};
use shared::model::{
    Actor, CreditCode, DeviceId, EnterpriseId, EnterpriseSize, OperatingStatus, OrgUnitId, Role,
    Timestamp, UserId, VisitId, VisitMethod,
};
use shared::sync::protocol::{DocId, SyncRequest, SyncResponse};
use shared::sync::server::{
    Commit, DocCommit, DocMeta, NewChange, ServerStore, StoredDoc, SyncContext,
};
use shared::sync::validate::{Scope, validate};
use tokio::runtime::Handle;

use super::throwaway::Throwaway;
use crate::pg::{PgDb, PgSyncStore};
use crate::store::{SqliteDb, StoreError};

/// 2026-11-01T00:00:00Z
const T0: Timestamp = Timestamp(1_793_491_200_000);

/// A backend's sync store as servers hold it.
enum Backend {
    /// SQLite: the one writer behind its lock, which every thread takes in turn.
    Sqlite {
        db: Arc<SqliteDb>,
        _dir: tempfile::TempDir,
    },
    /// PostgreSQL: a connection of its own for each [`Backend::store`] (each server).
    Postgres {
        db: PgDb,
        runtime: Handle,
        _throwaway: Throwaway,
    },
}

/// One server's sync store.
enum Store {
    Sqlite(Arc<SqliteDb>),
    Postgres(Box<PgSyncStore>),
}

/// Runs `$body` with `$s`, the store as a `ServerStore` (SQLite's under its lock).
macro_rules! with_store {
    ($store:expr, |$s:ident| $body:expr) => {
        match $store {
            Store::Sqlite(db) => {
                let mut writer = db.lock_writer();
                let $s = &mut *writer;
                $body
            }
            Store::Postgres(pg) => {
                let $s = &mut **pg;
                $body
            }
        }
    };
}

impl Backend {
    /// A server's sync store (PostgreSQL: a connection of its own).
    fn store(&self) -> Store {
        match self {
            Backend::Sqlite { db, .. } => Store::Sqlite(db.clone()),
            Backend::Postgres { db, runtime, .. } => Store::Postgres(Box::new(
                runtime
                    .block_on(db.sync_store())
                    .expect("a connection from the pool"),
            )),
        }
    }

    /// Runs one SQL statement as it is (what the test makes the database refuse).
    fn execute(&self, sql: &str) {
        match self {
            Backend::Sqlite { db, .. } => {
                crate::store::test_support::execute_raw(&db.lock_writer(), sql).map(|_| ())
            }
            Backend::Postgres { db, runtime, .. } => {
                runtime.block_on(db.execute_raw(sql)).map(|_| ())
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The rows of a query, as values.
    fn rows(&self, sql: &str) -> Vec<crate::store::sql::SqlRow> {
        match self {
            Backend::Sqlite { db, .. } => {
                crate::store::test_support::query_raw(&db.lock_writer(), sql)
            }
            Backend::Postgres { db, runtime, .. } => runtime.block_on(db.query_raw(sql)),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Makes the database refuse to store the changes of `doc`.
    fn refuse_changes_of(&self, doc: &DocId) {
        let doc = doc.as_str();
        match self {
            Backend::Sqlite { .. } => self.execute(&format!(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON changes WHEN NEW.doc_id = '{doc}' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )),
            Backend::Postgres { .. } => {
                self.execute(&format!(
                    "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN IF NEW.doc_id = '{doc}' THEN RAISE EXCEPTION 'refused by the test'; \
                     END IF; RETURN NEW; END $$"
                ));
                self.execute(
                    "CREATE TRIGGER refuse_one BEFORE INSERT ON changes \
                     FOR EACH ROW EXECUTE FUNCTION refuse_one()",
                );
            }
        }
    }
}

impl Store {
    fn commit(&mut self, commit: &Commit) -> Result<(), StoreError> {
        with_store!(self, |s| s.commit(commit))
    }

    fn load(&mut self, doc: &DocId) -> Option<StoredDoc> {
        with_store!(self, |s| s.load_doc(doc)).expect("load a document")
    }

    fn heads(&mut self, doc: &DocId) -> Option<Vec<ChangeHash>> {
        with_store!(self, |s| s.doc_heads(doc)).expect("a document's heads")
    }

    fn meta(&mut self, doc: &DocId) -> Option<DocMeta> {
        with_store!(self, |s| s.doc_meta(doc)).expect("a document's row")
    }

    fn known(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> BTreeSet<ChangeHash> {
        with_store!(self, |s| s.known_changes(doc, hashes)).expect("known changes")
    }

    fn feed(&mut self, scope: &Scope, after: u64, limit: usize) -> Vec<(DocId, u64)> {
        with_store!(self, |s| s.changed_since(scope, after, limit)).expect("the feed")
    }

    fn latest(&mut self) -> u64 {
        with_store!(self, |s| s.latest_seq()).expect("the latest number")
    }

    /// One sync request as the server handles it (PostgreSQL: merged again when another
    /// server committed one of its documents first).
    fn sync(&mut self, ctx: &SyncContext<'_>, req: &SyncRequest) -> SyncResponse {
        match self {
            Store::Sqlite(db) => {
                shared::sync::server::handle_sync(&mut *db.lock_writer(), ctx, req).expect("synced")
            }
            Store::Postgres(pg) => crate::pg::handle_sync(pg, ctx, req).expect("synced"),
        }
    }
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = SqliteDb::open(&dir.path().join("sync.db"), None).expect("open");
    Backend::Sqlite {
        db: Arc::new(db),
        _dir: dir,
    }
}

async fn postgres() -> Backend {
    let (throwaway, config) = Throwaway::create().await;
    let db = PgDb::open(config).await.expect("open the test database");
    Backend::Postgres {
        db,
        runtime: Handle::current(),
        _throwaway: throwaway,
    }
}

/// PostgreSQL in a database whose text collation is Chinese (`Throwaway::create_chinese`).
async fn postgres_chinese() -> Backend {
    let (throwaway, config) = Throwaway::create_chinese().await;
    let db = PgDb::open(config).await.expect("open the test database");
    Backend::Postgres {
        db,
        runtime: Handle::current(),
        _throwaway: throwaway,
    }
}

/// Runs `behaviour` on a blocking thread; its panic is the test's.
async fn run(backend: Backend, behaviour: fn(&Backend)) {
    let outcome = tokio::task::spawn_blocking(move || behaviour(&backend)).await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the behaviour's thread: {e}"),
        }
    }
}

/// Runs each behaviour on a fresh SQLite database and a fresh PostgreSQL database.
macro_rules! on_both_sync_stores {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    crate::db::conformance::sync_store::run(
                        crate::db::conformance::sync_store::sqlite().await,
                        super::$behaviour,
                    )
                    .await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    crate::db::conformance::sync_store::run(
                        crate::db::conformance::sync_store::postgres().await,
                        super::$behaviour,
                    )
                    .await;
                }
            )*
        }
    };
}

/// Officer `n`: a person, a device and an Automerge actor of their own.
fn officer(n: u8) -> (Actor, ActorId) {
    let actor = Actor {
        user: UserId::from_random_bytes([1, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        device: DeviceId::from_random_bytes([2, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        role: Role::Officer,
    };
    (
        actor,
        ActorId::from(vec![3, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    )
}

fn enterprise(n: u8) -> EnterpriseId {
    EnterpriseId::from_random_bytes([100 + n; 16])
}

/// Visit number `n` of enterprise `of`, made by officer 1.
fn visit(n: u16, of: u8) -> VisitDoc {
    let [hi, lo] = n.to_be_bytes();
    let new = NewVisit {
        id: VisitId::from_random_bytes([8, hi, lo, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        enterprise: enterprise(of),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "企业反映用电紧张".into(),
    };
    let (wang, actor) = officer(1);
    VisitDoc::create(&new, &wang, actor, T0).expect("a valid new visit")
}

/// The profile of enterprise `n`.
fn profile(n: u8) -> EnterpriseDoc {
    let new = NewEnterprise {
        id: enterprise(n),
        credit_code: CreditCode::from_parts('9', '1', "410800", "MA000001").expect("valid code"),
        name: "焦作市连心机械有限公司".into(),
        address: "示范区神州路 1 号".into(),
        town: OrgUnitId::from_random_bytes([6; 16]),
        industry: "装备制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: true,
        position: None,
    };
    let (wang, actor) = officer(1);
    EnterpriseDoc::create(&new, &wang, actor, T0).expect("a valid profile")
}

fn doc_id(record: &RecordDoc) -> DocId {
    DocId::new(record.kind(), &record.root_id().expect("an id"))
}

/// What the engine commits for the document as it stands, merged onto the stored heads `base`
/// (`None`: new to the server): every change, a fresh save, its heads and projection.
fn doc_commit(record: &mut RecordDoc, base: Option<Vec<ChangeHash>>) -> DocCommit {
    let id = doc_id(record);
    let projection = validate(&id, record, &Config::default()).expect("a valid document");
    let changes = record
        .automerge()
        .get_changes(&[])
        .iter()
        .map(|c| NewChange {
            hash: c.hash(),
            actor: c.actor_id().to_hex_string(),
            device_time: Timestamp(c.timestamp()),
            author: c.message().and_then(shared::doc::Author::parse),
        })
        .collect();
    let mut heads = record.heads();
    heads.sort();
    DocCommit {
        doc: id,
        changes,
        snapshot: record.automerge().save_nocompress(),
        compacted: true,
        heads: heads.clone(),
        base,
        device_heads: heads,
        projection,
    }
}

/// A commit of officer 1's device.
fn commit_of(docs: Vec<DocCommit>) -> Commit {
    Commit {
        device: officer(1).0.device,
        received_at: T0,
        device_time: T0,
        docs,
        sla: Default::default(),
        clock: Default::default(),
    }
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

fn a_committed_document_loads_back_as_committed(b: &Backend) {
    let mut store = b.store();
    let mut visit = visit(1, 1);
    let first = doc_commit(visit.record(), None);
    let id = first.doc.clone();
    assert!(store.load(&id).is_none(), "stored before its commit");
    store
        .commit(&commit_of(vec![first.clone()]))
        .expect("first commit");
    visit
        .edit(&officer(1).0, T0, |e| e.set_notes("王：已协调供电"))
        .expect("edited");
    let second = doc_commit(visit.record(), Some(first.heads.clone()));
    store
        .commit(&commit_of(vec![second.clone()]))
        .expect("second commit");

    let stored = store.load(&id).expect("stored");
    assert_eq!(stored.enterprise, enterprise(1));
    assert_eq!(sorted(stored.heads.clone()), second.heads);
    assert_eq!(stored.bytes, second.snapshot, "the bytes as committed");
    assert_eq!(store.heads(&id), Some(second.heads.clone()));
    assert_eq!(
        store.meta(&id),
        Some(DocMeta {
            enterprise: enterprise(1),
            heads: second.heads.clone(),
            size: second.snapshot.len(),
        })
    );
    let mut loaded = AutoCommit::load(&stored.bytes).expect("loadable bytes");
    assert_eq!(sorted(loaded.get_heads()), second.heads);
}

fn each_document_committed_gets_a_larger_sequence_number(b: &Backend) {
    let mut store = b.store();
    let (mut one, mut two, mut three) = (visit(1, 1), visit(2, 1), visit(3, 2));
    let first_one = doc_commit(one.record(), None);
    store
        .commit(&commit_of(vec![
            first_one.clone(),
            doc_commit(two.record(), None),
        ]))
        .expect("two documents at once");
    store
        .commit(&commit_of(vec![doc_commit(three.record(), None)]))
        .expect("a third");
    one.edit(&officer(1).0, T0, |e| e.set_notes("再次走访"))
        .expect("edited");
    store
        .commit(&commit_of(vec![doc_commit(
            one.record(),
            Some(first_one.heads),
        )]))
        .expect("the first again");

    let feed = store.feed(&Scope::All, 0, 100);
    let order: Vec<DocId> = feed.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(
        order,
        vec![
            doc_id(two.record()),
            doc_id(three.record()),
            doc_id(one.record())
        ],
        "in the order of their last commit"
    );
    assert!(
        feed.windows(2).all(|w| w[0].1 < w[1].1),
        "numbers increase: {feed:?}"
    );
    let last = feed.last().expect("a feed").1;
    assert_eq!(store.latest(), last, "the latest number given out");
}

fn the_feed_keeps_to_its_scope_cursor_and_limit(b: &Backend) {
    let mut store = b.store();
    // Committed one by one, in this order: numbers 1 to 5.
    let mut docs: Vec<RecordDoc> = vec![
        visit(1, 1).into_record(),
        visit(2, 2).into_record(),
        profile(3).into_record(),
        visit(3, 3).into_record(),
        visit(4, 4).into_record(),
    ];
    for doc in &mut docs {
        store
            .commit(&commit_of(vec![doc_commit(doc, None)]))
            .expect("committed");
    }
    let ids: Vec<DocId> = docs.iter().map(doc_id).collect();
    let feed = store.feed(&Scope::All, 0, 100);
    let seq = |n: usize| feed[n].1;
    let names =
        |feed: Vec<(DocId, u64)>| -> Vec<DocId> { feed.into_iter().map(|(d, _)| d).collect() };
    let enterprises = Scope::Enterprises([enterprise(1), enterprise(3)].into());
    let grants = Scope::Grants {
        enterprises: [enterprise(2)].into(),
        profiles: [enterprise(3)].into(),
        docs: [ids[4].clone()].into(),
    };

    assert_eq!(
        names(store.feed(&enterprises, 0, 100)),
        vec![ids[0].clone(), ids[2].clone(), ids[3].clone()],
        "every document of enterprises 1 and 3"
    );
    assert_eq!(
        names(store.feed(&grants, 0, 100)),
        vec![ids[1].clone(), ids[2].clone(), ids[4].clone()],
        "enterprise 2's visit, enterprise 3's profile (not its visit), the granted visit"
    );
    assert_eq!(
        names(store.feed(&grants, seq(1), 100)),
        vec![ids[2].clone(), ids[4].clone()],
        "after the cursor only"
    );
    assert_eq!(
        names(store.feed(&grants, 0, 2)),
        vec![ids[1].clone(), ids[2].clone()],
        "the first two"
    );
    assert_eq!(
        names(store.feed(&Scope::All, seq(3), 100)),
        vec![ids[4].clone()]
    );
    assert!(store.feed(&Scope::none(), 0, 100).is_empty());
}

fn known_changes_are_those_stored_for_that_document(b: &Backend) {
    let mut store = b.store();
    let (mut one, mut two) = (visit(1, 1), visit(2, 1));
    let (one, two) = (
        doc_commit(one.record(), None),
        doc_commit(two.record(), None),
    );
    store
        .commit(&commit_of(vec![one.clone(), two.clone()]))
        .expect("committed");
    let of_one: Vec<ChangeHash> = one.changes.iter().map(|c| c.hash).collect();
    let mut asked = of_one.clone();
    asked.extend(two.changes.iter().map(|c| c.hash));
    asked.push(ChangeHash([7; 32]));

    assert_eq!(
        store.known(&one.doc, &asked),
        of_one.into_iter().collect::<BTreeSet<_>>()
    );
    assert!(
        store.known(&visit_id(9), &asked).is_empty(),
        "an unknown document"
    );
}

fn visit_id(n: u16) -> DocId {
    doc_id(visit(n, 1).record())
}

fn a_commit_that_fails_stores_nothing(b: &Backend) {
    let mut store = b.store();
    let (mut one, mut two) = (visit(1, 1), visit(2, 1));
    let (one, two) = (
        doc_commit(one.record(), None),
        doc_commit(two.record(), None),
    );
    b.refuse_changes_of(&two.doc);

    let failed = store.commit(&commit_of(vec![one.clone(), two.clone()]));

    assert!(failed.is_err(), "the database refused the second document");
    assert!(
        store.load(&one.doc).is_none(),
        "the first document was stored"
    );
    assert!(store.known(&one.doc, &[one.changes[0].hash]).is_empty());
    assert_eq!(store.latest(), 0, "a number was given out");
    assert!(store.feed(&Scope::All, 0, 100).is_empty());
    assert!(
        b.rows("SELECT id FROM visits").is_empty(),
        "the first document's query rows were kept"
    );
}

on_both_sync_stores!(
    a_committed_document_loads_back_as_committed,
    each_document_committed_gets_a_larger_sequence_number,
    the_feed_keeps_to_its_scope_cursor_and_limit,
    known_changes_are_those_stored_for_that_document,
    a_commit_that_fails_stores_nothing,
);

// After the macro, which they use.
mod answers;
mod deliveries;
mod maintenance;
mod notices;
mod push_facts;
mod query_tables;
mod races;
mod settling;
