//! `GET /api/notifications`: the caller's in-app reminders not yet seen (earliest due first, at
//! most [`MAX_LISTED`]); `POST /api/notifications/seen` with `{"ids": [...]}` marks those of
//! them seen (another person's ids are ignored). Any logged-in role, on either backend; the
//! outbox is `crate::remind`, stored through [`crate::db::Reminders`].

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::ApiJson;
use crate::AppState;
use crate::api::Notification;
use crate::auth::Authenticated;
use crate::store::StoreError;

/// The most reminders one answer lists.
pub const MAX_LISTED: usize = 100;
/// The most ids one `seen` request may name.
pub const MAX_SEEN: usize = 500;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/seen", post(seen))
}

fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "notifications store failure");
    ApiError::Internal
}

/// The answer of `GET /api/notifications`.
#[derive(Debug, Serialize)]
pub struct Unseen {
    /// The reminders, earliest due first.
    pub notifications: Vec<Notification>,
}

async fn list(State(state): State<AppState>, who: Authenticated) -> Result<Json<Unseen>, ApiError> {
    let user = who.user.id.to_string();
    let notifications = state
        .db()
        .reminders()
        .unseen_notifications(user, MAX_LISTED)
        .await
        .map_err(internal)?;
    Ok(Json(Unseen { notifications }))
}

/// The body of `POST /api/notifications/seen`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenRequest {
    /// Ids from `GET /api/notifications`.
    #[serde(deserialize_with = "super::extract::whole_numbers")]
    pub ids: Vec<i64>,
}

/// The answer of `POST /api/notifications/seen`.
#[derive(Debug, Serialize)]
pub struct SeenAnswer {
    /// How many were marked seen now.
    pub seen: usize,
}

async fn seen(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(body): ApiJson<SeenRequest>,
) -> Result<Json<SeenAnswer>, ApiError> {
    if body.ids.len() > MAX_SEEN {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_SEEN} ids at once"
        )));
    }
    let user = who.user.id.to_string();
    let seen = state
        .db()
        .reminders()
        .mark_notifications_seen(user, body.ids, crate::auth::now())
        .await
        .map_err(internal)?;
    Ok(Json(SeenAnswer { seen }))
}
