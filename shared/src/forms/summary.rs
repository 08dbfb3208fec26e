//! The "my enterprises" list: each enterprise's last visit, open problems, worst flag and
//! overdue count, the search over name, credit code and address, and the officer's follow-ups
//! (revisits and due look-backs).

use crate::config::Config;
use crate::derive::{Task, derive};
use crate::model::{Enterprise, EnterpriseId, Flag, Problem, ProblemId, Timestamp, UserId, Visit};

/// How bad a flag is, for "worst flag": black > due soon > green > red (the order of
/// [`Flag::ALL`]).
pub fn flag_rank(flag: Flag) -> u8 {
    match flag {
        Flag::Red => 0,
        Flag::Green => 1,
        Flag::DueSoon => 2,
        Flag::Black => 3,
    }
}

/// One line of the "my enterprises" list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnterpriseSummary {
    /// When the latest visit was made (check-in time, else creation time).
    pub last_visit: Option<Timestamp>,
    /// Problems not yet closed.
    pub open_problems: usize,
    /// The worst flag among open problems (closed ones count only when none is open).
    pub worst_flag: Option<Flag>,
    /// Open problems past their effective deadline.
    pub overdue: usize,
}

/// When a visit was made: its check-in time, else when it was recorded.
pub fn visit_time(visit: &Visit) -> Timestamp {
    visit
        .check_in
        .as_ref()
        .map_or(visit.created.at, |c| c.device_time)
}

/// Summarizes an enterprise's visits and problems at `now`; records of other enterprises in
/// the slices are ignored.
pub fn summarize(
    enterprise: EnterpriseId,
    visits: &[Visit],
    problems: &[Problem],
    config: &Config,
    now: Timestamp,
) -> EnterpriseSummary {
    let last_visit = visits
        .iter()
        .filter(|v| v.enterprise == enterprise)
        .map(visit_time)
        .max();
    let mut summary = EnterpriseSummary {
        last_visit,
        ..EnterpriseSummary::default()
    };
    let mut worst_open: Option<Flag> = None;
    let mut worst_closed: Option<Flag> = None;
    for p in problems.iter().filter(|p| p.enterprise == enterprise) {
        let d = derive(p, config, now);
        let slot = if d.outcome.state.is_closed() {
            &mut worst_closed
        } else {
            summary.open_problems += 1;
            if d.overdue {
                summary.overdue += 1;
            }
            &mut worst_open
        };
        if slot.is_none_or(|w| flag_rank(d.flag) > flag_rank(w)) {
            *slot = Some(d.flag);
        }
    }
    summary.worst_flag = worst_open.or(worst_closed);
    summary
}

/// The follow-ups `officer` owes at `now` on the problems they own: every revisit, and every
/// look-back that has fallen due; earliest due first.
pub fn follow_ups(
    officer: UserId,
    problems: &[Problem],
    config: &Config,
    now: Timestamp,
) -> Vec<(ProblemId, EnterpriseId, Task)> {
    // Ordered by insertion into a map keyed (due, problem, kind), not by a sort: no copy of
    // the standard library's sort for these tuples in the app's download.
    let mut out = std::collections::BTreeMap::new();
    for p in problems.iter().filter(|p| p.owner == officer) {
        let d = derive(p, config, now);
        let look_back = d.look_back.filter(|t| t.is_due(now));
        for t in [d.revisit, look_back].into_iter().flatten() {
            out.insert((t.due, p.id, t.kind), (p.id, p.enterprise, t));
        }
    }
    out.into_values().collect()
}

/// Whether an enterprise matches a search: every word of `query` appears in its name, credit
/// code, address or industry (Latin letters case-insensitively: ASCII case only, as the names
/// are Chinese and Unicode's case table would be about 12 KB of the phone's download); an
/// empty query matches everything.
pub fn matches_search(enterprise: &Enterprise, query: &str) -> bool {
    let haystack = format!(
        "{} {} {} {}",
        enterprise.name,
        enterprise.credit_code.as_str(),
        enterprise.address,
        enterprise.industry
    )
    .to_ascii_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::derive::initial_deadline;

    use crate::model::{
        CreditCode, DAY_MS, Enterprise, EnterpriseId, EnterpriseSize, Flag, Problem, ProblemClass,
        ProblemSource, Tier, Timestamp,
    };

    fn problem_of(enterprise: EnterpriseId, n: u8, created: Timestamp) -> Problem {
        let config = Config::default();
        let new = crate::doc::NewProblem {
            id: crate::model::ProblemId::from_random_bytes([n; 16]),
            enterprise,
            visit: None,
            source: ProblemSource::Visit,
            category: "land".into(),
            class: ProblemClass::B,
            tier: Tier::Department,
            owner: crate::test_support::officer().user,
            leader: None,
            deadline: initial_deadline(&config, Tier::Department, created),
            description: "用地".into(),
            expectation: String::new(),
        };
        crate::doc::ProblemDoc::create(
            &new,
            &config,
            &crate::test_support::officer(),
            crate::doc::ActorId::from([n; 16]),
            created,
        )
        .expect("create")
        .read()
        .expect("read")
    }

    #[test]
    fn the_summary_counts_open_and_overdue_problems_and_shows_the_worst_flag() {
        let config = Config::default();
        let e = EnterpriseId::from_random_bytes([9; 16]);
        let other = EnterpriseId::from_random_bytes([8; 16]);
        let start = Timestamp(20_000 * DAY_MS);
        let problems = vec![
            problem_of(e, 1, start),
            problem_of(e, 2, start.plus_days(20)),
            problem_of(other, 3, start),
        ];
        let now = start.plus_days(21);
        let s = summarize(e, &[], &problems, &config, now);
        assert_eq!(s.open_problems, 2);
        assert_eq!(s.overdue, 1, "only the first is past its 7 days");
        assert_eq!(s.worst_flag, Some(Flag::Black));
        assert_eq!(s.last_visit, None);
        let none = summarize(
            EnterpriseId::from_random_bytes([7; 16]),
            &[],
            &problems,
            &config,
            now,
        );
        assert_eq!(none, EnterpriseSummary::default());
    }

    #[test]
    fn search_matches_every_word_in_name_code_or_address() {
        let code = CreditCode::from_parts('9', '1', "419001", "MA9F8KXY").expect("valid");
        let e = Enterprise {
            id: EnterpriseId::from_random_bytes([1; 16]),
            credit_code: code,
            name: "济源示例钢铁有限公司".into(),
            address: "玉泉街道".into(),
            town: crate::model::OrgUnitId::from_random_bytes([2; 16]),
            industry: "钢铁".into(),
            size: EnterpriseSize::AboveDesignated,
            key_enterprise: true,
            position: None,
            contacts: Default::default(),
            needs_decision: Vec::new(),
        };
        assert!(matches_search(&e, ""));
        assert!(matches_search(&e, "钢铁 玉泉"));
        assert!(matches_search(&e, "ma9f8"));
        assert!(!matches_search(&e, "钢铁 化工"));
    }
}
