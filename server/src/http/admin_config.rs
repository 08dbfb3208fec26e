//! The district configuration for the administrator (配置, issue 17 item 1): the one the
//! server runs with, and a check of a new file before it is put in place.
//! - `GET /api/admin/config`: the running district configuration as TOML (what `config show`
//!   prints; the file's `[server]`, `[reminders]` and `[backup]` sections are the server's
//!   own and not shown) with the version devices are told;
//! - `POST /api/admin/config/validate` with a configuration file as the body: every problem
//!   the server would refuse it for at start ([`crate::serve::parse_settings`]), or the version
//!   devices would be told.
//!
//! Applying stays a step outside the server: the file is put where `--config` points and the
//! server restarted (it then records `config_applied` in the audit log). A live reload is not
//! offered: the configuration is read at start by the sync service, the reminders, the
//! backups job and the login limits, and swapping it under requests in flight is not clean.
//! Validating changes nothing, so it is not audited. Who may:
//! `shared::workflow::rights::ACCOUNTS` (the administrator).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::admin::admin_only;
use super::error::ApiError;
use crate::AppState;
use crate::auth::Authenticated;
use crate::published_config::PublishedConfig;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/config", get(current))
        .route("/admin/config/validate", post(validate))
}

/// `GET /api/admin/config`'s answer.
#[derive(Debug, Serialize)]
pub struct CurrentConfig {
    /// The version devices are told (`X-Lianxin-Config`).
    pub version: String,
    /// The district configuration as TOML.
    pub toml: String,
}

async fn current(State(state): State<AppState>, auth: Authenticated) -> Result<Response, ApiError> {
    admin_only(&auth)?;
    let toml = state
        .sync()
        .config()
        .to_toml()
        .map_err(|_| ApiError::Internal)?;
    Ok(Json(CurrentConfig {
        version: state.sync().published_config().version().to_string(),
        toml,
    })
    .into_response())
}

/// `POST /api/admin/config/validate`'s answer.
#[derive(Debug, Serialize)]
pub struct Validation {
    /// The file would be accepted.
    pub valid: bool,
    /// The version devices would be told (when valid).
    pub version: Option<String>,
    /// Every problem found (when not).
    pub errors: Vec<String>,
}

async fn validate(auth: Authenticated, body: Bytes) -> Result<Response, ApiError> {
    admin_only(&auth)?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::BadRequest("配置文件须为 UTF-8 / the configuration file must be UTF-8".into())
    })?;
    let answer = match crate::serve::parse_settings(text) {
        Ok((config, _)) => Validation {
            valid: true,
            version: Some(PublishedConfig::new(&config).version().to_string()),
            errors: Vec::new(),
        },
        Err(e) => Validation {
            valid: false,
            version: None,
            errors: e.problems(),
        },
    };
    Ok(Json(answer).into_response())
}
