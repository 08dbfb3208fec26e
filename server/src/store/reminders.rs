//! The reminders' outbox in SQLite (migration `0014_reminders`): the scan that turns the
//! projection into reminder rows ([`SqliteStore::scan_reminders`], rules in
//! `crate::remind::derive`), the delivery loop's claims and outcomes, and a person's unseen
//! in-app reminders.
//!
//! Idempotent: a row's key is (recipient, kind, problem, occasion, channel) and an occasion is
//! resolved to people once (`reminder_occasions`), so repeated scans and restarts create
//! nothing twice. Delivery: a claim records the attempt and moves `next_attempt_at` past the
//! attempt's time limit and the backoff, and commits, before the message is sent; the row is
//! marked delivered after the receiver acknowledged. A crash between the two resends that
//! message once, at its `next_attempt_at`: at least once, duplicated only by such a crash (or an
//! acknowledgement lost on the way back).

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{ProblemState, Timestamp};

use super::{SqliteStore, StoreError};
use crate::api::Notification;
use crate::remind::derive::{Addressee, EntryFact, EventFact, ProblemFacts, derive};
use crate::remind::text::{Lang, ProblemTitle, Wording, compose};
use crate::remind::{ChannelKind, ReminderKind, Settings};

/// Problems looked at per scan step (changed ones, and as many whose watch time came).
const SCAN_BATCH: usize = 200;

/// What one scan step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanReport {
    /// Problems looked at.
    pub problems: usize,
    /// Reminder rows created.
    pub created: usize,
    /// More problems are waiting: scan again at once.
    pub more: bool,
}

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

fn meta(tx: &Transaction<'_>, key: &str, or: i64) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached("SELECT value FROM reminder_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?
        .unwrap_or(or))
}

/// The facts and title of a problem, if it is projected.
fn load_facts(
    tx: &Transaction<'_>,
    id: &str,
    config: &Config,
) -> Result<Option<(ProblemFacts, ProblemTitle)>, StoreError> {
    let row = tx
        .prepare_cached(
            "SELECT p.state, p.deadline, p.owner, p.leader, p.category, p.description, \
             coalesce(e.name, '') FROM problems p LEFT JOIN enterprises e ON e.id = p.enterprise \
             WHERE p.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .optional()?;
    let Some((state, deadline, owner, leader, category, description, enterprise)) = row else {
        return Ok(None);
    };
    let state = ProblemState::from_code(&state).map_err(|e| StoreError::Corrupt {
        table: "problems",
        detail: e.to_string(),
    })?;
    let events = tx
        .prepare_cached(
            "SELECT id, action, unit, at FROM problem_events WHERE problem = ?1 AND applied = 1",
        )?
        .query_map([id], |r| {
            Ok(EventFact {
                id: r.get(0)?,
                action: r.get(1)?,
                unit: r.get(2)?,
                at: Timestamp(r.get(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let supervision = tx
        .prepare_cached(
            "SELECT id, text, at, to_person, to_unit FROM progress \
             WHERE problem = ?1 AND kind = 'supervision'",
        )?
        .query_map([id], |r| {
            let person: Option<String> = r.get(3)?;
            let unit: Option<String> = r.get(4)?;
            Ok(EntryFact {
                id: r.get(0)?,
                text: r.get(1)?,
                at: Timestamp(r.get(2)?),
                to: person.map(Addressee::User).or(unit.map(Addressee::Members)),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let label = config.category(&category);
    let title = ProblemTitle {
        enterprise,
        category: label.map_or(category.clone(), |c| c.zh.clone()),
        category_en: label.map_or(category.clone(), |c| c.en.clone()),
        description,
        deadline: Timestamp(deadline),
    };
    let facts = ProblemFacts {
        id: id.to_string(),
        state,
        deadline: Timestamp(deadline),
        owner,
        leader,
        events,
        supervision,
    };
    Ok(Some((facts, title)))
}

/// The people an addressee stands for: (user id, name, department id and name).
type Person = (String, String, Option<(String, String)>);

fn resolve(tx: &Transaction<'_>, to: &Addressee) -> Result<Vec<Person>, StoreError> {
    Ok(match to {
        Addressee::User(id) => tx
            .prepare_cached("SELECT id, name FROM users WHERE id = ?1 AND disabled = 0")?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, None)))?
            .collect::<Result<Vec<_>, _>>()?,
        Addressee::Unit(unit) | Addressee::Members(unit) => {
            let name: String = tx
                .prepare_cached("SELECT name FROM org_units WHERE id = ?1")?
                .query_row([unit], |r| r.get(0))
                .optional()?
                .unwrap_or_else(|| unit.clone());
            let handlers_only = matches!(to, Addressee::Unit(_));
            tx.prepare_cached(
                "SELECT id, name FROM users WHERE org_unit = ?1 \
                 AND (?2 = 0 OR role = 'department_handler') AND disabled = 0 ORDER BY id",
            )?
            .query_map(params![unit, handlers_only], |r| {
                Ok((r.get(0)?, r.get(1)?, Some((unit.clone(), name.clone()))))
            })?
            .collect::<Result<Vec<_>, _>>()?
        }
    })
}

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

impl SqliteStore {
    /// One scan step at `now`: the problems changed since the last step (the change feed)
    /// and those whose watch time came are derived again, and each occasion not yet recorded
    /// becomes a row per person and channel of `settings`, in one transaction.
    pub fn scan_reminders(
        &mut self,
        now: Timestamp,
        settings: &Settings,
        config: &Config,
    ) -> Result<ScanReport, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The outbox started when its migration was applied (by the server's clock).
        let since: Option<i64> = tx
            .prepare_cached(
                "SELECT applied_at FROM schema_migrations WHERE name = '0014_reminders'",
            )?
            .query_row([], |r| r.get(0))
            .optional()?;
        let since = Timestamp(since.unwrap_or(now.0));
        let cursor = meta(&tx, "cursor", 0)?;
        let changed: Vec<(i64, String)> = tx
            .prepare_cached(
                "SELECT seq, doc_id FROM docs WHERE seq > ?1 AND kind = ?2 ORDER BY seq LIMIT ?3",
            )?
            .query_map(
                params![cursor, DocKind::Problem.code(), SCAN_BATCH as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect::<Result<_, _>>()?;
        let watched: Vec<String> = tx
            .prepare_cached(
                "SELECT problem FROM reminder_watch WHERE next_at <= ?1 ORDER BY next_at LIMIT ?2",
            )?
            .query_map(params![now.0, SCAN_BATCH as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let prefix = format!("{}/", DocKind::Problem.code());
        let problems: BTreeSet<String> = changed
            .iter()
            .filter_map(|(_, doc)| doc.strip_prefix(&prefix).map(str::to_string))
            .chain(watched.iter().cloned())
            .collect();
        let mut report = ScanReport {
            problems: problems.len(),
            created: 0,
            more: changed.len() == SCAN_BATCH || watched.len() == SCAN_BATCH,
        };
        for id in &problems {
            let Some((facts, title)) = load_facts(&tx, id, config)? else {
                tx.prepare_cached("DELETE FROM reminder_watch WHERE problem = ?1")?
                    .execute([id])?;
                continue;
            };
            let derived = derive(&facts, now, since, config.follow_up.look_back_days);
            for occasion in &derived.due {
                let kind = occasion.kind.code();
                let recorded = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO reminder_occasions (kind, problem, occasion, \
                         created_at) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![kind, id, occasion.key, now.0])?;
                if recorded == 0 {
                    continue;
                }
                let mut people = Vec::new();
                for to in &occasion.to {
                    people.extend(resolve(&tx, to)?);
                }
                if people.is_empty() {
                    tracing::warn!(problem = %id, kind, "a reminder has no one to go to");
                }
                let mut seen = BTreeSet::new();
                for (user, name, unit) in people {
                    if !seen.insert(user.clone()) {
                        continue;
                    }
                    let wording = Wording {
                        name: &name,
                        unit: unit.as_ref().map(|(_, n)| n.as_str()),
                        kind: occasion.kind,
                        problem: &title,
                        detail: occasion.detail.as_deref(),
                        offset_ms: settings.offset_ms(),
                    };
                    let (text, text_en) =
                        (compose(&wording, Lang::Zh), compose(&wording, Lang::En));
                    for channel in &settings.channels {
                        let first = if channel.is_sent() {
                            settings.first_send(now)
                        } else {
                            now
                        };
                        report.created += tx
                            .prepare_cached(
                                "INSERT OR IGNORE INTO reminders (recipient, via_unit, kind, \
                                 problem, occasion, due_at, created_at, channel, text, \
                                 text_en, next_attempt_at) \
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            )?
                            .execute(params![
                                user,
                                unit.as_ref().map(|(u, _)| u),
                                kind,
                                id,
                                occasion.key,
                                occasion.due_at.0,
                                now.0,
                                channel.code(),
                                text,
                                text_en,
                                first.0,
                            ])?;
                    }
                }
            }
            match derived.next_at {
                Some(at) => tx
                    .prepare_cached(
                        "INSERT INTO reminder_watch (problem, next_at) VALUES (?1, ?2) \
                         ON CONFLICT (problem) DO UPDATE SET next_at = excluded.next_at",
                    )?
                    .execute(params![id, at.0])?,
                None => tx
                    .prepare_cached("DELETE FROM reminder_watch WHERE problem = ?1")?
                    .execute([id])?,
            };
        }
        if let Some((seq, _)) = changed.last() {
            tx.prepare_cached(
                "INSERT INTO reminder_meta (key, value) VALUES ('cursor', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([seq])?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Claims up to `limit` reminders of the sent channels due at `now` for one attempt: each
    /// counts the attempt and waits past its time limit and the backoff before it can be
    /// claimed again, committed before anything is sent.
    pub fn claim_reminders(
        &mut self,
        now: Timestamp,
        settings: &Settings,
        limit: usize,
    ) -> Result<Vec<ClaimedReminder>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let sql = format!(
            "SELECT r.id, r.recipient, coalesce(u.name, r.recipient), r.channel, r.text, \
             r.attempts FROM reminders r LEFT JOIN users u ON u.id = r.recipient \
             WHERE r.delivered_at IS NULL AND r.next_attempt_at <= ?1 AND r.channel IN ({}) \
             ORDER BY r.next_attempt_at, r.id LIMIT ?2",
            sent_channels(settings)
        );
        let rows: Vec<(i64, String, String, String, String, u32)> = tx
            .prepare(&sql)?
            .query_map(params![now.0, limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let attempt_ms = i64::try_from(settings.timeout().as_millis()).unwrap_or(i64::MAX) + 1000;
        let mut claimed = Vec::with_capacity(rows.len());
        for (id, recipient, name, channel, text, attempts) in rows {
            let next = now
                .0
                .saturating_add(attempt_ms)
                .saturating_add(settings.backoff_ms(attempts + 1));
            tx.prepare_cached(
                "UPDATE reminders SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, next])?;
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
                recipient,
                name,
                channel,
                text,
            });
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// Records how an attempt of the reminders `ids` ended at `now`: delivered, or the error
    /// and the next attempt after the backoff.
    pub fn finish_reminders(
        &mut self,
        ids: &[i64],
        outcome: &Outcome,
        now: Timestamp,
        settings: &Settings,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for id in ids {
            match outcome {
                Ok(()) => tx
                    .prepare_cached(
                        "UPDATE reminders SET delivered_at = ?2, last_error = NULL \
                         WHERE id = ?1 AND delivered_at IS NULL",
                    )?
                    .execute(params![id, now.0])?,
                Err(error) => {
                    let attempts: u32 = tx
                        .prepare_cached("SELECT attempts FROM reminders WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))?;
                    let next = now.0.saturating_add(settings.backoff_ms(attempts));
                    tx.prepare_cached(
                        "UPDATE reminders SET last_error = ?2, next_attempt_at = ?3 \
                         WHERE id = ?1 AND delivered_at IS NULL",
                    )?
                    .execute(params![id, error, next])?
                }
            };
        }
        tx.commit()?;
        Ok(())
    }

    /// When the next reminder of the sent channels may be attempted, if any waits.
    pub fn next_reminder_at(&self, settings: &Settings) -> Result<Option<Timestamp>, StoreError> {
        let sql = format!(
            "SELECT min(next_attempt_at) FROM reminders \
             WHERE delivered_at IS NULL AND channel IN ({})",
            sent_channels(settings)
        );
        let at: Option<i64> = self.conn.prepare(&sql)?.query_row([], |r| r.get(0))?;
        Ok(at.map(Timestamp))
    }

    /// The person's in-app reminders not yet seen, earliest due first, at most `limit`.
    pub fn unseen_notifications(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        type Row = (i64, String, String, String, Option<String>, i64);
        let rows: Vec<Row> = self
            .conn
            .prepare_cached(
                "SELECT id, kind, problem, text, text_en, due_at FROM reminders \
                 WHERE recipient = ?1 \
                 AND channel = 'in_app' AND delivered_at IS NULL ORDER BY due_at, id LIMIT ?2",
            )?
            .query_map(params![user, limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(id, kind, problem, text, text_en, due_at)| {
                let kind = ReminderKind::from_code(&kind).ok_or_else(|| StoreError::Corrupt {
                    table: "reminders",
                    detail: format!("unknown kind {kind:?}"),
                })?;
                Ok(Notification {
                    id,
                    kind: kind.code(),
                    kind_zh: kind.zh(),
                    problem,
                    text,
                    text_en,
                    due_at,
                })
            })
            .collect()
    }

    /// Marks the person's in-app reminders `ids` seen at `now`; others' ids and ones already
    /// seen are left alone. How many were marked.
    pub fn mark_notifications_seen(
        &mut self,
        user: &str,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut marked = 0;
        for id in ids {
            marked += tx
                .prepare_cached(
                    "UPDATE reminders SET delivered_at = ?3 WHERE id = ?1 AND recipient = ?2 \
                     AND channel = 'in_app' AND delivered_at IS NULL",
                )?
                .execute(params![id, user, now.0])?;
        }
        tx.commit()?;
        Ok(marked)
    }

    /// Every reminder row, oldest first (for the administrator's eyes and tests).
    pub fn reminder_rows(&self) -> Result<Vec<ReminderRow>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT recipient, kind, problem, channel, text, attempts, delivered_at, \
                 last_error FROM reminders ORDER BY id",
            )?
            .query_map([], |r| {
                Ok(ReminderRow {
                    recipient: r.get(0)?,
                    kind: r.get(1)?,
                    problem: r.get(2)?,
                    channel: r.get(3)?,
                    text: r.get(4)?,
                    attempts: r.get(5)?,
                    delivered_at: r.get(6)?,
                    last_error: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}
