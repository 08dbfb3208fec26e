//! The server's sync driver: the tokio side of the sans-IO engine. `POST /api/sync` takes a
//! binary request, runs `shared::sync::server::handle_sync` on a blocking thread against the
//! SQLite store, and answers only after the store's commit is durable. `GET /api/events` is the
//! push channel (server-sent events) telling online devices and browsers that changes wait.

pub mod metrics;

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use shared::config::Config;
use shared::model::{DeviceId, Timestamp};
use shared::sync::protocol::{self, Outcome, WireError};
use shared::sync::server::{SyncContext, handle_sync};
use shared::sync::validate::Scope;
use tokio::sync::broadcast;

use crate::AppState;
use crate::http::error::ErrorBody;
use crate::store::{SqliteStore, StoreError};
use metrics::Metrics;

/// Largest sync request body accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// Largest single document accepted, in bytes.
pub const MAX_DOC_BYTES: u32 = 2 * 1024 * 1024;

/// The sync service: the store, the configuration, the push channel and the counters.
pub struct SyncService {
    store: Mutex<SqliteStore>,
    config: Config,
    changes: broadcast::Sender<u64>,
    /// Request counters and latency, for `/metrics`.
    pub metrics: Metrics,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService").finish_non_exhaustive()
    }
}

/// Why a sync request was answered with an error status.
#[derive(Debug, thiserror::Error)]
pub enum SyncApiError {
    /// The body is not a sync message of a version we speak, or is corrupt.
    #[error("{0}")]
    Wire(#[from] WireError),
    /// The request names no valid device.
    #[error("the X-Lianxin-Device header must hold the device id")]
    NoDevice,
    /// The body is larger than the server accepts.
    #[error(
        "the request is larger than {MAX_REQUEST_BYTES} bytes: send fewer documents per request"
    )]
    TooLarge,
    /// The store failed; nothing was acknowledged.
    #[error("the server could not store the changes; nothing was acknowledged, try again")]
    Store,
}

impl IntoResponse for SyncApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            SyncApiError::Wire(WireError::Version { .. }) => {
                (StatusCode::BAD_REQUEST, "protocol_version")
            }
            SyncApiError::Wire(_) => (StatusCode::BAD_REQUEST, "malformed"),
            SyncApiError::NoDevice => (StatusCode::BAD_REQUEST, "no_device"),
            SyncApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            SyncApiError::Store => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        };
        (
            status,
            axum::Json(ErrorBody {
                error: code,
                message: self.to_string(),
            }),
        )
            .into_response()
    }
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

impl SyncService {
    /// Opens (or creates) the database file and the service around it.
    pub fn open(db: &Path, config: Config) -> Result<SyncService, StoreError> {
        let store = SqliteStore::open(db)?;
        let (changes, _) = broadcast::channel(64);
        Ok(SyncService {
            store: Mutex::new(store),
            config,
            changes,
            metrics: Metrics::default(),
        })
    }

    /// Runs `f` with the store on a blocking thread.
    pub async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SqliteStore) -> T + Send + 'static,
    ) -> Option<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = this
                .store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut store)
        })
        .await
        .ok()
    }

    /// Handles one encoded sync request from `device`; returns the encoded response.
    pub async fn sync(
        self: &Arc<Self>,
        device: DeviceId,
        body: Bytes,
    ) -> Result<Vec<u8>, SyncApiError> {
        let request: protocol::SyncRequest = protocol::decode(&body)?;
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut store = this
                .store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let before = shared::sync::server::ServerStore::latest_seq(&mut *store).ok();
            let ctx = SyncContext {
                device,
                read: &Scope::All,
                write: &Scope::All,
                config: &this.config,
                now: now(),
                max_doc_bytes: MAX_DOC_BYTES,
                authorship: None,
            };
            let response = handle_sync(&mut *store, &ctx, &request);
            let after = shared::sync::server::ServerStore::latest_seq(&mut *store).ok();
            (response, before, after)
        })
        .await
        .map_err(|_| SyncApiError::Store)?;
        let (response, before, after) = result;
        let response = response.map_err(|e| {
            tracing::error!(error = %e, "sync store failure");
            SyncApiError::Store
        })?;
        let accepted = response
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Accepted { .. }))
            .count();
        let refused = response
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Refused(_)))
            .count();
        self.metrics.record_docs(accepted as u64, refused as u64);
        for r in &response.results {
            if let Outcome::Refused(reason) = &r.outcome {
                tracing::info!(doc = %r.doc, %reason, "document refused");
            }
        }
        if let (Some(b), Some(a)) = (before, after)
            && a > b
        {
            let _ = self.changes.send(a);
        }
        Ok(protocol::encode(&response))
    }

    /// A receiver of "changes committed up to seq" notices.
    pub fn subscribe(&self) -> broadcast::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// Routes of the sync API, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sync", post(sync_handler))
        .route("/events", get(events_handler))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

async fn sync_handler(
    State(service): State<Arc<SyncService>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = Instant::now();
    let result = async {
        let body = body.map_err(|_| SyncApiError::TooLarge)?;
        service.metrics.bytes_in(body.len() as u64);
        let device = headers
            .get("x-lianxin-device")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DeviceId::parse(v).ok())
            .ok_or(SyncApiError::NoDevice)?;
        service.sync(device, body).await
    }
    .await;
    let response = match result {
        Ok(bytes) => {
            service.metrics.bytes_out(bytes.len() as u64);
            (
                [(header::CONTENT_TYPE, "application/x-lianxin-sync")],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            service.metrics.error();
            e.into_response()
        }
    };
    service.metrics.observe(started.elapsed());
    response
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics_handler(State(service): State<Arc<SyncService>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        service.metrics.render(),
    )
}

async fn events_handler(
    State(service): State<Arc<SyncService>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = service.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(seq) => {
                    return Some((
                        Ok(Event::default().event("changed").data(seq.to_string())),
                        rx,
                    ));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}
