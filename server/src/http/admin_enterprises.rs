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
//! The list, a profile, an edit and the enterprises' import
//! (`POST /api/admin/imports/enterprises`, [`import`]) run on either database through
//! [`crate::db::Enterprises`]: edits and imports are written by the one rule
//! (`crate::admin::enterprises::edited`, `crate::admin::import_enterprises`) and committed
//! through the backend's sync store with their audit entry in one transaction, as the acting
//! administrator; the event streams are told the feed moved, so online phones fetch the change
//! at once. Merges run on SQLite's writer only (503 on PostgreSQL). Who may:
//! `shared::workflow::rights::ACCOUNTS`, checked before the body is read.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::config::Config;
use shared::model::EnterpriseId;
use shared::sync::server::ServerStore as _;

use super::admin::{Refused, admin_only, on_directory, on_store};
use super::admin_directory::Imported;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::admin::accounts::Listing;
use crate::admin::enterprises::{self, Acting, EnterpriseEdit, EnterpriseView};
use crate::admin::import_enterprises::{check_enterprises, credit_codes};
use crate::admin::{AdminError, ImportFile, ImportKind};
use crate::auth::{Authenticated, now};
use crate::store::{EnterpriseQuery, EnterpriseRow, StoreError};

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
    let mut rows = on_directory(state.db().enterprises().admin_enterprises(asked)).await?;
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
    let id = enterprises::parse_id(&id).map_err(refused)?;
    Ok(Json(view(&state, id).await?).into_response())
}

/// Profile `id` as stored now, through [`crate::db::Enterprises`].
async fn view(state: &AppState, id: EnterpriseId) -> Result<EnterpriseView, Response> {
    let stored = on_directory(state.db().enterprises().profile(id)).await?;
    enterprises::found(id, stored)
        .and_then(|stored| enterprises::view_of(id, &stored))
        .map_err(refused)
}

fn refused(e: AdminError) -> Response {
    Refused(e).into_response()
}

/// An edit on either database: the profile read through [`crate::db::Enterprises`], the
/// change made by the one rule ([`enterprises::edited`]) and committed with its audit entry
/// through the backend's sync store.
async fn edit(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<EnterpriseEdit>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(id) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(change) = body.map_err(IntoResponse::into_response)?;
    let id = enterprises::parse_id(&id).map_err(refused)?;
    let db = state.db().enterprises();
    let stored = enterprises::found(id, on_directory(db.profile(id)).await?).map_err(refused)?;
    let now = now();
    if let Some(write) =
        enterprises::edited(id, &stored, &change, now, &acting(&auth)).map_err(refused)?
    {
        let config = (*state.sync().config()).clone();
        let seq = on_directory(db.commit_server_write(write, config, now)).await?;
        state.sync().announce(seq);
    }
    Ok(Json(view(&state, id).await?).into_response())
}

/// How many times an enterprises import is checked again after another import stored one of
/// its credit codes between its check and its commit (each time the code is found present).
const CHECK_AGAIN: usize = 3;

/// `POST /api/admin/imports/enterprises` on either database: the file's credit codes and the
/// org units looked up through [`crate::db::Directory`], every line checked
/// ([`check_enterprises`]), the new profiles' documents committed with the import's audit
/// entry through [`crate::db::Enterprises`] in one transaction. When another import (on any
/// server) stored one of its codes meanwhile, the commit stores nothing and the file is
/// checked again, finding that code present, as it would had it come second.
pub(super) async fn import(
    state: &AppState,
    body: Bytes,
    actor: String,
    subject: String,
) -> Result<Response, Response> {
    let file = ImportFile::sniff(&body).map_err(refused)?;
    let codes = credit_codes(file).map_err(refused)?;
    let directory = state.db().directory();
    let mut again = 0;
    loop {
        let enterprises = on_directory(directory.enterprises_by_credit_code(codes.clone())).await?;
        let (units, _) = on_directory(directory.listing()).await?;
        let facts = Listing {
            units,
            users: Vec::new(),
            enterprises,
        };
        let checked = check_enterprises(&facts, file).map_err(refused)?;
        let now = now();
        let write = checked.write(now, &actor, &subject).map_err(refused)?;
        let committed = state
            .db()
            .enterprises()
            .commit_server_write(write, Config::default(), now)
            .await;
        match committed {
            Ok(seq) => {
                if !checked.new.is_empty() {
                    state.sync().announce(seq);
                }
                return Ok(Json(Imported {
                    kind: ImportKind::Enterprises.code(),
                    imported: checked.new.len(),
                    present: checked.present,
                    passwords: Vec::new(),
                })
                .into_response());
            }
            Err(StoreError::Duplicate { .. }) if again < CHECK_AGAIN => again += 1,
            Err(e) => return Err(refused(AdminError::Store(e))),
        }
    }
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
