//! Queries and KPIs: the read side leaders, supervisors and handlers see — campaign KPIs and
//! their breakdowns, data freshness, the problem, visit and supervision lists, an enterprise's
//! timeline, a record's history verdict and the problem documents an officer's to-do is
//! computed from. Each answer is limited to the read scope the caller passes in
//! (the caller computes it, [`super::Directory::access`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use shared::config::{CheckInRules, Config};
use shared::model::{EnterpriseId, OrgUnitId, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;

use super::DbFuture;
use crate::api::{
    BreakdownQuery, BreakdownRow, HistoryVerdict, Kpis, OfficerFreshness, ProblemFilter,
    ProblemPage, SupervisionFilter, SupervisionPage, Timeline, Unit, VisitFilter, VisitPage,
};

/// What the HTTP layer reads from the query tables.
pub trait Queries: Send + Sync + std::fmt::Debug {
    /// The change feed's position: answers computed at one position may be shared.
    fn feed_position(&self) -> DbFuture<'_, u64>;

    /// The campaign KPIs of `unit` over `[from, to)` as of `now`.
    fn kpis(
        &self,
        unit: Unit,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        check_in: CheckInRules,
    ) -> DbFuture<'_, Kpis>;

    /// The period's problems grouped for a chart.
    fn breakdown(
        &self,
        query: BreakdownQuery,
        now: Timestamp,
        config: Arc<Config>,
    ) -> DbFuture<'_, Vec<BreakdownRow>>;

    /// Data freshness of every officer in `units` (all of them: `None`).
    fn officer_freshness(
        &self,
        units: Option<BTreeSet<OrgUnitId>>,
    ) -> DbFuture<'_, Vec<OfficerFreshness>>;

    /// A page of the problems in `scope` that `filter` selects.
    fn problems(
        &self,
        scope: Scope,
        filter: ProblemFilter,
        config: Arc<Config>,
        now: Timestamp,
    ) -> DbFuture<'_, ProblemPage>;

    /// A page of the visits in `scope` that `filter` selects.
    fn visits(
        &self,
        scope: Scope,
        filter: VisitFilter,
        check_in: CheckInRules,
    ) -> DbFuture<'_, VisitPage>;

    /// `enterprise`'s timeline, if it is in `scope`.
    fn timeline(&self, enterprise: EnterpriseId, scope: Scope) -> DbFuture<'_, Option<Timeline>>;

    /// The history verdict of `doc` with the enterprise it belongs to, if it has one.
    fn history_verdict(&self, doc: DocId) -> DbFuture<'_, Option<(EnterpriseId, HistoryVerdict)>>;

    /// A page of the supervision instructions (督办) on the problems in `scope` that `filter`
    /// selects, each with its state at `now`.
    fn supervision(
        &self,
        scope: Scope,
        filter: SupervisionFilter,
        now: Timestamp,
    ) -> DbFuture<'_, SupervisionPage>;

    /// The saved documents (their bytes) of the problems in `scope` an officer's to-do can
    /// come from — those `user` owns or holding a supervision instruction addressed to them
    /// or to `unit`, settled ones left out (`store::todo_problems`, the one selection) — by
    /// problem id.
    fn todo_documents(
        &self,
        scope: Scope,
        user: UserId,
        unit: OrgUnitId,
    ) -> DbFuture<'_, Vec<Vec<u8>>>;
}
