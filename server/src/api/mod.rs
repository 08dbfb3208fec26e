//! The API's types: what `/api` routes answer (KPIs, breakdowns, freshness, bulletins, the
//! problem, visit and supervision lists, timelines, history verdicts, notifications) and the
//! questions they ask the database (units, filters, sorts). One module for the HTTP layer, the
//! OpenAPI document and every storage backend: a backend fills these, it does not define them.

mod bulletins;
mod dashboard;
mod notifications;
mod problems;
mod supervision;
mod visits;

pub use bulletins::{Bulletin, BulletinSummary, RankRow, TITLE_MAX_CHARS};
pub use dashboard::{
    Breakdown, BreakdownQuery, BreakdownRow, ChannelCount, DeviceFreshness, Kpis, OfficerFreshness,
    RatedByChannel, Unit,
};
pub use notifications::Notification;
pub use problems::{
    EnterpriseProfile, HistoryVerdict, LookBack, MAX_PAGE, ProblemFilter, ProblemListRow,
    ProblemPage, ProblemSort, Timeline, TimelineEntry, TimelineProblem, UnitRef,
};
pub use supervision::{Named, SupervisionFilter, SupervisionPage, SupervisionRow};
pub use visits::{PersonRef, VisitFilter, VisitListRow, VisitPage, VisitSignature};
