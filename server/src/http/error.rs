//! The error type handlers return: each variant maps to one HTTP status and one stable JSON body
//! `{"error": "<code>", "message": "<text>"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// An error answered to the client as JSON.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing answers at this path or id; the text says what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// The web client has not been built into the site folder yet.
    #[error("client not built: run `cargo xtask build-client`")]
    ClientNotBuilt,
    /// The person's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request's parameters are invalid; the text says which and why.
    #[error("{0}")]
    BadRequest(String),
    /// Parameters each valid alone contradict each other (a period that ends before it
    /// starts); the text says which. Apart from [`ApiError::BadRequest`] so that a client
    /// (and the OpenAPI document's tester) can tell a bad value from a bad combination.
    #[error("{0}")]
    Contradictory(String),
    /// The body is not of a media type the route reads; the text says which it wants.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is over the route's limit.
    #[error("the body is too large")]
    TooLarge,
    /// What this server does not do on PostgreSQL yet (issue 16): the text names it.
    #[error(
        "{0} is not available on PostgreSQL yet: this server runs on PostgreSQL, where it is \
         not built so far; a server on a SQLite file answers it"
    )]
    NotOnPostgres(String),
    /// The server failed; the details are in its log, not in the answer.
    #[error("the server could not answer; try again")]
    Internal,
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ClientNotBuilt => StatusCode::SERVICE_UNAVAILABLE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Contradictory(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotOnPostgres(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code: clients branch on this, never on the message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::ClientNotBuilt => "client_not_built",
            Self::Forbidden(_) => "forbidden",
            Self::BadRequest(_) => "bad_request",
            Self::Contradictory(_) => "contradictory",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::TooLarge => "too_large",
            Self::NotOnPostgres(_) => "not_on_postgres",
            Self::Internal => "internal",
        }
    }

    /// A store's failure as answered: what the database does not answer yet
    /// ([`StoreError::NotYet`], PostgreSQL) is [`ApiError::NotOnPostgres`]; anything else is
    /// logged with `context` and answered [`ApiError::Internal`].
    pub fn from_store(e: &StoreError, context: &str) -> ApiError {
        match e {
            StoreError::NotYet(what) => ApiError::NotOnPostgres((*what).to_string()),
            _ => {
                tracing::error!(error = %e, "{context}");
                ApiError::Internal
            }
        }
    }
}

impl ApiError {
    /// The refusal of a role the rule does not grant, in its Chinese and English words.
    pub fn refused_by(rule: &shared::workflow::rights::RoleRule) -> ApiError {
        ApiError::Forbidden(format!("{} / {}", rule.why.0, rule.why.1))
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
