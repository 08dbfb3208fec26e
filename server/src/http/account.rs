//! `/api/account/…`: a user's own account (账号) — changing their password, listing their
//! devices and revoking one of them (a lost phone). The logic is in [`crate::auth::account`]
//! and the store's sessions.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use shared::model::DeviceId;

use super::client_addr::ClientAddr;
use super::error::ApiError;
use crate::AppState;
use crate::auth::account::{PasswordChange, change_password};
use crate::auth::{AuthError, Authenticated, now};
use crate::store::StoreError;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/password", post(password))
        .route("/account/devices", get(devices))
        .route("/account/devices/{id}/revoke", post(revoke))
}

/// A refused password change: the stable error body, with the codes of the policy's broken
/// rules (`too_short`, `same_as_login`, `only_digits`, `same_as_current`) when it is the
/// policy.
#[derive(Debug, Serialize)]
struct PolicyBody {
    error: &'static str,
    message: String,
    failures: Vec<&'static str>,
}

fn refused(e: AuthError) -> Response {
    match e {
        AuthError::Policy(policy) => {
            let body = PolicyBody {
                error: "password_policy",
                message: policy.to_string(),
                failures: policy.0.iter().map(|f| f.code()).collect(),
            };
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        other => other.into_response(),
    }
}

async fn password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    who: Authenticated,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<Response, Response> {
    let Json(req) = body.map_err(|e| {
        AuthError::Malformed(format!(
            "the body is not the expected JSON: {}",
            e.body_text()
        ))
        .into_response()
    })?;
    let session = change_password(state.sync(), state.auth(), &who, req, addr)
        .await
        .map_err(refused)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(session)).into_response())
}

/// One of the caller's devices in `GET /api/account/devices`.
#[derive(Debug, Serialize)]
pub struct OwnDeviceBody {
    /// Device id.
    pub id: String,
    /// Its name, e.g. "王芳的手机".
    pub name: String,
    /// When it was registered, ms since the epoch.
    pub registered_at: i64,
    /// When it last logged in, refreshed or synchronised, ms.
    pub last_seen: i64,
    /// When it last synchronised, ms; `null` if never.
    pub last_sync: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When, ms; `null` if not.
    pub revoked_at: Option<i64>,
    /// Whether it is the device asking.
    pub current: bool,
}

/// `GET /api/account/devices`.
#[derive(Debug, Serialize)]
pub struct OwnDevices {
    /// The caller's devices, most recently seen first.
    pub devices: Vec<OwnDeviceBody>,
}

async fn devices(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<OwnDevices>, ApiError> {
    let user = who.user.id;
    let rows = state
        .db()
        .directory()
        .own_devices(user)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing own devices failed");
            ApiError::Internal
        })?;
    Ok(Json(OwnDevices {
        devices: rows
            .into_iter()
            .map(|d| OwnDeviceBody {
                id: d.device.id.to_string(),
                name: d.device.name,
                registered_at: d.device.registered_at.0,
                last_seen: d.device.last_seen.0,
                last_sync: d.last_sync.map(|t| t.0),
                revoked: d.device.revoked_at.is_some(),
                revoked_at: d.device.revoked_at.map(|t| t.0),
                current: d.device.id == who.device.id,
            })
            .collect(),
    }))
}

async fn revoke(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound("您没有这台设备 / you have no such device".into());
    let device = DeviceId::parse(&id).map_err(|_| not_found())?;
    let user = who.user.id;
    let detail = format!(
        "from device {}{}",
        who.device.id,
        addr.map_or_else(String::new, |a| format!(" at {a}"))
    );
    let revoked = state
        .db()
        .directory()
        .revoke_own_device(user, device, now(), detail)
        .await;
    match revoked {
        Ok(()) => {
            state.auth().end_sessions(device);
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound { .. }) => Err(not_found()),
        Err(e) => {
            tracing::error!(error = %e, "revoking an own device failed");
            Err(ApiError::Internal)
        }
    }
}
