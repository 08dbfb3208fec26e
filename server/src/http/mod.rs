//! The HTTP surface: [`app`] assembles one router per concern, the site fallback and the layers
//! every response goes through.

pub mod api;
pub mod auth;
pub mod card;
pub mod card_page;
pub mod config;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod health;
pub mod openapi;
pub mod problems;
pub mod security;
pub mod site;

use axum::Router;
use tower_http::trace::TraceLayer;

use crate::AppState;

/// The whole HTTP application, ready to serve; binds nothing, so tests can serve it on any port.
///
/// - `GET /healthz`: liveness and version ([`health`]);
/// - `GET /metrics`: Prometheus counters of the sync endpoint;
/// - `POST /api/login`, `POST /api/refresh`, `GET /api/me`, `POST /api/logout`: sessions
///   ([`auth`]);
/// - `POST /api/sync`, `GET /api/events`: sync and its push channel ([`crate::sync`]), with a
///   bearer token;
/// - `GET /api/dashboard/...`, `/api/bulletins...`: leaders' dashboards ([`dashboard`]);
/// - `GET /api/problems`, `GET /api/enterprises/{id}/timeline`: lists and timelines
///   ([`problems`]);
/// - `/k/{token}...`: the 连心卡's public page, forms, printable card and QR code, and
///   `/api/enterprises/{id}/card...`: the card's link for its officer ([`card`]);
/// - `GET /api/directory`: names of org units and people for display ([`directory`]);
/// - `GET /api/config`: the district's configuration and its version ([`config`]), which
///   every `/api/sync` answer announces in `X-Lianxin-Config`;
/// - `GET /api/openapi.json`: the OpenAPI document of every route above ([`openapi`]);
/// - `/api/...`: the JSON API; unknown paths answer a JSON 404, never the app page ([`api`]);
/// - anything else: the built web client from the site folder, with the app page as the
///   fallback for client-side routes ([`site`]).
///
/// Every response carries the [`security`] headers.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .merge(health::router())
        .route("/metrics", axum::routing::get(crate::sync::metrics_handler))
        .nest(
            "/api",
            crate::sync::router()
                .merge(auth::router())
                .merge(dashboard::router())
                .merge(problems::router())
                .merge(directory::router())
                .merge(config::router())
                .merge(card::router())
                .merge(openapi::router())
                .merge(api::router()),
        )
        .merge(card_page::router())
        .merge(site::router(state.site_dir()))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    security::with_headers(router)
}
