//! Enterprise profiles over HTTP for the administrator (issue 17 item 1), what `lianxin-server
//! enterprises list|show|edit|merge` does while the server runs:
//! - `GET /api/admin/enterprises?q&duplicates&merged&offset&limit`: profiles by name, each with
//!   how many other profiles share its credit code (merge candidates);
//! - `GET /api/admin/enterprises/{id}`: one profile read from its document (contacts with their
//!   ids, position with its accuracy, merges);
//! - `POST /api/admin/enterprises/{id}/edit` (`EnterpriseEdit`): the fields given are set,
//!   `contacts` is the whole list;
//! - `POST /api/admin/enterprises/{id}/merge` (`{absorb}`): the profile `absorb` goes into
//!   `{id}` ([`crate::admin::enterprises`]).
//!
//! Edits and merges run on the server's writer through the sync engine's commit path with their
//! audit entry, as the acting administrator; the event streams are told the feed moved, so
//! online phones fetch the change at once. Who may: `shared::workflow::rights::ACCOUNTS`,
//! checked before the body is read.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::sync::server::ServerStore as _;

use super::admin::{admin_only, on_reader, on_store};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::admin::enterprises::{self, Acting, EnterpriseEdit};
use crate::auth::{Authenticated, now};
use crate::store::{EnterpriseQuery, EnterpriseRow};

/// Profiles in a page when the query names no limit.
const DEFAULT_PAGE: u32 = 100;
/// Most profiles in a page: the API's one page size.
const MAX_PAGE: u32 = crate::api::MAX_PAGE;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/enterprises", get(list))
        .route("/admin/enterprises/{id}", get(show))
        .route("/admin/enterprises/{id}/edit", post(edit))
        .route("/admin/enterprises/{id}/merge", post(merge))
}

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Text in the name, credit code or address.
    pub q: Option<String>,
    /// Only profiles whose credit code another shares.
    pub duplicates: Option<bool>,
    /// Also profiles merged into another.
    pub merged: Option<bool>,
    /// Profiles skipped.
    pub offset: Option<u64>,
    /// Profiles in the page (1 to [`MAX_PAGE`]).
    pub limit: Option<u32>,
}

/// `GET /api/admin/enterprises`' answer.
#[derive(Debug, Serialize)]
pub struct EnterprisePage {
    /// The profiles, by name.
    pub rows: Vec<EnterpriseRow>,
    /// Whether more follow (ask with `offset` + `limit`).
    pub more: bool,
}

/// A merge's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The id of the profile merged into the one in the path.
    pub absorb: String,
}

fn acting(auth: &Authenticated) -> Acting {
    Acting {
        login: auth.user.login.clone(),
        user: Some(auth.user.id),
    }
}

async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    query: Result<ApiQuery<ListQuery>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiQuery(query) = query.map_err(IntoResponse::into_response)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit is 1 to {MAX_PAGE}")).into_response());
    }
    let q = query.q.unwrap_or_default();
    if q.chars().count() > 100 {
        return Err(ApiError::BadRequest("q: at most 100 characters".into()).into_response());
    }
    let asked = EnterpriseQuery {
        q,
        duplicates: query.duplicates.unwrap_or(false),
        merged: query.merged.unwrap_or(false),
        offset: u32::try_from(query.offset.unwrap_or(0)).unwrap_or(u32::MAX),
        // One more than the page tells whether more follow.
        limit: limit + 1,
    };
    let mut rows = on_reader(&state, move |s| Ok(s.admin_enterprises(&asked)?)).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(EnterprisePage { rows, more }).into_response())
}

async fn show(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(id) = path.map_err(IntoResponse::into_response)?;
    let view = on_reader(&state, move |s| {
        enterprises::show(s, enterprises::parse_id(&id)?)
    })
    .await?;
    Ok(Json(view).into_response())
}

async fn edit(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<EnterpriseEdit>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(id) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(change) = body.map_err(IntoResponse::into_response)?;
    let acting = acting(&auth);
    let config = state.sync().config().clone();
    let (view, before, after) = on_store(&state, move |s| {
        let before = s.latest_seq()?;
        let view = enterprises::edit(
            s,
            enterprises::parse_id(&id)?,
            &change,
            &config,
            now(),
            &acting,
        )?;
        Ok((view, before, s.latest_seq()?))
    })
    .await?;
    if after > before {
        state.sync().announce(after);
    }
    Ok(Json(view).into_response())
}

async fn merge(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<MergeBody>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(id) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(body) = body.map_err(IntoResponse::into_response)?;
    let acting = acting(&auth);
    let config = state.sync().config().clone();
    let (report, before, after) = on_store(&state, move |s| {
        let before = s.latest_seq()?;
        let report = enterprises::merge(
            s,
            enterprises::parse_id(&id)?,
            enterprises::parse_id(&body.absorb)?,
            &config,
            now(),
            &acting,
        )?;
        Ok((report, before, s.latest_seq()?))
    })
    .await?;
    if after > before {
        state.sync().announce(after);
    }
    Ok(Json(report).into_response())
}
