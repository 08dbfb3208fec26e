//! Economic-monitoring rules (经济运行监测): finding anomalies in a key enterprise's figures and
//! the problem each anomaly becomes. Pure: the server's job decides when to run them and stores
//! the problems; a problem's id is derived from its anomaly, so running a rule twice creates
//! it once. [`csv_import`] parses monitoring figures from CSV for the app's import.

use chrono::NaiveDate;

pub mod csv_import;
mod decimal;

use crate::config::{Config, MonitoringRules};
use crate::derive::initial_deadline;
use crate::doc::NewProblem;
use crate::model::{
    EnterpriseId, Monitoring, ProblemClass, ProblemId, ProblemSource, Tier, Timestamp, UserId,
};

/// A run of days with power use well below its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerAnomaly {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The first low day.
    pub first_day: NaiveDate,
    /// Every low day of the run.
    pub days: Vec<NaiveDate>,
    /// The baseline median on the first day, kWh.
    pub baseline_kwh: f64,
    /// The lowest use in the run, kWh.
    pub lowest_kwh: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    // Unstable: equal values are interchangeable, and the phone carries no stable sort of
    // floats for it.
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs of at least `consecutive_days` consecutive days below `power_drop_ratio` of the median
/// of the preceding `baseline_days` (judged only with `min_baseline_days` of history).
pub fn power_anomalies(m: &Monitoring, rules: &MonitoringRules) -> Vec<PowerAnomaly> {
    let days: Vec<(NaiveDate, f64)> = m.power.iter().map(|(d, k)| (*d, *k)).collect();
    let mut out = Vec::new();
    let mut run: Vec<(NaiveDate, f64, f64)> = Vec::new();
    // Rules not validated (0 consecutive days, 0 days of baseline) are read as 1: an empty run
    // is never an anomaly and a day is never judged against no history.
    let min_run = (rules.consecutive_days as usize).max(1);
    let min_baseline = (rules.min_baseline_days as usize).max(1);
    let flush = |run: &mut Vec<(NaiveDate, f64, f64)>, out: &mut Vec<PowerAnomaly>| {
        if let Some(first) = run.first()
            && run.len() >= min_run
        {
            out.push(PowerAnomaly {
                enterprise: m.enterprise,
                first_day: first.0,
                days: run.iter().map(|r| r.0).collect(),
                baseline_kwh: first.2,
                lowest_kwh: run.iter().map(|r| r.1).fold(f64::INFINITY, f64::min),
            });
        }
        run.clear();
    };
    // Days are in date order, so the days within the baseline of day `i` are a stretch that
    // only moves forward (`lo..i`), and the current run is always the last days before `i`:
    // each day looks at most `baseline_days` others.
    let mut lo = 0usize;
    for (i, (day, kwh)) in days.iter().enumerate() {
        lo = window_start(&days, lo, *day, rules.baseline_days);
        let window: Vec<f64> = days[lo.min(i - run.len())..i - run.len()]
            .iter()
            .map(|(_, k)| *k)
            .collect();
        if window.len() < min_baseline {
            flush(&mut run, &mut out);
            continue;
        }
        let baseline = median(window);
        let consecutive = run.last().is_none_or(|r| (*day - r.0).num_days() == 1);
        if *kwh < rules.power_drop_ratio * baseline && consecutive {
            run.push((*day, *kwh, baseline));
        } else {
            flush(&mut run, &mut out);
            if *kwh < rules.power_drop_ratio * baseline {
                run.push((*day, *kwh, baseline));
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The baseline of each recorded day, as the rule sees it: the median of the days recorded in
/// the `baseline_days` before it, or `None` with fewer than `min_baseline_days` of them. For
/// the trend chart's "4-week median" line.
pub fn power_baseline(m: &Monitoring, rules: &MonitoringRules) -> Vec<(NaiveDate, Option<f64>)> {
    let days: Vec<(NaiveDate, f64)> = m.power.iter().map(|(d, k)| (*d, *k)).collect();
    let mut lo = 0usize;
    days.iter()
        .enumerate()
        .map(|(i, (day, _))| {
            lo = window_start(&days, lo, *day, rules.baseline_days);
            let window: Vec<f64> = days[lo..i].iter().map(|(_, k)| *k).collect();
            let enough = window.len() >= rules.min_baseline_days as usize && !window.is_empty();
            (*day, enough.then(|| median(window)))
        })
        .collect()
}

/// The first of `days` (in date order) within `baseline_days` before `day`, searching forward
/// from `from` (the answer for an earlier day).
fn window_start(
    days: &[(NaiveDate, f64)],
    from: usize,
    day: NaiveDate,
    baseline_days: u32,
) -> usize {
    let mut lo = from;
    while lo < days.len() && (day - days[lo].0).num_days() > i64::from(baseline_days) {
        lo += 1;
    }
    lo
}

/// Positions of periods on a trend chart's x axis (whole numbers, one per day, week or month,
/// so gaps show as gaps) and the labels of those positions.
pub mod axis {
    use chrono::NaiveDate;

    use crate::model::{IsoWeek, Month};

    /// Days since 1970-01-01.
    pub fn day(d: NaiveDate) -> i64 {
        i64::from(d.to_epoch_days())
    }

    /// `MM-DD` of a [`day`] position.
    pub fn day_label(n: i64) -> String {
        i32::try_from(n)
            .ok()
            .and_then(NaiveDate::from_epoch_days)
            .map(|d| d.to_string().get(5..).unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// Weeks since the Monday of 1969-12-29 (the week of 1970-01-01).
    pub fn week(w: IsoWeek) -> i64 {
        NaiveDate::from_isoywd_opt(w.year, w.week, chrono::Weekday::Mon)
            .map_or(0, |monday| (day(monday) + 3).div_euclid(7))
    }

    /// `2026-W45` of a [`week`] position.
    pub fn week_label(n: i64) -> String {
        i32::try_from(n * 7 - 3)
            .ok()
            .and_then(NaiveDate::from_epoch_days)
            .map(|monday| IsoWeek::of(monday).to_string())
            .unwrap_or_default()
    }

    /// Months since January of year 0.
    pub fn month(m: Month) -> i64 {
        i64::from(m.year) * 12 + i64::from(m.month) - 1
    }

    /// `2026-11` of a [`month`] position.
    pub fn month_label(n: i64) -> String {
        format!("{}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
    }
}

/// The id of the problem an anomaly becomes: the same anomaly always gives the same id.
pub fn anomaly_problem_id(anomaly: &PowerAnomaly) -> ProblemId {
    let mut b = *anomaly.enterprise.as_bytes();
    let day = anomaly.first_day.to_epoch_days().to_be_bytes();
    for (i, x) in day.iter().enumerate() {
        b[12 + i] ^= *x;
    }
    b[0] ^= 0x6d; // 'm': monitoring
    ProblemId::from_random_bytes(b)
}

/// The problem an anomaly becomes, owned by the enterprise's officer.
pub fn anomaly_problem(
    anomaly: &PowerAnomaly,
    owner: UserId,
    config: &Config,
    now: Timestamp,
) -> NewProblem {
    let days = anomaly.days.len();
    NewProblem {
        id: anomaly_problem_id(anomaly),
        enterprise: anomaly.enterprise,
        visit: None,
        source: ProblemSource::Monitoring,
        category: if config.category("power").is_some() {
            "power".into()
        } else {
            config.categories[0].code.clone()
        },
        class: ProblemClass::C,
        tier: Tier::Department,
        owner,
        leader: None,
        deadline: initial_deadline(config, Tier::Department, now),
        description: format!(
            "电量监测异常：自{}起连续{days}天用电量低于前四周中位数（{:.0} kWh）的{:.0}%，最低{:.0} kWh，请走访了解原因。",
            anomaly.first_day,
            anomaly.baseline_kwh,
            config.monitoring.power_drop_ratio * 100.0,
            anomaly.lowest_kwh
        ),
        expectation: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn monitoring(values: &[f64]) -> Monitoring {
        let start = NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        Monitoring {
            enterprise: EnterpriseId::from_random_bytes([7; 16]),
            power: values
                .iter()
                .enumerate()
                .map(|(i, v)| (start + chrono::Days::new(i as u64), *v))
                .collect(),
            prices: BTreeMap::new(),
            operation: BTreeMap::new(),
            needs_decision: Vec::new(),
        }
    }

    /// The rule as first written, a day at a time over the whole history (quadratic): the
    /// reference the windowed version must agree with.
    fn anomalies_by_definition(m: &Monitoring, rules: &MonitoringRules) -> Vec<PowerAnomaly> {
        let days: Vec<(NaiveDate, f64)> = m.power.iter().map(|(d, k)| (*d, *k)).collect();
        let mut out = Vec::new();
        let mut run: Vec<(NaiveDate, f64, f64)> = Vec::new();
        let min_run = (rules.consecutive_days as usize).max(1);
        let min_baseline = (rules.min_baseline_days as usize).max(1);
        let flush = |run: &mut Vec<(NaiveDate, f64, f64)>, out: &mut Vec<PowerAnomaly>| {
            if let Some(first) = run.first()
                && run.len() >= min_run
            {
                out.push(PowerAnomaly {
                    enterprise: m.enterprise,
                    first_day: first.0,
                    days: run.iter().map(|r| r.0).collect(),
                    baseline_kwh: first.2,
                    lowest_kwh: run.iter().map(|r| r.1).fold(f64::INFINITY, f64::min),
                });
            }
            run.clear();
        };
        for (i, (day, kwh)) in days.iter().enumerate() {
            let window: Vec<f64> = days[..i]
                .iter()
                .filter(|(d, _)| (*day - *d).num_days() <= i64::from(rules.baseline_days))
                .filter(|(d, _)| !run.iter().any(|r| r.0 == *d))
                .map(|(_, k)| *k)
                .collect();
            if window.len() < min_baseline {
                flush(&mut run, &mut out);
                continue;
            }
            let baseline = median(window);
            let consecutive = run.last().is_none_or(|r| (*day - r.0).num_days() == 1);
            if *kwh < rules.power_drop_ratio * baseline && consecutive {
                run.push((*day, *kwh, baseline));
            } else {
                flush(&mut run, &mut out);
                if *kwh < rules.power_drop_ratio * baseline {
                    run.push((*day, *kwh, baseline));
                }
            }
        }
        flush(&mut run, &mut out);
        out
    }

    proptest::proptest! {
        #[test]
        fn the_windowed_rule_finds_what_the_rule_by_definition_finds(
            // Days with gaps (a missing report) and dips of every depth and length.
            series in proptest::collection::vec((0u8..4, 0u32..12_000), 0..160),
            baseline_days in 1u32..40,
            min_baseline_days in 0u32..20,
            consecutive_days in 0u32..5,
        ) {
            let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
            let mut day = start;
            let mut power = BTreeMap::new();
            for (gap, kwh) in series {
                day = day + chrono::Days::new(u64::from(gap) + 1);
                power.insert(day, f64::from(kwh));
            }
            let m = Monitoring { power, ..monitoring(&[]) };
            let rules = MonitoringRules {
                baseline_days,
                min_baseline_days,
                consecutive_days,
                ..MonitoringRules::default()
            };
            proptest::prop_assert_eq!(power_anomalies(&m, &rules), anomalies_by_definition(&m, &rules));
            let baseline: Vec<_> = power_baseline(&m, &rules);
            for (i, (d, b)) in baseline.iter().enumerate() {
                let window: Vec<f64> = m.power.iter().take(i)
                    .filter(|(e, _)| (*d - **e).num_days() <= i64::from(baseline_days))
                    .map(|(_, k)| *k)
                    .collect();
                let enough = window.len() >= min_baseline_days as usize && !window.is_empty();
                proptest::prop_assert_eq!(*b, enough.then(|| median(window)));
            }
        }
    }

    #[test]
    fn rules_of_zero_days_do_not_panic_and_read_as_one_day() {
        let mut v = vec![10_000.0; 28];
        v.extend([6_000.0, 10_000.0]);
        let rules = MonitoringRules {
            consecutive_days: 0,
            min_baseline_days: 0,
            ..MonitoringRules::default()
        };
        let found = power_anomalies(&monitoring(&v), &rules);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].days.len(), 1);
        assert!(power_anomalies(&monitoring(&[5_000.0]), &rules).is_empty());
    }

    #[test]
    fn three_low_days_after_four_normal_weeks_are_one_anomaly() {
        let mut v = vec![10_000.0; 28];
        v.extend([6_000.0, 6_500.0, 6_900.0, 10_000.0]);
        let found = power_anomalies(&monitoring(&v), &MonitoringRules::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].days.len(), 3);
        assert_eq!(found[0].baseline_kwh, 10_000.0);
        assert_eq!(found[0].lowest_kwh, 6_000.0);
    }

    #[test]
    fn two_low_days_or_a_mild_dip_are_not_anomalies() {
        let mut v = vec![10_000.0; 28];
        v.extend([6_000.0, 6_000.0, 10_000.0, 7_500.0, 7_500.0, 7_500.0]);
        assert!(power_anomalies(&monitoring(&v), &MonitoringRules::default()).is_empty());
    }

    #[test]
    fn too_little_history_judges_nothing() {
        let v = [10_000.0, 10_000.0, 1_000.0, 1_000.0, 1_000.0, 1_000.0];
        assert!(power_anomalies(&monitoring(&v), &MonitoringRules::default()).is_empty());
    }

    #[test]
    fn the_same_anomaly_always_becomes_the_same_problem_id() {
        let mut v = vec![10_000.0; 28];
        v.extend([1.0, 1.0, 1.0]);
        let a = power_anomalies(&monitoring(&v), &MonitoringRules::default());
        let b = power_anomalies(&monitoring(&v), &MonitoringRules::default());
        assert_eq!(anomaly_problem_id(&a[0]), anomaly_problem_id(&b[0]));
        v[1] = 9_000.0;
        let mut later = v.clone();
        later.extend([1.0; 5]);
        let c = power_anomalies(&monitoring(&later), &MonitoringRules::default());
        assert_eq!(
            anomaly_problem_id(&c[0]),
            anomaly_problem_id(&a[0]),
            "a longer run is the same anomaly"
        );
    }

    #[test]
    fn the_baseline_line_starts_once_there_is_enough_history_and_follows_the_median() {
        let mut v = vec![10_000.0; 14];
        v.extend([20_000.0; 30]);
        let rules = MonitoringRules::default();
        let line = power_baseline(&monitoring(&v), &rules);
        assert_eq!(line.len(), v.len());
        assert!(
            line[..14].iter().all(|(_, b)| b.is_none()),
            "too little history"
        );
        assert_eq!(line[14].1, Some(10_000.0));
        assert_eq!(
            line[43].1,
            Some(20_000.0),
            "after four weeks at the new level the median is the new level"
        );
    }

    #[test]
    fn chart_positions_count_days_weeks_and_months_and_label_them_back() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 5).expect("date");
        let next = NaiveDate::from_ymd_opt(2026, 11, 6).expect("date");
        assert_eq!(axis::day(next) - axis::day(d), 1);
        assert_eq!(axis::day_label(axis::day(d)), "11-05");
        let w52 = crate::model::IsoWeek::parse("2026-W53").expect("2026 has 53 weeks");
        let w1 = crate::model::IsoWeek::parse("2027-W01").expect("week");
        assert_eq!(
            axis::week(w1) - axis::week(w52),
            1,
            "weeks run on across the year"
        );
        assert_eq!(axis::week_label(axis::week(w1)), "2027-W01");
        let dec = crate::model::Month::parse("2026-12").expect("month");
        let jan = crate::model::Month::parse("2027-01").expect("month");
        assert_eq!(axis::month(jan) - axis::month(dec), 1);
        assert_eq!(axis::month_label(axis::month(jan)), "2027-01");
    }
}
