//! The administrator's accounts and devices over HTTP (账号与设备管理, issue 17 item 1, the
//! server half of the admin screens), so IT revokes a lost phone or disables a leaver while the
//! server runs (the command line's writes are refused then, `crate::admin::lock`):
//! - `GET /api/admin/users`, `POST /api/admin/users` (add; the password policy applies),
//!   `POST /api/admin/users/{login}/disable|enable|password`;
//! - `GET /api/admin/devices`, `POST /api/admin/devices/{id}/revoke`;
//! - the directory's imports, `POST /api/admin/imports/{kind}` (`super::admin_directory`).
//!
//! Who may: `shared::workflow::rights::ACCOUNTS` (the admin), checked before the body is
//! read. The checks and the writes are the command line's ([`crate::admin::accounts`], the
//! store's methods), each written with its audit entry naming the acting administrator; a
//! revocation, a disabling or a password reset closes the affected devices' event streams as
//! a logout does ([`crate::auth::AuthService::end_sessions`]). Every route here goes through
//! [`crate::db::Directory`], so each runs on PostgreSQL too: a person added is checked against
//! the directory's facts read through it ([`accounts::Listing`]) and stored with its audit
//! entry by `Directory::add_people`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::model::DeviceId;
use shared::workflow::rights;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use crate::AppState;
use crate::admin::AdminError;
use crate::admin::accounts::{self, NewAccount};
use crate::auth::{Authenticated, Secret, now, password};
use crate::store::{PasswordHash, StoreError};

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(add))
        .route("/admin/users/{login}/disable", post(disable))
        .route("/admin/users/{login}/enable", post(enable))
        .route("/admin/users/{login}/password", post(reset_password))
        .route("/admin/devices", get(devices))
        .route("/admin/devices/{id}/revoke", post(revoke))
}

pub(super) fn admin_only(auth: &Authenticated) -> Result<(), ApiError> {
    if rights::may_manage_accounts(auth.user.role) {
        Ok(())
    } else {
        Err(ApiError::refused_by(&rights::ACCOUNTS))
    }
}

/// A refused administrator's change as the API answers it: a policy failure is a 400
/// `password_policy` with the codes of the rules broken, a taken login a 409 `duplicate`.
#[derive(Debug)]
pub(super) struct Refused(pub(super) AdminError);

/// One bad line of a refused import.
#[derive(Debug, Serialize)]
struct LineBody {
    line: u64,
    message: String,
}

/// The body of a refused import: every bad line, nothing stored.
#[derive(Debug, Serialize)]
struct LinesBody {
    error: &'static str,
    message: String,
    lines: Vec<LineBody>,
}

/// The body of a refused password: the stable error body with the rules' codes.
#[derive(Debug, Serialize)]
struct PolicyBody {
    error: &'static str,
    message: String,
    failures: Vec<&'static str>,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self.0 {
            AdminError::Policy(policy) => {
                let body = PolicyBody {
                    error: "password_policy",
                    message: policy.to_string(),
                    failures: policy.0.iter().map(|f| f.code()).collect(),
                };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            AdminError::Lines(lines) => {
                let body = LinesBody {
                    error: "import_lines",
                    message: format!(
                        "{} 行有误，未导入任何记录 / {} bad line(s); nothing was imported",
                        lines.len(),
                        lines.len()
                    ),
                    lines: lines
                        .into_iter()
                        .map(|l| LineBody {
                            line: l.line,
                            message: l.message,
                        })
                        .collect(),
                };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            AdminError::Invalid(why) | AdminError::Store(StoreError::Invalid(why)) => {
                ApiError::BadRequest(why).into_response()
            }
            AdminError::Store(StoreError::NotFound { what, key }) => {
                ApiError::NotFound(format!("no {what} {key:?}")).into_response()
            }
            AdminError::Store(e @ StoreError::Duplicate { .. }) => {
                let body = ErrorBody {
                    error: "duplicate",
                    message: e.to_string(),
                };
                (StatusCode::CONFLICT, Json(body)).into_response()
            }
            other => {
                tracing::error!(error = %other, "an administrator's change failed");
                ApiError::Internal.into_response()
            }
        }
    }
}

/// Runs `f` on the store, mapping its failure.
pub(super) async fn on_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::store::SqliteStore) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, Response> {
    match state.db().write(f).await {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(Refused(e).into_response()),
        None => Err(ApiError::Internal.into_response()),
    }
}

/// Awaits a use case's call (the directory's, the audit log's), mapping its failure as
/// [`on_store`] does.
pub(super) async fn on_directory<T>(call: crate::db::DbFuture<'_, T>) -> Result<T, Response> {
    call.await
        .map_err(|e| Refused(AdminError::Store(e)).into_response())
}

/// Checks and hashes a new password on a hashing thread.
async fn hashed(
    new: Secret,
    login: String,
    current: Option<PasswordHash>,
) -> Result<PasswordHash, Response> {
    match password::limited(move || accounts::new_password(&new, &login, current.as_ref())).await {
        Ok(Ok(hash)) => Ok(hash),
        Ok(Err(e)) => Err(Refused(e).into_response()),
        Err(password::HashQueueError::Busy) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ErrorBody {
                error: "busy",
                message: "服务器繁忙，请稍后再试 / the server is busy; try again".into(),
            }),
        )
            .into_response()),
        Err(password::HashQueueError::Failed) => Err(ApiError::Internal.into_response()),
    }
}

/// One user in `GET /api/admin/users`.
#[derive(Debug, Serialize)]
pub struct AdminUserBody {
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role code.
    pub role: String,
    /// Their org unit's code.
    pub org_unit: String,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether the login throttle refuses their logins for now (too many failures).
    pub locked_out: bool,
}

/// `GET /api/admin/users`.
#[derive(Debug, Serialize)]
pub struct AdminUsers {
    /// Every user, by login.
    pub users: Vec<AdminUserBody>,
}

async fn users(State(state): State<AppState>, auth: Authenticated) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let (units, users) = on_directory(state.db().directory().listing()).await?;
    let locked = state
        .auth()
        .locked_logins(users.iter().map(|u| u.user.login.as_str()), now())
        .await
        .map_err(|error| {
            tracing::error!(%error, "the login throttle's count could not be read");
            ApiError::Internal.into_response()
        })?;
    let users = users
        .into_iter()
        .map(|u| AdminUserBody {
            org_unit: units
                .iter()
                .find(|o| o.unit.id == u.user.org_unit)
                .map_or_else(String::new, |o| o.code.clone()),
            locked_out: locked.contains(&u.user.login),
            login: u.user.login,
            name: u.user.name,
            role: u.user.role.code().into(),
            disabled: u.disabled,
        })
        .collect();
    Ok(Json(AdminUsers { users }).into_response())
}

/// `POST /api/admin/users` body: the new user and their first password.
#[derive(Debug, Deserialize)]
pub struct AddUser {
    /// The user's fields.
    #[serde(flatten)]
    pub account: NewAccount,
    /// Their first password (the policy applies).
    pub password: Secret,
}

/// What a change did, in its answer.
#[derive(Debug, Serialize)]
pub struct Done {
    /// The login or device changed.
    pub subject: String,
    /// Devices whose sessions ended (revoked, or their tokens revoked).
    pub sessions_ended: usize,
}

async fn add(
    State(state): State<AppState>,
    auth: Authenticated,
    body: Result<ApiJson<AddUser>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiJson(req) = body.map_err(IntoResponse::into_response)?;
    let account = req.account;
    let directory = state.db().directory();
    // The facts the check needs: the org unit named (a login taken is the insert's refusal).
    let unit = on_directory(directory.org_unit_by_code(account.org_unit.clone())).await?;
    let facts = accounts::Listing {
        units: unit.into_iter().collect(),
        ..accounts::Listing::default()
    };
    let checked =
        accounts::check_account(&facts, &account).map_err(|e| Refused(e).into_response())?;
    let hash = hashed(req.password, checked.user.login.clone(), None).await?;
    let actor = auth.user.login.clone();
    let subject = checked.user.login.clone();
    let person = accounts::added(&checked, hash);
    on_directory(directory.add_people(vec![person], now(), actor, None)).await?;
    Ok(Json(Done {
        subject,
        sessions_ended: 0,
    })
    .into_response())
}

fn ended(state: &AppState, devices: &[DeviceId]) {
    for device in devices {
        state.auth().end_sessions(*device);
    }
}

async fn disable(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(login) = path.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let who = login.clone();
    let revoked = on_directory(state.db().directory().disable_user(who, now(), actor)).await?;
    ended(&state, &revoked);
    Ok(Json(Done {
        subject: login,
        sessions_ended: revoked.len(),
    })
    .into_response())
}

async fn enable(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(login) = path.map_err(IntoResponse::into_response)?;
    let actor = auth.user.login.clone();
    let who = login.clone();
    on_directory(state.db().directory().enable_user(who, now(), actor)).await?;
    Ok(Json(Done {
        subject: login,
        sessions_ended: 0,
    })
    .into_response())
}

/// `POST /api/admin/users/{login}/password` body.
#[derive(Debug, Deserialize)]
pub struct ResetPassword {
    /// The new password (the policy applies).
    pub password: Secret,
}

async fn reset_password(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
    body: Result<ApiJson<ResetPassword>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(login) = path.map_err(IntoResponse::into_response)?;
    let ApiJson(req) = body.map_err(IntoResponse::into_response)?;
    let directory = state.db().directory();
    let user = on_directory(directory.user_by_login(login.clone()))
        .await?
        .ok_or_else(|| {
            Refused(AdminError::Store(StoreError::NotFound {
                what: "user",
                key: login.clone(),
            }))
            .into_response()
        })?;
    let hash = hashed(req.password, login.clone(), Some(user.password_hash)).await?;
    let actor = auth.user.login.clone();
    let devices = on_directory(directory.reset_password(login.clone(), hash, now(), actor)).await?;
    ended(&state, &devices);
    Ok(Json(Done {
        subject: login,
        sessions_ended: devices.len(),
    })
    .into_response())
}

/// One device in `GET /api/admin/devices`.
#[derive(Debug, Serialize)]
pub struct AdminDeviceBody {
    /// Device id.
    pub id: String,
    /// Its user's login.
    pub user: String,
    /// Its name, e.g. "王芳的手机".
    pub name: String,
    /// When it was registered, ms.
    pub registered_at: i64,
    /// When it last logged in, refreshed or synchronised, ms.
    pub last_seen: i64,
    /// When it last synchronised, ms; `null` if never.
    pub last_sync: Option<i64>,
    /// Documents it last reported holding unsent; `null`: never reported.
    pub unsent: Option<u64>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When, ms; `null` if not.
    pub revoked_at: Option<i64>,
}

/// `GET /api/admin/devices`.
#[derive(Debug, Serialize)]
pub struct AdminDevices {
    /// Every device, most recently seen first.
    pub devices: Vec<AdminDeviceBody>,
}

async fn devices(State(state): State<AppState>, auth: Authenticated) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let rows = on_directory(state.db().directory().admin_devices()).await?;
    let devices = rows
        .into_iter()
        .map(|d| AdminDeviceBody {
            id: d.device.id.to_string(),
            user: d.login,
            name: d.device.name,
            registered_at: d.device.registered_at.0,
            last_seen: d.device.last_seen.0,
            last_sync: d.last_sync.map(|t| t.0),
            unsent: d.unsent,
            revoked: d.device.revoked_at.is_some(),
            revoked_at: d.device.revoked_at.map(|t| t.0),
        })
        .collect();
    Ok(Json(AdminDevices { devices }).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    path: Result<ApiPath<String>, ApiError>,
) -> Result<Response, Response> {
    admin_only(&auth).map_err(IntoResponse::into_response)?;
    let ApiPath(id) = path.map_err(IntoResponse::into_response)?;
    let device = DeviceId::parse(&id)
        .map_err(|_| ApiError::NotFound(format!("no device {id:?}")).into_response())?;
    let actor = auth.user.login.clone();
    on_directory(state.db().directory().revoke_device(device, now(), actor)).await?;
    ended(&state, &[device]);
    Ok(Json(Done {
        subject: device.to_string(),
        sessions_ended: 1,
    })
    .into_response())
}
