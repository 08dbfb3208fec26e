//! Leaders' read APIs: `GET /api/dashboard/kpis` (campaign KPIs of a period and unit),
//! `GET /api/dashboard/freshness` (last sync and clock skew per officer) and bulletins — `POST /api/bulletins` issues one, `GET /api/bulletins/{id}` reads it, and
//! `GET /api/bulletins/{id}/xlsx|csv` exports it. Leaders and supervisors only; a town's leader
//! sees their town, a zone leader any unit.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::model::{OrgUnitId, OrgUnitKind, Role, Timestamp, User};

use super::error::ApiError;
use crate::AppState;
use crate::auth::{Authenticated, now};
use crate::store::{Bulletin, Kpis, OfficerFreshness, SqliteStore, StoreError, Unit};

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/kpis", get(kpis))
        .route("/dashboard/freshness", get(freshness))
        .route("/bulletins", post(issue))
        .route("/bulletins/{id}", get(read))
        .route("/bulletins/{id}/xlsx", get(xlsx))
        .route("/bulletins/{id}/csv", get(csv))
}

/// `GET /api/dashboard/kpis` parameters: a period in ms and an optional unit.
#[derive(Debug, Deserialize)]
pub struct KpiQuery {
    /// First instant of the period.
    pub from: i64,
    /// First instant after the period.
    pub to: i64,
    /// A town or department; the person's own unit when absent.
    pub unit: Option<OrgUnitId>,
}

/// `POST /api/bulletins` body.
#[derive(Debug, Deserialize)]
pub struct IssueRequest {
    /// Title.
    pub title: String,
    /// First instant of the period.
    pub from: i64,
    /// First instant after the period.
    pub to: i64,
}

fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "dashboard store failure");
    ApiError::Internal
}

fn require_leader(user: &User) -> Result<(), ApiError> {
    match user.role {
        Role::Leader | Role::Supervisor => Ok(()),
        _ => Err(ApiError::Forbidden(
            "dashboards are for leaders and supervisors".into(),
        )),
    }
}

/// The unit a person asks for, if they may see it.
fn resolve_unit(
    store: &SqliteStore,
    user: &User,
    asked: Option<OrgUnitId>,
) -> Result<Unit, ApiError> {
    let own = store
        .org_unit(user.org_unit)
        .map_err(internal)?
        .ok_or_else(|| ApiError::Forbidden("your org unit is unknown".into()))?;
    let target = asked.unwrap_or(user.org_unit);
    let entry = store
        .org_unit(target)
        .map_err(internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no org unit {target}")))?;
    if own.unit.kind != OrgUnitKind::Zone && target != user.org_unit {
        return Err(ApiError::Forbidden(
            "a town's leader sees their own town".into(),
        ));
    }
    Ok(match entry.unit.kind {
        OrgUnitKind::Zone => Unit::Zone,
        OrgUnitKind::Town => Unit::Town(target),
        OrgUnitKind::Department => Unit::Department(target),
    })
}

fn period(from: i64, to: i64) -> Result<(Timestamp, Timestamp), ApiError> {
    if from >= to {
        return Err(ApiError::BadRequest(format!(
            "the period must start before it ends (from {from}, to {to})"
        )));
    }
    Ok((Timestamp(from), Timestamp(to)))
}

async fn kpis(
    State(state): State<AppState>,
    auth: Authenticated,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Kpis>, ApiError> {
    require_leader(&auth.user)?;
    let (from, to) = period(q.from, q.to)?;
    let user = auth.user.clone();
    let result = state
        .sync()
        .with_store(move |s| -> Result<Kpis, ApiError> {
            let unit = resolve_unit(s, &user, q.unit)?;
            s.kpis(unit, from, to, now()).map_err(internal)
        })
        .await
        .ok_or(ApiError::Internal)??;
    Ok(Json(result))
}

/// `GET /api/dashboard/freshness`: data freshness of every officer in the caller's unit (the
/// zone: every officer), or in `unit` when a zone leader asks for one.
async fn freshness(
    State(state): State<AppState>,
    auth: Authenticated,
    Query(q): Query<FreshnessQuery>,
) -> Result<Json<Vec<OfficerFreshness>>, ApiError> {
    require_leader(&auth.user)?;
    let user = auth.user.clone();
    let rows = state
        .sync()
        .with_store(move |s| -> Result<Vec<OfficerFreshness>, ApiError> {
            let unit = resolve_unit(s, &user, q.unit)?;
            let units = match unit {
                Unit::Zone => None,
                Unit::Town(id) | Unit::Department(id) => Some(s.org_subtree(id).map_err(internal)?),
            };
            s.officer_freshness(units.as_ref()).map_err(internal)
        })
        .await
        .ok_or(ApiError::Internal)??;
    Ok(Json(rows))
}

/// `GET /api/dashboard/freshness` parameters.
#[derive(Debug, Deserialize)]
pub struct FreshnessQuery {
    /// A town or department; the person's own unit when absent.
    pub unit: Option<OrgUnitId>,
}

async fn issue(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<IssueRequest>,
) -> Result<Json<Bulletin>, ApiError> {
    if auth.user.role != Role::Leader {
        return Err(ApiError::Forbidden("only a leader issues bulletins".into()));
    }
    let (from, to) = period(req.from, req.to)?;
    let title = req.title.trim().to_string();
    if title.is_empty() {
        return Err(ApiError::BadRequest("a bulletin needs a title".into()));
    }
    let by = auth.user.id;
    let b = state
        .sync()
        .with_store(move |s| {
            s.issue_bulletin(&title, from, to, now(), by)
                .map_err(internal)
        })
        .await
        .ok_or(ApiError::Internal)??;
    Ok(Json(b))
}

async fn load(state: &AppState, auth: &Authenticated, id: i64) -> Result<Bulletin, ApiError> {
    require_leader(&auth.user)?;
    state
        .sync()
        .with_store(move |s| s.bulletin(id).map_err(internal))
        .await
        .ok_or(ApiError::Internal)??
        .ok_or_else(|| ApiError::NotFound(format!("no bulletin {id}")))
}

async fn read(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Bulletin>, ApiError> {
    Ok(Json(load(&state, &auth, id).await?))
}

async fn xlsx(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let b = load(&state, &auth, id).await?;
    let bytes = crate::export::bulletin_xlsx(&b).map_err(|e| {
        tracing::error!(error = %e, "xlsx export failed");
        ApiError::Internal
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bulletin-{id}.xlsx\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

async fn csv(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let b = load(&state, &auth, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bulletin-{id}.csv\""),
            ),
        ],
        crate::export::bulletin_csv(&b),
    )
        .into_response())
}
