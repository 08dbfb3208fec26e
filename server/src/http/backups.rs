//! The administrator's backups over HTTP (issue 17 item 1, the server half of the backups
//! screen): `GET /api/admin/backups` lists the verified backups in the `[backup]` directory
//! with the schedule, `POST /api/admin/backups` takes one now and answers when it is done
//! (409 `backup_running` while one is being taken, 409 `backups_off` without a directory).
//! Who may: `shared::workflow::rights::BACKUPS` (the admin). Restoring stays a command run
//! with the server stopped (README, *Backups and restore*).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared::workflow::rights;

use super::error::{ApiError, ErrorBody};
use crate::AppState;
use crate::auth::Authenticated;
use crate::backups::{BackupError, BackupFile};

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/backups", get(list).post(run_now))
}

/// `GET /api/admin/backups`'s answer.
#[derive(Debug, Serialize)]
pub struct BackupList {
    /// The `[backup] directory`; none: backups are off.
    pub directory: Option<String>,
    /// Hours between scheduled backups; 0: only on request.
    pub every_hours: f64,
    /// How many are kept.
    pub keep: usize,
    /// A backup is being taken now.
    pub running: bool,
    /// The verified backups, oldest first.
    pub backups: Vec<BackupFile>,
}

fn admin_only(auth: &Authenticated) -> Result<(), ApiError> {
    if rights::may_manage_backups(auth.user.role) {
        Ok(())
    } else {
        Err(ApiError::refused_by(&rights::BACKUPS))
    }
}

async fn list(State(state): State<AppState>, auth: Authenticated) -> Result<Response, ApiError> {
    admin_only(&auth)?;
    let backups = state.backups().clone();
    let listed = tokio::task::spawn_blocking(move || {
        backups.list().map(|files| {
            let s = backups.settings();
            BackupList {
                directory: s.directory.as_ref().map(|d| d.display().to_string()),
                every_hours: s.every_hours,
                keep: s.keep,
                running: backups.is_running(),
                backups: files,
            }
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|error| {
        tracing::error!(%error, "cannot list the backups");
        ApiError::Internal
    })?;
    Ok(Json(listed).into_response())
}

async fn run_now(State(state): State<AppState>, auth: Authenticated) -> Result<Response, ApiError> {
    admin_only(&auth)?;
    let taken = state
        .backups()
        .run_recorded(state.sync(), auth.user.login.clone())
        .await;
    match taken {
        Ok(file) => Ok(Json(file).into_response()),
        Err(e @ (BackupError::Running | BackupError::Off)) => {
            let code = if matches!(e, BackupError::Running) {
                "backup_running"
            } else {
                "backups_off"
            };
            let body = ErrorBody {
                error: code,
                message: e.to_string(),
            };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
        Err(error) => {
            tracing::error!(%error, "the backup asked for failed");
            Err(ApiError::Internal)
        }
    }
}
