//! Queries and KPIs on PostgreSQL ([`Queries`]): every answer is the statements SQLite runs,
//! written once over `store/sql.rs` (the KPIs `store/kpi.rs`, their breakdowns
//! `store/breakdown.rs`, officer freshness `store/freshness.rs`, the problem, visit and
//! supervision lists `store/problems_query.rs`, `store/visits_query.rs` and
//! `store/supervision_query.rs`, an enterprise's timeline
//! `store/timeline.rs`, history verdicts `store/history.rs`) and run here through [`PgSql`]
//! on a connection of the pool, from a blocking thread. Each call reads one snapshot (a
//! read-only `REPEATABLE READ` transaction): the counts of one answer agree with each other
//! while servers commit.

use std::collections::BTreeSet;
use std::sync::Arc;

use shared::config::{CheckInRules, Config};
use shared::model::{EnterpriseId, OrgUnitId, Timestamp, UserId};
use shared::sync::protocol::DocId;
use shared::sync::validate::Scope;
use tokio::runtime::Handle;
use tokio_postgres::IsolationLevel;

use super::PgDb;
use super::sql::PgSql;
use crate::api::{
    BreakdownQuery, BreakdownRow, HistoryVerdict, Kpis, OfficerFreshness, ProblemFilter,
    ProblemPage, SupervisionFilter, SupervisionPage, Timeline, Unit, VisitFilter, VisitPage,
};
use crate::db::{DbFuture, Queries};
use crate::store::StoreError;
use crate::store::sql::{Sql, Value};

impl PgDb {
    /// Runs `read` over one snapshot of the database, on a blocking thread.
    pub(super) fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> DbFuture<'_, T> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let runtime = Handle::current();
            tokio::task::spawn_blocking(move || {
                let tx = runtime.block_on(
                    client
                        .build_transaction()
                        .isolation_level(IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start(),
                )?;
                let answer = read(&PgSql {
                    client: &tx,
                    runtime: &runtime,
                })?;
                runtime.block_on(tx.commit())?;
                Ok(answer)
            })
            .await
            .unwrap_or(Err(StoreError::Unavailable))
        })
    }
}

impl Queries for PgDb {
    fn feed_position(&self) -> DbFuture<'_, u64> {
        self.read(|db| {
            let seq = db
                .query_one("SELECT value FROM meta WHERE key = 'seq'", &[])?
                .int(0)?;
            crate::store::to_u64(seq, "meta")
        })
    }

    fn kpis(
        &self,
        unit: Unit,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        check_in: CheckInRules,
    ) -> DbFuture<'_, Kpis> {
        self.read(move |db| crate::store::kpis(db, unit, from, to, now, &check_in))
    }

    fn breakdown(
        &self,
        query: BreakdownQuery,
        now: Timestamp,
        config: Arc<Config>,
    ) -> DbFuture<'_, Vec<BreakdownRow>> {
        self.read(move |db| crate::store::breakdown(db, query, now, &config))
    }

    fn officer_freshness(
        &self,
        units: Option<BTreeSet<OrgUnitId>>,
    ) -> DbFuture<'_, Vec<OfficerFreshness>> {
        self.read(move |db| crate::store::officer_freshness(db, units.as_ref()))
    }

    fn problems(
        &self,
        scope: Scope,
        filter: ProblemFilter,
        config: Arc<Config>,
        now: Timestamp,
    ) -> DbFuture<'_, ProblemPage> {
        self.read(move |db| crate::store::list_problems(db, &scope, &filter, &config, now))
    }

    fn visits(
        &self,
        scope: Scope,
        filter: VisitFilter,
        check_in: CheckInRules,
    ) -> DbFuture<'_, VisitPage> {
        self.read(move |db| crate::store::list_visits(db, &scope, &filter, &check_in))
    }

    fn timeline(&self, enterprise: EnterpriseId, scope: Scope) -> DbFuture<'_, Option<Timeline>> {
        self.read(move |db| crate::store::enterprise_timeline(db, enterprise, &scope))
    }

    fn history_verdict(&self, doc: DocId) -> DbFuture<'_, Option<(EnterpriseId, HistoryVerdict)>> {
        self.read(move |db| crate::store::history_verdict(db, &doc))
    }

    fn supervision(
        &self,
        scope: Scope,
        filter: SupervisionFilter,
        now: Timestamp,
    ) -> DbFuture<'_, SupervisionPage> {
        self.read(move |db| crate::store::list_supervision(db, &scope, &filter, now))
    }

    fn todo_documents(
        &self,
        scope: Scope,
        user: UserId,
        unit: OrgUnitId,
    ) -> DbFuture<'_, Vec<Vec<u8>>> {
        self.read(move |db| {
            let ids = crate::store::todo_problems(db, &scope, user, unit)?;
            let mut docs = Vec::with_capacity(ids.len());
            // The snapshot as stored, as the sync store loads it (`sync_store.rs`, `load_doc`).
            for id in ids {
                if let Some(row) = db.query_opt(
                    "SELECT snapshot FROM docs WHERE doc_id = ?",
                    &[Value::Text(id.as_str().to_owned())],
                )? {
                    docs.push(row.blob(0)?);
                }
            }
            Ok(docs)
        })
    }
}
