//! KPI times on the server's clock (服务器时间): the one rule that turns a time a device claims
//! (a record's creation, a workflow event, a visit, a rating) into the time every KPI counts,
//! and a problem's deadline from the configured SLA on that clock. The server applies both
//! where a document's stamps become query rows (`server::store`), so on-time, response times
//! and "created in the period" all read the same bounded times.

use crate::config::{ClockRules, SlaPolicy};
use crate::model::{Problem, Timestamp};
use crate::workflow::{Outcome, replay};

/// What the server knows of when the changes of one request could have been made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The server's clock when the request arrived: nothing in it was made later.
    pub received_at: Timestamp,
    /// The earliest time a change in it may claim: the device's previous sync after which it
    /// had nothing left to send, less the allowed skew (what it sends now was made after
    /// that). `None` when the server knows no such sync of the device.
    pub not_before: Option<Timestamp>,
}

impl Receipt {
    /// The bounds of a request received at `received_at` from a device whose previous sync
    /// (with nothing left to send, or its registration) was at `previous_sync`.
    pub fn new(
        received_at: Timestamp,
        previous_sync: Option<Timestamp>,
        clock: &ClockRules,
    ) -> Receipt {
        Receipt {
            received_at,
            not_before: previous_sync.map(|s| {
                Timestamp(
                    s.0.saturating_sub(clock.allowed_skew_ms())
                        .min(received_at.0),
                )
            }),
        }
    }
}

/// A claimed time as the KPIs count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpiTime {
    /// The time counted.
    pub at: Timestamp,
    /// Whether the claim was outside the receipt's bounds and moved to the nearer one.
    pub clamped: bool,
}

/// **The clamping rule, used by every KPI.** A device's claimed time later than the server's
/// receipt of it counts as the receipt; one earlier than the device's previous sync less the
/// allowed skew counts as that bound; anything between counts as claimed. `receipt` is `None`
/// for what the server writes itself (its clock is the reference), which counts as claimed.
/// The claimed time stays in the document and its history; only the KPIs read this one.
pub fn kpi_time(claimed: Timestamp, receipt: Option<&Receipt>) -> KpiTime {
    let Some(r) = receipt else {
        return KpiTime {
            at: claimed,
            clamped: false,
        };
    };
    let mut at = claimed;
    if let Some(floor) = r.not_before {
        at = at.max(floor);
    }
    at = at.min(r.received_at);
    KpiTime {
        at,
        clamped: at != claimed,
    }
}

/// The problem's workflow outcome with its deadline on the server's clock: the SLA's days for
/// its tier counted from `created` (its creation time as the KPIs count it, [`kpi_time`]),
/// moved only by extensions a leader made (a handler's request leaves it where it is until
/// approved). The deadline field a device wrote does not count; an escalation to a tier with
/// a longer time limit gets that tier's limit.
pub fn server_outcome(sla: &SlaPolicy, problem: &Problem, created: Timestamp) -> Outcome {
    let mut counted = problem.clone();
    counted.deadline = created.plus_days(sla.days_for(problem.tier));
    let mut outcome = replay(&counted);
    outcome.deadline = outcome
        .deadline
        .max(created.plus_days(sla.days_for(outcome.tier)));
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DAY_MS;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);
    const MIN: i64 = 60_000;

    fn receipt() -> Receipt {
        // Previous sync an hour ago; ten minutes allowed.
        Receipt::new(
            NOW,
            Some(Timestamp(NOW.0 - 60 * MIN)),
            &ClockRules::default(),
        )
    }

    #[test]
    fn a_time_within_the_bounds_counts_as_claimed() {
        let claimed = Timestamp(NOW.0 - 30 * MIN);
        assert_eq!(
            kpi_time(claimed, Some(&receipt())),
            KpiTime {
                at: claimed,
                clamped: false
            }
        );
        // The skew allowance: 65 minutes before the receipt is within 60 + 10.
        let early = Timestamp(NOW.0 - 65 * MIN);
        assert!(!kpi_time(early, Some(&receipt())).clamped);
    }

    #[test]
    fn a_future_time_counts_as_the_receipt_and_a_backdated_one_as_the_previous_sync_less_the_skew()
    {
        let future = kpi_time(Timestamp(NOW.0 + 5 * DAY_MS), Some(&receipt()));
        assert_eq!(
            future,
            KpiTime {
                at: NOW,
                clamped: true
            }
        );
        let backdated = kpi_time(Timestamp(NOW.0 - 3 * DAY_MS), Some(&receipt()));
        assert_eq!(
            backdated,
            KpiTime {
                at: Timestamp(NOW.0 - 70 * MIN),
                clamped: true
            }
        );
    }

    #[test]
    fn without_a_known_previous_sync_only_the_receipt_bounds_and_the_servers_own_times_are_kept() {
        let unknown = Receipt::new(NOW, None, &ClockRules::default());
        let old = Timestamp(NOW.0 - 30 * DAY_MS);
        assert!(!kpi_time(old, Some(&unknown)).clamped);
        assert!(kpi_time(Timestamp(NOW.0 + 1), Some(&unknown)).clamped);
        assert_eq!(kpi_time(old, None).at, old);
    }
}
