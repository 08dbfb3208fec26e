//! Every call the client makes to the server.

use js_sys::Reflect;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestCache, RequestInit, Response};

/// How long a request may take before the server counts as unreachable.
const TIMEOUT_MS: u32 = 8_000;

/// What `GET /healthz` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The server's version.
    pub version: String,
}

/// Why a call to the server failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No answer: offline, server down, or timed out.
    Unreachable,
    /// The server answered with a status other than 2xx.
    Status(u16),
    /// The answer was not what this client understands.
    BadBody,
}

/// Asks the server whether it is up.
///
/// # Errors
/// [`ApiError`] when the server cannot be reached or does not say it is ok.
pub async fn health() -> Result<Health, ApiError> {
    let body = get_json("/healthz").await?;
    let field = |name: &str| {
        Reflect::get(&body, &JsValue::from_str(name))
            .ok()
            .and_then(|value| value.as_string())
    };
    if field("status").as_deref() != Some("ok") {
        return Err(ApiError::BadBody);
    }
    let version = field("version").ok_or(ApiError::BadBody)?;
    Ok(Health { version })
}

async fn get_json(path: &str) -> Result<JsValue, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Unreachable)?;
    let init = RequestInit::new();
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));

    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| ApiError::Unreachable)?;
    let response: Response = response.dyn_into().map_err(|_| ApiError::BadBody)?;
    if !response.ok() {
        return Err(ApiError::Status(response.status()));
    }
    let json = response.json().map_err(|_| ApiError::BadBody)?;
    JsFuture::from(json).await.map_err(|_| ApiError::BadBody)
}
