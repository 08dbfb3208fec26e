//! Reminders (提醒, issue 15 item 4): the server's notification outbox. A scan derives from the
//! projection what each problem owes ([`derive`]: a new hand-out to a department, a deadline
//! tomorrow, overdue, supervision received, a bad rating, a look-back due) and records each
//! reminder once per recipient, kind, problem, occasion and channel (`store/reminders.rs`,
//! migration `0014_reminders`); a delivery loop sends them through [`channel`]s (log, webhook)
//! with retries, and in-app ones wait for `GET /api/notifications`. Configured by the
//! `[reminders]` section of the district file ([`settings`]); run by [`job::spawn`].

pub mod channel;
pub mod derive;
pub mod job;
pub mod settings;
pub mod text;

pub use settings::{ChannelKind, Settings};

/// What a reminder is about (defined once in `shared`, for the in-app list too).
pub use shared::reminder::ReminderKind;
