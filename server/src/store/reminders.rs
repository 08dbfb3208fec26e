//! The reminders' outbox (SQLite's migration `0014_reminders`, PostgreSQL's
//! `0012_reminders`): the scan that turns the projection into reminder rows ([`scan`], rules in
//! `crate::remind::derive`), written once over [`Sql`] and run on both backends (SQLite's
//! [`SqliteStore`] methods below, PostgreSQL's `crate::db::Reminders`, `pg/reminders.rs`);
//! the delivery loop's claims and outcomes and a person's in-app reminders are
//! `store/reminder_outbox.rs`, run the same way. Each function runs inside its caller's
//! transaction.
//!
//! Idempotent: a row's key is (recipient, kind, problem, occasion, channel) and an occasion is
//! resolved to people once (`reminder_occasions`), so repeated scans, restarts and a second
//! server create nothing twice. Delivery: a claim records the attempt and moves
//! `next_attempt_at` past the attempt's time limit and the backoff, and commits, before the
//! message is sent; the row is marked delivered after the receiver acknowledged. A claim
//! locks the rows it takes and skips those another claim holds, so two servers never claim
//! one reminder for the same attempt. A crash between claim and acknowledgement resends that
//! message once, at its `next_attempt_at`: at least once, duplicated only by such a crash (or
//! an acknowledgement lost on the way back).

use std::collections::BTreeSet;

use rusqlite::TransactionBehavior;
use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{ProblemState, Timestamp};

use super::reminder_outbox::{
    ClaimedReminder, Outcome, ReminderRow, claim, finish, mark_seen, next_at, rows, unseen,
};
use super::sql::{Lite, Sql, Value, values};
use super::{SqliteStore, StoreError};
use crate::api::Notification;
use crate::remind::Settings;
use crate::remind::derive::{Addressee, EntryFact, EventFact, ProblemFacts, derive};
use crate::remind::text::{Lang, ProblemTitle, Wording, compose};

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

pub(super) fn int(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(super) fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub(super) fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "reminders",
        detail,
    }
}

/// The facts and title of a problem, if it is projected.
fn load_facts(
    db: &dyn Sql,
    id: &str,
    config: &Config,
) -> Result<Option<(ProblemFacts, ProblemTitle)>, StoreError> {
    let Some(row) = db.query_opt(
        "SELECT p.state, p.deadline, p.owner, p.leader, p.category, p.description, \
         coalesce(e.name, '') FROM problems p LEFT JOIN enterprises e ON e.id = p.enterprise \
         WHERE p.id = ?",
        &values![id.to_string()],
    )?
    else {
        return Ok(None);
    };
    let state = row.text(0)?;
    let state = ProblemState::from_code(&state).map_err(|e| StoreError::Corrupt {
        table: "problems",
        detail: e.to_string(),
    })?;
    let (deadline, owner, leader) = (row.int(1)?, row.text(2)?, row.opt_text(3)?);
    let (category, description, enterprise) = (row.text(4)?, row.text(5)?, row.text(6)?);
    let events = db
        .query(
            "SELECT id, action, unit, at FROM problem_events WHERE problem = ? AND applied = 1",
            &values![id.to_string()],
        )?
        .iter()
        .map(|r| {
            Ok(EventFact {
                id: r.text(0)?,
                action: r.text(1)?,
                unit: r.opt_text(2)?,
                at: Timestamp(r.int(3)?),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let supervision = db
        .query(
            "SELECT id, text, at, to_person, to_unit FROM progress \
             WHERE problem = ? AND kind = 'supervision'",
            &values![id.to_string()],
        )?
        .iter()
        .map(|r| {
            let (person, unit) = (r.opt_text(3)?, r.opt_text(4)?);
            Ok(EntryFact {
                id: r.text(0)?,
                text: r.text(1)?,
                at: Timestamp(r.int(2)?),
                to: person.map(Addressee::User).or(unit.map(Addressee::Members)),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
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

fn resolve(db: &dyn Sql, to: &Addressee) -> Result<Vec<Person>, StoreError> {
    match to {
        Addressee::User(id) => db
            .query(
                "SELECT id, name FROM users WHERE id = ? AND NOT disabled",
                &values![id.clone()],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, None)))
            .collect(),
        Addressee::Unit(unit) | Addressee::Members(unit) => {
            let name = db
                .query_opt(
                    "SELECT name FROM org_units WHERE id = ?",
                    &values![unit.clone()],
                )?
                .map(|r| r.text(0))
                .transpose()?
                .unwrap_or_else(|| unit.clone());
            let handlers = if matches!(to, Addressee::Unit(_)) {
                " AND role = 'department_handler'"
            } else {
                ""
            };
            let sql = format!(
                "SELECT id, name FROM users WHERE org_unit = ?{handlers} AND NOT disabled \
                 ORDER BY {}",
                db.dialect().bytewise("id")
            );
            db.query(&sql, &values![unit.clone()])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?, Some((unit.clone(), name.clone())))))
                .collect()
        }
    }
}

/// When the outbox started, if recorded: PostgreSQL's migration records it in
/// `reminder_meta` (`since`; `lianxin-server migrate` copies SQLite's there); on SQLite it is
/// when `0014_reminders` was applied (by the server's clock).
pub(crate) fn outbox_started(db: &dyn Sql) -> Result<Option<Timestamp>, StoreError> {
    let row = db.query_opt(
        "SELECT value FROM reminder_meta WHERE key = 'since' \
         UNION ALL SELECT applied_at FROM schema_migrations WHERE name = '0014_reminders'",
        &[],
    )?;
    Ok(row.map(|r| r.int(0)).transpose()?.map(Timestamp))
}

/// When the outbox started ([`outbox_started`]); `now` if it was never recorded.
fn outbox_start(db: &dyn Sql, now: Timestamp) -> Result<Timestamp, StoreError> {
    Ok(outbox_started(db)?.unwrap_or(now))
}

/// One scan step at `now`: the problems changed since the last step (the change feed)
/// and those whose watch time came are derived again, and each occasion not yet recorded
/// becomes a row per person and channel of `settings`. Run in one transaction.
pub(crate) fn scan(
    db: &dyn Sql,
    now: Timestamp,
    settings: &Settings,
    config: &Config,
) -> Result<ScanReport, StoreError> {
    let since = outbox_start(db, now)?;
    let cursor = db
        .query_opt("SELECT value FROM reminder_meta WHERE key = 'cursor'", &[])?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    let changed: Vec<(i64, String)> = db
        .query(
            "SELECT seq, doc_id FROM docs WHERE seq > ? AND kind = ? ORDER BY seq LIMIT ?",
            &values![cursor, DocKind::Problem.code().to_string(), int(SCAN_BATCH)],
        )?
        .iter()
        .map(|r| Ok((r.int(0)?, r.text(1)?)))
        .collect::<Result<_, StoreError>>()?;
    let watched: Vec<String> = db
        .query(
            "SELECT problem FROM reminder_watch WHERE next_at <= ? ORDER BY next_at LIMIT ?",
            &values![now.0, int(SCAN_BATCH)],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, StoreError>>()?;
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
        let Some((facts, title)) = load_facts(db, id, config)? else {
            db.execute(
                "DELETE FROM reminder_watch WHERE problem = ?",
                &values![id.clone()],
            )?;
            continue;
        };
        let derived = derive(&facts, now, since, config.follow_up.look_back_days);
        for occasion in &derived.due {
            let kind = occasion.kind.code();
            let recorded = db.execute(
                "INSERT INTO reminder_occasions (kind, problem, occasion, created_at) \
                 VALUES (?, ?, ?, ?) \
                 ON CONFLICT (kind, problem, occasion) DO NOTHING",
                &values![kind.to_string(), id.clone(), occasion.key.clone(), now.0],
            )?;
            if recorded == 0 {
                continue;
            }
            let mut people = Vec::new();
            for to in &occasion.to {
                people.extend(resolve(db, to)?);
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
                let (text, text_en) = (compose(&wording, Lang::Zh), compose(&wording, Lang::En));
                for channel in &settings.channels {
                    let first = if channel.is_sent() {
                        settings.first_send(now)
                    } else {
                        now
                    };
                    let created = db.execute(
                        "INSERT INTO reminders (recipient, via_unit, kind, problem, occasion, \
                         due_at, created_at, channel, text, text_en, next_attempt_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (recipient, kind, problem, occasion, channel) DO NOTHING",
                        &values![
                            user.clone(),
                            unit.as_ref().map(|(u, _)| u.clone()),
                            kind.to_string(),
                            id.clone(),
                            occasion.key.clone(),
                            occasion.due_at.0,
                            now.0,
                            channel.code().to_string(),
                            text.clone(),
                            text_en.clone(),
                            first.0,
                        ],
                    )?;
                    report.created += count(created);
                }
            }
        }
        match derived.next_at {
            Some(at) => db.execute(
                "INSERT INTO reminder_watch (problem, next_at) VALUES (?, ?) \
                 ON CONFLICT (problem) DO UPDATE SET next_at = excluded.next_at",
                &values![id.clone(), at.0],
            )?,
            None => db.execute(
                "DELETE FROM reminder_watch WHERE problem = ?",
                &values![id.clone()],
            )?,
        };
    }
    if let Some((seq, _)) = changed.last() {
        db.execute(
            "INSERT INTO reminder_meta (key, value) VALUES ('cursor', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &values![*seq],
        )?;
    }
    Ok(report)
}

impl SqliteStore {
    /// Runs `f` in one transaction of the writer (`IMMEDIATE`: the one writer from its start).
    fn in_reminder_tx<T>(
        &mut self,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Lite(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// One scan step at `now` ([`scan`]), in one transaction.
    pub fn scan_reminders(
        &mut self,
        now: Timestamp,
        settings: &Settings,
        config: &Config,
    ) -> Result<ScanReport, StoreError> {
        self.in_reminder_tx(|db| scan(db, now, settings, config))
    }

    /// Claims up to `limit` due reminders for one attempt ([`claim`]), committed before
    /// anything is sent.
    pub fn claim_reminders(
        &mut self,
        now: Timestamp,
        settings: &Settings,
        limit: usize,
    ) -> Result<Vec<ClaimedReminder>, StoreError> {
        self.in_reminder_tx(|db| claim(db, now, settings, limit))
    }

    /// Records how an attempt of the reminders `ids` ended at `now` ([`finish`]).
    pub fn finish_reminders(
        &mut self,
        ids: &[i64],
        outcome: &Outcome,
        now: Timestamp,
        settings: &Settings,
    ) -> Result<(), StoreError> {
        self.in_reminder_tx(|db| finish(db, ids, outcome, now, settings))
    }

    /// When the next reminder of the sent channels may be attempted, if any waits.
    pub fn next_reminder_at(&self, settings: &Settings) -> Result<Option<Timestamp>, StoreError> {
        next_at(&Lite(&self.conn), settings)
    }

    /// The person's in-app reminders not yet seen, earliest due first, at most `limit`.
    pub fn unseen_notifications(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        unseen(&Lite(&self.conn), user, limit)
    }

    /// Marks the person's in-app reminders `ids` seen at `now` ([`mark_seen`]).
    pub fn mark_notifications_seen(
        &mut self,
        user: &str,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        self.in_reminder_tx(|db| mark_seen(db, user, ids, now))
    }

    /// Every reminder row, oldest first (for the administrator's eyes and tests).
    pub fn reminder_rows(&self) -> Result<Vec<ReminderRow>, StoreError> {
        rows(&Lite(&self.conn))
    }
}
