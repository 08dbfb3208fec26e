//! Problem lists and enterprise timelines: `GET /api/problems` (leaders and supervisors see
//! their unit's problems, department handlers their inbox — problems handed to their
//! department) and `GET /api/enterprises/{id}/timeline`. Both are limited to the caller's read
//! scope exactly as sync is (`auth::scope`); what lies outside it answers like a missing record.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shared::model::{EnterpriseId, Flag, OrgUnitId, ProblemSource, ProblemState, Tier, Timestamp};

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, true_or_false, unknown};
use crate::AppState;
use crate::api::{LookBack, MAX_PAGE, ProblemFilter, ProblemPage, ProblemSort, Timeline};
use crate::auth::{Authenticated, reads_lists};
use crate::store::StoreError;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/problems", get(list))
        .route("/enterprises/{id}/timeline", get(timeline))
}

/// `GET /api/problems` parameters; every one is optional.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Comma-separated state codes, e.g. `assigned,accepted`.
    pub state: Option<String>,
    /// `red`, `green` or `black`.
    pub flag: Option<String>,
    /// Town org unit id.
    pub town: Option<OrgUnitId>,
    /// Department org unit id (handling unit).
    pub department: Option<OrgUnitId>,
    /// Category code.
    pub category: Option<String>,
    /// Effective tier code.
    pub tier: Option<String>,
    /// `true` or `false`.
    pub overdue: Option<bool>,
    /// Source code.
    pub source: Option<String>,
    /// Created at or after (ms).
    pub created_from: Option<i64>,
    /// Created before (ms).
    pub created_to: Option<i64>,
    /// `true`: answered (responded or resolved on site); `false`: not yet.
    pub answered: Option<String>,
    /// `true`: first answered by the deadline; `false`: after it (both: answered).
    pub on_time: Option<String>,
    /// `true`: rated by the enterprise; `false`: not rated.
    pub rated: Option<String>,
    /// `true`: rated 3 or better; `false`: rated below 3 (both: rated).
    pub satisfied: Option<String>,
    /// `true`: signed off at least once; `false`: never.
    pub signed_off: Option<String>,
    /// Comma-separated look-back results, `passed` and/or `reopened`: had such a look-back.
    pub look_back: Option<String>,
    /// With `look_back`: the look-back happened at or after (ms).
    pub event_from: Option<i64>,
    /// With `look_back`: the look-back happened before (ms).
    pub event_to: Option<i64>,
    /// `deadline` (default), `created` or `days_overdue`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// Rows per page, 1..=200 (default 50).
    pub limit: Option<u32>,
    /// Rows skipped (default 0).
    pub offset: Option<u64>,
}

fn internal(e: StoreError) -> ApiError {
    ApiError::from_store(&e, "problem query store failure")
}

impl ListQuery {
    /// Parses the query into a filter, reporting the first invalid parameter.
    pub fn into_filter(self) -> Result<ProblemFilter, ApiError> {
        let states = match &self.state {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| ProblemState::from_code(s).map_err(|_| unknown("state", s)))
                .collect::<Result<_, _>>()?,
        };
        let flag = self
            .flag
            .as_deref()
            .map(|f| Flag::from_code(f).map_err(|_| unknown("flag", f)))
            .transpose()?;
        let tier = self
            .tier
            .as_deref()
            .map(|t| Tier::from_code(t).map_err(|_| unknown("tier", t)))
            .transpose()?;
        let source = self
            .source
            .as_deref()
            .map(|s| ProblemSource::from_code(s).map_err(|_| unknown("source", s)))
            .transpose()?;
        let sort = match self.sort.as_deref() {
            None => ProblemSort::default(),
            Some(code) => ProblemSort::from_code(code).ok_or_else(|| unknown("sort", code))?,
        };
        let desc = match self.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(unknown("order", other)),
        };
        let look_back = match &self.look_back {
            None => Vec::new(),
            Some(list) => {
                let mut found: Vec<LookBack> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        LookBack::from_code(s).ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "unknown look_back {s:?} (passed or reopened)"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?;
                found.sort();
                found.dedup();
                found
            }
        };
        if look_back.is_empty() && (self.event_from.is_some() || self.event_to.is_some()) {
            return Err(ApiError::Contradictory(
                "event_from and event_to bound when a look-back happened: they need look_back"
                    .into(),
            ));
        }
        if let (Some(f), Some(t)) = (self.event_from, self.event_to)
            && f > t
        {
            return Err(ApiError::Contradictory(format!(
                "event_from ({f}) is after event_to ({t})"
            )));
        }
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::BadRequest(format!(
                "limit must be 1..={MAX_PAGE}, not {limit}"
            )));
        }
        Ok(ProblemFilter {
            states,
            flag,
            town: self.town,
            department: self.department,
            category: self.category,
            tier,
            overdue: self.overdue,
            source,
            created_from: self.created_from.map(Timestamp),
            created_to: self.created_to.map(Timestamp),
            answered: true_or_false("answered", self.answered.as_deref())?,
            on_time: true_or_false("on_time", self.on_time.as_deref())?,
            rated: true_or_false("rated", self.rated.as_deref())?,
            satisfied: true_or_false("satisfied", self.satisfied.as_deref())?,
            signed_off: true_or_false("signed_off", self.signed_off.as_deref())?,
            look_back,
            event_from: self.event_from.map(Timestamp),
            event_to: self.event_to.map(Timestamp),
            sort,
            desc,
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// Refuses a caller whose role reads no lists (`auth::reads_lists`, for the problem and the
/// visit list alike).
pub(super) fn require_list_reader(auth: &Authenticated) -> Result<(), ApiError> {
    if reads_lists(auth.user.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "lists are for leaders, supervisors and department handlers \
             (列表仅供领导、督查和部门经办人查看)"
                .into(),
        ))
    }
}

async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ProblemPage>, ApiError> {
    require_list_reader(&auth)?;
    let filter = q.into_filter()?;
    let db = state.db();
    let now = crate::auth::now();
    let access = db
        .directory()
        .access(auth.user, auth.device, now)
        .await
        .map_err(internal)?;
    let page = db
        .queries()
        .problems(access.read, filter, state.sync().shared_config(), now)
        .await
        .map_err(internal)?;
    Ok(Json(page))
}

async fn timeline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Timeline>, ApiError> {
    let missing = || ApiError::NotFound(format!("no enterprise {id}"));
    let enterprise = EnterpriseId::parse(&id).map_err(|_| missing())?;
    let db = state.db();
    let access = db
        .directory()
        .access(auth.user, auth.device, crate::auth::now())
        .await
        .map_err(internal)?;
    let found = db
        .queries()
        .timeline(enterprise, access.read)
        .await
        .map_err(internal)?;
    found.map(Json).ok_or_else(missing)
}
