//! What a document costs on disk (issue 12, part 5): snapshots kept deflated and loaded as they
//! were committed, the WAL held small, and a database from before migration 0008 keeping its
//! changes, device heads and plain snapshots.

use super::*;

/// Heads as the store keeps them: sorted, concatenated.
fn heads_blob(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    sorted.iter().flat_map(|h| h.0).collect()
}

fn raw_row(path: &Path, id: &DocId) -> (i64, Option<i64>) {
    raw(path)
        .query_row(
            "SELECT length(snapshot), inflated_size FROM docs WHERE doc_id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the row")
}

#[test]
fn a_snapshot_is_stored_deflated_and_loads_as_it_was_committed() {
    let (dir, mut store) = fresh();
    let wang = officer_wang();
    let mut visit = visit_of(1, enterprise(1), &wang);
    let commit = doc_commit(visit.record());
    let (id, snapshot) = (commit.doc.clone(), commit.snapshot.clone());

    store
        .commit(&commit_by(&wang, at(0), vec![commit]))
        .expect("committed");

    let (stored_len, inflated_size) = raw_row(&db_path(&dir), &id);
    assert_eq!(inflated_size, Some(snapshot.len() as i64));
    assert!(
        stored_len < snapshot.len() as i64,
        "{stored_len} bytes stored"
    );
    let loaded = store.load_doc(&id).expect("loads").expect("stored");
    assert_eq!(loaded.bytes, snapshot);
    let meta = store.doc_meta(&id).expect("meta").expect("stored");
    assert_eq!(meta.size, snapshot.len(), "the size a merge loads");
}

#[test]
fn the_wal_is_checkpointed_early_and_cut_back_after_checkpoints() {
    let (_dir, store) = fresh();
    let conn = store.connection();
    let pragma = |name: &str| -> i64 {
        conn.pragma_query_value(None, name, |r| r.get(0))
            .expect("pragma")
    };
    assert_eq!(pragma("wal_autocheckpoint"), 256);
    assert_eq!(pragma("journal_size_limit"), 256 * 1024);
}

#[test]
fn a_database_from_before_keeps_its_changes_device_heads_and_plain_snapshots() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = db_path(&dir);
    let wang = officer_wang();
    let mut problem = problem_of(1, enterprise(1), &wang);
    let commit = doc_commit(problem.record());
    let id = commit.doc.clone();
    {
        // The schema as migration 0007 left it, holding one document written then.
        let conn = raw(&path);
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        for sql in [
            include_str!("../migrations/0001_initial.sql"),
            include_str!("../migrations/0002_directory.sql"),
            include_str!("../migrations/0003_bulletins.sql"),
            include_str!("../migrations/0004_compaction.sql"),
            include_str!("../migrations/0005_dashboard_indexes.sql"),
            include_str!("../migrations/0006_device_outbox.sql"),
            include_str!("../migrations/0007_device_secret.sql"),
        ] {
            conn.execute_batch(sql).expect("an old migration");
        }
        conn.pragma_update(None, "user_version", 7)
            .expect("version");
        conn.execute(
            "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at) \
             VALUES (?1, 'problem', ?2, 1, ?3, ?4, 0)",
            rusqlite::params![
                id.as_str(),
                enterprise(1).to_string(),
                commit.snapshot,
                heads_blob(&commit.heads),
            ],
        )
        .expect("a document");
        for c in &commit.changes {
            conn.execute(
                "INSERT INTO changes (doc_id, hash, bytes, actor, device, device_time, \
                 received_at) VALUES (?1, ?2, x'0102', ?3, 'phone', ?4, 0)",
                rusqlite::params![id.as_str(), c.hash.0.as_slice(), c.actor, c.device_time.0],
            )
            .expect("a change");
        }
        conn.execute(
            "INSERT INTO device_docs (device, doc_id, heads) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                wang.device().to_string(),
                id.as_str(),
                heads_blob(&commit.heads)
            ],
        )
        .expect("a device's heads");
    }

    let mut store = SqliteStore::open(&path).expect("migrates");

    assert_eq!(store.integrity_check().expect("checked"), "ok");
    let loaded = store.load_doc(&id).expect("loads").expect("kept");
    assert_eq!(
        loaded.bytes, commit.snapshot,
        "a plain snapshot loads as it is"
    );
    let mut hashes: Vec<[u8; 32]> = commit.changes.iter().map(|c| c.hash.0).collect();
    hashes.sort();
    assert_eq!(store.change_hashes(&id).expect("hashes"), hashes);
    let mut heads = commit.heads.clone();
    heads.sort();
    assert_eq!(
        store.known_heads(wang.device(), &id).expect("heads"),
        Some(heads)
    );
}

/// Phrases of an inspection note, as the bench workload's (and push_cpu's) notes are made.
const PHRASES: [&str; 8] = [
    "企业现场检查发现",
    "消防通道堆放杂物",
    "灭火器压力不足",
    "要求企业立即整改",
    "限期十五日内完成整改",
    "负责人已签字确认",
    "，",
    "。",
];

/// Visit `n`'s 500-character note.
fn long_note(n: u64) -> String {
    let mut s = format!("第{n}次走访：企业生产正常，用电平稳，反映用工和审批问题。");
    let mut k = n as usize;
    while s.chars().count() < 500 {
        k = k.wrapping_mul(2_654_435_761).wrapping_add(1) % 1_000_003;
        s.push_str(PHRASES[k % PHRASES.len()]);
    }
    s.chars().take(500).collect()
}

/// What the server commits for a new document: its bytes as a device pushes them
/// (`save_nocompress`), every change, its heads and projection.
fn pushed(record: &mut RecordDoc) -> DocCommit {
    let mut commit = doc_commit(record);
    commit.snapshot = record.automerge().save_nocompress();
    commit
}

#[test]
fn a_record_of_a_visit_with_a_long_note_and_three_problems_stays_under_its_bytes() {
    // Twenty records of the bench workload's shape, each a visit with a 500-character note
    // (1.5 KB of text) and three problems, committed as the server commits pushes.
    const RECORDS: u64 = 20;
    let (dir, mut store) = fresh();
    let wang = officer_wang();
    let mut docs = Vec::new();
    for n in 0..RECORDS {
        let new = NewVisit {
            id: VisitId::from_random_bytes(bytes(8, n)),
            enterprise: enterprise(n),
            method: VisitMethod::OnSite,
            check_in: None,
            operating_status: OperatingStatus::Normal,
            notes: long_note(n),
        };
        let mut visit = VisitDoc::create(&new, &wang.actor, wang.actor_id(), T0).expect("a visit");
        docs.push(pushed(visit.record()));
        for k in 0..3 {
            let mut problem = problem_of(n * 3 + k, enterprise(n), &wang);
            docs.push(pushed(problem.record()));
        }
    }
    store
        .commit(&commit_by(&wang, at(0), docs))
        .expect("committed");

    let conn = raw(&db_path(&dir));
    let per_record = |sql: &str| -> i64 {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .expect("a sum")
            / RECORDS as i64
    };
    let snapshots = per_record("SELECT sum(length(snapshot)) FROM docs");
    let notes = per_record("SELECT sum(length(CAST(notes AS BLOB))) FROM visits");
    // Measured when written (migration 0023): 1,504 bytes of snapshots a record (2,492 with
    // plain deflate, as before) and 291 bytes of notes (1,500 as text); the bounds leave ~10 %.
    assert!(
        snapshots <= 1_650,
        "{snapshots} bytes of snapshots a record"
    );
    assert!(notes <= 320, "{notes} bytes of notes a record");
    // And they read back as committed.
    let first = store.visit_rows_for(enterprise(0)).expect("the visit list");
    assert_eq!(first[0].notes, long_note(0));
}

#[test]
fn a_database_from_before_0023_keeps_its_rows_in_the_slimmer_tables() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = db_path(&dir);
    let wang = officer_wang();
    let mut problem = problem_of(1, enterprise(1), &wang);
    let commit = pushed(problem.record());
    let id = commit.doc.clone();
    let actor_hex = commit.changes[0].actor.clone();
    {
        // The schema as migration 0020 left it, holding rows written then.
        let conn = raw(&path);
        for sql in [
            include_str!("../migrations/0001_initial.sql"),
            include_str!("../migrations/0002_directory.sql"),
            include_str!("../migrations/0003_bulletins.sql"),
            include_str!("../migrations/0004_compaction.sql"),
            include_str!("../migrations/0005_dashboard_indexes.sql"),
            include_str!("../migrations/0006_device_outbox.sql"),
            include_str!("../migrations/0007_device_secret.sql"),
            include_str!("../migrations/0008_lean_storage.sql"),
            include_str!("../migrations/0009_enterprise_cards.sql"),
            include_str!("../migrations/0010_server_time.sql"),
            include_str!("../migrations/0011_look_back_owed.sql"),
            include_str!("../migrations/0012_settling_window.sql"),
            include_str!("../migrations/0013_audit_log.sql"),
            include_str!("../migrations/0014_reminders.sql"),
            include_str!("../migrations/0015_blob_store.sql"),
            include_str!("../migrations/0016_refresh_rotation.sql"),
            include_str!("../migrations/0017_store_epoch.sql"),
            include_str!("../migrations/0018_lost_refresh_answer.sql"),
            include_str!("../migrations/0019_check_in_evidence.sql"),
            include_str!("../migrations/0020_history_verdicts.sql"),
        ] {
            conn.execute_batch(sql).expect("an old migration");
        }
        conn.pragma_update(None, "user_version", 20)
            .expect("version");
        conn.execute(
            "INSERT INTO docs (doc_id, kind, enterprise, seq, snapshot, heads, updated_at) \
             VALUES (?1, 'problem', ?2, 1, ?3, ?4, 0)",
            rusqlite::params![
                id.as_str(),
                enterprise(1).to_string(),
                commit.snapshot,
                heads_blob(&commit.heads),
            ],
        )
        .expect("a document");
        conn.execute(
            "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
             VALUES (?1, ?2, ?3, ?4, 5, 6)",
            rusqlite::params![
                id.as_str(),
                commit.changes[0].hash.0.as_slice(),
                actor_hex,
                wang.device().to_string()
            ],
        )
        .expect("a change");
        conn.execute_batch(
            "INSERT INTO visits (id, enterprise, method, operating_status, notes, device_time, \
             created_by, created_device, confirmed) \
             VALUES ('v1', 'e1', 'on_site', 'normal', '企业反映用电紧张', 0, 'u', 'd', 0);
             INSERT INTO visit_officers (visit, officer) VALUES ('v1', 'o1');
             INSERT INTO deliveries (device, delivery, doc_id, heads) VALUES ('d1', 3, 'x', x'00');
             INSERT INTO reminder_watch (problem, next_at) VALUES ('p1', 42);",
        )
        .expect("query rows");
    }

    let mut store = SqliteStore::open(&path).expect("migrates");

    assert_eq!(store.integrity_check().expect("checked"), "ok");
    let loaded = store.load_doc(&id).expect("loads").expect("kept");
    assert_eq!(loaded.bytes, commit.snapshot, "a plain row loads as it is");
    let conn = raw(&path);
    let (actor, device): (Vec<u8>, Vec<u8>) = conn
        .query_row("SELECT actor, device FROM changes", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("the change row");
    let actor_bytes = automerge::ActorId::try_from(actor_hex.as_str())
        .expect("hex")
        .to_bytes()
        .to_vec();
    assert_eq!(actor, actor_bytes);
    assert_eq!(device, wang.device().as_bytes().to_vec());
    let rows: (String, String, i64, i64) = conn
        .query_row(
            "SELECT (SELECT notes FROM visits), (SELECT officer FROM visit_officers), \
             (SELECT delivery FROM deliveries), (SELECT next_at FROM reminder_watch)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("the rows");
    assert_eq!(rows, ("企业反映用电紧张".into(), "o1".into(), 3, 42));
    for table in ["visit_officers", "deliveries", "reminder_watch", "changes"] {
        assert!(
            conn.prepare(&format!("SELECT rowid FROM {table}")).is_err(),
            "{table} is WITHOUT ROWID"
        );
    }
    let state_index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'problems_state'",
            [],
            |r| r.get(0),
        )
        .expect("the schema");
    assert_eq!(state_index, 0);
}
