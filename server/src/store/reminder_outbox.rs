//! The reminders' delivery and in-app reads, written once over [`Sql`] for both backends
//! (the scan that records them is `store/reminders.rs`): a delivery loop's claim ([`claim`]:
//! the rows read are locked and rows another claim holds skipped,
//! [`super::sql::Dialect::claim_lock`] — PostgreSQL's `FOR UPDATE OF r SKIP LOCKED`, SQLite's
//! one writer — so two servers never claim one reminder for the same attempt), an attempt's
//! outcome ([`finish`]: delivered, or the backoff), the next due time, and a person's unseen
//! in-app reminders ([`unseen`], [`mark_seen`]). Each runs inside its caller's transaction.

use shared::model::Timestamp;

use super::StoreError;
use super::reminders::{corrupt, count, int};
use super::sql::{Sql, values};
use crate::api::Notification;
use crate::remind::{ChannelKind, ReminderKind, Settings};

/// A reminder claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedReminder {
    /// Its row.
    pub id: i64,
    /// The person's user id.
    pub recipient: String,
    /// Their display name.
    pub name: String,
    /// The channel.
    pub channel: ChannelKind,
    /// The message.
    pub text: String,
}

/// A reminder row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRow {
    /// The person's user id.
    pub recipient: String,
    /// Its kind's code.
    pub kind: String,
    /// The problem's id.
    pub problem: String,
    /// Its channel's code.
    pub channel: String,
    /// The message.
    pub text: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was acknowledged or seen.
    pub delivered_at: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// How one attempt ended: acknowledged, or the error.
pub type Outcome = Result<(), String>;

/// `'log', 'webhook'`: the sent channels of `settings`, for an `IN (…)` (codes, not input).
fn sent_channels(settings: &Settings) -> String {
    let codes: Vec<String> = settings
        .channels
        .iter()
        .filter(|c| c.is_sent())
        .map(|c| format!("'{}'", c.code()))
        .collect();
    if codes.is_empty() {
        "NULL".into()
    } else {
        codes.join(", ")
    }
}

/// Claims up to `limit` reminders of the sent channels due at `now` for one attempt: each
/// counts the attempt and waits past its time limit and the backoff before it can be claimed
/// again. The rows read are locked, and rows another claim holds are skipped
/// ([`super::sql::Dialect::claim_lock`]); the caller commits before anything is sent.
pub(crate) fn claim(
    db: &dyn Sql,
    now: Timestamp,
    settings: &Settings,
    limit: usize,
) -> Result<Vec<ClaimedReminder>, StoreError> {
    let sql = format!(
        "SELECT r.id, r.recipient, coalesce(u.name, r.recipient), r.channel, r.text, \
         r.attempts FROM reminders r LEFT JOIN users u ON u.id = r.recipient \
         WHERE r.delivered_at IS NULL AND r.next_attempt_at <= ? AND r.channel IN ({}) \
         ORDER BY r.next_attempt_at, r.id LIMIT ?{}",
        sent_channels(settings),
        db.dialect().claim_lock("r"),
    );
    let rows = db.query(&sql, &values![now.0, int(limit)])?;
    let attempt_ms = i64::try_from(settings.timeout().as_millis()).unwrap_or(i64::MAX) + 1000;
    let mut claimed = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, channel) = (r.int(0)?, r.text(3)?);
        let attempts = u32::try_from(r.int(5)?).map_err(|e| corrupt(e.to_string()))?;
        let next = now
            .0
            .saturating_add(attempt_ms)
            .saturating_add(settings.backoff_ms(attempts + 1));
        db.execute(
            "UPDATE reminders SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
            &values![next, id],
        )?;
        let Some(channel) = settings
            .channels
            .iter()
            .copied()
            .find(|c| c.code() == channel)
        else {
            continue;
        };
        claimed.push(ClaimedReminder {
            id,
            recipient: r.text(1)?,
            name: r.text(2)?,
            channel,
            text: r.text(4)?,
        });
    }
    Ok(claimed)
}

/// Records how an attempt of the reminders `ids` ended at `now`: delivered, or the error and
/// the next attempt after the backoff.
pub(crate) fn finish(
    db: &dyn Sql,
    ids: &[i64],
    outcome: &Outcome,
    now: Timestamp,
    settings: &Settings,
) -> Result<(), StoreError> {
    for id in ids {
        match outcome {
            Ok(()) => db.execute(
                "UPDATE reminders SET delivered_at = ?, last_error = NULL \
                 WHERE id = ? AND delivered_at IS NULL",
                &values![now.0, *id],
            )?,
            Err(error) => {
                let Some(row) =
                    db.query_opt("SELECT attempts FROM reminders WHERE id = ?", &values![*id])?
                else {
                    continue;
                };
                let attempts = u32::try_from(row.int(0)?).map_err(|e| corrupt(e.to_string()))?;
                let next = now.0.saturating_add(settings.backoff_ms(attempts));
                db.execute(
                    "UPDATE reminders SET last_error = ?, next_attempt_at = ? \
                     WHERE id = ? AND delivered_at IS NULL",
                    &values![error.clone(), next, *id],
                )?
            }
        };
    }
    Ok(())
}

/// When the next reminder of the sent channels may be attempted, if any waits.
pub(crate) fn next_at(db: &dyn Sql, settings: &Settings) -> Result<Option<Timestamp>, StoreError> {
    let sql = format!(
        "SELECT min(next_attempt_at) FROM reminders \
         WHERE delivered_at IS NULL AND channel IN ({})",
        sent_channels(settings)
    );
    Ok(db.query_one(&sql, &[])?.opt_int(0)?.map(Timestamp))
}

/// The person's in-app reminders not yet seen, earliest due first, at most `limit`.
pub(crate) fn unseen(
    db: &dyn Sql,
    user: &str,
    limit: usize,
) -> Result<Vec<Notification>, StoreError> {
    db.query(
        "SELECT id, kind, problem, text, text_en, due_at FROM reminders WHERE recipient = ? \
         AND channel = 'in_app' AND delivered_at IS NULL ORDER BY due_at, id LIMIT ?",
        &values![user.to_string(), int(limit)],
    )?
    .iter()
    .map(|r| {
        let kind = r.text(1)?;
        let kind = ReminderKind::from_code(&kind)
            .ok_or_else(|| corrupt(format!("unknown kind {kind:?}")))?;
        Ok(Notification {
            id: r.int(0)?,
            kind: kind.code(),
            kind_zh: kind.zh(),
            problem: r.text(2)?,
            text: r.text(3)?,
            text_en: r.opt_text(4)?,
            due_at: r.int(5)?,
        })
    })
    .collect()
}

/// Marks the person's in-app reminders `ids` seen at `now`; others' ids and ones already seen
/// are left alone. How many were marked.
pub(crate) fn mark_seen(
    db: &dyn Sql,
    user: &str,
    ids: &[i64],
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut marked = 0;
    for id in ids {
        marked += count(db.execute(
            "UPDATE reminders SET delivered_at = ? WHERE id = ? AND recipient = ? \
             AND channel = 'in_app' AND delivered_at IS NULL",
            &values![now.0, *id, user.to_string()],
        )?);
    }
    Ok(marked)
}

/// Every reminder row, oldest first (for the administrator's eyes and tests).
pub(crate) fn rows(db: &dyn Sql) -> Result<Vec<ReminderRow>, StoreError> {
    db.query(
        "SELECT recipient, kind, problem, channel, text, attempts, delivered_at, last_error \
         FROM reminders ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(ReminderRow {
            recipient: r.text(0)?,
            kind: r.text(1)?,
            problem: r.text(2)?,
            channel: r.text(3)?,
            text: r.text(4)?,
            attempts: u32::try_from(r.int(5)?).map_err(|e| corrupt(e.to_string()))?,
            delivered_at: r.opt_int(6)?,
            last_error: r.opt_text(7)?,
        })
    })
    .collect()
}
