//! The JSON API under `/api/`. No resources yet: only the catch-all that keeps unknown API paths
//! from falling through to the app page.

use axum::Router;
use axum::extract::OriginalUri;

use super::error::ApiError;
use crate::AppState;

/// Routes of the API, to be nested under `/api`. Resources get their own modules and are
/// merged in here; whatever none of them matches is a JSON 404.
pub fn router() -> Router<AppState> {
    Router::new().fallback(not_found)
}

async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NotFound(format!("no API route for {}", uri.path()))
}
