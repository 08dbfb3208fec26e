//! The built web client: files from the site folder (precompressed `.br`/`.gz` siblings preferred),
//! the app page for client-side routes, and a clear 503 while the client is not built.

use std::convert::Infallible;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use super::error::ApiError;
use crate::AppState;

/// A router whose fallback serves the site folder `dir`; merge it last, so every path no other
/// route claims ends up here.
pub fn router(dir: &Path) -> Router<AppState> {
    let site = Site::new(dir);
    Router::new().fallback(move |request: Request| {
        let site = site.clone();
        async move { site.serve(request).await }
    })
}

#[derive(Debug, Clone)]
struct Site {
    files: ServeDir,
    index: ServeFile,
}

impl Site {
    fn new(dir: &Path) -> Self {
        Self {
            files: ServeDir::new(dir).precompressed_br().precompressed_gzip(),
            index: ServeFile::new(dir.join("index.html"))
                .precompressed_br()
                .precompressed_gzip(),
        }
    }

    /// A file if there is one at the path; else the app page for a client-side route (a path
    /// whose last segment has no dot, like `/enterprises/123`); else 404. A 503 page or JSON
    /// instead when the site folder has no `index.html`.
    async fn serve(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let file = infallible(
            self.files
                .clone()
                .oneshot(Request::from_parts(parts.clone(), body))
                .await,
        );
        if file.status() != StatusCode::NOT_FOUND {
            return revalidate(file.into_response());
        }

        let index = infallible(
            self.index
                .clone()
                .oneshot(Request::from_parts(parts.clone(), Body::empty()))
                .await,
        );
        if index.status() == StatusCode::NOT_FOUND {
            return client_not_built(&parts);
        }
        if is_client_route(parts.uri.path()) {
            revalidate(index.into_response())
        } else {
            (StatusCode::NOT_FOUND, "not found\n").into_response()
        }
    }
}

fn infallible<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// File names are not content-hashed yet, so browsers must check for a newer copy each time
/// (a cheap 304 when nothing changed). The body depends on `Accept-Encoding` (precompressed
/// siblings), which caches must know.
fn revalidate(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Client-side routes look like `/enterprises/123`; asset paths end in a file name with a dot.
fn is_client_route(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    !last.contains('.')
}

/// A 503 that tells the person what to do: HTML for browsers, JSON for everything else.
fn client_not_built(parts: &request::Parts) -> Response {
    if wants_html(&parts.headers) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CACHE_CONTROL, "no-store")],
            Html(CLIENT_NOT_BUILT_PAGE),
        )
            .into_response()
    } else {
        ApiError::ClientNotBuilt.into_response()
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

const CLIENT_NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lianxin: client not built</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:.1em .3em;border-radius:.2em}</style>
</head>
<body>
<h1>Client not built</h1>
<p>The server is running, but its site folder has no <code>index.html</code>: the web client
has not been built yet.</p>
<p>client not built: run <code>cargo xtask build-client</code> (or <code>cargo xtask run</code>,
which builds the client and starts the server), then reload this page.</p>
</body>
</html>
"#;
