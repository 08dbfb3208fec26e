//! Resumable uploads on the tus 1.0 protocol (tus.io: core, creation and checksum with
//! sha256), so existing tus clients upload to `/api/uploads`:
//!
//! - `OPTIONS /api/uploads`: the versions, extensions and largest size served;
//! - `POST /api/uploads`: a new upload of `Upload-Length` bytes whose `Upload-Metadata` names
//!   its `sha256` (64 hex digits) and `filetype`; answers 201 with its `Location`. A blob
//!   already stored completes at once (`Upload-Offset` = the length; stored once);
//! - `HEAD /api/uploads/{id}`: its `Upload-Offset`, the bytes durably received;
//! - `PATCH /api/uploads/{id}` (`application/offset+octet-stream`) at `Upload-Offset`: appends;
//!   every byte is fsynced before the 204 (`blobs::uploads`); the wrong offset is a 409 with
//!   the right one. At the last byte the whole is checked against the declared hash and moved
//!   into the blob store; bytes that do not match are discarded (422 `hash_mismatch`).
//!   Whatever the headers suffice to refuse (the wrong offset included) is answered before any
//!   of the body is read, with `Connection: close`: a browser that resends a cut PATCH by
//!   itself on a new connection (Chromium does) stops sending its body at the answer.
//! - One request at a time per upload, the newest first: a `HEAD` or `PATCH` stops the
//!   `PATCH` still in progress on the same upload (a link gone silent, a request the client
//!   gave up on), which keeps and fsyncs what it received and answers its offset
//!   (`BlobService::take_turn`).
//!
//! Authenticated like the rest of `/api`. Refused: a hash no record in the uploader's read
//! scope references (403 `unreferenced`: the server is not anonymous storage), a size over the
//! per-blob limit (413 `too_large`), past the uploader's daily budget (429 `daily_budget`;
//! each creation counts at least `limits::MIN_CHARGE`, so none is free), a
//! type other than a photo's (415). Errors are the API's JSON errors, with `Tus-Resumable`.
//!
//! Written once for both backends: what the database keeps goes through
//! [`crate::db::BlobRecords`] (and the reader's scope through [`crate::db::Directory`]), the
//! files through the [`BlobService`]. On PostgreSQL the files are in the folder every server
//! shares (`serve --blobs DIR`), so an upload started on one server continues on another; one
//! started without that folder answers 503 `no_blob_folder`. While another server holds the
//! upload (a PATCH to it still in progress there) a request waits `limits::TURN_WAIT`, then
//! answers 423 `upload_busy`: the device asks again.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, options};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use shared::model::Timestamp;

use super::error::ErrorBody;
use crate::AppState;
use crate::auth::{AuthError, Authenticated};
use crate::blobs::limits::{ACCEPTED_TYPES, DAY_MS, MIN_CHARGE};
use crate::blobs::uploads::{Appended, is_upload_id};
use crate::blobs::{BlobHash, BlobName, BlobService, Turn, TurnError, may_read};
use crate::db::{Opening, UploadRow};

/// The protocol version spoken.
pub const TUS_VERSION: &str = "1.0.0";

/// The extensions served.
const TUS_EXTENSIONS: &str = "creation,checksum";

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/uploads", options(discover).post(create))
        .route("/uploads/{id}", head(offset).patch(append))
}

/// An upload refused or failed: status, stable code, message, and the offset when it helps
/// the client resume.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    offset: Option<u64>,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
        offset: None,
    }
}

fn internal(error: impl std::fmt::Display) -> Refusal {
    tracing::error!(%error, "upload failed");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server could not store the upload; try again",
    )
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.code,
                message: self.message,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
        if let Some(offset) = self.offset {
            headers.insert("upload-offset", HeaderValue::from(offset));
        }
        response
    }
}

/// The blob folder, or the 503 that says it is missing (PostgreSQL without `--blobs`).
fn folder(state: &AppState) -> Result<&BlobService, Refusal> {
    state.blobs().ok_or_else(|| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::blobs::NO_FOLDER_CODE,
            crate::blobs::NO_FOLDER,
        )
    })
}

/// An upload of the caller as a request finds it: finished (never written again, so no turn
/// is needed), or open with the request's turn on it.
enum Found {
    Finished(UploadRow),
    Open(Turn, UploadRow),
}

/// Upload `id` of the caller: a 404 before any file is touched when it is not theirs; when
/// open, with its turn ([`BlobService::take_turn`]) and as it is once the turn is ours (the
/// request before may have finished or discarded it).
async fn find(state: &AppState, who: &Authenticated, id: &str) -> Result<Found, Refusal> {
    let row = own_upload(state, who, id).await?;
    if row.finished_at.is_some() {
        return Ok(Found::Finished(row));
    }
    let blobs = folder(state)?;
    let turn = blobs.take_turn(id).await.map_err(|e| match e {
        TurnError::Busy => refuse(
            StatusCode::LOCKED,
            "upload_busy",
            "another server is still receiving this upload: ask for its offset again in a moment",
        ),
        TurnError::Io(e) => internal(e),
    })?;
    let row = own_upload(state, who, id).await?;
    Ok(if row.finished_at.is_some() {
        Found::Finished(row)
    } else {
        Found::Open(turn, row)
    })
}

fn missing(id: &str) -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no upload {id}"),
    )
}

/// A tus answer with no body: `status` and these headers, plus `Tus-Resumable`.
fn tus(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    let map = response.headers_mut();
    map.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    map.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.insert(*name, v);
        }
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Requests other than `OPTIONS` must speak our version.
fn check_version(headers: &HeaderMap) -> Result<(), Refusal> {
    match header_str(headers, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(refuse(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            format!("this server speaks tus {TUS_VERSION} (Tus-Resumable)"),
        )),
    }
}

async fn discover(State(state): State<AppState>) -> Result<Response, Refusal> {
    let limits = folder(&state)?.limits;
    Ok(tus(
        StatusCode::NO_CONTENT,
        &[
            ("tus-version", TUS_VERSION.into()),
            ("tus-extension", TUS_EXTENSIONS.into()),
            ("tus-max-size", limits.max_blob_bytes.to_string()),
            ("tus-checksum-algorithm", "sha256".into()),
        ],
    ))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
fn metadata(headers: &HeaderMap) -> Result<Vec<(String, String)>, Refusal> {
    let bad = |m: String| refuse(StatusCode::BAD_REQUEST, "bad_request", m);
    let Some(text) = header_str(headers, "upload-metadata") else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            let bytes = BASE64
                .decode(value.trim())
                .map_err(|_| bad(format!("Upload-Metadata {key}: not base64")))?;
            let value = String::from_utf8(bytes)
                .map_err(|_| bad(format!("Upload-Metadata {key}: not UTF-8")))?;
            Ok((key.to_string(), value))
        })
        .collect()
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, Refusal> {
    header_str(headers, name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("{name} must be a number of bytes"),
            )
        })
}

fn location(id: &str) -> (&'static str, String) {
    ("location", format!("/api/uploads/{id}"))
}

async fn create(
    State(state): State<AppState>,
    who: Authenticated,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    check_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Upload-Defer-Length is not served: give Upload-Length",
        ));
    }
    let length = number(&headers, "upload-length")?;
    if length == 0 {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Upload-Length is 0: there is no file to upload",
        ));
    }
    let blobs = folder(&state)?.clone();
    let limits = blobs.limits;
    if length > limits.max_blob_bytes {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a file may have at most {} bytes; this one has {length}",
                limits.max_blob_bytes
            ),
        ));
    }
    let meta = metadata(&headers)?;
    let get = |key: &str| meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let hash = get("sha256").and_then(BlobHash::parse).ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Upload-Metadata must name the file's sha256 (64 hex digits)",
        )
    })?;
    let filetype = get("filetype").unwrap_or_default().to_string();
    if !ACCEPTED_TYPES.contains(&filetype.as_str()) {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            format!(
                "filetype {filetype:?} is not accepted (one of {})",
                ACCEPTED_TYPES.join(", ")
            ),
        ));
    }
    let stored = {
        let (blobs, hash) = (blobs.clone(), hash.clone());
        tokio::task::spawn_blocking(move || blobs.store.exists(&BlobName::original(&hash)))
            .await
            .map_err(internal)?
            .map_err(internal)?
    };
    let id = crate::auth::token::hex(&rand::random::<[u8; 16]>());
    let db = state.db();
    let now = crate::auth::now();
    if !may_read(db, &who, &hash, now).await.map_err(internal)? {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "unreferenced",
            format!("no record you can read references the file {hash}"),
        ));
    }
    let row = UploadRow {
        id: id.clone(),
        user: who.user.id,
        hash,
        length,
        filetype,
        charged: if stored { 0 } else { length }.max(MIN_CHARGE),
        created_at: now,
        finished_at: stored.then_some(now),
    };
    let since = Timestamp(now.0 - DAY_MS);
    let opening = db
        .blob_records()
        .open_upload(row, since, limits.daily_bytes_per_user)
        .await
        .map_err(internal)?;
    if let Opening::OverBudget { used } = opening {
        return Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "daily_budget",
            format!(
                "you uploaded {used} bytes in the last 24 hours; {} is the most: try again later",
                limits.daily_bytes_per_user
            ),
        ));
    }
    let mut answer = vec![location(&id)];
    if stored {
        answer.push(("upload-offset", length.to_string()));
    }
    Ok(tus(StatusCode::CREATED, &answer))
}

/// Upload `id` of the caller, or a 404 (another person's upload is no more theirs to see than
/// a missing one).
async fn own_upload(state: &AppState, who: &Authenticated, id: &str) -> Result<UploadRow, Refusal> {
    if !is_upload_id(id) {
        return Err(missing(id));
    }
    let row = state
        .db()
        .blob_records()
        .upload(id.to_string())
        .await
        .map_err(internal)?;
    row.filter(|r| r.user == who.user.id)
        .ok_or_else(|| missing(id))
}

/// The upload's offset after settling it: when all its bytes are in, they are verified and
/// moved into the blob store (again, after a crash between the two) and it is finished.
async fn settle(state: &AppState, row: &UploadRow) -> Result<u64, Refusal> {
    if row.finished_at.is_some() {
        return Ok(row.length);
    }
    let blobs: BlobService = folder(state)?.clone();
    let (id, hash) = (row.id.clone(), row.hash.clone());
    let length = row.length;
    let done = tokio::task::spawn_blocking(move || -> Result<Option<u64>, Refusal> {
        let name = BlobName::original(&hash);
        let at = blobs.uploads.offset(&id).map_err(internal)?;
        if at < length {
            // Renamed into the store before a crash kept the row from being finished.
            if at == 0 && blobs.store.exists(&name).map_err(internal)? {
                return Ok(None);
            }
            return Ok(Some(at));
        }
        let got = blobs.uploads.hash(&id).map_err(internal)?;
        if got != hash {
            blobs.uploads.remove(&id).map_err(internal)?;
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "hash_mismatch",
                format!(
                    "the bytes received have SHA-256 {got}, not the {hash} declared: the upload \
                     is discarded; send the file again"
                ),
            ));
        }
        blobs
            .store
            .put(&name, &blobs.uploads.path(&id))
            .map_err(internal)?;
        Ok(None)
    })
    .await
    .map_err(internal)?;
    let (id, records) = (row.id.clone(), state.db().blob_records());
    match done {
        Ok(Some(at)) => Ok(at),
        Ok(None) => {
            records
                .finish_upload(id.clone(), crate::auth::now())
                .await
                .map_err(internal)?;
            // Finished uploads are never written again: their lock is not needed.
            if let Err(error) = folder(state)?.uploads.forget_lock(&id) {
                tracing::warn!(%error, upload = %id, "a finished upload's lock file stays");
            }
            Ok(length)
        }
        Err(refusal) => {
            records.delete_upload(id).await.map_err(internal)?;
            Err(refusal)
        }
    }
}

async fn offset(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    check_version(&headers)?;
    let (at, row) = match find(&state, &who, &id).await? {
        Found::Finished(row) => (row.length, row),
        Found::Open(_turn, row) => (settle(&state, &row).await?, row),
    };
    Ok(tus(
        StatusCode::OK,
        &[
            ("upload-offset", at.to_string()),
            ("upload-length", row.length.to_string()),
        ],
    ))
}

/// `Upload-Checksum: sha256 <base64>`, if given.
fn checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>, Refusal> {
    let Some(value) = header_str(headers, "upload-checksum") else {
        return Ok(None);
    };
    let (algorithm, digest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != "sha256" {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "checksum_algorithm",
            format!("checksum algorithm {algorithm:?} is not served (sha256)"),
        ));
    }
    BASE64
        .decode(digest.trim())
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Upload-Checksum: a SHA-256 digest is 32 bytes in base64",
            )
        })
}

/// `PATCH`. An answer given before the whole body was read (a refusal the headers suffice
/// for, the wrong offset, a request stopped by a newer one) says `Connection: close`: the
/// server reads no more of that body (hyper closes the connection after answering), so the
/// client stops sending it at once and sends its next request on a new connection rather than
/// on this one.
async fn append(
    State(state): State<AppState>,
    who: Result<Authenticated, AuthError>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut whole = false;
    let mut response = match who {
        Err(refused) => refused.into_response(),
        Ok(who) => patch(&state, &who, &id, &headers, body, &mut whole)
            .await
            .unwrap_or_else(IntoResponse::into_response),
    };
    if !whole {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Appends the PATCH's body; sets `whole` once the body has been read to its end. Every check
/// the headers suffice for comes before the body is read.
async fn patch(
    state: &AppState,
    who: &Authenticated,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    whole: &mut bool,
) -> Result<Response, Refusal> {
    check_version(headers)?;
    if header_str(headers, "content-type") != Some("application/offset+octet-stream") {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            "PATCH bodies are application/offset+octet-stream",
        ));
    }
    let offset = number(headers, "upload-offset")?;
    let checksum = checksum(headers)?;
    let (mut turn, row) = match find(state, who, id).await? {
        Found::Open(turn, row) => (turn, row),
        Found::Finished(row) => {
            // Stored already (this upload or the same file before): nothing more to send.
            return Ok(tus(
                StatusCode::NO_CONTENT,
                &[("upload-offset", row.length.to_string())],
            ));
        }
    };
    if let Some(len) = header_str(headers, "content-length").and_then(|v| v.parse::<u64>().ok())
        && offset.saturating_add(len) > row.length
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "too_long",
            format!(
                "{len} bytes at offset {offset} go past the upload's {} bytes",
                row.length
            ),
        ));
    }
    let appended = folder(state)?
        .uploads
        .append(id, offset, row.length, body, checksum, turn.superseded())
        .await
        .map_err(internal)?;
    *whole = matches!(appended, Appended::Done(_) | Appended::ChecksumMismatch(_));
    let at = match appended {
        Appended::Mismatch(at) => {
            return Err(Refusal {
                offset: Some(at),
                ..refuse(
                    StatusCode::CONFLICT,
                    "offset_mismatch",
                    format!("the upload is at offset {at}, not {offset}: continue from {at}"),
                )
            });
        }
        Appended::ChecksumMismatch(at) => {
            return Err(Refusal {
                offset: Some(at),
                ..refuse(
                    StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
                    "checksum_mismatch",
                    "the chunk does not match its Upload-Checksum: it was not kept; send it again",
                )
            });
        }
        Appended::TooLong(at) => {
            settle(state, &row).await?;
            return Err(Refusal {
                offset: Some(at),
                ..refuse(
                    StatusCode::BAD_REQUEST,
                    "too_long",
                    "the body goes past the upload's length",
                )
            });
        }
        Appended::Cut(at) | Appended::Stopped(at) | Appended::Done(at) => at,
    };
    let at = if at == row.length {
        settle(state, &row).await?
    } else {
        at
    };
    Ok(tus(
        StatusCode::NO_CONTENT,
        &[("upload-offset", at.to_string())],
    ))
}
