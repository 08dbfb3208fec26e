//! What the reminders need of the database, whichever backend ([`Reminders`]): the scan that
//! records what falls due, the delivery loop's claims and outcomes (`crate::remind::job`) and a
//! person's in-app reminders (`http/notifications.rs`). Every rule — which reminders a problem
//! owes, their idempotency keys, the backoff, the claim that skips rows another claim holds —
//! is written once over `store/sql.rs` (`store/reminders.rs`, `store/reminder_outbox.rs`);
//! SQLite's writer (`store/use_cases.rs`) and PostgreSQL's pool (`pg/reminders.rs`) only run it.
//!
//! **Invariant:** a reminder is claimed for an attempt by one claim only, on any server: the
//! claim counts the attempt and moves its next attempt past the time limit and the backoff in
//! the transaction that locked it, so another server's claim meanwhile skips it and a claim
//! after the commit no longer finds it due.

use std::sync::Arc;

use shared::config::Config;
use shared::model::Timestamp;

use super::DbFuture;
use crate::api::Notification;
use crate::remind::Settings;
use crate::store::{ClaimedReminder, Outcome, ReminderRow, ScanReport};

/// The reminders' outbox.
pub trait Reminders: Send + Sync + std::fmt::Debug {
    /// One scan step at `now` (`store::reminders::scan`), in one transaction: the problems
    /// changed since the last step and those whose watch time came are derived again and
    /// each occasion not yet recorded becomes a row per person and channel of `settings`.
    fn scan_reminders(
        &self,
        now: Timestamp,
        settings: Arc<Settings>,
        config: Arc<Config>,
    ) -> DbFuture<'_, ScanReport>;

    /// Claims up to `limit` reminders of the sent channels due at `now` for one attempt,
    /// committed before it answers (so before anything is sent).
    fn claim_reminders(
        &self,
        now: Timestamp,
        settings: Arc<Settings>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedReminder>>;

    /// Records how an attempt of the reminders `ids` ended at `now`: delivered, or the error
    /// and the next attempt after the backoff.
    fn finish_reminders(
        &self,
        ids: Vec<i64>,
        outcome: Outcome,
        now: Timestamp,
        settings: Arc<Settings>,
    ) -> DbFuture<'_, ()>;

    /// When the next reminder of the sent channels may be attempted, if any waits.
    fn next_reminder_at(&self, settings: Arc<Settings>) -> DbFuture<'_, Option<Timestamp>>;

    /// The person `user`'s in-app reminders not yet seen, earliest due first, at most `limit`.
    fn unseen_notifications(&self, user: String, limit: usize) -> DbFuture<'_, Vec<Notification>>;

    /// Marks the person `user`'s in-app reminders `ids` seen at `now`; others' ids and ones
    /// already seen are left alone. How many were marked.
    fn mark_notifications_seen(
        &self,
        user: String,
        ids: Vec<i64>,
        now: Timestamp,
    ) -> DbFuture<'_, usize>;

    /// Every reminder row, oldest first (for the administrator's eyes and tests).
    fn reminder_rows(&self) -> DbFuture<'_, Vec<ReminderRow>>;
}
