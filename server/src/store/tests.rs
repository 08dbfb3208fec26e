//! The SQLite store against real files in temporary directories: durability across reopening,
//! idempotent changes, the change feed, delivery acknowledgement, query-table replacement,
//! migrations, and one sync request end to end through `handle_sync`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use automerge::ChangeHash;
use shared::config::Config;
use shared::doc::{
    ActorId, EnterpriseDoc, MonitoringDoc, NewEnterprise, NewProblem, NewVisit, ProblemDoc,
    RecordDoc, VisitDoc, monitoring_id,
};
use shared::model::*;
use shared::sync::protocol::{self, DocId, DocPush, SyncRequest, to_wire};
use shared::sync::server::{Commit, DocCommit, NewChange, ServerStore, SyncContext, handle_sync};
use shared::sync::validate::{Scope, validate};
use shared::workflow::Action;
use tempfile::TempDir;

use super::{SCHEMA_VERSION, SqliteStore, StoreError};

mod lean_storage;
mod migrations;
mod settling;
mod todo;

/// 2026-11-01T00:00:00Z
const T0: Timestamp = Timestamp(1_793_491_200_000);

fn at(days: i64) -> Timestamp {
    Timestamp(T0.0 + days * DAY_MS)
}

/// Deterministic 16-byte ids: a tag and a counter.
fn bytes(tag: u8, n: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = tag;
    b[8..].copy_from_slice(&n.to_be_bytes());
    b
}

fn entry(n: u64) -> EntryId {
    EntryId::from_random_bytes(bytes(9, n))
}

/// A named person with one device and an Automerge actor of their own.
struct Person {
    actor: Actor,
    n: u8,
}

impl Person {
    fn new(n: u8, role: Role) -> Self {
        Person {
            actor: Actor {
                user: UserId::from_random_bytes(bytes(1, u64::from(n))),
                device: DeviceId::from_random_bytes(bytes(2, u64::from(n))),
                role,
            },
            n,
        }
    }

    fn actor_id(&self) -> ActorId {
        ActorId::from(bytes(3, u64::from(self.n)).to_vec())
    }

    fn device(&self) -> DeviceId {
        self.actor.device
    }
}

fn officer_wang() -> Person {
    Person::new(1, Role::Officer)
}

fn officer_li() -> Person {
    Person::new(2, Role::Officer)
}

fn leader_chen() -> Person {
    Person::new(4, Role::Leader)
}

fn enterprise(n: u64) -> EnterpriseId {
    EnterpriseId::from_random_bytes(bytes(5, n))
}

fn department() -> OrgUnitId {
    OrgUnitId::from_random_bytes(bytes(6, 1))
}

fn problem_of(n: u64, ent: EnterpriseId, by: &Person) -> ProblemDoc {
    let config = Config::default();
    let new = NewProblem {
        id: ProblemId::from_random_bytes(bytes(7, n)),
        enterprise: ent,
        visit: None,
        source: ProblemSource::Visit,
        category: "power".into(),
        class: ProblemClass::C,
        tier: Tier::Department,
        owner: by.actor.user,
        leader: None,
        deadline: shared::derive::initial_deadline(&config, Tier::Department, T0),
        description: "厂区变压器容量不足，扩产后经常跳闸".into(),
        expectation: "一个月内完成增容".into(),
    };
    ProblemDoc::create(&new, &config, &by.actor, by.actor_id(), T0).expect("a valid new problem")
}

fn visit_of(n: u64, ent: EnterpriseId, by: &Person) -> VisitDoc {
    let new = NewVisit {
        id: VisitId::from_random_bytes(bytes(8, n)),
        enterprise: ent,
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: T0,
            position: PositionFix::Fixed(Position::new(35.09, 112.59, 8.0).expect("valid")),
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: "企业反映用电紧张".into(),
    };
    VisitDoc::create(&new, &by.actor, by.actor_id(), T0).expect("a valid new visit")
}

fn enterprise_profile(ent: EnterpriseId, by: &Person) -> EnterpriseDoc {
    let new = NewEnterprise {
        id: ent,
        credit_code: CreditCode::from_parts('9', '1', "410800", "MA000001").expect("valid code"),
        name: "焦作市连心机械有限公司".into(),
        address: "示范区神州路 1 号".into(),
        town: OrgUnitId::from_random_bytes(bytes(6, 2)),
        industry: "装备制造".into(),
        size: EnterpriseSize::AboveDesignated,
        key_enterprise: true,
        position: Some(Position::new(35.2, 113.2, 10.0).expect("valid")),
    };
    EnterpriseDoc::create(&new, &by.actor, by.actor_id(), T0).expect("a valid profile")
}

fn monitoring_of(ent: EnterpriseId, by: &Person) -> MonitoringDoc {
    let mut doc = MonitoringDoc::create(ent, &by.actor, by.actor_id(), T0).expect("created");
    let day = T0.day().expect("a day");
    doc.edit(&by.actor, at(1), |e| {
        e.record_power(day, 1234.5)?;
        e.record_price(IsoWeek::of(day), "钢材", 3.75)?;
        e.record_operation(
            Month::parse("2026-10").expect("month"),
            &OperationFigures {
                output_value: 812.0,
                revenue: 790.5,
                employees: 214,
            },
        )
    })
    .expect("figures");
    doc
}

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("lianxin.sqlite3")
}

fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&db_path(&dir)).expect("opens");
    (dir, store)
}

fn doc_id(record: &RecordDoc) -> DocId {
    DocId::new(record.kind(), &record.root_id().expect("an id"))
}

/// What `handle_sync` would commit for the document as it stands: every change (the store
/// ignores the ones it has), its snapshot, heads and projection.
fn doc_commit(record: &mut RecordDoc) -> DocCommit {
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
    let heads = record.heads();
    DocCommit {
        doc: id,
        changes,
        snapshot: record.save(),
        compacted: true,
        heads: heads.clone(),
        base: None,
        device_heads: heads,
        projection,
    }
}

fn commit_by(who: &Person, received_at: Timestamp, docs: Vec<DocCommit>) -> Commit {
    Commit {
        device: who.device(),
        received_at,
        device_time: Timestamp(received_at.0 - 1_500),
        docs,
        sla: Default::default(),
        clock: Default::default(),
    }
}

fn feed(store: &mut SqliteStore, scope: &Scope, after: u64, limit: usize) -> Vec<(DocId, u64)> {
    store.changed_since(scope, after, limit).expect("the feed")
}

fn dump_lines(store: &SqliteStore, table: &str) -> Vec<String> {
    let prefix = format!("{table}|");
    store
        .projection_dump()
        .expect("dump")
        .into_iter()
        .filter(|l| l.starts_with(&prefix))
        .collect()
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("a raw connection")
}

#[test]
fn a_fresh_database_is_durable_by_configuration_and_passes_the_integrity_check() {
    let (_dir, store) = fresh();
    assert_eq!(store.integrity_check().expect("checked"), "ok");
    let conn = store.connection();
    let pragma_text = |name: &str| -> String {
        conn.pragma_query_value(None, name, |r| r.get(0))
            .expect("pragma")
    };
    let pragma_int = |name: &str| -> i64 {
        conn.pragma_query_value(None, name, |r| r.get(0))
            .expect("pragma")
    };
    assert_eq!(pragma_text("journal_mode"), "wal");
    assert_eq!(pragma_int("synchronous"), 2, "FULL");
    assert_eq!(pragma_int("foreign_keys"), 1);
    assert!(pragma_int("busy_timeout") > 0);
    assert_eq!(pragma_int("user_version"), SCHEMA_VERSION);
}

#[test]
fn a_commit_is_visible_after_reopening_the_file() {
    let (dir, mut store) = fresh();
    let wang = officer_wang();
    let mut problem = problem_of(1, enterprise(1), &wang);
    let commit = doc_commit(problem.record());
    let id = commit.doc.clone();
    let changes = commit.changes.len() as u64;
    store
        .commit(&commit_by(&wang, at(0), vec![commit]))
        .expect("committed");
    drop(store);

    let mut store = SqliteStore::open(&db_path(&dir)).expect("reopens without re-migrating");
    let stored = store.load_doc(&id).expect("loads").expect("stored");
    assert_eq!(stored.enterprise, enterprise(1));
    assert_eq!(stored.heads, problem.record().heads());
    let mut reloaded = automerge::AutoCommit::load(&stored.bytes).expect("loadable bytes");
    let mut reloaded_heads = reloaded.get_heads();
    reloaded_heads.sort();
    assert_eq!(reloaded_heads, stored.heads);
    assert_eq!(store.doc_count().expect("count"), 1);
    assert_eq!(store.change_count().expect("count"), changes);
    assert_eq!(store.latest_seq().expect("seq"), 1);
    let row = store
        .problem_row(ProblemId::from_random_bytes(bytes(7, 1)))
        .expect("query")
        .expect("a row");
    assert_eq!(row.state, "submitted");
    assert_eq!(row.enterprise, enterprise(1).to_string());
    assert_eq!(store.integrity_check().expect("checked"), "ok");
}

#[test]
fn an_unknown_document_loads_as_none() {
    let (_dir, mut store) = fresh();
    let id = DocId::new(
        shared::doc::DocKind::Visit,
        &VisitId::from_random_bytes([4; 16]).to_string(),
    );
    assert!(store.load_doc(&id).expect("query").is_none());
    assert!(
        store
            .known_heads(officer_li().device(), &id)
            .expect("query")
            .is_none()
    );
}

#[test]
fn committing_the_same_change_twice_stores_it_once() {
    let (_dir, mut store) = fresh();
    let wang = officer_wang();
    let mut visit = visit_of(1, enterprise(1), &wang);
    let commit = doc_commit(visit.record());
    let mut expected: Vec<[u8; 32]> = commit.changes.iter().map(|c| c.hash.0).collect();
    expected.sort();
    let id = commit.doc.clone();

    store
        .commit(&commit_by(&wang, at(0), vec![commit.clone()]))
        .expect("first");
    store
        .commit(&commit_by(&wang, at(1), vec![commit]))
        .expect("the same changes again");

    assert_eq!(store.change_hashes(&id).expect("hashes"), expected);
    assert_eq!(store.change_count().expect("count"), expected.len() as u64);
    assert_eq!(store.doc_count().expect("count"), 1);
    assert_eq!(store.visit_rows_for(enterprise(1)).expect("rows").len(), 1);
}

#[test]
fn sequence_numbers_grow_and_the_feed_keeps_scope_and_order() {
    let (_dir, mut store) = fresh();
    let wang = officer_wang();
    let (a, b) = (enterprise(1), enterprise(2));
    let mut visit_a1 = visit_of(1, a, &wang);
    let mut problem_b = problem_of(1, b, &wang);
    let mut visit_a2 = visit_of(2, a, &wang);
    let (a1, pb, a2) = (
        doc_id(visit_a1.record()),
        doc_id(problem_b.record()),
        doc_id(visit_a2.record()),
    );

    // Two documents in one commit take consecutive numbers.
    store
        .commit(&commit_by(
            &wang,
            at(0),
            vec![
                doc_commit(visit_a1.record()),
                doc_commit(problem_b.record()),
            ],
        ))
        .expect("commit");
    store
        .commit(&commit_by(
            &wang,
            at(0),
            vec![doc_commit(visit_a2.record())],
        ))
        .expect("commit");
    assert_eq!(
        feed(&mut store, &Scope::All, 0, 10),
        vec![(a1.clone(), 1), (pb.clone(), 2), (a2.clone(), 3)]
    );

    // A changed document moves to the end of the feed under a new number.
    visit_a1
        .edit(&wang.actor, at(1), |e| e.set_notes("变压器已到货"))
        .expect("edit");
    store
        .commit(&commit_by(
            &wang,
            at(1),
            vec![doc_commit(visit_a1.record())],
        ))
        .expect("commit");
    assert_eq!(store.latest_seq().expect("seq"), 4);
    assert_eq!(
        feed(&mut store, &Scope::All, 0, 10),
        vec![(pb.clone(), 2), (a2.clone(), 3), (a1.clone(), 4)]
    );
    assert_eq!(
        feed(&mut store, &Scope::All, 2, 10),
        vec![(a2.clone(), 3), (a1.clone(), 4)]
    );
    assert_eq!(feed(&mut store, &Scope::All, 0, 1), vec![(pb.clone(), 2)]);
    assert_eq!(feed(&mut store, &Scope::All, 4, 10), vec![]);
    assert_eq!(feed(&mut store, &Scope::All, 0, 0), vec![]);

    let only_a = Scope::Enterprises(BTreeSet::from([a]));
    assert_eq!(
        feed(&mut store, &only_a, 0, 10),
        vec![(a2.clone(), 3), (a1.clone(), 4)]
    );
    assert_eq!(feed(&mut store, &only_a, 3, 10), vec![(a1.clone(), 4)]);
    let only_b = Scope::Enterprises(BTreeSet::from([b]));
    assert_eq!(feed(&mut store, &only_b, 0, 10), vec![(pb, 2)]);
    let nobody = Scope::Enterprises(BTreeSet::new());
    assert_eq!(feed(&mut store, &nobody, 0, 10), vec![]);
}

#[test]
fn a_scope_larger_than_one_parameter_list_is_queried_in_chunks_in_order() {
    let (_dir, mut store) = fresh();
    let wang = officer_wang();
    // Enterprises spread over several chunks of the `IN` list, committed so that the last
    // chunk holds the earliest document: the chunks' results must be merged by number.
    let chosen = [1_999u64, 1_400, 700, 3];
    let mut ids = Vec::new();
    for (i, n) in chosen.iter().enumerate() {
        let mut visit = visit_of(i as u64 + 1, enterprise(*n), &wang);
        ids.push(doc_id(visit.record()));
        store
            .commit(&commit_by(&wang, at(0), vec![doc_commit(visit.record())]))
            .expect("commit");
    }
    let mut outside = visit_of(99, enterprise(5_000), &wang);
    store
        .commit(&commit_by(&wang, at(0), vec![doc_commit(outside.record())]))
        .expect("commit");

    let scope = Scope::Enterprises((1..=2_000).map(enterprise).collect());
    let expected: Vec<(DocId, u64)> = ids.iter().cloned().zip(1..).collect();
    assert_eq!(feed(&mut store, &scope, 0, 100), expected);
    assert_eq!(feed(&mut store, &scope, 0, 2), expected[..2].to_vec());
    assert_eq!(feed(&mut store, &scope, 2, 1), expected[2..3].to_vec());
}

#[test]
fn a_pending_delivery_becomes_known_only_once_acknowledged() {
    let (_dir, mut store) = fresh();
    let (wang, li) = (officer_wang(), officer_li());
    let mut visit = visit_of(1, enterprise(1), &wang);
    let heads = visit.record().heads();
    let id = doc_id(visit.record());
    store
        .commit(&commit_by(&wang, at(0), vec![doc_commit(visit.record())]))
        .expect("commit");

    let delivery = store
        .record_delivery(li.device(), &[(id.clone(), heads.clone())])
        .expect("recorded");
    assert_eq!(delivery, 1);
    assert_eq!(
        store.known_heads(li.device(), &id).expect("query"),
        None,
        "sent is not yet known"
    );
    store
        .confirm_delivery(li.device(), delivery)
        .expect("confirmed");
    assert_eq!(
        store.known_heads(li.device(), &id).expect("query"),
        Some(heads)
    );
    assert_eq!(
        store.known_heads(wang.device(), &id).expect("query"),
        Some(visit.record().heads()),
        "the pushing device is known to have what it pushed"
    );
}

#[test]
fn only_the_acknowledged_delivery_becomes_known() {
    let (_dir, mut store) = fresh();
    let li = officer_li();
    let id = DocId::new(
        shared::doc::DocKind::Visit,
        &VisitId::from_random_bytes([4; 16]).to_string(),
    );
    let older = vec![ChangeHash([1; 32])];
    let newer = vec![ChangeHash([2; 32]), ChangeHash([3; 32])];

    let first = store
        .record_delivery(li.device(), &[(id.clone(), older.clone())])
        .expect("recorded");
    let second = store
        .record_delivery(li.device(), &[(id.clone(), newer.clone())])
        .expect("recorded");
    assert!(second > first);

    // The device applied the first response but not the second: only the first is known.
    store.confirm_delivery(li.device(), first).expect("ack");
    assert_eq!(
        store.known_heads(li.device(), &id).expect("query"),
        Some(older.clone())
    );

    // Of two pending deliveries, the one acknowledged becomes known.
    let third = store
        .record_delivery(li.device(), &[(id.clone(), vec![ChangeHash([9; 32])])])
        .expect("recorded");
    let fourth = store
        .record_delivery(li.device(), &[(id.clone(), newer.clone())])
        .expect("recorded");
    store.confirm_delivery(li.device(), fourth).expect("ack");
    assert!(fourth > third);
    assert_eq!(
        store.known_heads(li.device(), &id).expect("query"),
        Some(newer)
    );
}

#[test]
fn an_acknowledgement_of_zero_makes_no_delivery_known() {
    let (_dir, mut store) = fresh();
    let li = officer_li();
    let id = DocId::new(
        shared::doc::DocKind::Visit,
        &VisitId::from_random_bytes([4; 16]).to_string(),
    );
    store
        .record_delivery(li.device(), &[(id.clone(), vec![ChangeHash([1; 32])])])
        .expect("recorded");
    store.confirm_delivery(li.device(), 0).expect("ack");
    assert_eq!(store.known_heads(li.device(), &id).expect("query"), None);
}

#[test]
fn delivery_numbers_grow_per_device_and_survive_reopening() {
    let (dir, mut store) = fresh();
    let (wang, li) = (officer_wang(), officer_li());
    let id = DocId::new(
        shared::doc::DocKind::Visit,
        &VisitId::from_random_bytes([4; 16]).to_string(),
    );
    let docs = [(id, vec![ChangeHash([1; 32])])];
    assert_eq!(store.record_delivery(li.device(), &docs).expect("li"), 1);
    assert_eq!(store.record_delivery(li.device(), &docs).expect("li"), 2);
    assert_eq!(
        store.record_delivery(wang.device(), &docs).expect("wang"),
        1
    );
    store.confirm_delivery(li.device(), 2).expect("ack");
    drop(store);
    let mut store = SqliteStore::open(&db_path(&dir)).expect("reopens");
    assert_eq!(store.record_delivery(li.device(), &docs).expect("li"), 3);
    assert_eq!(store.record_delivery(wang.device(), &[]).expect("wang"), 2);
}

#[test]
fn a_recommit_replaces_the_problems_query_rows() {
    let (_dir, mut store) = fresh();
    let (wang, chen) = (officer_wang(), leader_chen());
    let config = Config::default();
    let mut doc = problem_of(1, enterprise(1), &wang);
    let id = ProblemId::from_random_bytes(bytes(7, 1));
    store
        .commit(&commit_by(&wang, at(0), vec![doc_commit(doc.record())]))
        .expect("commit");
    let row = store.problem_row(id).expect("query").expect("row");
    assert_eq!(
        (row.state.as_str(), row.tier.as_str()),
        ("submitted", "department")
    );
    assert!(store.progress_rows(id).expect("rows").is_empty());

    doc.act(&wang.actor, at(1), entry(1), Action::Triage, "")
        .expect("triage");
    doc.edit(&config, &wang.actor, at(1), |e| {
        e.add_progress(entry(100), "已联系供电公司")
    })
    .expect("progress");
    store
        .commit(&commit_by(&wang, at(1), vec![doc_commit(doc.record())]))
        .expect("commit");
    let row = store.problem_row(id).expect("query").expect("row");
    assert_eq!(row.state, "triaged");
    assert_eq!(store.progress_rows(id).expect("rows").len(), 1);

    doc.act(
        &chen.actor,
        at(2),
        entry(2),
        Action::Assign { unit: department() },
        "",
    )
    .expect("assign");
    doc.act(
        &chen.actor,
        at(3),
        entry(3),
        Action::Escalate {
            to: Tier::CityLeader,
        },
        "涉及跨区电网改造",
    )
    .expect("escalate");
    doc.edit(&config, &chen.actor, at(3), |e| {
        e.add_progress(entry(101), "供电公司已现场勘查")?;
        e.add_supervision(entry(102), "两周内给出方案")
    })
    .expect("progress");
    store
        .commit(&commit_by(&chen, at(3), vec![doc_commit(doc.record())]))
        .expect("commit");

    let row = store.problem_row(id).expect("query").expect("row");
    assert_eq!(row.state, "assigned");
    assert_eq!(
        row.tier, "city_leader",
        "the effective tier, raised by the escalation"
    );
    assert_eq!(row.set_tier, "department");
    let progress = store.progress_rows(id).expect("rows");
    let texts: Vec<(&str, &str)> = progress
        .iter()
        .map(|p| (p.kind.as_str(), p.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("progress", "已联系供电公司"),
            ("progress", "供电公司已现场勘查"),
            ("supervision", "两周内给出方案"),
        ]
    );
    assert_eq!(dump_lines(&store, "problem_units").len(), 1);
    let events = dump_lines(&store, "problem_events");
    assert_eq!(events.len(), 3, "{events:#?}");
    assert!(
        // `applied`, the column before the claimed time and the hand-out's unit.
        events.iter().all(|l| l.rsplit('|').nth(2) == Some("1")),
        "all applied: {events:#?}"
    );
    let units: Vec<&str> = events.iter().filter_map(|l| l.rsplit('|').next()).collect();
    let d = format!("{:?}", department().to_string());
    assert_eq!(
        units.iter().filter(|u| **u == d).count(),
        1,
        "the hand-out keeps its department (reminders reach its handlers): {events:#?}"
    );
    assert_eq!(
        dump_lines(&store, "problems").len(),
        1,
        "one row per problem"
    );
}

#[test]
fn a_failed_commit_stores_nothing_of_any_document() {
    let (dir, mut store) = fresh();
    let wang = officer_wang();
    let mut problem = problem_of(1, enterprise(1), &wang);
    let mut visit = visit_of(1, enterprise(1), &wang);
    // Make the second document's query row fail after the first was written.
    raw(&db_path(&dir))
        .execute_batch(
            "CREATE TRIGGER refuse_visits BEFORE INSERT ON visits \
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
        )
        .expect("trigger");

    let result = store.commit(&commit_by(
        &wang,
        at(0),
        vec![doc_commit(problem.record()), doc_commit(visit.record())],
    ));
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(store.doc_count().expect("count"), 0);
    assert_eq!(store.change_count().expect("count"), 0);
    assert_eq!(store.latest_seq().expect("seq"), 0);
    assert!(store.projection_dump().expect("dump").is_empty());
}

#[test]
fn a_database_from_a_newer_server_is_refused() {
    let (dir, store) = fresh();
    drop(store);
    raw(&db_path(&dir))
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("bumped");
    let err = SqliteStore::open(&db_path(&dir)).expect_err("refused");
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer server"), "{err}");
}

#[test]
fn corrupt_stored_heads_are_reported_not_misread() {
    let (dir, mut store) = fresh();
    let wang = officer_wang();
    let mut visit = visit_of(1, enterprise(1), &wang);
    let id = doc_id(visit.record());
    store
        .commit(&commit_by(&wang, at(0), vec![doc_commit(visit.record())]))
        .expect("commit");
    raw(&db_path(&dir))
        .execute("UPDATE docs SET heads = x'0102'", [])
        .expect("tampered");
    let err = store.load_doc(&id).expect_err("corrupt");
    assert!(
        matches!(err, StoreError::Corrupt { table: "docs", .. }),
        "{err:?}"
    );
}

#[test]
fn every_kind_of_document_fills_its_query_tables() {
    let (_dir, mut store) = fresh();
    let wang = officer_wang();
    let ent = enterprise(1);
    let mut profile = enterprise_profile(ent, &wang);
    let mut monitoring = monitoring_of(ent, &wang);
    let mut visit = visit_of(1, ent, &wang);
    assert_eq!(
        doc_id(monitoring.record()).root_id(),
        monitoring_id(ent),
        "one monitoring document per enterprise"
    );
    store
        .commit(&commit_by(
            &wang,
            at(1),
            vec![
                doc_commit(profile.record()),
                doc_commit(monitoring.record()),
                doc_commit(visit.record()),
            ],
        ))
        .expect("commit");
    for table in [
        "enterprises",
        "visits",
        "visit_officers",
        "monitoring_power",
        "monitoring_prices",
        "monitoring_operation",
    ] {
        assert_eq!(dump_lines(&store, table).len(), 1, "{table}");
    }
    let visits = store.visit_rows_for(ent).expect("rows");
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].check_in_outcome.as_deref(), Some("fixed"));
    assert_eq!(visits[0].officers, vec![wang.actor.user.to_string()]);
    assert!(!visits[0].confirmed);
}

#[test]
fn two_stores_given_the_same_documents_in_another_order_have_equal_query_tables() {
    let (_d1, mut first) = fresh();
    let (_d2, mut second) = fresh();
    let (wang, li) = (officer_wang(), officer_li());
    let config = Config::default();
    let ent = enterprise(1);
    let mut profile = enterprise_profile(ent, &wang);
    let mut monitoring = monitoring_of(ent, &wang);
    let mut visit = visit_of(1, ent, &wang);
    let mut problem = problem_of(1, ent, &wang);

    // The first server sees every intermediate version, one document at a time.
    for record in [profile.record(), visit.record(), problem.record()] {
        first
            .commit(&commit_by(&wang, at(0), vec![doc_commit(record)]))
            .expect("commit");
    }
    visit
        .edit(&li.actor, at(1), |e| {
            e.add_officer(li.actor.user)?;
            e.confirm("张经理", at(1))
        })
        .expect("edit");
    problem
        .act(&wang.actor, at(1), entry(1), Action::Triage, "")
        .expect("triage");
    problem
        .edit(&config, &wang.actor, at(1), |e| {
            e.add_progress(entry(100), "已联系供电公司")?;
            e.set_rating(
                Rating::Satisfied,
                "响应及时",
                shared::model::RatingChannel::Officer,
            )
        })
        .expect("edit");
    for record in [visit.record(), problem.record(), monitoring.record()] {
        first
            .commit(&commit_by(&li, at(1), vec![doc_commit(record)]))
            .expect("commit");
    }

    // The second sees only the final versions, together, in another order.
    second
        .commit(&commit_by(
            &li,
            at(2),
            vec![
                doc_commit(monitoring.record()),
                doc_commit(problem.record()),
                doc_commit(visit.record()),
                doc_commit(profile.record()),
            ],
        ))
        .expect("commit");

    let dump = first.projection_dump().expect("dump");
    assert_eq!(dump, second.projection_dump().expect("dump"));
    assert_eq!(dump_lines(&first, "visit_officers").len(), 2);
    assert_eq!(dump_lines(&first, "ratings").len(), 1);
    let visits = first.visit_rows_for(ent).expect("rows");
    assert!(visits[0].confirmed);
}

#[test]
fn a_backup_is_a_complete_database_that_opens() {
    let (dir, mut store) = fresh();
    let wang = officer_wang();
    let mut visit = visit_of(1, enterprise(1), &wang);
    store
        .commit(&commit_by(&wang, at(0), vec![doc_commit(visit.record())]))
        .expect("commit");
    let copy = dir.path().join("backup.sqlite3");
    store.backup_to(&copy).expect("backed up");
    let restored = SqliteStore::open(&copy).expect("the copy opens");
    assert_eq!(restored.integrity_check().expect("checked"), "ok");
    assert_eq!(restored.doc_count().expect("count"), 1);
    assert_eq!(
        restored.projection_dump().expect("dump"),
        store.projection_dump().expect("dump")
    );
}

#[test]
fn sync_a_pushed_visit_is_accepted_stored_and_pulled_by_another_device() {
    let (_dir, mut store) = fresh();
    let (wang, li) = (officer_wang(), officer_li());
    let config = Config::default();
    let ctx = |device: DeviceId, now: Timestamp| SyncContext {
        declared: None,
        device,
        read: &Scope::All,
        write: &Scope::All,
        config: &config,
        now,
        limits: shared::sync::limits::Limits::DEVICE,
        authorship: None,
    };
    let request = |cursor: u64, ack: u64, push: Vec<DocPush>| SyncRequest {
        cursor,
        ack,
        device_time: at(0),
        push,
        max_response_bytes: 1 << 20,
        unsent: None,
    };

    // Wang pushes a new visit.
    let mut visit = visit_of(1, enterprise(1), &wang);
    let id = doc_id(visit.record());
    let heads = visit.record().heads();
    let push = DocPush {
        doc: id.clone(),
        base: vec![],
        heads: to_wire(&heads),
        data: visit.record().save(),
    };
    let response = handle_sync(
        &mut store,
        &ctx(wang.device(), at(0)),
        &request(0, 0, vec![push]),
    )
    .expect("synced");
    assert_eq!(response.results.len(), 1);
    assert_eq!(
        response.results[0].outcome,
        protocol::Outcome::Accepted {
            heads: to_wire(&heads)
        }
    );
    assert!(response.pulls.is_empty(), "wang has everything");
    let stored = store.load_doc(&id).expect("query").expect("stored");
    assert_eq!(stored.heads, heads);
    assert_eq!(store.visit_rows_for(enterprise(1)).expect("rows").len(), 1);

    // Li, from cursor 0, receives it.
    let response =
        handle_sync(&mut store, &ctx(li.device(), at(1)), &request(0, 0, vec![])).expect("synced");
    assert_eq!(response.pulls.len(), 1);
    assert_eq!(response.pulls[0].doc, id);
    assert_eq!(response.pulls[0].heads, to_wire(&heads));
    let received = VisitDoc::load(&response.pulls[0].data, li.actor_id()).expect("loads");
    assert_eq!(
        received.read().expect("reads"),
        visit.read().expect("reads")
    );
    assert_eq!(response.cursor, 1);
    assert!(!response.more);
    assert_eq!(response.delivery, 1);

    // Once Li acknowledges that response, the server knows Li has it and sends it no more,
    // even to a cursor from the start.
    let again = handle_sync(
        &mut store,
        &ctx(li.device(), at(2)),
        &request(0, response.delivery, vec![]),
    )
    .expect("synced");
    assert!(again.pulls.is_empty(), "{:?}", again.pulls);
    assert_eq!(
        store.known_heads(li.device(), &id).expect("query"),
        Some(heads)
    );
}

#[test]
fn the_store_can_move_to_another_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<SqliteStore>();
}

/// A visit on officer Wang's phone whose edits reach the store one sync request each, so the
/// store appends them to its bytes (compaction's work).
struct AppendingVisit {
    wang: Person,
    id: DocId,
    doc: VisitDoc,
    acked: Vec<ChangeHash>,
    rounds: i64,
}

impl AppendingVisit {
    fn new() -> AppendingVisit {
        let wang = officer_wang();
        let visit_id = VisitId::from_random_bytes([7; 16]);
        let doc = VisitDoc::create(
            &NewVisit {
                id: visit_id,
                enterprise: EnterpriseId::from_random_bytes([5; 16]),
                method: VisitMethod::OnSite,
                check_in: None,
                operating_status: OperatingStatus::Normal,
                notes: "初次走访".into(),
            },
            &wang.actor,
            wang.actor_id(),
            Timestamp(1),
        )
        .expect("create");
        AppendingVisit {
            id: DocId::new(shared::doc::DocKind::Visit, &visit_id.to_string()),
            wang,
            doc,
            acked: Vec::new(),
            rounds: 0,
        }
    }

    /// Pushes the visit (the first time whole, then one edit of its notes) in one request.
    fn push(&mut self, store: &mut SqliteStore) {
        let round = self.rounds;
        self.rounds += 1;
        if round > 0 {
            self.doc
                .edit(&self.wang.actor, Timestamp(round), |e| {
                    e.set_notes(&format!("第{round}次修改备注"))
                })
                .expect("edit");
        }
        let record = self.doc.record();
        let data = if self.acked.is_empty() {
            record.save()
        } else {
            record.automerge().save_after(&self.acked)
        };
        let req = SyncRequest {
            cursor: 0,
            ack: 0,
            device_time: Timestamp(round),
            push: vec![DocPush {
                doc: self.id.clone(),
                base: to_wire(&self.acked),
                heads: to_wire(&record.heads()),
                data,
            }],
            max_response_bytes: 1 << 20,
            unsent: None,
        };
        let config = Config::default();
        let ctx = SyncContext {
            declared: None,
            device: DeviceId::from_random_bytes([9; 16]),
            read: &Scope::All,
            write: &Scope::All,
            config: &config,
            now: Timestamp(round),
            limits: shared::sync::limits::Limits::DEVICE,
            authorship: None,
        };
        handle_sync(store, &ctx, &req).expect("sync");
        self.acked = record.heads();
    }
}

/// How many documents wait for compaction.
fn appended_docs(store: &SqliteStore) -> i64 {
    store
        .connection()
        .query_row("SELECT COUNT(*) FROM docs WHERE appended > 0", [], |r| {
            r.get(0)
        })
        .expect("counts")
}

#[test]
fn appended_changes_are_compacted_in_the_background_without_changing_the_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(&dir.path().join("c.db")).expect("opens");
    let mut visit = AppendingVisit::new();
    for _ in 0..6 {
        visit.push(&mut store);
    }
    let id = visit.id.clone();
    let before = store.load_doc(&id).expect("loads").expect("stored");
    assert_eq!(store.compact_pending(10).expect("compacts"), 1);
    assert_eq!(
        store.compact_pending(10).expect("compacts"),
        0,
        "nothing left to compact"
    );
    let after = store.load_doc(&id).expect("loads").expect("stored");
    assert_eq!(after.heads, before.heads, "compaction changes no content");
    assert!(
        after.bytes.len() < before.bytes.len(),
        "{} → {} bytes",
        before.bytes.len(),
        after.bytes.len()
    );
    let notes = VisitDoc::load(&after.bytes, visit.wang.actor_id())
        .expect("loads")
        .read()
        .expect("reads")
        .notes;
    assert_eq!(notes, "第5次修改备注");
    assert_eq!(store.integrity_check().expect("check"), "ok");
}

#[test]
fn compaction_reloads_a_document_with_the_store_lock_free_so_requests_take_it_meanwhile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(&dir.path().join("c.db")).expect("opens");
    let mut visit = AppendingVisit::new();
    for _ in 0..6 {
        visit.push(&mut store);
    }
    let store = std::sync::Mutex::new(store);
    let mut lock = super::test_support::CountedLock {
        store: &store,
        holds: 0,
    };
    let mut requests_served = 0;
    let compacted = super::compaction::compact_pending_with(&mut lock, 10, |read| {
        // The reload and re-save run here. A request-like store call, on this very thread,
        // gets the lock at once: `try_lock` would fail if compaction still held it.
        let mut request = store
            .try_lock()
            .expect("the store lock is free while re-saving");
        assert!(request.latest_seq().expect("reads the feed") > 0);
        requests_served += 1;
        drop(request);
        super::compaction::resave(read)
    })
    .expect("compacts");
    assert_eq!(compacted, 1);
    assert_eq!(requests_served, 1);
    assert_eq!(
        lock.holds, 3,
        "three short holds: list the candidates, read the document, write it back"
    );
}

#[test]
fn a_document_committed_while_it_compacts_is_left_for_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(&dir.path().join("c.db")).expect("opens");
    let mut visit = AppendingVisit::new();
    for _ in 0..3 {
        visit.push(&mut store);
    }
    let store = std::sync::Mutex::new(store);
    let compacted = super::compaction::compact_pending_with(&mut &store, 10, |read| {
        // A device's sync commits an edit between the read and the write-back.
        visit.push(&mut store.lock().expect("lock"));
        super::compaction::resave(read)
    })
    .expect("compacts");
    let mut store = store.into_inner().expect("lock");
    assert_eq!(compacted, 0, "the stale re-save is not written");
    assert_eq!(appended_docs(&store), 1, "the document still waits");
    let stored = store.load_doc(&visit.id).expect("loads").expect("stored");
    assert_eq!(stored.heads, visit.acked, "the edit made meanwhile is kept");
    assert_eq!(store.compact_pending(10).expect("compacts"), 1, "next run");
    assert_eq!(appended_docs(&store), 0);
}

#[test]
fn a_document_that_cannot_be_resaved_is_skipped_without_failing_the_compaction_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(&dir.path().join("c.db")).expect("opens");
    let mut visit = AppendingVisit::new();
    for _ in 0..3 {
        visit.push(&mut store);
    }
    // Automerge panics on it, or it does not load: the run goes on and reports nothing done.
    let panicked =
        super::compaction::compact_pending_with(&mut store, 10, |_| panic!("decoder panic"));
    assert_eq!(panicked.expect("the run survives"), 0);
    let failed = super::compaction::compact_pending_with(&mut store, 10, |read| {
        Err(StoreError::Corrupt {
            table: "docs",
            detail: read.doc_id.clone(),
        })
    });
    assert_eq!(failed.expect("the run survives"), 0);
    assert_eq!(appended_docs(&store), 1, "left as it was");
    assert_eq!(store.compact_pending(10).expect("compacts"), 1);
}

#[test]
fn a_devices_last_sync_is_rewritten_after_a_minute_or_when_its_clock_skew_moves() {
    let (_dir, mut store) = fresh();
    let phone = DeviceId::from_random_bytes(bytes(2, 1));
    let recorded = |store: &SqliteStore| -> (i64, i64) {
        store
            .connection()
            .query_row(
                "SELECT last_seen, last_device_time FROM device_sync WHERE device = ?1",
                [phone.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("a row")
    };
    let sync = |store: &mut SqliteStore, after_ms: i64, skew_ms: i64| {
        let at = T0.0 + after_ms;
        store
            .record_sync(phone, Timestamp(at), Timestamp(at - skew_ms), false)
            .expect("recorded");
    };

    // The first sync is recorded even though it committed nothing.
    sync(&mut store, 0, 500);
    assert_eq!(recorded(&store), (T0.0, T0.0 - 500));
    // Half a minute later, the skew moved by network delay only: no write.
    sync(&mut store, 30_000, 700);
    assert_eq!(recorded(&store), (T0.0, T0.0 - 500));
    // The device's clock jumped: written at once.
    sync(&mut store, 40_000, 5_500);
    assert_eq!(recorded(&store), (T0.0 + 40_000, T0.0 + 40_000 - 5_500));
    // A minute after the last write: written.
    sync(&mut store, 100_000, 5_500);
    assert_eq!(recorded(&store), (T0.0 + 100_000, T0.0 + 100_000 - 5_500));
}
