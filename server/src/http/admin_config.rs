//! The district configuration for the administrator (配置, issue 17 item 1): the one the
//! server runs with, a check of a new file, and applying it without a restart.
//! - `GET /api/admin/config`: the running district configuration as TOML (what `config show`
//!   prints; the file's `[server]`, `[reminders]` and `[backup]` sections are the server's
//!   own and not shown) with the version devices are told;
//! - `POST /api/admin/config/validate` with a configuration file as the body: every problem
//!   the server would refuse it for at start ([`crate::serve::parse_settings`]), or the version
//!   devices would be told;
//! - `POST /api/admin/config` with a configuration file as the body: validated the same way
//!   (422 with every error; the running configuration stays), then written over the file the
//!   server was started with, recorded in the audit log with both versions and swapped in
//!   ([`crate::live_config`]); devices get it after their next sync. A server started without
//!   `--config` answers 409: nothing would keep the change across a restart.
//!
//! Validating changes nothing, so it is not audited. Who may:
//! `shared::workflow::rights::CONFIGURATION` (the administrator).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use axum::http::StatusCode;
use shared::workflow::rights;

use super::error::ApiError;
use crate::AppState;
use crate::auth::Authenticated;
use crate::live_config::{Applied, ApplyError};
use crate::published_config::PublishedConfig;

/// Refuses everyone the configuration rule does not grant.
fn admin_only(auth: &Authenticated) -> Result<(), ApiError> {
    if rights::may_manage_configuration(auth.user.role) {
        Ok(())
    } else {
        Err(ApiError::refused_by(&rights::CONFIGURATION))
    }
}

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/config", get(current).post(apply))
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
    // One consistent pair: an apply in between cannot mix two versions.
    let running = state.sync().live().running();
    let toml = running.config.to_toml().map_err(|_| ApiError::Internal)?;
    Ok(Json(CurrentConfig {
        version: running.published.version().to_string(),
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

/// The body as text.
fn utf8(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|_| {
        ApiError::BadRequest("配置文件须为 UTF-8 / the configuration file must be UTF-8".into())
    })
}

async fn validate(auth: Authenticated, body: Bytes) -> Result<Response, ApiError> {
    admin_only(&auth)?;
    let text = utf8(&body)?;
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

/// `POST /api/admin/config`'s answer when refused for the file's errors (422) or because the
/// server has no file to keep it in (409).
#[derive(Debug, Serialize)]
pub struct NotApplied {
    /// `invalid` or `no_config_file`.
    pub error: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Every problem found in the file (empty for `no_config_file`).
    pub errors: Vec<String>,
    /// The version still running.
    pub version: String,
}

async fn apply(
    State(state): State<AppState>,
    auth: Authenticated,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin_only(&auth)?;
    let text = utf8(&body)?;
    let sync = state.sync();
    let refused = |status: StatusCode, error: &'static str, errors: Vec<String>, why: String| {
        let body = NotApplied {
            error,
            message: why,
            errors,
            version: sync.published_config().version().to_string(),
        };
        (status, Json(body)).into_response()
    };
    match sync.apply_config(text, &auth.user.login).await {
        Ok(applied) => {
            let Applied { version, .. } = &applied;
            tracing::info!(actor = %auth.user.login, %version, "configuration applied from the admin API");
            Ok(Json(applied).into_response())
        }
        Err(ApplyError::Invalid(errors)) => Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            errors,
            "配置有误，未应用，仍使用原配置 / the configuration has errors and was not applied; \
             the running one stays"
                .into(),
        )),
        Err(e @ ApplyError::NoFile) => Ok(refused(
            StatusCode::CONFLICT,
            "no_config_file",
            Vec::new(),
            format!("服务器启动时未指定配置文件 / {e}"),
        )),
        Err(error) => {
            tracing::error!(%error, "applying the configuration failed");
            Err(ApiError::Internal)
        }
    }
}
