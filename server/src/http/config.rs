//! `GET /api/config`: the district's validated configuration (categories, class labels, tier
//! names, SLA, flag rules, …) for any logged-in person, as JSON that
//! `serde_json::from_str::<shared::config::Config>` reads, or in the binary form when the
//! `Accept` header names `shared::config::wire::MEDIA_TYPE` (the web app's, which carries no
//! JSON decoder), so a phone and a leader's screen judge with the same rules. Its version ([`crate::published_config`]) is the answer's `ETag`
//! (quoted) and its `X-Lianxin-Config` header (bare); every sync answer carries the same
//! header, so a device asks again only when the version it holds is not the one announced.
//! `If-None-Match` with the current version, quoted or bare, answers `304` with no body.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use crate::AppState;
use crate::auth::Authenticated;
use crate::published_config::{CONFIG_HEADER, PublishedConfig};
use shared::config::wire;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/config", get(config))
}

/// Whether an `If-None-Match` value names `published`'s version: a list of entity tags, each
/// quoted, weak (`W/"…"`) or bare, or `*`.
fn matches(if_none_match: &str, published: &PublishedConfig) -> bool {
    if_none_match.split(',').any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag.trim_matches('"') == published.version()
    })
}

async fn config(
    State(state): State<AppState>,
    _who: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let published = state.sync().published_config();
    let tag = HeaderValue::from_str(&published.etag()).map_err(|_| ApiError::Internal)?;
    let version = HeaderValue::from_str(published.version()).map_err(|_| ApiError::Internal)?;
    let meta = [
        (header::ETAG, tag),
        (HeaderName::from_static(CONFIG_HEADER), version),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ),
        (header::VARY, HeaderValue::from_static("accept")),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &published));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, meta).into_response());
    }
    let binary = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(wire::MEDIA_TYPE));
    if binary {
        return Ok((
            meta,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(wire::MEDIA_TYPE),
            )],
            published.binary().to_vec(),
        )
            .into_response());
    }
    Ok((
        meta,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        published.json().to_string(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::config::Config;

    #[test]
    fn if_none_match_names_the_version_quoted_weak_bare_in_a_list_or_as_any() {
        let p = PublishedConfig::new(&Config::default());
        let v = p.version();
        for value in [
            format!("\"{v}\""),
            format!("W/\"{v}\""),
            v.to_string(),
            format!("\"other\", \"{v}\""),
            "*".to_string(),
        ] {
            assert!(matches(&value, &p), "{value}");
        }
        for value in ["\"other\"", "", &v[1..]] {
            assert!(!matches(value, &p), "{value}");
        }
    }
}
