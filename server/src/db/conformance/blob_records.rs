//! What uploads and photo reads need of the database ([`crate::db::BlobRecords`]) on both
//! backends: which records reference a hash, upload rows as recorded, finished once, forgotten;
//! and the daily budget, counted over the window and never passed, not even by uploads opened
//! at once.

use shared::doc::DocKind;
use shared::model::{Timestamp, VisitId};
use shared::sync::protocol::DocId;

use super::{Seeded, T0, enterprise, person};
use crate::blobs::BlobHash;
use crate::db::{Opening, UploadRow};

/// The hash made of byte `n` repeated.
fn hash(n: u8) -> BlobHash {
    BlobHash::of(&[n])
}

fn visit(n: u8) -> DocId {
    DocId::new(
        DocKind::Visit,
        &VisitId::from_random_bytes([100 + n; 16]).to_string(),
    )
}

/// Upload `n` of `login` for `hash(n)`, charged `charged` bytes at `T0 + at`.
fn row(n: u8, login: &str, charged: u64, at: i64) -> UploadRow {
    UploadRow {
        id: format!("{n:032x}"),
        user: person(login).id,
        hash: hash(n),
        length: charged,
        filetype: "image/jpeg".into(),
        charged,
        created_at: Timestamp(T0.0 + at),
        finished_at: None,
    }
}

/// A budget window that starts at `T0`.
const SINCE: Timestamp = T0;

async fn open(b: &Seeded, upload: &UploadRow, budget: u64) -> Opening {
    b.blob_records
        .open_upload(upload.clone(), SINCE, budget)
        .await
        .expect("open an upload")
}

async fn a_hash_is_referenced_by_every_record_that_names_it_and_no_other(b: &Seeded) {
    for (h, doc, e) in [(1, visit(1), 1), (1, visit(2), 2), (2, visit(3), 3)] {
        let sql = format!(
            "INSERT INTO blob_refs (hash, doc, enterprise) VALUES ('{}', '{}', '{}')",
            hash(h),
            doc.as_str(),
            enterprise(e)
        );
        b.execute(&sql).await.expect("seed a reference");
    }
    let mut found = b
        .blob_records
        .blob_references(hash(1))
        .await
        .expect("references");
    found.sort();
    let mut expected = vec![(visit(1), enterprise(1)), (visit(2), enterprise(2))];
    expected.sort();
    assert_eq!(found, expected);
    let none = b
        .blob_records
        .blob_references(hash(9))
        .await
        .expect("references");
    assert!(none.is_empty(), "an unreferenced hash: {none:?}");
}

async fn an_opened_upload_reads_back_as_recorded(b: &Seeded) {
    let upload = row(1, "wang", 300_000, 10);
    assert_eq!(open(b, &upload, 1_000_000).await, Opening::Opened);
    let read = b
        .blob_records
        .upload(upload.id.clone())
        .await
        .expect("read");
    assert_eq!(read, Some(upload));
    let unknown = b.blob_records.upload(format!("{:032x}", 77)).await;
    assert_eq!(unknown.expect("read"), None);
}

async fn a_finished_upload_keeps_its_first_finish_and_a_deleted_one_is_forgotten(b: &Seeded) {
    let (one, two) = (row(1, "wang", 1_000, 10), row(2, "wang", 1_000, 20));
    for upload in [&one, &two] {
        assert_eq!(open(b, upload, 1_000_000).await, Opening::Opened);
    }
    let (first, later) = (Timestamp(T0.0 + 100), Timestamp(T0.0 + 200));
    for at in [first, later] {
        b.blob_records
            .finish_upload(one.id.clone(), at)
            .await
            .expect("finish");
    }
    let finished = b.blob_records.upload(one.id.clone()).await.expect("read");
    assert_eq!(finished.and_then(|r| r.finished_at), Some(first));
    b.blob_records
        .delete_upload(two.id.clone())
        .await
        .expect("delete");
    let gone = b.blob_records.upload(two.id.clone()).await.expect("read");
    assert_eq!(gone, None);
}

async fn an_upload_past_the_daily_budget_is_refused_and_not_recorded(b: &Seeded) {
    let budget = 1_000;
    // Before the window and another person's: not counted.
    assert_eq!(
        open(b, &row(1, "wang", 900, -1), u64::MAX).await,
        Opening::Opened
    );
    assert_eq!(
        open(b, &row(2, "zhao", 900, 5), budget).await,
        Opening::Opened
    );
    assert_eq!(
        open(b, &row(3, "wang", 600, 10), budget).await,
        Opening::Opened
    );
    assert_eq!(
        open(b, &row(4, "wang", 400, 20), budget).await,
        Opening::Opened
    );
    let over = row(5, "wang", 1, 30);
    assert_eq!(
        open(b, &over, budget).await,
        Opening::OverBudget { used: 1_000 }
    );
    let recorded = b.blob_records.upload(over.id.clone()).await.expect("read");
    assert_eq!(recorded, None, "a refused upload was recorded");
}

async fn uploads_opened_at_once_never_pass_the_budget_together(b: &Seeded) {
    // Eight connections open first, so the eight openings run side by side.
    let warm: Vec<_> = (0..8)
        .map(|n| {
            let records = b.blob_records.clone();
            tokio::spawn(async move { records.upload(format!("{n:032x}")).await })
        })
        .collect();
    for task in warm {
        task.await.expect("joined").expect("read");
    }
    // Room for one of them: each of eight at once must see the others' charge.
    let tasks: Vec<_> = (1..=8)
        .map(|n| {
            let records = b.blob_records.clone();
            let upload = row(n, "wang", 600, i64::from(n));
            tokio::spawn(async move { records.open_upload(upload, SINCE, 1_000).await })
        })
        .collect();
    let mut opened = 0;
    for task in tasks {
        if task.await.expect("joined").expect("open") == Opening::Opened {
            opened += 1;
        }
    }
    assert_eq!(
        opened, 1,
        "uploads opened at once passed the budget together"
    );
}

on_both_backends!(
    a_hash_is_referenced_by_every_record_that_names_it_and_no_other,
    an_opened_upload_reads_back_as_recorded,
    a_finished_upload_keeps_its_first_finish_and_a_deleted_one_is_forgotten,
    an_upload_past_the_daily_budget_is_refused_and_not_recorded,
    uploads_opened_at_once_never_pass_the_budget_together,
);
