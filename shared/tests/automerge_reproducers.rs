//! Inputs on which automerge 0.12.0 panics instead of returning an error, kept in
//! `tests/fuzz-crashers/` (found by `lianxin-fuzz`, minimized; the README there is the upstream
//! report). These tests pin what the server may rely on: such bytes never load as a document.
//! Today automerge panics; once upstream returns an error instead, they still pass.

use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::AutoCommit;

/// The hexane `unpack` unwrap (`hexane-1.0.0-alpha.5/src/lib.rs:354`).
const HEXANE_UNPACK: &[u8] = include_bytes!("fuzz-crashers/automerge-hexane-unpack.bin");
/// The same with one head the receiving document lacks, so `load_incremental` onto a
/// non-empty document decodes it too (a document chunk whose heads are all known is skipped).
const HEXANE_UNPACK_WITH_HEAD: &[u8] =
    include_bytes!("fuzz-crashers/automerge-hexane-unpack-with-head.bin");

/// A document automerge 0.12.0 loads, then panics listing its changes (`get_changes`,
/// `op_set2/change/collector.rs:788`, `finish(..).unwrap()` on `MissingOps`).
const GET_CHANGES_MISSING_OPS: &[u8] =
    include_bytes!("fuzz-crashers/automerge-get-changes-missing-ops.bin");

/// What loading came to: `Some(true)` a panic, `Some(false)` an error, `None` a document.
fn outcome<T, E>(f: impl FnOnce() -> Result<T, E>) -> Option<bool> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => Some(true),
        Ok(Err(_)) => Some(false),
        Ok(Ok(_)) => None,
    }
}

#[test]
fn the_hexane_reproducer_is_not_a_document_for_load() {
    let loaded = outcome(|| AutoCommit::load(HEXANE_UNPACK));

    // Some(true): automerge 0.12.0 panics (reported upstream); Some(false): fixed upstream.
    assert!(loaded.is_some(), "the corrupt document loaded");
}

#[test]
fn the_hexane_reproducer_is_not_a_document_for_load_incremental() {
    let mut doc = AutoCommit::new();

    let loaded = outcome(|| doc.load_incremental(HEXANE_UNPACK));

    // Some(true): automerge 0.12.0 panics (reported upstream); Some(false): fixed upstream.
    assert!(loaded.is_some(), "the corrupt document loaded");
}

#[test]
fn the_hexane_reproducer_is_not_a_document_for_load_incremental_onto_a_document() {
    let mut doc = AutoCommit::new();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "kind", "visit")
        .expect("put");

    let loaded = outcome(|| doc.load_incremental(HEXANE_UNPACK_WITH_HEAD));

    // Some(true): automerge 0.12.0 panics (reported upstream); Some(false): fixed upstream.
    assert!(loaded.is_some(), "the corrupt document loaded");
}

#[test]
fn the_hexane_reproducer_with_a_head_is_not_a_document_for_load() {
    let loaded = outcome(|| AutoCommit::load(HEXANE_UNPACK_WITH_HEAD));

    // Some(true): automerge 0.12.0 panics (reported upstream); Some(false): fixed upstream.
    assert!(loaded.is_some(), "the corrupt document loaded");
}

#[test]
fn the_missing_ops_reproducer_never_lists_its_changes() {
    // Some(true): automerge 0.12.0 loads it and panics in `get_changes`; Some(false): the load
    // or the listing fails with an error, as it should.
    let listed = outcome(|| {
        AutoCommit::load(GET_CHANGES_MISSING_OPS).map(|mut doc| doc.get_changes(&[]).len())
    });

    assert!(listed.is_some(), "the corrupt document listed its changes");
}
