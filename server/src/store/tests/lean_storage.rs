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
    assert_eq!(pragma("journal_size_limit"), 1024 * 1024);
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
