//! What a reminder (提醒) is about: the kinds the server's notification outbox records and the
//! in-app list shows, each with its code (stored and answered by the API) and its name. Defined
//! once here for the server (`server::remind`) and the full bundle's reminder list.

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

    /// Its name: Chinese, English.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            ReminderKind::HandOut => ("新交办", "New hand-out"),
            ReminderKind::DeadlineTomorrow => ("明日到期", "Due tomorrow"),
            ReminderKind::Overdue => ("已超期", "Overdue"),
            ReminderKind::Supervision => ("督办", "Supervision"),
            ReminderKind::BadRating => ("企业差评", "Rated badly"),
            ReminderKind::LookBackDue => ("回头看到期", "Look-back due"),
        }
    }

    /// Its name in Chinese.
    pub fn zh(self) -> &'static str {
        self.names().0
    }
}

#[cfg(test)]
mod tests {
    use super::ReminderKind;

    #[test]
    fn every_kind_is_found_again_by_its_code_and_no_two_share_one() {
        for kind in ReminderKind::ALL {
            assert_eq!(ReminderKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ReminderKind::from_code("unknown"), None);
    }
}
