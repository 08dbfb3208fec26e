//! The error type handlers return: each variant maps to one HTTP status and one stable JSON body
//! `{"error": "<code>", "message": "<text>"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to the client as JSON.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing answers at this path or id; the text says what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// The web client has not been built into the site folder yet.
    #[error("client not built: run `cargo xtask build-client`")]
    ClientNotBuilt,
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ClientNotBuilt => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A stable machine-readable code: clients branch on this, never on the message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::ClientNotBuilt => "client_not_built",
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// [`ApiError::code`].
    pub error: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
        };
        (self.status(), Json(body)).into_response()
    }
}
