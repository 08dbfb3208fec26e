//! The directory (org units, enterprises, assignments 包联) over HTTP while the server runs
//! (issue 17 item 1), where the command line's writes are refused (`crate::admin::lock`).
//!
//! Imports: `POST /api/admin/imports/{kind}` with kind `org-units`, `enterprises`,
//! `assignments` or `users` and the file the command line's `… import FILE` reads as the
//! body: CSV (`text/csv`) or an .xlsx workbook (its first sheet, the same columns; told apart
//! by its first bytes, `crate::admin::ImportFile::sniff`); a users import answers the passwords it generated, once
//! ([`crate::admin::import_users`]). It is the
//! command line's import ([`crate::admin::import_audited`]): all or nothing, every bad line
//! answered in a 400 `import_lines`, the import audit-logged as the acting administrator's.
//! It runs on the running server's store handle, so new enterprise profiles (and key
//! enterprises' monitoring documents) enter the change feed the devices sync from, and the
//! event streams are told the feed moved; new assignments change a device's scope, which its
//! next sync follows (re-scoping, [`crate::sync::SyncService::sync`]).
//!
//! Assignments: `POST /api/admin/assignments/{enterprise}/end` ends the enterprise's open
//! assignments, `…/move` (`{to_officer, from?}`) moves it to another officer or leader
//! ([`crate::admin::assignments`]), each audited in its transaction; the officers' phones follow
//! at their next sync, re-scoped: the enterprise's history arrives whole on the new officer's
//! and leaves the old one's.
//!
//! All four imports run on either database: checked against the
//! directory's facts read through [`crate::db::Directory`] (`listing`,
//! `enterprises_by_credit_code`) and stored by its `add_people`, `import_assignments` and
//! `import_org_units` (`super::admin_org_units::import`); so do an enterprise's end and move
//! (`end_assignments`, `move_assignment`, the enterprise and the people named looked up
//! through it), and the enterprises' import (`super::admin_enterprises::import`). On either,
//! an officer's phone that synced before an assignment is imported is
//! re-scoped at its next sync (`store/rescope.rs`): the new enterprise's records reach it
//! whole.
//!
//! Who may: `shared::workflow::rights::ACCOUNTS` (the administrator), checked before the body
//! is read.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::admin::{Refused, admin_only, on_directory};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use crate::AppState;
use crate::admin::accounts::Listing;
use crate::admin::assignments::EnterpriseName;
use crate::admin::import_assignments::{check_assignments, credit_codes};
use crate::admin::{AdminError, ImportFile, ImportKind, ImportReport, assignments, import_users};
use crate::auth::{Authenticated, Secret, now, password};
use crate::store::{StoreError, UserRecord};
use shared::model::EnterpriseId;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/imports/{kind}", post(import))
        .route("/admin/assignments/{enterprise}/end", post(end))
        .route("/admin/assignments/{enterprise}/move", post(move_to))
}

/// What an import stored, in its answer.
#[derive(Debug, Serialize)]
pub struct Imported {
    /// The kind imported.
    pub kind: &'static str,
    /// Rows stored.
    pub imported: usize,
    /// Rows already stored and left as they are (enterprises whose credit code is known).
    pub present: usize,
    /// A users import's generated passwords, told this once and never stored in clear.
    pub passwords: Vec<GeneratedPassword>,
}

/// A password generated for a user the file gave none.
#[derive(Debug, Serialize)]
pub struct GeneratedPassword {
    /// The user's login.
    pub login: String,
    /// Their password.
    pub password: Secret,
}

async fn import(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Bytes,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(code) = path.map_err(IntoResponse::into_response)?;
    let kind = ImportKind::from_code(&code).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no import {code:?}: use org-units, enterprises, assignments or users"
        ))
        .into_response()
    })?;
    // Told apart here, before the store is taken: CSV text or an .xlsx workbook.
    ImportFile::sniff(&body).map_err(|e| Refused(e).into_response())?;
    let actor = auth.user.login.clone();
    let subject = format!("POST /api/admin/imports/{}", kind.code());
    match kind {
        ImportKind::Users => import_users(&state, body, actor, subject).await,
        ImportKind::Assignments => assignments_import(&state, body, actor, subject).await,
        ImportKind::OrgUnits => super::admin_org_units::import(&state, &body, actor, subject).await,
        ImportKind::Enterprises => {
            super::admin_enterprises::import(&state, body, actor, subject).await
        }
    }
}

/// A users import: checked on the store, hashed on a hashing thread with the store free (one
/// argon2 run per user), stored in one transaction with its audit entry.
async fn import_users(
    state: &AppState,
    body: Bytes,
    actor: String,
    subject: String,
) -> Result<Response, Response> {
    let directory = state.db().directory();
    let (units, users) = on_directory(directory.listing()).await?;
    let facts = Listing {
        units,
        users,
        ..Listing::default()
    };
    let file = ImportFile::sniff(&body).map_err(|e| Refused(e).into_response())?;
    let checked =
        import_users::check_users(&facts, file).map_err(|e| Refused(e).into_response())?;
    let hashed = match password::limited(move || import_users::hash_users(checked)).await {
        Ok(Ok(users)) => users,
        Ok(Err(e)) => return Err(Refused(e).into_response()),
        Err(_) => return Err(ApiError::Internal.into_response()),
    };
    let (people, report, detail) = import_users::to_store(hashed, &subject);
    on_directory(directory.add_people(people, now(), actor, Some((subject, detail)))).await?;
    Ok(Json(Imported {
        kind: ImportKind::Users.code(),
        imported: report.imported,
        present: 0,
        passwords: report
            .generated
            .into_iter()
            .map(|(login, password)| GeneratedPassword { login, password })
            .collect(),
    })
    .into_response())
}

/// An assignments import: the file's enterprises looked up by credit code and the people
/// listed, through [`crate::db::Directory`] on either database; every line checked
/// ([`check_assignments`]); all stored with the import's audit entry in
/// one transaction.
async fn assignments_import(
    state: &AppState,
    body: Bytes,
    actor: String,
    subject: String,
) -> Result<Response, Response> {
    let refused = |e| Refused(e).into_response();
    let file = ImportFile::sniff(&body).map_err(refused)?;
    let directory = state.db().directory();
    let codes = credit_codes(file).map_err(refused)?;
    let enterprises = on_directory(directory.enterprises_by_credit_code(codes)).await?;
    let (units, users) = on_directory(directory.listing()).await?;
    let facts = Listing {
        units,
        users,
        enterprises,
    };
    let rows = check_assignments(&facts, file).map_err(refused)?;
    let imported = rows.len();
    let detail = ImportReport {
        kind: ImportKind::Assignments,
        imported,
        present: 0,
        generated: Vec::new(),
    }
    .to_string();
    on_directory(directory.import_assignments(rows, now(), actor, subject, detail)).await?;
    Ok(Json(Imported {
        kind: ImportKind::Assignments.code(),
        imported,
        present: 0,
        passwords: Vec::new(),
    })
    .into_response())
}

/// What an end or a move did, in its answer.
#[derive(Debug, Serialize)]
pub struct Reassigned {
    /// The enterprise's id.
    pub enterprise: String,
    /// Assignments ended.
    pub ended: usize,
    /// Who it is assigned to now (the login moved to; none after an end).
    pub to: Option<String>,
}

/// The enterprise `name` names (its id, or a stored credit code), through
/// [`crate::db::Directory`].
async fn named_enterprise(state: &AppState, name: &str) -> Result<EnterpriseId, Response> {
    match EnterpriseName::parse(name).map_err(|e| Refused(e).into_response())? {
        EnterpriseName::Id(id) => Ok(id),
        EnterpriseName::CreditCode(code) => {
            let found = state
                .db()
                .directory()
                .enterprises_by_credit_code(vec![code.clone()]);
            on_directory(found)
                .await?
                .remove(&code)
                .ok_or_else(|| Refused(assignments::no_enterprise(name)).into_response())
        }
    }
}

/// The user `login` names, through [`crate::db::Directory`], if any.
async fn user_named(state: &AppState, login: &str) -> Result<Option<UserRecord>, Response> {
    on_directory(state.db().directory().user_by_login(login.to_string())).await
}

async fn end(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(name) = path.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let enterprise = named_enterprise(&state, &name).await?;
    let ended = on_directory(
        state
            .db()
            .directory()
            .end_assignments(enterprise, now(), actor),
    )
    .await?;
    Ok(Json(Reassigned {
        enterprise: enterprise.to_string(),
        ended: ended.len(),
        to: None,
    })
    .into_response())
}

/// `POST /api/admin/assignments/{enterprise}/move` body.
#[derive(Debug, Deserialize)]
pub struct MoveTo {
    /// The login of the officer (or leader) it moves to.
    pub to_officer: String,
    /// The login it moves from; needed only when the enterprise is assigned to several.
    #[serde(default)]
    pub from: Option<String>,
}

async fn move_to(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<MoveTo>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(name) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(req) = body.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let enterprise = named_enterprise(&state, &name).await?;
    let found = user_named(&state, &req.to_officer).await?;
    let to = assignments::assignee_of(&req.to_officer, found.as_ref())
        .map_err(|why| Refused(AdminError::Invalid(why)).into_response())?;
    let from = match req.from.as_deref() {
        Some(login) => Some(
            user_named(&state, login)
                .await?
                .ok_or_else(|| {
                    Refused(AdminError::Store(StoreError::NotFound {
                        what: "user",
                        key: login.to_string(),
                    }))
                    .into_response()
                })?
                .user
                .id,
        ),
        None => None,
    };
    let moved = state
        .db()
        .directory()
        .move_assignment(enterprise, from, to, now(), actor);
    on_directory(moved).await?;
    Ok(Json(Reassigned {
        enterprise: enterprise.to_string(),
        ended: 1,
        to: Some(req.to_officer),
    })
    .into_response())
}
