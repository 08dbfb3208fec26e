//! The words of a reminder, in Chinese and in English (one wording, both languages side by
//! side): the person, what happened, the problem's title (its enterprise, category and the start
//! of its description) and its deadline in local time. Sent channels (log, webhook) carry the
//! Chinese; the in-app list shows the person's language.

use shared::model::Timestamp;

use super::ReminderKind;

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (sent channels, and the in-app default).
    Zh,
    /// English (the in-app list after the language switch).
    En,
}

impl Lang {
    /// `zh` or `en`.
    fn pick(self, zh: String, en: String) -> String {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// What a message names about its problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemTitle {
    /// The enterprise's name.
    pub enterprise: String,
    /// The category's Chinese label (or its code when no longer configured).
    pub category: String,
    /// The category's English label (or its code when no longer configured).
    pub category_en: String,
    /// The description.
    pub description: String,
    /// The effective deadline.
    pub deadline: Timestamp,
}

/// How much of the description a title shows.
const TITLE_CHARS: usize = 30;

impl ProblemTitle {
    /// `企业·类别：描述…` (`enterprise · category: description…` in English; without the
    /// enterprise when its profile is not on the server).
    pub fn title(&self, lang: Lang) -> String {
        let mut text: String = self.description.chars().take(TITLE_CHARS).collect();
        if self.description.chars().count() > TITLE_CHARS {
            text.push('…');
        }
        let e = &self.enterprise;
        match (lang, e.is_empty()) {
            (Lang::Zh, true) => format!("{}：{}", self.category, text),
            (Lang::Zh, false) => format!("{e}·{}：{}", self.category, text),
            (Lang::En, true) => format!("{}: {}", self.category_en, text),
            (Lang::En, false) => format!("{e} · {}: {}", self.category_en, text),
        }
    }
}

/// `YYYY-MM-DD HH:MM` at `offset_ms` from UTC.
pub fn local_time(at: Timestamp, offset_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at.0.saturating_add(offset_ms))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| at.0.to_string())
}

/// One reminder's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording<'a> {
    /// The person's display name.
    pub name: &'a str,
    /// The department it was addressed to, for a hand-out or supervision to one.
    pub unit: Option<&'a str>,
    /// What it is about.
    pub kind: ReminderKind,
    /// The problem.
    pub problem: &'a ProblemTitle,
    /// The supervision instruction's text.
    pub detail: Option<&'a str>,
    /// The district's offset from UTC, ms.
    pub offset_ms: i64,
}

/// The message in `lang`: `【连心提醒】name：… 「title」… 办理期限 …` (`[Lianxin] name: … "title" …
/// deadline …`).
pub fn compose(w: &Wording<'_>, lang: Lang) -> String {
    let title = w.problem.title(lang);
    let deadline = local_time(w.problem.deadline, w.offset_ms);
    let body = match w.kind {
        ReminderKind::HandOut => (
            format!("新交办问题「{title}」，请及时受理。办理期限 {deadline}。"),
            format!("New problem handed out: \"{title}\". Please take it up. Deadline {deadline}."),
        ),
        ReminderKind::DeadlineTomorrow => (
            format!("问题「{title}」将于 {deadline} 到期，请抓紧办理。"),
            format!("\"{title}\" is due at {deadline}. Please hurry."),
        ),
        ReminderKind::Overdue => (
            format!("问题「{title}」已超期（办理期限 {deadline}），请尽快办理。"),
            format!("\"{title}\" is overdue (deadline {deadline}). Please act now."),
        ),
        ReminderKind::Supervision => (
            format!(
                "问题「{title}」收到督办：{}。办理期限 {deadline}。",
                w.detail.unwrap_or("请加快办理")
            ),
            format!(
                "Supervision on \"{title}\": {}. Deadline {deadline}.",
                w.detail.unwrap_or("please speed it up")
            ),
        ),
        ReminderKind::BadRating => (
            format!("问题「{title}」收到企业差评，已重新打开，请及时回访。"),
            format!("The enterprise rated \"{title}\" badly; it is reopened. Please revisit them."),
        ),
        ReminderKind::LookBackDue => (
            format!("问题「{title}」销号已满期，请开展回头看。"),
            format!("\"{title}\" was signed off long enough ago: its look-back is due."),
        ),
    };
    let body = lang.pick(body.0, body.1);
    match (lang, w.unit) {
        (Lang::Zh, unit) => {
            let unit = unit.map(|u| format!("（{u}）")).unwrap_or_default();
            format!("【连心提醒】{}{unit}：{body}", w.name)
        }
        (Lang::En, Some(u)) => format!("[Lianxin] {} ({u}): {body}", w.name),
        (Lang::En, None) => format!("[Lianxin] {}: {body}", w.name),
    }
}

/// One message holding all of a person's reminders of the day.
pub fn digest(name: &str, texts: &[String]) -> String {
    let prefix = format!("【连心提醒】{name}");
    let mut out = format!("【连心提醒】{name}，今日提醒 {} 条：", texts.len());
    for (i, t) in texts.iter().enumerate() {
        let t = t.strip_prefix(&prefix).unwrap_or(t);
        out.push_str(&format!(
            "\n{}. {}",
            i + 1,
            t.strip_prefix('：').unwrap_or(t)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_the_person_the_problem_and_its_local_deadline() {
        let problem = ProblemTitle {
            enterprise: "济源钢铁".into(),
            category: "电力能源".into(),
            category_en: "Power and energy".into(),
            description: "配电柜漏电，需要更换".into(),
            // 2026-12-07 10:00 UTC = 18:00 in China.
            deadline: Timestamp(1_796_637_600_000),
        };
        let wording = Wording {
            name: "王芳",
            unit: Some("发改委"),
            kind: ReminderKind::HandOut,
            problem: &problem,
            detail: None,
            offset_ms: 8 * 3_600_000,
        };
        let text = compose(&wording, Lang::Zh);
        assert_eq!(
            text,
            "【连心提醒】王芳（发改委）：新交办问题「济源钢铁·电力能源：配电柜漏电，需要更换」，\
             请及时受理。办理期限 2026-12-07 18:00。"
        );
        assert_eq!(
            compose(&wording, Lang::En),
            "[Lianxin] 王芳 (发改委): New problem handed out: \"济源钢铁 · Power and energy: \
             配电柜漏电，需要更换\". Please take it up. Deadline 2026-12-07 18:00."
        );
        let both = digest("王芳", &[text.clone(), text]);
        assert!(
            both.starts_with("【连心提醒】王芳，今日提醒 2 条：\n1. （发改委）"),
            "{both}"
        );
    }
}
