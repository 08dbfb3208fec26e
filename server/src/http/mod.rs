//! The HTTP surface: [`app`] assembles one router per concern, the site fallback and the layers
//! every response goes through.

pub mod account;
pub mod admin;
pub mod admin_audit;
pub mod admin_config;
pub mod admin_directory;
pub mod admin_enterprises;
pub mod admin_org_units;
pub mod api;
pub mod auth;
pub mod backups;
pub mod blobs;
pub mod card;
pub mod card_page;
pub mod client_addr;
pub mod config;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod extract;
pub mod health;
pub mod history;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod openapi_account;
pub mod openapi_admin;
pub mod openapi_enterprises;
pub mod openapi_evidence;
pub mod openapi_org_units;
pub mod openapi_schemas;
pub mod openapi_supervision;
pub mod postgres_gate;
pub mod problems;
pub mod security;
pub mod site;
pub mod supervision;
pub mod uploads;
pub mod visits;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// The whole HTTP application, ready to serve; binds nothing, so tests can serve it on any port.
///
/// - `GET /healthz`: liveness and version ([`health`]);
/// - `GET /metrics`: Prometheus counters of the sync endpoint and the blob store's size, for
///   the configured token only ([`metrics`]);
/// - `POST /api/login`, `POST /api/refresh`, `GET /api/me`, `POST /api/logout`: sessions
///   ([`auth`]);
/// - `POST /api/sync`, `GET /api/events`: sync and its push channel ([`crate::sync`]), with a
///   bearer token;
/// - `GET /api/dashboard/...`, `/api/bulletins...`: leaders' dashboards ([`dashboard`]);
/// - `GET /api/problems`, `GET /api/enterprises/{id}/timeline`: lists and timelines
///   ([`problems`]); `GET /api/visits`: the visit list with check-in checks ([`visits`]);
///   `GET /api/history/{kind}/{id}`: a record's history verdict ([`history`]);
/// - `/k/{token}...`: the 连心卡's public page, forms, printable card and QR code, and
///   `/api/enterprises/{id}/card...`: the card's link for its officer ([`card`]);
/// - `/api/uploads...`: resumable uploads of photos on tus 1.0 ([`uploads`]), and
///   `GET /api/blobs/{hash}`: a photo or its thumbnail for those who may read a record
///   referencing it ([`blobs`]);
/// - `GET /api/directory`: names of org units and people for display ([`directory`]);
/// - `GET /api/config`: the district's configuration and its version ([`config`]), which
///   every `/api/sync` answer announces in `X-Lianxin-Config`;
/// - `GET /api/notifications`, `POST /api/notifications/seen`: the caller's in-app reminders
///   ([`notifications`], [`crate::remind`]);
/// - `/api/admin/users…`, `/api/admin/devices…`, `/api/admin/backups`: the administrator's
///   accounts, devices ([`admin`]) and backups ([`backups`]); `/api/admin/audit…` the audit
///   log ([`admin_audit`]), `/api/admin/config…` the configuration ([`admin_config`]);
/// - `GET /api/openapi.json`: the OpenAPI document of every route above ([`openapi`]);
/// - `/api/...`: the JSON API; unknown paths answer a JSON 404, never the app page ([`api`]);
/// - anything else: the built web client from the site folder, with the app page as the
///   fallback for client-side routes ([`site`]).
///
/// On PostgreSQL, the routes not built there yet answer 503 ([`postgres_gate`]).
///
/// Every response carries the [`security`] headers; every `/api` answer that sets no caching
/// of its own is `Cache-Control: no-store` (records and sessions stay out of shared caches
/// and the browser's disk). Requests are traced (at debug level)
/// with their URI redacted ([`redacted_uri`]).
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .merge(health::router())
        .route("/metrics", axum::routing::get(metrics::handler))
        .nest(
            "/api",
            crate::sync::router()
                .merge(auth::router())
                .merge(account::router())
                .merge(dashboard::router())
                .merge(problems::router())
                .merge(visits::router())
                .merge(history::router())
                .merge(supervision::router())
                .merge(directory::router())
                .merge(config::router())
                .merge(notifications::router())
                .merge(card::router())
                .merge(uploads::router())
                .merge(blobs::router())
                .merge(backups::router())
                .merge(admin::router())
                .merge(admin_directory::router())
                .merge(admin_audit::router())
                .merge(admin_enterprises::router())
                .merge(admin_org_units::router())
                .merge(admin_config::router())
                .merge(openapi::router())
                .merge(api::router())
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                )),
        )
        .merge(card_page::router())
        // On PostgreSQL, what is not built there answers 503 (the site's files are not routes).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            postgres_gate::gate,
        ))
        .merge(site::router(state.site_dir()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state);
    security::with_headers(router)
}

/// The span a request is traced in: method, redacted URI, version.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted_uri(request.uri()),
        version = ?request.version(),
    )
}

/// A URI as logs may show it: a 连心卡's link is a capability (its token is the only key to
/// the enterprise's page), so everything after `/k/` is cut (`/k/…`).
pub fn redacted_uri(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    if path == "/k" || path.starts_with("/k/") {
        "/k/…".to_string()
    } else {
        uri.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_link_is_cut_from_traced_uris_and_other_uris_are_kept() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        for uri in [
            format!("/k/{token}"),
            format!("/k/{token}/p/x/rate?lang=en"),
            format!("/k/{token}/qr.svg"),
        ] {
            let shown = redacted_uri(&uri.parse().expect("a uri"));
            assert_eq!(shown, "/k/…");
        }
        let api = "/api/problems?page=2".parse().expect("a uri");
        assert_eq!(redacted_uri(&api), "/api/problems?page=2");
    }

    /// Where the test's subscriber writes.
    #[derive(Clone, Default)]
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_debug_trace_of_a_card_request_names_no_token() {
        use tower::ServiceExt as _;
        let logs = Capture::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let dir = tempfile::tempdir().expect("tempdir");
        let sync = crate::sync::SyncService::open(
            &dir.path().join("lianxin.db"),
            shared::config::Config::demo(),
        )
        .expect("opens");
        let app = app(AppState::new(
            dir.path().join("site"),
            std::sync::Arc::new(sync),
        ));
        let token = "0123456789abcdef0123456789abcdef01234567";
        let request = axum::http::Request::get(format!("/k/{token}?lang=en"))
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = app.oneshot(request).await.expect("answered");
        assert_eq!(response.status(), axum::http::StatusCode::NOT_FOUND);
        let logs =
            String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|p| p.into_inner())).to_string();
        assert!(logs.contains("uri=/k/…"), "{logs}");
        assert!(!logs.contains(token), "{logs}");
    }
}
