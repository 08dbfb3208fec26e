//! The org units (组织机构) over HTTP while the server runs (issue 17 item 1), where the
//! command line's writes are refused (`crate::admin::lock`):
//! - `GET /api/admin/org-units`: the tree, depth first, with each unit's depth, parent code
//!   and member count;
//! - `POST /api/admin/org-units` (`{code, name, kind, parent?}`) adds one;
//! - `POST /api/admin/org-units/{code}/rename` (`{name}`) and `…/move` (`{parent}`).
//!
//! The checks and the writes are the command line's ([`crate::admin::org_units`]), each
//! written with its audit entry naming the acting administrator. After a rename or a move the
//! dashboards' shared answers are dropped (breakdowns name units, and the change feed does not
//! move for a directory change), so the next breakdown shows the new name; the directory's
//! `ETag` is its body's hash, so devices fetch the new names at their next refresh.
//!
//! Who may: `shared::workflow::rights::ACCOUNTS` (the administrator), checked before the body
//! is read.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::admin::{admin_only, on_store};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use crate::AppState;
use crate::admin::org_units::{self, NewOrgUnit, TreeRow};
use crate::auth::{Authenticated, now};
use crate::store::OrgUnitEntry;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/org-units", get(list).post(add))
        .route("/admin/org-units/{code}/rename", post(rename))
        .route("/admin/org-units/{code}/move", post(move_to))
}

/// One unit in `GET /api/admin/org-units` and in a change's answer.
#[derive(Debug, Serialize)]
pub struct UnitBody {
    /// Its id.
    pub id: String,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// `zone`, `town` or `department`.
    pub kind: &'static str,
    /// The parent's code; `null` for the zone.
    pub parent: Option<String>,
    /// Its depth in the tree (0: the zone).
    pub depth: usize,
    /// Users who belong to it.
    pub members: u64,
}

impl From<TreeRow> for UnitBody {
    fn from(row: TreeRow) -> Self {
        UnitBody {
            id: row.entry.unit.id.to_string(),
            code: row.entry.code,
            name: row.entry.unit.name,
            kind: row.entry.unit.kind.code(),
            parent: row.parent_code,
            depth: row.depth,
            members: row.members,
        }
    }
}

/// `GET /api/admin/org-units`.
#[derive(Debug, Serialize)]
pub struct UnitsBody {
    /// Every unit, depth first from the zone.
    pub units: Vec<UnitBody>,
}

async fn list(State(state): State<AppState>, auth: Authenticated) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let rows = on_store(&state, |s| org_units::tree(s)).await?;
    Ok(Json(UnitsBody {
        units: rows.into_iter().map(UnitBody::from).collect(),
    })
    .into_response())
}

/// What a change did: the unit as it is now.
#[derive(Debug, Serialize)]
pub struct Changed {
    /// Its code.
    pub code: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl From<OrgUnitEntry> for Changed {
    fn from(e: OrgUnitEntry) -> Self {
        Changed {
            code: e.code,
            id: e.unit.id.to_string(),
            name: e.unit.name,
        }
    }
}

async fn add(
    State(state): State<AppState>,
    auth: Authenticated,
    body: Result<ApiJson<NewOrgUnit>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiJson(new) = body.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let added = on_store(&state, move |s| org_units::add(s, &new, now(), &actor)).await?;
    Ok(Json(Changed::from(added)).into_response())
}

/// `POST /api/admin/org-units/{code}/rename` body.
#[derive(Debug, Deserialize)]
pub struct Rename {
    /// The new name.
    pub name: String,
}

async fn rename(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<Rename>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(code) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(req) = body.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let renamed = on_store(&state, move |s| {
        org_units::rename(s, &code, &req.name, now(), &actor)
    })
    .await?;
    super::dashboard::forget_shared_answers();
    Ok(Json(Changed::from(renamed)).into_response())
}

/// `POST /api/admin/org-units/{code}/move` body.
#[derive(Debug, Deserialize)]
pub struct Move {
    /// The code of the unit it goes under.
    pub parent: String,
}

async fn move_to(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<Move>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(code) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(req) = body.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let moved = on_store(&state, move |s| {
        org_units::move_to(s, &code, &req.parent, now(), &actor)
    })
    .await?;
    super::dashboard::forget_shared_answers();
    Ok(Json(Changed::from(moved)).into_response())
}
