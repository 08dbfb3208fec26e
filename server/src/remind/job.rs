//! The reminders' two tasks on the tokio runtime, on either backend (the outbox is
//! [`crate::db::Reminders`]): the scan (at start, a second after each burst of commits, and
//! every minute for deadlines and look-backs that fall due with time), one run at a time across
//! the servers of a database (its job's lock), and the delivery loop, which claims due
//! reminders of the sent channels and sends each message on a task of its own (at most
//! [`IN_FLIGHT`] at once), so a receiver that fails or hangs delays only its own messages,
//! never a sync, the scan or other messages. Every server's delivery loop claims at once: a
//! claim takes only reminders no other claim holds, and each is due again only after its
//! attempt's time limit and the backoff, so it is sent once across servers unless a server
//! dies between sending and recording. Nothing is sent during quiet hours; a failed attempt
//! waits the backoff (`Settings::backoff_ms`). Every time is the server's clock (`auth::now`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use shared::model::Timestamp;
use tokio::sync::{Notify, Semaphore};

use super::channel::{Channel, LogChannel, Message, WebhookChannel};
use super::text::digest;
use super::{ChannelKind, Settings};
use crate::db::Job;
use crate::store::ClaimedReminder;
use crate::sync::{SyncService, next_burst};

/// Messages being sent at once.
pub const IN_FLIGHT: usize = 8;
/// How often the scan runs without a commit.
const SCAN_EVERY: Duration = Duration::from_secs(60);
/// The longest the delivery loop sleeps without looking again.
const IDLE: Duration = Duration::from_secs(60);
/// Reminders claimed per step.
const CLAIM: usize = 100;

/// Starts the scan and the delivery loop.
pub fn spawn(sync: Arc<SyncService>, settings: Settings) {
    let settings = Arc::new(settings);
    let wake = Arc::new(Notify::new());
    tokio::spawn(scan_loop(sync.clone(), settings.clone(), wake.clone()));
    tokio::spawn(deliver_loop(sync, settings, wake));
}

async fn scan_loop(sync: Arc<SyncService>, settings: Arc<Settings>, wake: Arc<Notify>) {
    let mut commits = sync.subscribe();
    loop {
        if let Some(_run) = sync.db().job_run(Job::ReminderScan).await {
            loop {
                // The configuration running now (one applied since start included).
                let (config, settings) = (sync.config(), settings.clone());
                let now = crate::auth::now();
                let scanned = sync
                    .db()
                    .reminders()
                    .scan_reminders(now, settings, config)
                    .await;
                match scanned {
                    Ok(report) => {
                        if report.created > 0 {
                            tracing::debug!(created = report.created, "reminders recorded");
                            wake.notify_one();
                        }
                        if !report.more {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the reminder scan failed");
                        break;
                    }
                }
            }
        }
        tokio::select! {
            open = next_burst(&mut commits) => {
                if !open {
                    return;
                }
            }
            () = tokio::time::sleep(SCAN_EVERY) => {}
        }
    }
}

/// The channels `settings` sends through.
fn channels(settings: &Settings) -> BTreeMap<ChannelKind, Arc<dyn Channel>> {
    let mut out: BTreeMap<ChannelKind, Arc<dyn Channel>> = BTreeMap::new();
    for kind in settings.channels.iter().copied().filter(|c| c.is_sent()) {
        match (kind, &settings.webhook) {
            (ChannelKind::Log, _) => {
                out.insert(kind, Arc::new(LogChannel));
            }
            (ChannelKind::Webhook, Some(w)) => {
                match WebhookChannel::new(&w.url, settings.timeout()) {
                    Ok(c) => {
                        out.insert(kind, Arc::new(c));
                    }
                    Err(error) => tracing::error!(%error, "the webhook channel cannot start"),
                }
            }
            _ => {}
        }
    }
    out
}

/// One message to send and the reminder rows it carries.
struct Outgoing {
    channel: ChannelKind,
    message: Message,
    ids: Vec<i64>,
}

/// The messages of a claim: one per reminder, or with the digest one per person and channel.
fn messages(claimed: Vec<ClaimedReminder>, digested: bool) -> Vec<Outgoing> {
    if !digested {
        return claimed
            .into_iter()
            .map(|c| Outgoing {
                channel: c.channel,
                message: Message {
                    recipient: c.recipient,
                    text: c.text,
                },
                ids: vec![c.id],
            })
            .collect();
    }
    let mut groups: BTreeMap<(ChannelKind, String), Vec<ClaimedReminder>> = BTreeMap::new();
    for c in claimed {
        groups
            .entry((c.channel, c.recipient.clone()))
            .or_default()
            .push(c);
    }
    groups
        .into_iter()
        .map(|((channel, recipient), group)| {
            let name = group.first().map(|c| c.name.clone()).unwrap_or_default();
            let ids = group.iter().map(|c| c.id).collect();
            let mut texts: Vec<String> = group.into_iter().map(|c| c.text).collect();
            let text = if texts.len() == 1 {
                texts.pop().unwrap_or_default()
            } else {
                digest(&name, &texts)
            };
            Outgoing {
                channel,
                message: Message { recipient, text },
                ids,
            }
        })
        .collect()
}

async fn deliver_loop(sync: Arc<SyncService>, settings: Arc<Settings>, wake: Arc<Notify>) {
    let channels = channels(&settings);
    if channels.is_empty() {
        return;
    }
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let now = crate::auth::now();
        if let Some(end) = settings.quiet_until(now) {
            tracing::debug!(until = end.0, "quiet hours: reminders held");
            sleep_until(end, now).await;
            continue;
        }
        let claimed = sync
            .db()
            .reminders()
            .claim_reminders(now, settings.clone(), CLAIM)
            .await;
        let claimed = match claimed {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, "claiming reminders failed");
                Vec::new()
            }
        };
        let full = claimed.len() == CLAIM;
        for Outgoing {
            channel: kind,
            message,
            ids,
        } in messages(claimed, settings.digest)
        {
            let Some(channel) = channels.get(&kind).cloned() else {
                continue;
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (sync, settings, wake) = (sync.clone(), settings.clone(), wake.clone());
            tokio::spawn(async move {
                let outcome = channel.send(&message).await.map_err(|error| {
                    tracing::warn!(
                        %error,
                        channel = kind.code(),
                        "a reminder was not delivered; it will be retried"
                    );
                    error.to_string()
                });
                let failed = outcome.is_err();
                let recorded = sync
                    .db()
                    .reminders()
                    .finish_reminders(ids, outcome, crate::auth::now(), settings)
                    .await;
                if let Err(error) = recorded {
                    tracing::warn!(%error, "recording a reminder's delivery failed");
                }
                drop(slot);
                // Its retry may be sooner than the loop's next look.
                if failed {
                    wake.notify_one();
                }
            });
        }
        if full {
            continue;
        }
        let next = sync
            .db()
            .reminders()
            .next_reminder_at(settings.clone())
            .await;
        let until = match next {
            Ok(Some(at)) => at,
            _ => Timestamp(now.0 + IDLE.as_millis() as i64),
        };
        tokio::select! {
            () = sleep_until(until, now) => {}
            () = wake.notified() => {}
        }
    }
}

/// Sleeps until `at` on the server's clock (`now` is its reading), at most [`IDLE`].
async fn sleep_until(at: Timestamp, now: Timestamp) {
    let ms = u64::try_from(at.0.saturating_sub(now.0)).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms.clamp(10, IDLE.as_millis() as u64))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(id: i64, recipient: &str, channel: ChannelKind, text: &str) -> ClaimedReminder {
        ClaimedReminder {
            id,
            recipient: recipient.into(),
            name: recipient.into(),
            channel,
            text: format!("【连心提醒】{recipient}：{text}"),
        }
    }

    #[test]
    fn with_the_digest_a_persons_reminders_of_a_channel_go_as_one_message() {
        let claim = vec![
            claimed(1, "wang", ChannelKind::Webhook, "甲"),
            claimed(2, "h1", ChannelKind::Webhook, "乙"),
            claimed(3, "wang", ChannelKind::Webhook, "丙"),
            claimed(4, "wang", ChannelKind::Log, "丁"),
        ];
        let out = messages(claim.clone(), true);
        let summary: Vec<(ChannelKind, &str, Vec<i64>)> = out
            .iter()
            .map(|o| (o.channel, o.message.recipient.as_str(), o.ids.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (ChannelKind::Log, "wang", vec![4]),
                (ChannelKind::Webhook, "h1", vec![2]),
                (ChannelKind::Webhook, "wang", vec![1, 3]),
            ]
        );
        assert_eq!(
            out[2].message.text,
            "【连心提醒】wang，今日提醒 2 条：\n1. 甲\n2. 丙"
        );
        assert_eq!(
            out[1].message.text, "【连心提醒】h1：乙",
            "one alone stays as it is"
        );

        let each = messages(claim, false);
        assert_eq!(
            each.len(),
            4,
            "without the digest, one message per reminder"
        );
    }
}
