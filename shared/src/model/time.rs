//! Time as data: instants in milliseconds since the Unix epoch and calendar days. The core never
//! reads a clock (`SystemTime::now` panics on wasm32); every "now" is passed in.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The instant `days` whole days later.
    pub fn plus_days(self, days: u32) -> Timestamp {
        Timestamp(self.0.saturating_add(i64::from(days) * DAY_MS))
    }

    /// Whole days from `self` until `later` (negative when `later` is earlier), rounded down.
    pub fn days_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0).div_euclid(DAY_MS)
    }

    /// The UTC calendar day this instant falls on.
    pub fn day(self) -> Option<NaiveDate> {
        DateTime::<Utc>::from_timestamp_millis(self.0).map(|t| t.date_naive())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            // Written by hand, as chrono's `%Y-%m-%d %H:%M` would: its formatter would add
            // kilobytes to the app's download.
            Some(t) => {
                let year = t.year();
                if (0..=9999).contains(&year) {
                    write!(f, "{year:04}")?;
                } else {
                    write!(f, "{year:+05}")?;
                }
                write!(
                    f,
                    "-{:02}-{:02} {:02}:{:02} UTC",
                    t.month(),
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            }
            None => write!(f, "@{}ms", self.0),
        }
    }
}

/// An ISO week such as 2026-W48, the period of a weekly price report (价格周报告).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IsoWeek {
    /// ISO week-numbering year.
    pub year: i32,
    /// Week number, 1..=53.
    pub week: u32,
}

impl IsoWeek {
    /// The ISO week a day belongs to.
    pub fn of(day: NaiveDate) -> Self {
        let w = day.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    /// Parses `YYYY-Www`.
    pub fn parse(input: &str) -> Option<Self> {
        let (y, w) = input.split_once("-W")?;
        let year: i32 = y.parse().ok()?;
        let week: u32 = w.parse().ok()?;
        NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)?;
        Some(IsoWeek { year, week })
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// A calendar month such as 2026-11, the period of a monthly operation analysis (运行月分析).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(input: &str) -> Option<Self> {
        let (y, m) = input.split_once('-')?;
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Month { year, month })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_reads_as_chrono_would_format_it() {
        // The hand-written Display must match chrono's `%Y-%m-%d %H:%M UTC`, far years too.
        for ms in [
            0,
            1_764_300_000_000,
            -62_135_596_800_001,
            253_402_300_800_000,
        ] {
            let expected = DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("in range")
                .format("%Y-%m-%d %H:%M UTC")
                .to_string();
            assert_eq!(Timestamp(ms).to_string(), expected, "at {ms} ms");
        }
    }

    #[test]
    fn periods_round_trip_through_their_text_form() {
        let w = IsoWeek::parse("2026-W48").expect("valid week");
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!(IsoWeek::parse("2026-W54"), None);
        let m = Month::parse("2026-11").expect("valid month");
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(Month::parse("2026-13"), None);
    }

    #[test]
    fn days_until_rounds_down_and_goes_negative() {
        let t = Timestamp(10 * DAY_MS);
        assert_eq!(t.days_until(Timestamp(12 * DAY_MS - 1)), 1);
        assert_eq!(t.days_until(Timestamp(9 * DAY_MS)), -1);
    }
}
