//! Security headers put on every response, whatever produced it. The Content-Security-Policy
//! is the app's unless the response brings its own (the 连心卡's pages,
//! [`super::card_page::CARD_CSP`]); the other headers are the same everywhere.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy: only our own origin, plus what the wasm app needs
/// (`'wasm-unsafe-eval'` to compile WebAssembly, inline styles set by the UI, `data:` images,
/// `blob:` images: photos shown from the device's store or fetched with the token).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                       style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'";

/// Wraps `router` so every response, including fallbacks and errors, carries the security
/// headers; the app's CSP only where a response has none of its own.
pub fn with_headers(router: Router) -> Router {
    let headers = [
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        (X_FRAME_OPTIONS, "DENY"),
    ];
    let router = headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ))
    });
    router.layer(SetResponseHeaderLayer::if_not_present(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
}
