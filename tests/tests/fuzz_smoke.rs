//! The fuzzer's bounded CI run: each target for a fixed number of executions from a fixed seed
//! (about 20 s in all in a debug build), no panic where none may happen. Inputs of any panic
//! are saved under the test's temporary folder (`target/tmp/fuzz-smoke`) for `lianxin-fuzz
//! --minimize`. The bench run (`cargo xtask bench --fuzz-only`) does 10 million and more in
//! release.

use tests::fuzz::{Options, Report, Target, run};

const SEED: u64 = 12;

fn fuzz(target: Target, execs: u64) -> Report {
    let report = run(
        target,
        &Options {
            execs,
            seed: SEED,
            crashes: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-smoke")),
        },
    );
    println!("{}", report.summary());
    report
}

#[test]
fn the_wire_decoders_never_panic_on_mutated_messages() {
    let report = fuzz(Target::Wire, 100_000);

    assert_eq!(report.failures(), 0, "{}", report.summary());
}

#[test]
fn mutated_documents_reach_automerge_past_its_checksum_and_panics_are_only_automerges() {
    let report = fuzz(Target::Load, 40_000);

    assert_eq!(report.failures(), 0, "{}", report.summary());
    // Far more kinds of outcome than "bad checksum": mutants reach the column decoders.
    assert!(report.outcomes >= 20, "{}", report.summary());
}

#[test]
fn validation_never_panics_on_a_document_automerge_loaded() {
    let report = fuzz(Target::Validate, 40_000);

    assert_eq!(report.failures(), 0, "{}", report.summary());
}

/// Needs the server to refuse a document automerge panics on, alone (issue 12): until then
/// automerge's panics escape `handle_sync` and this fails.
#[test]
fn a_mutated_document_never_fails_the_good_one_pushed_beside_it() {
    let report = fuzz(Target::Merge, 8_000);

    assert_eq!(report.failures(), 0, "{}", report.summary());
}
