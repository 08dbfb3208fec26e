//! The problem list (filters, sort, page and its rows), an enterprise's timeline and a
//! record's history verdict.

use serde::Serialize;
use shared::model::{Flag, OrgUnitId, ProblemSource, ProblemState, Tier, Timestamp};

/// Most rows one page may hold.
pub const MAX_PAGE: u32 = 200;

/// What a look-back (回头看) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LookBack {
    /// It passed (`look_back_pass`).
    Passed,
    /// It reopened the problem (`look_back_reopen`).
    Reopened,
}

impl LookBack {
    /// Every look-back result, in the order the query parameter lists them.
    pub const ALL: [LookBack; 2] = [LookBack::Passed, LookBack::Reopened];

    /// The one with `code`.
    pub fn from_code(code: &str) -> Option<LookBack> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The query parameter's code.
    pub fn code(self) -> &'static str {
        match self {
            LookBack::Passed => "passed",
            LookBack::Reopened => "reopened",
        }
    }

    /// The workflow action recorded for it.
    pub fn action(self) -> &'static str {
        match self {
            LookBack::Passed => "look_back_pass",
            LookBack::Reopened => "look_back_reopen",
        }
    }
}

/// How the problem list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemSort {
    /// By effective deadline.
    #[default]
    Deadline,
    /// By creation time.
    Created,
    /// By days past the deadline (problems not overdue count as 0).
    DaysOverdue,
}

impl ProblemSort {
    /// Every order, the default first.
    pub const ALL: [ProblemSort; 3] = [
        ProblemSort::Deadline,
        ProblemSort::Created,
        ProblemSort::DaysOverdue,
    ];

    /// The query parameter's code.
    pub fn code(self) -> &'static str {
        match self {
            ProblemSort::Deadline => "deadline",
            ProblemSort::Created => "created",
            ProblemSort::DaysOverdue => "days_overdue",
        }
    }

    /// The one with `code`.
    pub fn from_code(code: &str) -> Option<ProblemSort> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Filters, order and page of a problem list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct ProblemFilter {
    /// Any of these states (none: all).
    pub states: Vec<ProblemState>,
    /// Flag at `now`.
    pub flag: Option<Flag>,
    /// The enterprise's town.
    pub town: Option<OrgUnitId>,
    /// Handed to this department.
    pub department: Option<OrgUnitId>,
    /// Category code.
    pub category: Option<String>,
    /// Effective tier.
    pub tier: Option<Tier>,
    /// Overdue (`true`) or not (`false`) at `now`.
    pub overdue: Option<bool>,
    /// Where it came from.
    pub source: Option<ProblemSource>,
    /// Created at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Created before this instant.
    pub created_to: Option<Timestamp>,
    /// Answered (an applied respond or resolve-on-site event: `true`) or not yet (`false`).
    pub answered: Option<bool>,
    /// First answered by the effective deadline (`true`) or after it (`false`); either way
    /// answered.
    pub on_time: Option<bool>,
    /// Rated by the enterprise (`true`) or not (`false`).
    pub rated: Option<bool>,
    /// Rated satisfied, 3 or better (`true`), or rated below 3 (`false`); either way rated.
    pub satisfied: Option<bool>,
    /// Signed off at least once (an applied sign-off event: `true`, even if a look-back
    /// reopened it since) or never (`false`).
    pub signed_off: Option<bool>,
    /// Had a look-back with any of these results (none: no look-back filter), in
    /// `[event_from, event_to)` when those are set.
    pub look_back: Vec<LookBack>,
    /// The look-back happened at or after this instant.
    pub event_from: Option<Timestamp>,
    /// The look-back happened before this instant.
    pub event_to: Option<Timestamp>,
    /// Order.
    pub sort: ProblemSort,
    /// Descending instead of ascending.
    pub desc: bool,
    /// Rows per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// A handling unit (承办单位) of a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRef {
    /// The org unit's id.
    pub id: String,
    /// Its name (empty when the directory does not know it).
    pub name: String,
}

/// One row of the problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemListRow {
    /// Problem id.
    pub id: String,
    /// Enterprise id.
    pub enterprise: String,
    /// Enterprise name (empty when its profile is not stored).
    pub enterprise_name: String,
    /// The enterprise's town.
    pub town: Option<String>,
    /// Workflow state.
    pub state: ProblemState,
    /// Category code.
    pub category: String,
    /// Effective tier.
    pub tier: String,
    /// Source code.
    pub source: String,
    /// Effective deadline, ms.
    pub deadline: i64,
    /// Past the deadline while awaiting its result.
    pub overdue: bool,
    /// Whole days past the deadline.
    pub days_overdue: i64,
    /// Red/green/black flag at `now`.
    pub flag: Flag,
    /// Owner's user id.
    pub owner: String,
    /// Owner's name (empty when unknown).
    pub owner_name: String,
    /// Handling units.
    pub handling_units: Vec<UnitRef>,
    /// Creation time, ms.
    pub created_at: i64,
    /// Rating level 1–5, if rated.
    pub rating: Option<u8>,
    /// Its history's verdict (`store::history`): intact, broken, or `None` not yet checked.
    pub history_intact: Option<bool>,
    /// What is broken in its history, if it is.
    pub history_broken: Option<String>,
}

/// One page of the problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemPage {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Rows asked for.
    pub limit: u32,
    /// This page.
    pub rows: Vec<ProblemListRow>,
}

/// An enterprise's profile as stored in the query tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnterpriseProfile {
    /// Id.
    pub id: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Town.
    pub town: String,
    /// Industry.
    pub industry: String,
    /// Size code.
    pub size: String,
    /// A key enterprise (monitored).
    pub key_enterprise: bool,
}

/// One entry of an enterprise's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// When, ms: the device's claim bounded by the server's receipt (`store/projection.rs`),
    /// except progress entries, which keep the device's clock.
    pub at: i64,
    /// `visit`, `problem_created`, `event`, `progress`, `supervision` or `rating`.
    pub kind: String,
    /// The visit or problem this entry belongs to.
    pub record: String,
    /// The problem, for problem entries.
    pub problem: Option<String>,
    /// Who (user id).
    pub by: String,
    /// The action (events), the visit method (visits), the category (new problems).
    pub action: String,
    /// Free text: notes, description, reason, progress text, rating comment.
    pub text: String,
    /// For events: whether replay applied it (false: superseded).
    pub applied: Option<bool>,
}

/// A problem's summary on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineProblem {
    /// Problem id.
    pub id: String,
    /// State.
    pub state: String,
    /// Category.
    pub category: String,
    /// Effective deadline.
    pub deadline: i64,
    /// Creation time.
    pub created_at: i64,
    /// Description.
    pub description: String,
}

/// An enterprise's whole story, as far as the caller's scope reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The profile, when the caller may read it and it is stored.
    pub profile: Option<EnterpriseProfile>,
    /// Problems the caller may read, oldest first.
    pub problems: Vec<TimelineProblem>,
    /// Visits, problems, events, progress, supervision and ratings, in time order.
    pub entries: Vec<TimelineEntry>,
}

/// A record's verdict as the lists and the record's page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryVerdict {
    /// `true`: intact; `false`: broken (see `broken`); `None`: changes came since the last
    /// full check and the audit has not looked yet.
    pub intact: Option<bool>,
    /// What is broken, in English.
    pub broken: Option<String>,
    /// When it was last judged (server time, ms).
    pub checked_at: i64,
    /// When the whole history was last checked (`None`: never).
    pub full_at: Option<i64>,
}
