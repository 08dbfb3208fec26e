//! The chunk splitter and weigher, on documents and changes Automerge made and on hand-built
//! chunks whose run-length encoded columns claim far more rows than their bytes hold.

use super::*;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};

fn doc_with_two_changes() -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "a", 1).expect("put");
    doc.commit();
    doc.put(ROOT, "b", "二").expect("put");
    doc.commit();
    doc
}

#[test]
fn a_saved_document_is_one_document_chunk() {
    let mut doc = doc_with_two_changes();
    for bytes in [doc.save(), doc.save_nocompress()] {
        let chunks = split(&bytes).expect("splits");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].0, ChunkKind::Document);
        assert_eq!(chunks[0].1.len(), bytes.len());
    }
}

#[test]
fn saved_changes_split_into_one_chunk_each_that_automerge_parses() {
    let mut doc = doc_with_two_changes();
    let bytes = doc.save_after(&[]);
    let chunks = split(&bytes).expect("splits");
    assert_eq!(chunks.len(), 2);
    for (kind, chunk) in chunks {
        assert_eq!(kind, ChunkKind::Change);
        automerge::Change::try_from(chunk).expect("a whole change");
    }
}

/// A document whose one text value is 300 KB of one repeated character: its value column is
/// deflated in `save()` to a few hundred bytes.
fn repetitive() -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "notes", "企".repeat(100_000)).expect("put");
    doc.commit();
    doc
}

#[test]
fn a_document_whose_deflated_columns_inflate_past_the_cap_is_refused_before_automerge() {
    let bytes = repetitive().save();
    assert!(bytes.len() < 10_000, "deflated: {}", bytes.len());
    let chunks = split(&bytes).expect("splits");
    let mut budget = 1 << 20;
    assert!(check_weight(chunks[0].1, &mut budget).is_ok());
    assert_eq!(
        budget,
        (1 << 20) - 300_000 - 2,
        "what it inflated to was taken, and its one change and one operation"
    );
    let err = check_weight(chunks[0].1, &mut 100_000).expect_err("over the cap");
    assert!(err.to_string().contains("100000"), "{err}");
}

#[test]
fn a_document_saved_without_per_column_deflate_is_not_deflated() {
    let mut doc = repetitive();
    let plain = doc.save_nocompress();
    let deflated = doc.save();
    assert!(!is_deflated(split(&plain).expect("splits")[0].1).expect("a document"));
    assert!(is_deflated(split(&deflated).expect("splits")[0].1).expect("a document"));
}

#[test]
fn a_deflated_change_inflating_past_the_cap_is_refused() {
    let mut doc = repetitive();
    let mut change = doc.get_changes(&[]).remove(0);
    let deflated = change.bytes().into_owned();
    assert_eq!(deflated[8], 2, "a deflated change chunk");
    assert!(check_weight(&deflated, &mut (1 << 20)).is_ok());
    assert!(check_weight(&deflated, &mut 100_000).is_err());
    // Two of them share one budget.
    let mut budget = 500_000;
    assert!(check_weight(&deflated, &mut budget).is_ok());
    assert!(check_weight(&deflated, &mut budget).is_err());
    // A plain change has nothing to inflate.
    assert!(check_weight(change.raw_bytes(), &mut 10).is_ok());
}

#[test]
fn bytes_that_are_not_chunks_are_refused_with_where() {
    let mut doc = doc_with_two_changes();
    let mut bytes = doc.save_after(&[]);
    bytes.push(0);
    assert!(split(&bytes).expect_err("trailing byte").contains("byte"));
    let cut = &doc.save()[..20];
    assert!(split(cut).is_err());
    assert!(
        split(&[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 3, 0]).is_err(),
        "bundle"
    );
    assert!(split(&[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0xff, 0xff]).is_err());
    assert_eq!(split(&[]).expect("nothing"), vec![]);
}

fn uleb(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
fn sleb(out: &mut Vec<u8>, n: u64) {
    // `n` is positive and below 2^62: its LEB128 with a clear sign bit.
    let mut v = n;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 && byte & 0x40 == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A change chunk whose columns claim `ops` operations, each "set `a` on the root to null",
/// in a few dozen bytes: every column one run.
fn claiming_ops(ops: u64) -> Vec<u8> {
    let run = |value: &[u8]| {
        let mut c = Vec::new();
        sleb(&mut c, ops);
        c.extend_from_slice(value);
        c
    };
    let mut bools = Vec::new();
    uleb(&mut bools, ops);
    // (spec, data): key string "a", insert false, action 1 (set), value null, no preds.
    let columns: Vec<(u64, Vec<u8>)> = vec![
        (0x15, run(&[1, b'a'])),
        (0x34, bools),
        (0x42, run(&[1])),
        (0x56, run(&[0])),
        (0x70, run(&[0])),
    ];
    let mut data = vec![0, 16];
    data.extend_from_slice(&[7; 16]); // actor
    data.extend_from_slice(&[1, 1, 0, 0, 0]); // seq, start op, time, no message, no actors
    uleb(&mut data, columns.len() as u64);
    for (spec, bytes) in &columns {
        uleb(&mut data, *spec);
        uleb(&mut data, bytes.len() as u64);
    }
    for (_, bytes) in &columns {
        data.extend_from_slice(bytes);
    }
    chunk(1, &data)
}

/// A chunk of type `kind` around `data`, with its valid checksum (the SHA-256 of the type, the
/// length and the data).
fn chunk(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut typed = vec![kind];
    uleb(&mut typed, data.len() as u64);
    typed.extend_from_slice(data);
    let hash = <sha2::Sha256 as sha2::Digest>::digest(&typed);
    let mut chunk = MAGIC.to_vec();
    chunk.extend_from_slice(&hash[..4]);
    chunk.extend_from_slice(&typed);
    chunk
}

#[test]
fn a_crafted_change_is_what_automerge_reads_as_that_many_operations() {
    let chunk = claiming_ops(1_000);
    let change = automerge::Change::try_from(chunk.as_slice()).expect("automerge parses it");
    assert_eq!(change.len(), 1_000);
    assert_eq!(change_rows(chunk_data(&chunk).expect("data")), Ok(1_000));
}

#[test]
fn the_rows_counted_are_the_operations_automerge_reads() {
    let mut doc = AutoCommit::new();
    let list = doc
        .put_object(ROOT, "list", automerge::ObjType::List)
        .expect("a list");
    for i in 0..500 {
        doc.insert(&list, i, i as i64).expect("insert");
    }
    doc.put(ROOT, "s", "文").expect("put");
    doc.commit();
    doc.delete(&list, 10).expect("delete");
    doc.commit();
    for change in doc.get_changes(&[]) {
        assert_eq!(
            change_rows(chunk_data(change.raw_bytes()).expect("data")),
            Ok(change.len() as u64)
        );
    }
    let plain = doc.save_nocompress();
    let mut budget = usize::MAX;
    check_weight(&plain, &mut budget).expect("weighs");
    // Two changes and 502 operations: a saved document keeps the deletion as a successor
    // of the element it deleted, not as an operation row.
    assert_eq!(usize::MAX - budget, 2 + 502);
}

#[test]
fn a_change_claiming_billions_of_operations_is_refused_by_its_run_headers() {
    let chunk = claiming_ops(4_000_000_000);
    assert!(chunk.len() < 100, "{} bytes", chunk.len());
    let started = std::time::Instant::now();
    let err = check_weight(&chunk, &mut (8 << 20)).expect_err("over the budget");
    assert!(matches!(err, WeightError::TooHeavy(_)), "{err:?}");
    assert!(err.to_string().contains("operations"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        chunk,
        include_bytes!("../../../../tests/fixtures/change-claiming-4e9-ops.bin").as_slice(),
        "the fixture shared/tests/sync_limits.rs pushes"
    );
    // Within a budget that holds them, the same bytes are weighed, not refused.
    let mut budget = 5_000_000_000;
    check_weight(&chunk, &mut budget).expect("weighs");
    assert_eq!(budget, 1_000_000_000);
}

/// A document chunk taken apart: what precedes its columns (actors, heads), its columns as
/// (set, spec, data), and what follows them (head indexes).
type DocumentParts = (Vec<u8>, Vec<(usize, usize, Vec<u8>)>, Vec<u8>);

fn document_parts(document: &[u8]) -> DocumentParts {
    let data = chunk_data(document).expect("a chunk");
    let mut r = Reader { bytes: data, at: 0 };
    for _ in 0..r.number().expect("actors") {
        let len = r.number().expect("an actor");
        r.skip(len).expect("an actor");
    }
    let heads = r.number().expect("heads");
    r.skip(heads * 32).expect("heads");
    let prefix = data[..r.at].to_vec();
    let columns = columns(&mut r, 2)
        .expect("columns")
        .into_iter()
        .map(|(set, c)| (set, c.spec, c.data.to_vec()))
        .collect();
    (prefix, columns, data[r.at..].to_vec())
}

/// The document chunk of `parts`, with a valid checksum.
fn document_from_parts((prefix, columns, suffix): &DocumentParts) -> Vec<u8> {
    let mut data = prefix.clone();
    for set in 0..2 {
        let of_set: Vec<_> = columns.iter().filter(|(s, ..)| *s == set).collect();
        uleb(&mut data, of_set.len() as u64);
        for (_, spec, bytes) in of_set {
            uleb(&mut data, *spec as u64);
            uleb(&mut data, bytes.len() as u64);
        }
    }
    for (.., bytes) in columns {
        data.extend_from_slice(bytes);
    }
    data.extend_from_slice(suffix);
    chunk(0, &data)
}

/// One run of `rows` rows: for a boolean column `rows` falses, otherwise `rows` times the
/// value `value` (its encoded bytes).
fn run_of(spec: usize, rows: u64, value: &[u8]) -> Vec<u8> {
    let mut run = Vec::new();
    if spec & 0b111 == 4 {
        uleb(&mut run, rows);
    } else {
        sleb(&mut run, rows);
        run.extend_from_slice(value);
    }
    run
}

/// `document`'s chunk with its operation column `spec` alone replaced by one run of `rows`
/// rows of the value 1.
fn with_op_column_claiming(document: &[u8], spec: usize, rows: u64) -> Vec<u8> {
    let mut parts = document_parts(document);
    for (set, s, bytes) in &mut parts.1 {
        if *set == 1 && *s == spec {
            *bytes = run_of(spec, rows, &[1]);
        }
    }
    document_from_parts(&parts)
}

/// A saved document whose one change ("set `a` on the root to null") claims `ops` operations:
/// each operation column one run of that change's one operation, and the change's largest
/// operation `ops`, with a valid checksum. Automerge loads it to the end, walking every
/// claimed operation, before it finds that the heads do not match (4 million took 2 s and
/// about 300 MB of a release build).
fn document_claiming_ops(ops: u64) -> Vec<u8> {
    // A fixed actor and time: the same bytes every time (the fixture).
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from([7u8; 16]));
    doc.put(ROOT, "a", automerge::ScalarValue::Null)
        .expect("put");
    doc.commit_with(automerge::transaction::CommitOptions::default().with_time(0));
    let mut parts = document_parts(&doc.save_nocompress());
    for (set, spec, bytes) in &mut parts.1 {
        match (*set, *spec) {
            // The change's largest operation (a delta column): one literal value.
            (0, 0x13) => {
                *bytes = vec![0x7f];
                sleb(bytes, ops);
            }
            (1, spec) if spec & 0b111 == 4 => *bytes = run_of(spec, ops, &[]),
            // Every other operation column holds one literal value: a run of it instead.
            (1, spec) if spec & 0b111 != 7 => {
                assert_eq!(bytes[0], 0x7f, "column {spec:#x} is one literal value");
                *bytes = run_of(spec, ops, &bytes[1..]);
            }
            _ => {}
        }
    }
    document_from_parts(&parts)
}

#[test]
fn a_crafted_document_is_what_automerge_loads_to_the_end_as_that_many_operations() {
    let chunk = document_claiming_ops(1_000);
    let mut budget = 10_000;

    check_weight(&chunk, &mut budget).expect("weighs");

    assert_eq!(
        budget,
        10_000 - 1_000 - 1,
        "its operations and its one change"
    );
    let err = AutoCommit::load(&chunk).expect_err("its heads do not match");
    assert!(err.to_string().contains("heads"), "{err}");
}

#[test]
fn a_document_claiming_billions_of_operations_is_refused_by_its_run_headers() {
    let chunk = document_claiming_ops(4_000_000_000);
    assert!(chunk.len() < 200, "{} bytes", chunk.len());

    let err = check_weight(&chunk, &mut (8 << 20)).expect_err("over the budget");

    assert!(matches!(err, WeightError::TooHeavy(_)), "{err:?}");
    assert_eq!(
        chunk,
        include_bytes!("../../../../tests/fixtures/document-claiming-4e9-ops.bin").as_slice(),
        "the fixture tests/tests/sync_boundary.rs pushes"
    );
}

#[test]
fn a_document_whose_operation_columns_claim_billions_of_rows_is_refused_by_its_run_headers() {
    let saved = doc_with_two_changes().save_nocompress();
    // The operations' actor (Automerge counts a document's operations by it), their action, and
    // whether each inserts (a boolean column).
    for spec in [0x21, 0x42, 0x34] {
        let chunk = with_op_column_claiming(&saved, spec, 4_000_000_000);
        assert!(chunk.len() < saved.len() + 8, "{} bytes", chunk.len());

        let err = check_weight(&chunk, &mut (8 << 20)).expect_err("over the budget");

        assert!(
            matches!(err, WeightError::TooHeavy(_)),
            "{spec:#x}: {err:?}"
        );
    }
    // The same rewrite claiming three rows is weighed as three operations and two changes.
    let mut budget = 100;
    check_weight(&with_op_column_claiming(&saved, 0x42, 3), &mut budget).expect("weighs");
    assert_eq!(budget, 100 - 3 - 2);
}
