//! Supervision (督办) and the officer's to-do (待办): `GET /api/supervision`, the supervision
//! instructions in the caller's read scope with their state (for whoever reads the problem
//! list: `problems::require_list_reader`), read through [`crate::db::Queries`] on either
//! database, and `GET /api/todo` (on either database too), the caller's own to-do
//! counts, computed by `shared::todo::officer_todo` over the problem documents the store holds
//! (read through `Queries::todo_documents`)
//! — the same function, on the same documents, as the phone's home screen.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::doc::{ActorId, ProblemDoc};
use shared::model::{OrgUnitId, Problem, UserId};
use shared::supervision::SupervisionState;
use shared::todo::{Officer, TodoCounts, officer_todo};

use super::error::ApiError;
use super::extract::{ApiQuery, unknown};
use super::problems::require_list_reader;
use crate::AppState;
use crate::api::{MAX_PAGE, SupervisionFilter, SupervisionPage};
use crate::auth::Authenticated;

/// The longest "due soon" window `GET /api/todo` takes, in days.
pub const MAX_TODO_DAYS: u32 = 60;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/supervision", get(list))
        .route("/todo", get(todo))
}

/// `GET /api/supervision` parameters; every one is optional.
#[derive(Debug, Default, Deserialize)]
pub struct SupervisionQuery {
    /// Comma-separated states (`issued,acknowledged,overdue,closed`); absent: all but closed.
    pub state: Option<String>,
    /// Addressed to this person (user id).
    pub to_person: Option<UserId>,
    /// Addressed to this unit (org unit id).
    pub to_unit: Option<OrgUnitId>,
    /// The enterprise's town (org unit id).
    pub town: Option<OrgUnitId>,
    /// Rows per page, 1..=200 (default 50).
    pub limit: Option<u32>,
    /// Rows skipped (default 0).
    pub offset: Option<u64>,
}

impl SupervisionQuery {
    /// Parses the query into a filter, reporting the first invalid parameter.
    pub fn into_filter(self) -> Result<SupervisionFilter, ApiError> {
        let states = match &self.state {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SupervisionState::from_code(s).map_err(|_| unknown("state", s)))
                .collect::<Result<_, _>>()?,
        };
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::BadRequest(format!(
                "limit must be 1..={MAX_PAGE}, not {limit}"
            )));
        }
        Ok(SupervisionFilter {
            states,
            to_person: self.to_person,
            to_unit: self.to_unit,
            town: self.town,
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "supervision or to-do store failure");
    ApiError::Internal
}

async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<SupervisionQuery>,
) -> Result<Json<SupervisionPage>, ApiError> {
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
        .supervision(access.read, filter, now)
        .await
        .map_err(internal)?;
    Ok(Json(page))
}

/// `GET /api/todo` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct TodoQuery {
    /// Days ahead that count as due soon, 1..=60 (default: the district's 临期 window, `Config::due_soon_days`).
    pub days: Option<u32>,
}

/// `GET /api/todo`'s answer.
#[derive(Debug, Serialize)]
pub struct TodoAnswer {
    /// The window used, in days.
    pub days: u32,
    /// The counts (no `refused`: the server never stores a refused change).
    pub counts: TodoCounts,
}

async fn todo(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<TodoQuery>,
) -> Result<Json<TodoAnswer>, ApiError> {
    let days = q
        .days
        .unwrap_or_else(|| state.sync().config().due_soon_days());
    if days == 0 || days > MAX_TODO_DAYS {
        return Err(ApiError::BadRequest(format!(
            "days must be 1..={MAX_TODO_DAYS}, not {days}"
        )));
    }
    let me = Officer {
        user: auth.user.id,
        unit: auth.user.org_unit,
    };
    let db = state.db();
    let now = crate::auth::now();
    let access = db
        .directory()
        .access(auth.user, auth.device, now)
        .await
        .map_err(internal)?;
    let docs = db
        .queries()
        .todo_documents(access.read, me.user, me.unit)
        .await
        .map_err(internal)?;
    let problems = docs
        .iter()
        .map(|bytes| -> Result<Problem, shared::doc::DocError> {
            ProblemDoc::load(bytes, ActorId::from([0u8; 16]))?.read()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    let items = officer_todo(me, &problems, &[], &state.sync().config(), now, days);
    let counts = TodoCounts::of(&items, false);
    Ok(Json(TodoAnswer { days, counts }))
}
