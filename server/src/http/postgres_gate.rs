//! What a server on PostgreSQL answers (issue 16): the routes built on the use-case traits and
//! the PostgreSQL sync store run; every other route answers 503 with
//! [`ApiError::NotOnPostgres`] naming it, before its handler runs, so no handler reaches code
//! that needs SQLite ([`crate::db::Db::write`] and its kin answer nothing there). A route let
//! through whose query is not built on PostgreSQL yet answers the same 503 from
//! [`crate::store::StoreError::NotYet`] ([`ApiError::from_store`]).
//!
//! **Invariant:** on PostgreSQL, a route not in [`ON_POSTGRES`] never runs its handler.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::AppState;

/// The routes a server on PostgreSQL runs (method, path as routed). The web client's pages
/// and files are not routes (the site's fallback) and are always served.
pub const ON_POSTGRES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("POST", "/api/login"),
    ("POST", "/api/refresh"),
    ("POST", "/api/logout"),
    ("GET", "/api/me"),
    ("POST", "/api/sync"),
    ("GET", "/api/events"),
    ("GET", "/api/config"),
    ("GET", "/api/directory"),
    ("POST", "/api/account/password"),
    ("GET", "/api/account/devices"),
    ("GET", "/api/admin/users"),
    ("POST", "/api/admin/users"),
    // All four imports: people, assignments, org units and enterprises.
    ("POST", "/api/admin/imports/{kind}"),
    ("GET", "/api/admin/enterprises"),
    ("GET", "/api/admin/enterprises/{id}"),
    ("POST", "/api/admin/enterprises/{id}/edit"),
    ("POST", "/api/admin/assignments/{enterprise}/end"),
    ("POST", "/api/admin/assignments/{enterprise}/move"),
    ("GET", "/api/admin/org-units"),
    ("POST", "/api/admin/org-units"),
    ("POST", "/api/admin/org-units/{code}/rename"),
    ("POST", "/api/admin/org-units/{code}/move"),
    ("POST", "/api/admin/users/{login}/disable"),
    ("POST", "/api/admin/users/{login}/enable"),
    ("POST", "/api/admin/users/{login}/password"),
    ("GET", "/api/admin/devices"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/audit/export"),
    ("GET", "/api/admin/audit/verify"),
    // Read and checked, not applied: `POST /api/admin/config` writes the server's own file.
    ("GET", "/api/admin/config"),
    ("POST", "/api/admin/config/validate"),
    ("POST", "/api/admin/devices/{id}/revoke"),
    ("POST", "/api/account/devices/{id}/revoke"),
    ("GET", "/api/dashboard/kpis"),
    ("GET", "/api/dashboard/freshness"),
    ("GET", "/api/dashboard/breakdown"),
    ("GET", "/api/problems"),
    ("GET", "/api/supervision"),
    ("GET", "/api/todo"),
    ("GET", "/api/enterprises/{id}/timeline"),
    ("GET", "/api/visits"),
    ("GET", "/api/history/{kind}/{id}"),
    ("GET", "/api/bulletins"),
    ("POST", "/api/bulletins"),
    ("GET", "/api/bulletins/{id}"),
    ("GET", "/api/bulletins/{id}/xlsx"),
    ("GET", "/api/bulletins/{id}/csv"),
    ("GET", "/api/openapi.json"),
    ("OPTIONS", "/api/uploads"),
    ("POST", "/api/uploads"),
    ("HEAD", "/api/uploads/{id}"),
    ("PATCH", "/api/uploads/{id}"),
    ("GET", "/api/blobs/{hash}"),
    ("GET", "/api/notifications"),
    ("POST", "/api/notifications/seen"),
    ("GET", "/api/enterprises/{id}/card"),
    ("POST", "/api/enterprises/{id}/card/rotate"),
    ("POST", "/api/enterprises/{id}/card/revoke"),
    // The 连心卡's public side.
    ("GET", "/k/{token}"),
    ("GET", "/k/{token}/card"),
    ("GET", "/k/{token}/qr.svg"),
    ("POST", "/k/{token}/problems"),
    ("POST", "/k/{token}/p/{problem}/{op}"),
    // Any method: a plain 404 page, nothing stored read.
    ("*", "/k/{token}/{*rest}"),
];

/// Whether a server on PostgreSQL runs `method` on the route `path` (a `HEAD` runs where its
/// own route or the `GET` does; `*` lists a route for every method).
pub fn runs_on_postgres(method: &Method, path: &str) -> bool {
    let listed = |method: &str| ON_POSTGRES.iter().any(|(m, p)| *m == method && *p == path);
    listed(method.as_str()) || listed("*") || (*method == Method::HEAD && listed("GET"))
}

/// The gate: on PostgreSQL, a route not in [`ON_POSTGRES`] answers 503 naming it.
pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.db().is_postgres() {
        let route = request.extensions().get::<MatchedPath>().map_or_else(
            || request.uri().path().to_string(),
            |m| m.as_str().to_string(),
        );
        if !runs_on_postgres(request.method(), &route) {
            return ApiError::NotOnPostgres(format!("{} {route}", request.method()))
                .into_response();
        }
    }
    next.run(request).await
}
