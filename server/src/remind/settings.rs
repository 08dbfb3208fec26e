//! The `[reminders]` section of the district file: channels, the webhook, quiet hours and the
//! daily digest. Optional, every field with a default (`log` only: a fresh install needs no
//! account); validated once, every violation listed, like the district configuration.
//!
//! It is the server's, not part of `shared::config::Config`: the webhook's URL carries the
//! robot's key, and `GET /api/config` hands the district configuration to every device.
//!
//! ```toml
//! [reminders]
//! channels = ["in_app", "webhook"]       # log (default), webhook, in_app
//! quiet_hours = { from = "22:00", to = "07:00" }
//! digest = true                          # one message per person per day, at digest_at
//! digest_at = "08:00"
//! utc_offset_hours = 8                   # local time of quiet hours and the digest
//! [reminders.webhook]
//! url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"  # 企业微信 or 钉钉 robot
//! timeout_seconds = 10
//! ```

use serde::Deserialize;
use shared::model::{DAY_MS, Timestamp};

/// Where reminders go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The server's log (the default).
    Log,
    /// An HTTP webhook (企业微信 / 钉钉 group robot).
    Webhook,
    /// Stored for the person; `GET /api/notifications` shows it on their next open.
    InApp,
}

impl ChannelKind {
    /// The code stored in `reminders.channel`.
    pub fn code(self) -> &'static str {
        match self {
            ChannelKind::Log => "log",
            ChannelKind::Webhook => "webhook",
            ChannelKind::InApp => "in_app",
        }
    }

    /// Whether the delivery loop sends it (in-app reminders are read, not sent).
    pub fn is_sent(self) -> bool {
        !matches!(self, ChannelKind::InApp)
    }
}

/// The webhook channel's receiver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where to POST `{"msgtype":"text","text":{"content":"…"}}`.
    pub url: String,
    /// How long one attempt may take, 1 to 120 seconds (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

fn default_timeout() -> u32 {
    10
}

/// No sending from `from` until `to` (local time, `HH:MM`; over midnight when `to` < `from`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `HH:MM`.
    pub from: String,
    /// End, `HH:MM`.
    pub to: String,
}

/// The `[reminders]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Channels every reminder goes through (default `["log"]`).
    pub channels: Vec<ChannelKind>,
    /// The webhook, needed when `channels` names it.
    pub webhook: Option<WebhookSettings>,
    /// When nothing is sent; held until they end.
    pub quiet_hours: Option<QuietHours>,
    /// One message per person per day, at `digest_at`, with all their reminders.
    pub digest: bool,
    /// When the daily digest goes, `HH:MM` local time (default 08:00).
    pub digest_at: String,
    /// The district's offset from UTC in whole hours (default 8, China Standard Time).
    pub utc_offset_hours: i32,
    /// Seconds before the first retry of a failed send (default 30); doubling after each.
    pub retry_first_seconds: u32,
    /// The longest wait between retries, in seconds (default 3600).
    pub retry_max_seconds: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            channels: vec![ChannelKind::Log],
            webhook: None,
            quiet_hours: None,
            digest: false,
            digest_at: "08:00".into(),
            utc_offset_hours: 8,
            retry_first_seconds: 30,
            retry_max_seconds: 3600,
        }
    }
}

/// Minutes after midnight of an `HH:MM` time.
fn minutes(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

const MINUTE_MS: i64 = 60_000;

impl Settings {
    /// Every rule the section breaks, in words (empty: valid).
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.channels.is_empty() {
            errors.push(
                "reminders.channels is empty: name at least one of log, webhook, in_app"
                    .to_string(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.channels {
            if !seen.insert(*c) {
                errors.push(format!("reminders.channels names {} twice", c.code()));
            }
        }
        match &self.webhook {
            None if self.channels.contains(&ChannelKind::Webhook) => errors.push(
                "reminders.channels names webhook but [reminders.webhook] gives no url".into(),
            ),
            Some(w) => {
                let host = w
                    .url
                    .strip_prefix("https://")
                    .or_else(|| w.url.strip_prefix("http://"));
                if host.is_none_or(str::is_empty) {
                    errors.push(format!(
                        "reminders.webhook.url {:?}: use an https:// (or http://) address, e.g. \
                         https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
                        w.url
                    ));
                }
                if !(1..=120).contains(&w.timeout_seconds) {
                    errors.push(format!(
                        "reminders.webhook.timeout_seconds is {}: use 1 to 120 seconds",
                        w.timeout_seconds
                    ));
                }
            }
            None => {}
        }
        if let Some(q) = &self.quiet_hours {
            for (name, t) in [("from", &q.from), ("to", &q.to)] {
                if minutes(t).is_none() {
                    errors.push(format!(
                        "reminders.quiet_hours.{name} is {t:?}: use HH:MM, e.g. \"22:00\""
                    ));
                }
            }
            if q.from == q.to {
                errors.push("reminders.quiet_hours: from and to are the same time".into());
            }
        }
        if minutes(&self.digest_at).is_none() {
            errors.push(format!(
                "reminders.digest_at is {:?}: use HH:MM, e.g. \"08:00\"",
                self.digest_at
            ));
        }
        if !(-12..=14).contains(&self.utc_offset_hours) {
            errors.push(format!(
                "reminders.utc_offset_hours is {}: use -12 to 14",
                self.utc_offset_hours
            ));
        }
        if !(1..=3600).contains(&self.retry_first_seconds) {
            errors.push(format!(
                "reminders.retry_first_seconds is {}: use 1 to 3600 seconds",
                self.retry_first_seconds
            ));
        }
        if self.retry_max_seconds < self.retry_first_seconds || self.retry_max_seconds > 86_400 {
            errors.push(format!(
                "reminders.retry_max_seconds is {}: use retry_first_seconds to 86400 seconds",
                self.retry_max_seconds
            ));
        }
        errors
    }

    /// The district's offset from UTC in ms.
    pub fn offset_ms(&self) -> i64 {
        i64::from(self.utc_offset_hours) * 60 * MINUTE_MS
    }

    /// Milliseconds since local midnight at `at`, and that midnight.
    fn local(&self, at: Timestamp) -> (i64, Timestamp) {
        let local = at.0 + self.offset_ms();
        let into_day = local.rem_euclid(DAY_MS);
        (into_day, Timestamp(at.0 - into_day))
    }

    /// The end of the quiet hours `at` falls in, or `None` when sending is allowed.
    pub fn quiet_until(&self, at: Timestamp) -> Option<Timestamp> {
        let q = self.quiet_hours.as_ref()?;
        let (from, to) = (minutes(&q.from)? * MINUTE_MS, minutes(&q.to)? * MINUTE_MS);
        let (now, midnight) = self.local(at);
        let quiet = if from < to {
            from <= now && now < to
        } else {
            now >= from || now < to
        };
        if !quiet {
            return None;
        }
        let end = if now < to { to } else { to + DAY_MS };
        Some(Timestamp(midnight.0 + end))
    }

    /// When a reminder created at `at` may first be sent: at once, or with the digest, at the
    /// first `digest_at` from `at` on.
    pub fn first_send(&self, at: Timestamp) -> Timestamp {
        if !self.digest {
            return at;
        }
        let digest = minutes(&self.digest_at).unwrap_or(8 * 60) * MINUTE_MS;
        let (now, midnight) = self.local(at);
        let day = if now <= digest { 0 } else { DAY_MS };
        Timestamp(midnight.0 + day + digest)
    }

    /// How long to wait before the attempt after `attempts` failed ones.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let first = i64::from(self.retry_first_seconds) * 1000;
        let max = i64::from(self.retry_max_seconds) * 1000;
        let doublings = attempts.saturating_sub(1).min(30);
        first.saturating_mul(1 << doublings).min(max)
    }

    /// One webhook attempt's time limit.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(
            self.webhook.as_ref().map_or(10, |w| w.timeout_seconds),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Settings {
        toml::from_str(text).expect("parses")
    }

    /// 2026-12-06 00:00 in China (UTC+8) is 2026-12-05 16:00 UTC.
    const MIDNIGHT_CST: i64 = 1_796_486_400_000;
    const HOUR: i64 = 3_600_000;

    #[test]
    fn no_section_means_the_log_channel_and_no_quiet_hours() {
        let s = Settings::default();
        assert_eq!(s.channels, vec![ChannelKind::Log]);
        assert_eq!(s.problems(), Vec::<String>::new());
        assert_eq!(s.quiet_until(Timestamp(MIDNIGHT_CST)), None);
        assert_eq!(s.first_send(Timestamp(5)), Timestamp(5));
    }

    #[test]
    fn every_error_of_the_section_is_listed_at_once() {
        let s = parse(
            "channels = [\"webhook\", \"log\", \"log\"]\ndigest_at = \"8am\"\n\
             utc_offset_hours = 20\nretry_first_seconds = 0\n\
             quiet_hours = { from = \"22:00\", to = \"25:00\" }\n",
        );
        let errors = s.problems();
        assert_eq!(errors.len(), 6, "{errors:#?}");
        for needle in [
            "log twice",
            "no url",
            "quiet_hours.to",
            "digest_at",
            "utc_offset_hours",
            "retry_first_seconds",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(needle)),
                "{needle}: {errors:#?}"
            );
        }
        let url = |u: &str| {
            parse(&format!(
                "channels = [\"webhook\"]\nwebhook = {{ url = \"{u}\" }}"
            ))
            .problems()
        };
        assert_eq!(
            url("https://oapi.dingtalk.com/robot/send?access_token=t"),
            Vec::<String>::new()
        );
        assert_eq!(url("http://10.0.0.5:8080/send"), Vec::<String>::new());
        assert_eq!(url("ftp://robot").len(), 1);
        assert_eq!(url("https://").len(), 1);
        let err = toml::from_str::<Settings>("chanels = [\"log\"]").expect_err("unknown key");
        assert!(err.to_string().contains("chanels"), "{err}");
    }

    #[test]
    fn quiet_hours_over_midnight_hold_until_their_end_in_local_time() {
        let s = parse("quiet_hours = { from = \"22:00\", to = \"07:00\" }");
        let at = |h: i64| Timestamp(MIDNIGHT_CST + h * HOUR);
        assert_eq!(
            s.quiet_until(at(23)),
            Some(at(31)),
            "23:00 → 07:00 next day"
        );
        assert_eq!(s.quiet_until(at(3)), Some(at(7)));
        assert_eq!(s.quiet_until(at(7)), None);
        assert_eq!(s.quiet_until(at(12)), None);
        assert_eq!(s.quiet_until(at(22)), Some(at(31)));
    }

    #[test]
    fn a_digest_waits_for_the_next_digest_time() {
        let s = parse("digest = true\ndigest_at = \"08:00\"");
        let at = |h: i64| Timestamp(MIDNIGHT_CST + h * HOUR);
        assert_eq!(s.first_send(at(6)), at(8));
        assert_eq!(s.first_send(at(8)), at(8));
        assert_eq!(s.first_send(at(9)), at(32));
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let s = parse("retry_first_seconds = 30\nretry_max_seconds = 100");
        assert_eq!(s.backoff_ms(1), 30_000);
        assert_eq!(s.backoff_ms(2), 60_000);
        assert_eq!(s.backoff_ms(3), 100_000);
        assert_eq!(s.backoff_ms(40), 100_000);
    }
}
