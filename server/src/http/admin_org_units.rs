//! The org units (组织机构) over HTTP while the server runs (issue 17 item 1), where the
//! command line's writes are refused (`crate::admin::lock`):
//! - `GET /api/admin/org-units`: the tree, depth first, with each unit's depth, parent code
//!   and member count;
//! - `POST /api/admin/org-units` (`{code, name, kind, parent?}`) adds one;
//! - `POST /api/admin/org-units/{code}/rename` (`{name}`) and `…/move` (`{parent}`).
//!
//! Each runs on either database through [`crate::db::Directory`]: the list reads
//! `Directory::listing` (units, and people counted per unit), a change is
//! `Directory::edit_org_unit`, judged by the command line's rules
//! (`crate::store::org_unit_rules`) inside its transaction and written with its audit entry
//! naming the acting administrator. So is the org units' import
//! (`POST /api/admin/imports/org-units`, [`import`], called by `super::admin_directory`): the
//! file checked line by line against the listing ([`crate::admin::check_org_units`]), then
//! `Directory::import_org_units` with its audit entry. After a rename or a move the
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

use super::admin::{Refused, admin_only, on_directory};
use super::admin_directory::Imported;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use crate::AppState;
use crate::admin::org_units::{self, NewOrgUnit, TreeRow};
use crate::admin::{ImportFile, ImportKind, ImportReport, check_org_units};
use crate::auth::token::random_id_bytes;
use crate::auth::{Authenticated, now};
use crate::store::{OrgUnitEdit, OrgUnitEntry};
use shared::model::OrgUnitId;

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
    let (units, users) = on_directory(state.db().directory().listing()).await?;
    let rows = org_units::tree_of(units, &org_units::members_of(&users));
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
    let edit = OrgUnitEdit::Add {
        new,
        id: OrgUnitId::from_random_bytes(random_id_bytes()),
    };
    let added = edit_unit(&state, edit, actor).await?;
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
    let edit = OrgUnitEdit::Rename {
        code,
        name: req.name,
    };
    let renamed = edit_unit(&state, edit, actor).await?;
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
    let edit = OrgUnitEdit::Move {
        code,
        parent: req.parent,
    };
    let moved = edit_unit(&state, edit, actor).await?;
    super::dashboard::forget_shared_answers();
    Ok(Json(Changed::from(moved)).into_response())
}

/// Writes `edit` through [`crate::db::Directory::edit_org_unit`] as `actor`'s.
async fn edit_unit(
    state: &AppState,
    edit: OrgUnitEdit,
    actor: String,
) -> Result<OrgUnitEntry, Response> {
    on_directory(state.db().directory().edit_org_unit(edit, now(), actor)).await
}

/// `POST /api/admin/imports/org-units` on either database: the file checked line by line
/// against the units listed, then stored with the import's audit entry (`subject`) in one
/// transaction. Org units are not documents: the change feed does not move, and no event is
/// sent.
pub(super) async fn import(
    state: &AppState,
    body: &[u8],
    actor: String,
    subject: String,
) -> Result<Response, Response> {
    let refused = |e| Refused(e).into_response();
    let file = ImportFile::sniff(body).map_err(refused)?;
    let directory = state.db().directory();
    let (units, _) = on_directory(directory.listing()).await?;
    let rows = check_org_units(&units, file).map_err(refused)?;
    let imported = rows.len();
    let detail = ImportReport {
        kind: ImportKind::OrgUnits,
        imported,
        present: 0,
        generated: Vec::new(),
    }
    .to_string();
    on_directory(directory.import_org_units(rows, now(), actor, subject, detail)).await?;
    super::dashboard::forget_shared_answers();
    Ok(Json(Imported {
        kind: ImportKind::OrgUnits.code(),
        imported,
        present: 0,
        passwords: Vec::new(),
    })
    .into_response())
}
