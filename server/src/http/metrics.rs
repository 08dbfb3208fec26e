//! `GET /metrics`: the sync service's Prometheus counters and the blob store's size, for the IT department's monitoring
//! only. Off unless a token is configured (`[server] metrics_token` or
//! `LIANXIN_METRICS_TOKEN`): then a scraper sends it as `Authorization: Bearer <token>`;
//! without it, or with another, the answer is 401, and with none configured, 404.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ErrorBody;
use crate::AppState;
use crate::auth::{Secret, bearer, token};
use crate::store::TokenHash;

/// The shortest token accepted, in characters.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The configured token, kept as its SHA-256 like session tokens ([`token::hash`]); what a
/// comparison's timing could tell is of the hash, not of the token.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(TokenHash);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

impl MetricsToken {
    /// A token from configuration; refused when shorter than [`MIN_TOKEN_CHARS`].
    pub fn new(token: &str) -> Result<MetricsToken, String> {
        let token = token.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "metrics_token must have at least {MIN_TOKEN_CHARS} characters"
            ));
        }
        Ok(MetricsToken(token::hash(&Secret::new(token))))
    }

    /// Whether `presented` is the token.
    fn admits(&self, presented: &str) -> bool {
        token::hash(&Secret::new(presented.trim())) == self.0
    }
}

/// `GET /metrics`: Prometheus text for the configured token's bearer.
pub async fn handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.metrics_token() else {
        return refusal(
            StatusCode::NOT_FOUND,
            "metrics_off",
            "metrics are off: set [server] metrics_token or LIANXIN_METRICS_TOKEN",
        );
    };
    if !bearer(&headers).is_some_and(|p| token.admits(p)) {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send the metrics token as Authorization: Bearer <token>",
        );
    }
    (
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.sync().render_metrics()
            + &match state.blobs() {
                Some(blobs) => super::blobs::render_metrics(blobs).await,
                None => String::new(),
            },
    )
        .into_response()
}

fn refusal(status: StatusCode, error: &'static str, message: &str) -> Response {
    let body = ErrorBody {
        error,
        message: message.to_string(),
    };
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_token_is_refused_and_only_the_configured_one_is_admitted() {
        assert!(MetricsToken::new("short").is_err());
        let token = MetricsToken::new("a long enough metrics token").expect("long enough");
        assert!(token.admits("a long enough metrics token"));
        assert!(!token.admits("a long enough metrics tokeN"));
        assert!(!token.admits(""));
    }
}
