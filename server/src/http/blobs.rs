//! `GET /api/blobs/{hash}`: a photo (or other file) by its SHA-256, for whoever may read a
//! record that references it (the read scope sync uses; anything else is a 404, like a
//! record). Immutable: `ETag` is the hash, cached for a year; `If-None-Match` answers 304.
//! `?size=thumb` is the server's ~320 px JPEG thumbnail, made on first request and kept in the
//! blob store. [`render_metrics`] is the blob store's part of `/metrics`. The same on both
//! backends (`crate::blobs::may_read`); on PostgreSQL without a blob folder, a 503
//! `no_blob_folder`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use crate::AppState;
use crate::auth::Authenticated;
use crate::blobs::store::write_temp;
use crate::blobs::{BlobHash, BlobName, BlobService, may_read, thumb};

/// How long a browser may keep a blob: a year (its name is its content).
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/blobs/{hash}", get(blob))
}

/// `GET /api/blobs/{hash}` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct BlobQuery {
    /// `thumb` for the thumbnail; absent for the file itself.
    pub size: Option<String>,
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "blob read failed");
    ApiError::Internal
}

/// Whether `If-None-Match` names `etag` (quoted or bare, in a list, or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == etag || t == "*")
}

async fn blob(
    State(state): State<AppState>,
    who: Authenticated,
    ApiPath(hash): ApiPath<String>,
    ApiQuery(query): ApiQuery<BlobQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound(format!("no file {hash}"));
    let thumb = match query.size.as_deref() {
        None => false,
        Some("thumb") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "size must be thumb or absent, not {other:?}"
            )));
        }
    };
    let Some(blobs) = state.blobs().cloned() else {
        return Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ErrorBody {
                error: crate::blobs::NO_FOLDER_CODE,
                message: crate::blobs::NO_FOLDER.into(),
            }),
        )
            .into_response());
    };
    let name = BlobHash::parse(&hash).ok_or_else(missing)?;
    let readable = may_read(state.db(), &who, &name, crate::auth::now())
        .await
        .map_err(internal)?;
    if !readable {
        return Err(missing());
    }
    let etag = if thumb {
        format!("{name}-thumb")
    } else {
        name.to_string()
    };
    let cached = [
        (header::ETAG, format!("\"{etag}\"")),
        (header::CACHE_CONTROL, CACHE_CONTROL.to_string()),
    ];
    if not_modified(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cached).into_response());
    }
    let bytes = tokio::task::spawn_blocking(move || read(&blobs, &name, thumb))
        .await
        .map_err(internal)??;
    let Some(bytes) = bytes else {
        // Referenced by a record the caller reads, not uploaded yet.
        return Ok((
            StatusCode::NOT_FOUND,
            Json(ErrorBody {
                error: "not_uploaded",
                message: "the file has not reached the server yet: it is uploading from the \
                          officer's phone"
                    .into(),
            }),
        )
            .into_response());
    };
    let media = HeaderValue::from_static(thumb::media_type(&bytes));
    let mut response = (cached, Body::from(bytes)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media);
    Ok(response)
}

/// The bytes of `hash` (its thumbnail, made and kept if missing, when `thumb`); `None` when
/// the file is not stored.
fn read(blobs: &BlobService, hash: &BlobHash, thumb: bool) -> Result<Option<Vec<u8>>, ApiError> {
    if !thumb {
        return blobs.store.get(&BlobName::original(hash)).map_err(internal);
    }
    let name = BlobName::thumb(hash);
    if let Some(bytes) = blobs.store.get(&name).map_err(internal)? {
        return Ok(Some(bytes));
    }
    let Some(original) = blobs
        .store
        .get(&BlobName::original(hash))
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let small = thumb::thumbnail(&original)
        .map_err(|e| ApiError::BadRequest(format!("no thumbnail of {hash}: {e}")))?;
    let temp = write_temp(&blobs.store.staging_dir(), &small).map_err(internal)?;
    blobs.store.put(&name, &temp).map_err(internal)?;
    Ok(Some(small))
}

/// The blob store's count and bytes as Prometheus gauges (part of `GET /metrics`).
pub async fn render_metrics(blobs: &BlobService) -> String {
    let blobs = blobs.clone();
    let listed = tokio::task::spawn_blocking(move || blobs.store.list()).await;
    let (count, bytes) = match listed {
        Ok(Ok(list)) => (list.len() as u64, list.iter().map(|(_, n)| n).sum::<u64>()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot list the blob store for /metrics");
            (0, 0)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot list the blob store for /metrics");
            (0, 0)
        }
    };
    format!(
        "# HELP lianxin_blobs Files in the blob store (photos, signatures).\n\
         # TYPE lianxin_blobs gauge\nlianxin_blobs {count}\n\
         # HELP lianxin_blob_bytes Bytes of the files in the blob store.\n\
         # TYPE lianxin_blob_bytes gauge\nlianxin_blob_bytes {bytes}\n"
    )
}
