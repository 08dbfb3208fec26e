//! In-app reminders as `GET /api/notifications` lists them.

/// An in-app reminder the person has not seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    /// Its id (to mark it seen).
    pub id: i64,
    /// What it is about (`hand_out`, `deadline_tomorrow`, `overdue`, `supervision`,
    /// `bad_rating`, `look_back_due`).
    pub kind: &'static str,
    /// The kind in Chinese.
    pub kind_zh: &'static str,
    /// The problem's id.
    pub problem: String,
    /// The message, in Chinese.
    pub text: String,
    /// The message, in English (absent for reminders recorded before it was kept).
    pub text_en: Option<String>,
    /// When it became due (ms).
    pub due_at: i64,
}
