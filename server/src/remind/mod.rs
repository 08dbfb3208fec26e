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

/// What a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReminderKind {
    /// 新交办: a problem handed out to a department.
    HandOut,
    /// 明日到期: its deadline is within a day.
    DeadlineTomorrow,
    /// 已超期: its deadline passed.
    Overdue,
    /// 督办: a supervision instruction.
    Supervision,
    /// 差评: the enterprise rated it badly; the revisit is due.
    BadRating,
    /// 回头看: the look-back after sign-off is due.
    LookBackDue,
}

impl ReminderKind {
    /// Every kind.
    pub const ALL: [ReminderKind; 6] = [
        ReminderKind::HandOut,
        ReminderKind::DeadlineTomorrow,
        ReminderKind::Overdue,
        ReminderKind::Supervision,
        ReminderKind::BadRating,
        ReminderKind::LookBackDue,
    ];

    /// The code stored in `reminders.kind` and answered by the API.
    pub fn code(self) -> &'static str {
        match self {
            ReminderKind::HandOut => "hand_out",
            ReminderKind::DeadlineTomorrow => "deadline_tomorrow",
            ReminderKind::Overdue => "overdue",
            ReminderKind::Supervision => "supervision",
            ReminderKind::BadRating => "bad_rating",
            ReminderKind::LookBackDue => "look_back_due",
        }
    }

    /// The kind with this code.
    pub fn from_code(code: &str) -> Option<ReminderKind> {
        ReminderKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Its name in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            ReminderKind::HandOut => "新交办",
            ReminderKind::DeadlineTomorrow => "明日到期",
            ReminderKind::Overdue => "已超期",
            ReminderKind::Supervision => "督办",
            ReminderKind::BadRating => "企业差评",
            ReminderKind::LookBackDue => "回头看到期",
        }
    }
}
