//! `POST /api/login`, `POST /api/refresh`, `GET /api/me` and `POST /api/logout`: sessions of
//! users on their devices (the logic is in [`crate::auth`]).

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::client_addr::ClientAddr;
use crate::AppState;
use crate::auth::session::{DeviceBody, LoginRequest, RefreshRequest, UserBody};
use crate::auth::{self, AuthError, Authenticated, Session, now};

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/me", get(me))
        .route("/logout", post(logout))
}

fn no_store(session: Session) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Json(session))
}

fn malformed(e: &JsonRejection) -> AuthError {
    AuthError::Malformed(format!(
        "the body is not the expected JSON: {}",
        e.body_text()
    ))
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<impl IntoResponse, AuthError> {
    let Json(req) = body.map_err(|e| malformed(&e))?;
    let session = auth::login(state.sync(), state.auth(), req, addr).await?;
    Ok(no_store(session))
}

async fn refresh(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    body: Result<Json<RefreshRequest>, JsonRejection>,
) -> Result<impl IntoResponse, AuthError> {
    let Json(req) = body.map_err(|e| malformed(&e))?;
    let session = auth::refresh(state.sync(), state.auth(), req, addr).await?;
    Ok(no_store(session))
}

/// `GET /api/me`.
#[derive(Debug, Serialize)]
pub struct Me {
    /// Who is logged in.
    pub user: UserBody,
    /// On which device.
    pub device: DeviceBody,
}

async fn me(who: Authenticated) -> Json<Me> {
    Json(Me {
        user: UserBody::from(&who.user),
        device: DeviceBody::from(&who.device),
    })
}

async fn logout(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<StatusCode, AuthError> {
    let device = who.device.id;
    state
        .db()
        .tokens()
        .log_out(device, who.user.login.clone(), now())
        .await?;
    state.auth().end_sessions(device);
    Ok(StatusCode::NO_CONTENT)
}
