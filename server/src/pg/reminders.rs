//! The reminders' outbox on PostgreSQL ([`Reminders`]): the same rows as SQLite's (migration
//! `0012_reminders`) and the same statements, written once in `store/reminders.rs` (the scan) and `store/reminder_outbox.rs` (claims, outcomes, in-app reads) and run
//! here through [`PgSql`], each call in one transaction on a connection of the pool, from a
//! blocking thread.
//!
//! Several servers share the outbox. The scan runs under its job's advisory lock
//! (`remind::job`), and its writes are idempotent anyway (`ON CONFLICT DO NOTHING` on each
//! occasion and reminder key: a second scan's insert waits for the first's commit, then does
//! nothing). The delivery loops of every server claim at once: each claim locks the rows it
//! takes with `FOR UPDATE OF r SKIP LOCKED` (`Dialect::claim_lock`), so a claim never takes a
//! row another holds, and a row it takes is no longer due once it commits.

use std::sync::Arc;

use shared::config::Config;
use shared::model::Timestamp;
use tokio::runtime::Handle;

use super::PgDb;
use super::sql::PgSql;
use crate::api::Notification;
use crate::db::{DbFuture, Reminders};
use crate::remind::Settings;
use crate::store::reminder_outbox as outbox;
use crate::store::sql::Sql;
use crate::store::{ClaimedReminder, Outcome, ReminderRow, ScanReport, StoreError, scan_reminders};

impl PgDb {
    /// Runs `f` in one transaction (`READ COMMITTED`) on a connection of the pool, on a
    /// blocking thread; commits when it answers `Ok`.
    fn in_transaction<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> DbFuture<'_, T> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let runtime = Handle::current();
            tokio::task::spawn_blocking(move || {
                let tx = runtime.block_on(client.transaction())?;
                let answer = f(&PgSql {
                    client: &tx,
                    runtime: &runtime,
                })?;
                runtime.block_on(tx.commit())?;
                Ok(answer)
            })
            .await
            .unwrap_or(Err(StoreError::Unavailable))
        })
    }
}

impl Reminders for PgDb {
    fn scan_reminders(
        &self,
        now: Timestamp,
        settings: Arc<Settings>,
        config: Arc<Config>,
    ) -> DbFuture<'_, ScanReport> {
        self.in_transaction(move |db| scan_reminders(db, now, &settings, &config))
    }

    fn claim_reminders(
        &self,
        now: Timestamp,
        settings: Arc<Settings>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedReminder>> {
        self.in_transaction(move |db| outbox::claim(db, now, &settings, limit))
    }

    fn finish_reminders(
        &self,
        ids: Vec<i64>,
        outcome: Outcome,
        now: Timestamp,
        settings: Arc<Settings>,
    ) -> DbFuture<'_, ()> {
        self.in_transaction(move |db| outbox::finish(db, &ids, &outcome, now, &settings))
    }

    fn next_reminder_at(&self, settings: Arc<Settings>) -> DbFuture<'_, Option<Timestamp>> {
        self.in_transaction(move |db| outbox::next_at(db, &settings))
    }

    fn unseen_notifications(&self, user: String, limit: usize) -> DbFuture<'_, Vec<Notification>> {
        self.in_transaction(move |db| outbox::unseen(db, &user, limit))
    }

    fn mark_notifications_seen(
        &self,
        user: String,
        ids: Vec<i64>,
        now: Timestamp,
    ) -> DbFuture<'_, usize> {
        self.in_transaction(move |db| outbox::mark_seen(db, &user, &ids, now))
    }

    fn reminder_rows(&self) -> DbFuture<'_, Vec<ReminderRow>> {
        self.in_transaction(outbox::rows)
    }
}
