//! The history audit (历史核查, issue 14 item 6): checks whole records' hash-linked histories
//! and keeps the verdict (`store::history`). Each record is read in one short store hold
//! (bytes, heads, the change table's hashes), checked between holds — it loads, every change
//! hashes to its hash and depends only on changes it holds, its heads are the changes nothing
//! depends on (`shared::doc::history::verify_chain`), every change the table recorded is still
//! in it (none was removed or the history rewritten) and every change in it was recorded (none
//! added behind the server's back) — and its verdict written in a second hold, after checking
//! that each change carries the actor of the device its message names, and only if the
//! record is still at the heads read. Bounded work per run ([`audit`]'s `limit`); `serve`
//! runs it a second after each burst of commits for the records commits left pending, and
//! every minute for those checked longest ago, so every record is checked again in turn.
//! Written once over [`HistoryAudits`]: the same job on SQLite and on PostgreSQL, where each
//! minute's round runs on one server of those sharing the database ([`Job::HistoryAudit`]'s
//! lock, taken only when the round is due, `db::JobLocks::take_due`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use shared::doc::history::verify_chain;
use shared::doc::{Author, RecordDoc};
use shared::model::{DeviceId, Timestamp};

use crate::db::{HistoryAudits, Job};
use crate::store::{AuditRead, StoreError};
use crate::sync::SyncService;

/// Records checked a second after a burst of commits, at most (those the commits left
/// pending).
pub const PENDING_PER_RUN: usize = 200;
/// Records checked each minute, longest unchecked first.
pub const ROUND_PER_RUN: usize = 200;
/// How often the round runs.
pub const ROUND_EVERY: Duration = Duration::from_secs(60);

/// What checking a record's bytes found: what breaks its chain (`None`: intact so far) and who
/// made each change (hash, actor hex, the device its message names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examined {
    /// What is broken, in English.
    pub broken: Option<String>,
    /// Each change's hash, actor and named device.
    pub authors: Vec<(String, String, Option<DeviceId>)>,
}

/// Checks a record's chain against the change table's hashes (`recorded`), without the store.
pub fn examine(read: &AuditRead) -> Examined {
    let fail = |why: String| Examined {
        broken: Some(why),
        authors: Vec::new(),
    };
    let mut record = match RecordDoc::load(&read.bytes, crate::writer::system_actor_id()) {
        Ok(r) => r,
        Err(e) => return fail(format!("the stored record does not load: {e}")),
    };
    if let Err(e) = verify_chain(&mut record, &read.recorded) {
        return fail(e.to_string());
    }
    let mut heads = record.heads();
    heads.sort();
    let mut stored = read.heads.clone();
    stored.sort();
    if heads != stored {
        return fail("the record's heads are not those stored beside it".into());
    }
    let recorded: BTreeSet<_> = read.recorded.iter().collect();
    let changes = record.automerge().get_changes(&[]);
    if let Some(extra) = changes.iter().find(|c| !recorded.contains(&c.hash())) {
        return fail(format!(
            "change {} is in the record but the server never recorded receiving it",
            extra.hash()
        ));
    }
    Examined {
        broken: None,
        authors: changes
            .iter()
            .map(|c| {
                (
                    c.hash().to_string(),
                    c.actor_id().to_hex_string(),
                    c.message().and_then(Author::parse).map(|a| a.device),
                )
            })
            .collect(),
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Records checked and judged.
    pub checked: usize,
    /// Of those, broken.
    pub broken: usize,
    /// Records that changed while being checked (left for the next run).
    pub skipped: usize,
}

/// Checks at most `limit` records (the pending ones when `pending_only`, else those checked
/// longest ago), each read and judged in short steps of `store` (SQLite: short holds of its
/// writer; PostgreSQL: a connection of the pool each).
///
/// # Errors
/// When the store fails.
pub fn audit<S: HistoryAudits + ?Sized>(
    store: &mut S,
    limit: usize,
    pending_only: bool,
    now: Timestamp,
) -> Result<AuditReport, StoreError> {
    let batch = store.audit_batch(limit, pending_only)?;
    let mut report = AuditReport::default();
    for doc in batch {
        let Some(read) = store.audit_read(&doc)? else {
            continue;
        };
        let examined = examine(&read);
        match store.audit_write(&read, examined.broken.clone(), &examined.authors, now)? {
            Some(verdict) => {
                report.checked += 1;
                if verdict.intact == Some(false) {
                    report.broken += 1;
                    tracing::warn!(
                        doc = %doc,
                        broken = verdict.broken.as_deref().unwrap_or_default(),
                        "a record's history is not intact"
                    );
                }
            }
            None => report.skipped += 1,
        }
    }
    Ok(report)
}

/// Runs the audit for the records commits left pending a second after each burst of commits,
/// and a round over the records checked longest ago every [`ROUND_EVERY`] (on one server of
/// those sharing a database: the round is skipped when another server ran it within the
/// period).
pub async fn run(sync: Arc<SyncService>) {
    let mut commits = sync.subscribe();
    let mut round = tokio::time::interval(ROUND_EVERY);
    loop {
        let (limit, pending_only, run) = tokio::select! {
            more = crate::sync::next_burst(&mut commits) => {
                if !more {
                    return;
                }
                (PENDING_PER_RUN, true, sync.db().job_run(Job::HistoryAudit).await)
            }
            _ = round.tick() => (
                ROUND_PER_RUN,
                false,
                sync.db().job_run_due(Job::HistoryAudit, ROUND_EVERY).await,
            ),
        };
        let Some(_run) = run else {
            continue;
        };
        let ran = sync
            .db()
            .maintain(move |store| audit(store, limit, pending_only, crate::auth::now()))
            .await;
        match ran {
            Some(Ok(r)) if r.checked > 0 => {
                tracing::debug!(checked = r.checked, broken = r.broken, "history audit");
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => tracing::warn!(%error, "history audit failed"),
            None => tracing::error!("history audit did not finish"),
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::config::Config;

    use super::*;
    use crate::store::SqliteStore;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    #[test]
    fn every_record_of_the_demo_district_verifies_at_its_commit_and_in_the_audit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("demo.db")).expect("opens");
        let seeded = crate::demo::seed(&mut store, &Config::demo(), NOW).expect("seeds");
        // Each commit judged its record whole (all new): nothing left for the audit to vouch
        // for, nothing broken.
        assert_eq!(
            store.history_audit_batch(10_000, true).expect("reads"),
            Vec::<shared::sync::protocol::DocId>::new(),
            "every demo record was judged intact when committed"
        );
        let report = audit(&mut store, 10_000, false, NOW).expect("audits");
        assert_eq!(
            report,
            AuditReport {
                checked: seeded.documents,
                broken: 0,
                skipped: 0,
            }
        );
    }
}
