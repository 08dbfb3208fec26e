//! The steps of the jobs that rework stored documents ([`crate::db::Maintenance`]) on both
//! backends, driven by the jobs themselves (`history_audit::audit`, `store::compact_pending`):
//! the audit keeps a verdict on every record it checks, broken where the change table recorded
//! a change the record no longer holds, and never over a commit made after its read;
//! compaction re-saves appended documents to the same heads and content, and never over a
//! commit made after its read (another server's, on PostgreSQL).

use shared::doc::VisitDoc;
use shared::model::{OperatingStatus, Timestamp, VisitId, VisitMethod};
use shared::sync::protocol::DocId;
use shared::sync::server::DocCommit;

use super::{Backend, T0, commit_of, doc_commit, enterprise, sorted};
use crate::api::HistoryVerdict;
use crate::db::Maintenance;
use crate::history_audit::{AuditReport, audit};
use crate::store::compact_pending_with;
use crate::writer::{system_actor, system_actor_id};

/// When the jobs run.
const T1: Timestamp = Timestamp(T0.0 + 3_600_000);

/// Runs `f` with the backend's job steps (SQLite: its writer in short holds; PostgreSQL: its
/// pool).
fn with_steps<T>(b: &Backend, f: impl FnOnce(&mut dyn Maintenance) -> T) -> T {
    match b {
        Backend::Sqlite { db, .. } => {
            let mut writer = db.writer();
            f(&mut writer)
        }
        Backend::Postgres { db, runtime, .. } => {
            let _entered = runtime.enter();
            let mut steps = db.maintenance();
            f(&mut steps)
        }
    }
}

/// Visit `n`, made by the server's own identity (whose actor is known without a device row,
/// so its history is intact when committed).
fn system_visit(n: u8) -> VisitDoc {
    let new = shared::doc::NewVisit {
        id: VisitId::from_random_bytes([7, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        enterprise: enterprise(1),
        method: VisitMethod::Phone,
        check_in: None,
        operating_status: OperatingStatus::Normal,
        notes: "电话回访".into(),
    };
    VisitDoc::create(&new, &system_actor(), system_actor_id(), T0).expect("a valid new visit")
}

/// Edits `visit` as the server and returns its commit onto `base`.
fn edit(visit: &mut VisitDoc, notes: &str, base: &DocCommit) -> DocCommit {
    visit
        .edit(&system_actor(), T0, |e| e.set_notes(notes))
        .expect("edited");
    doc_commit(visit.record(), Some(base.heads.clone()))
}

fn commit(b: &Backend, doc: &DocCommit) {
    b.store()
        .commit(&commit_of(vec![doc.clone()]))
        .expect("committed");
}

/// The verdict kept on `doc`.
fn verdict(b: &Backend, doc: &DocId) -> HistoryVerdict {
    let found = match b {
        Backend::Sqlite { db, .. } => db.lock_writer().history_verdict(doc),
        Backend::Postgres { db, runtime, .. } => {
            runtime.block_on(crate::db::Queries::history_verdict(db, doc.clone()))
        }
    };
    found.expect("read a verdict").expect("a stored record").1
}

/// Records in the change table a change `doc` does not hold, as if its history were rewritten
/// with that change taken out.
fn rewrite_history_of(b: &Backend, doc: &DocId) {
    let doc = doc.as_str();
    b.execute(&match b {
        Backend::Sqlite { .. } => format!(
            "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
             VALUES ('{doc}', zeroblob(32), 'aa', 'd', 0, 0)"
        ),
        Backend::Postgres { .. } => format!(
            "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
             VALUES ('{doc}', decode(repeat('00', 32), 'hex'), '\\xaa', '\\x0d', 0, 0)"
        ),
    });
}

fn an_audit_judges_each_record_and_keeps_a_rewritten_history_broken(b: &Backend) {
    let (mut kept, mut rewritten) = (system_visit(1), system_visit(2));
    let (kept, rewritten) = (
        doc_commit(kept.record(), None),
        doc_commit(rewritten.record(), None),
    );
    commit(b, &kept);
    commit(b, &rewritten);
    rewrite_history_of(b, &rewritten.doc);

    let report = with_steps(b, |steps| audit(steps, 100, false, T1)).expect("audited");

    assert_eq!(
        report,
        AuditReport {
            checked: 2,
            broken: 1,
            skipped: 0
        }
    );
    let intact = verdict(b, &kept.doc);
    assert_eq!(
        (intact.intact, intact.full_at),
        (Some(true), Some(T1.0)),
        "{intact:?}"
    );
    let broken = verdict(b, &rewritten.doc);
    assert_eq!(broken.intact, Some(false), "{broken:?}");
    assert!(
        broken
            .broken
            .as_deref()
            .is_some_and(|why| why.contains("history was rewritten")),
        "{broken:?}"
    );
}

fn an_audit_keeps_no_verdict_on_a_record_committed_after_its_read(b: &Backend) {
    let mut visit = system_visit(1);
    let first = doc_commit(visit.record(), None);
    commit(b, &first);
    let read = with_steps(b, |steps| steps.audit_read(&first.doc))
        .expect("read")
        .expect("stored");
    // Another server commits an edit meanwhile.
    commit(b, &edit(&mut visit, "再次回访", &first));

    let written = with_steps(b, |steps| {
        steps.audit_write(&read, Some("judged on the old heads".into()), &[], T1)
    })
    .expect("asked to write");

    assert_eq!(written, None, "a verdict on heads no longer stored");
    let kept = verdict(b, &first.doc);
    assert_eq!(
        (kept.intact, kept.broken, kept.full_at),
        (Some(true), None, None),
        "the commit's verdict stays"
    );
}

fn the_audit_takes_records_never_checked_first_then_those_checked_longest_ago(b: &Backend) {
    let mut docs: Vec<DocId> = (1..=3)
        .map(|n| {
            let c = doc_commit(system_visit(n).record(), None);
            commit(b, &c);
            c.doc
        })
        .collect();
    docs.sort_by(|x, y| x.as_str().as_bytes().cmp(y.as_str().as_bytes()));

    let first = with_steps(b, |steps| audit(steps, 2, false, T1)).expect("audited");
    assert_eq!(first.checked, 2);
    let next = with_steps(b, |steps| steps.audit_batch(3, false)).expect("a batch");

    assert_eq!(
        next,
        vec![docs[2].clone(), docs[0].clone(), docs[1].clone()],
        "the one never checked, then the two checked at T1 by id"
    );
}

/// Commits an edit of `visit` onto `last`, appended to its stored bytes as the engine
/// appends it (not re-saved): the commit.
fn append_edit(b: &Backend, visit: &mut VisitDoc, notes: &str, last: &DocCommit) -> DocCommit {
    let mut next = edit(visit, notes, last);
    let mut bytes = last.snapshot.clone();
    bytes.extend(visit.record().automerge().save_after(&last.heads));
    next.snapshot = bytes;
    next.compacted = false;
    commit(b, &next);
    next
}

/// Commits a visit, then `edits` edits appended: the last commit.
fn appended_visit(b: &Backend, visit: &mut VisitDoc, edits: usize) -> DocCommit {
    let mut last = doc_commit(visit.record(), None);
    commit(b, &last);
    for n in 0..edits {
        last = append_edit(b, visit, &format!("第{n}次修改备注"), &last);
    }
    last
}

fn compaction_resaves_appended_documents_to_the_same_heads_and_content(b: &Backend) {
    let mut visit = system_visit(1);
    let appended = appended_visit(b, &mut visit, 5);

    let compacted = with_steps(b, |steps| crate::store::compact_pending(steps, 10));
    let again = with_steps(b, |steps| crate::store::compact_pending(steps, 10));

    assert_eq!(compacted.expect("compacted"), 1);
    assert_eq!(again.expect("compacted"), 0, "nothing left to compact");
    let stored = b.store().load(&appended.doc).expect("stored");
    assert_eq!(sorted(stored.heads), appended.heads, "the same heads");
    assert!(
        stored.bytes.len() < appended.snapshot.len(),
        "{} → {} bytes",
        appended.snapshot.len(),
        stored.bytes.len()
    );
    let notes = VisitDoc::load(&stored.bytes, system_actor_id())
        .expect("loads")
        .read()
        .expect("reads")
        .notes;
    assert_eq!(notes, "第4次修改备注");
}

fn compaction_never_overwrites_a_commit_made_after_its_read(b: &Backend) {
    let mut visit = system_visit(1);
    let appended = appended_visit(b, &mut visit, 3);
    let mut meanwhile = None;

    let compacted = with_steps(b, |steps| {
        compact_pending_with(steps, 10, |read| {
            // Another server commits an edit between compaction's read and its write.
            meanwhile = Some(append_edit(
                b,
                &mut visit,
                "另一台服务器提交的修改",
                &appended,
            ));
            crate::store::resave(read)
        })
    });

    assert_eq!(
        compacted.expect("ran"),
        0,
        "the stale re-save is not written"
    );
    let meanwhile = meanwhile.expect("committed meanwhile");
    let stored = b.store().load(&appended.doc).expect("stored");
    assert_eq!(
        sorted(stored.heads),
        meanwhile.heads,
        "the edit made meanwhile"
    );
    let next = with_steps(b, |steps| crate::store::compact_pending(steps, 10));
    assert_eq!(next.expect("compacted"), 1, "compacted on the next run");
    let stored = b.store().load(&appended.doc).expect("stored");
    let notes = VisitDoc::load(&stored.bytes, system_actor_id())
        .expect("loads")
        .read()
        .expect("reads")
        .notes;
    assert_eq!(notes, "另一台服务器提交的修改");
}

on_both_sync_stores!(
    an_audit_judges_each_record_and_keeps_a_rewritten_history_broken,
    an_audit_keeps_no_verdict_on_a_record_committed_after_its_read,
    the_audit_takes_records_never_checked_first_then_those_checked_longest_ago,
    compaction_resaves_appended_documents_to_the_same_heads_and_content,
    compaction_never_overwrites_a_commit_made_after_its_read,
);
