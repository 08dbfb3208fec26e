//! Serving: the health check, the built web client from its site folder, the API's JSON 404 and
//! the headers every response carries, checked against the real server over HTTP.

use std::fs;
use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use serde_json::Value;
use server::AppState;
use tempfile::TempDir;
use tests::TestServer;

const APP_PAGE: &str = "<!doctype html><title>fixture app page</title>";
const SCRIPT: &str = "console.log('plain script');";
const SCRIPT_BR: &[u8] = b"pretend brotli bytes";
const SCRIPT_GZ: &[u8] = b"pretend gzip bytes";

/// A site folder like the one `cargo xtask build-client` writes: the app page and one script
/// with precompressed siblings.
fn built_site() -> anyhow::Result<TempDir> {
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("index.html"), APP_PAGE)?;
    fs::write(dir.path().join("app.js"), SCRIPT)?;
    fs::write(dir.path().join("app.js.br"), SCRIPT_BR)?;
    fs::write(dir.path().join("app.js.gz"), SCRIPT_GZ)?;
    Ok(dir)
}

async fn serve(site: &Path) -> anyhow::Result<TestServer> {
    // The database lives as long as the process: tests here only read pages.
    let db = tempfile::tempdir()?.keep();
    TestServer::start(AppState::new(site, tests::sync_service(&db)?)).await
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn healthz_answers_200_json_with_status_ok_and_the_version() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http().get(server.url("/healthz")).send().await?;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await?;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], server::VERSION);
    Ok(())
}

#[tokio::test]
async fn the_root_serves_the_app_page() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http().get(server.url("/")).send().await?;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await?, APP_PAGE);
    Ok(())
}

#[tokio::test]
async fn a_client_side_route_falls_back_to_the_app_page() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http().get(server.url("/enterprises/123")).send().await?;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await?, APP_PAGE);
    Ok(())
}

#[tokio::test]
async fn a_missing_asset_is_a_404_not_the_app_page() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http().get(server.url("/gone.js")).send().await?;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_ne!(response.text().await?, APP_PAGE);
    Ok(())
}

#[tokio::test]
async fn an_unknown_api_path_is_a_404_json_error_not_the_app_page() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    for path in ["/api/nope", "/api", "/api/enterprises/123"] {
        let response = http()
            .get(server.url(path))
            .header(ACCEPT, "text/html")
            .send()
            .await?;

        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await?;
        assert_eq!(body["error"], "not_found", "{path}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(path)),
            "{path}: {body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_file_with_a_br_sibling_is_sent_brotli_encoded_to_clients_that_accept_br()
-> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http()
        .get(server.url("/app.js"))
        .header(ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await?;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_ENCODING], "br");
    assert_eq!(response.headers()[VARY], "accept-encoding");
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()?
            .contains("javascript")
    );
    assert_eq!(response.bytes().await?.as_ref(), SCRIPT_BR);
    Ok(())
}

#[tokio::test]
async fn a_file_with_a_gz_sibling_is_sent_gzip_encoded_to_clients_without_br() -> anyhow::Result<()>
{
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http()
        .get(server.url("/app.js"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await?;

    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(response.bytes().await?.as_ref(), SCRIPT_GZ);
    Ok(())
}

#[tokio::test]
async fn a_client_that_accepts_no_encoding_gets_the_plain_file() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;

    let response = http().get(server.url("/app.js")).send().await?;

    assert!(response.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(response.text().await?, SCRIPT);
    Ok(())
}

#[tokio::test]
async fn every_response_carries_the_security_headers() -> anyhow::Result<()> {
    let site = built_site()?;
    let server = serve(site.path()).await?;
    let unbuilt = tempfile::tempdir()?;
    let unbuilt_server = serve(unbuilt.path()).await?;

    for url in [
        server.url("/"),
        server.url("/healthz"),
        server.url("/app.js"),
        server.url("/enterprises/123"),
        server.url("/gone.js"),
        server.url("/api/nope"),
        unbuilt_server.url("/"),
    ] {
        let response = http().get(&url).send().await?;
        let headers = response.headers();

        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff", "{url}");
        assert_eq!(headers[REFERRER_POLICY], "no-referrer", "{url}");
        assert_eq!(headers[X_FRAME_OPTIONS], "DENY", "{url}");
        assert_eq!(
            headers[CONTENT_SECURITY_POLICY],
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'",
            "{url}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_missing_site_folder_answers_503_json_saying_how_to_build_the_client()
-> anyhow::Result<()> {
    let parent = tempfile::tempdir()?;
    let server = serve(&parent.path().join("site-never-built")).await?;

    let response = http().get(server.url("/enterprises/123")).send().await?;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await?;
    assert_eq!(body["error"], "client_not_built");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("cargo xtask build-client")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn a_browser_on_an_unbuilt_site_gets_a_503_page_saying_how_to_build_the_client()
-> anyhow::Result<()> {
    let empty_site = tempfile::tempdir()?;
    let server = serve(empty_site.path()).await?;

    let response = http()
        .get(server.url("/"))
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await?;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()?
            .contains("text/html")
    );
    assert!(response.text().await?.contains("cargo xtask build-client"));
    Ok(())
}

#[tokio::test]
async fn the_health_check_works_while_the_client_is_not_built() -> anyhow::Result<()> {
    let empty_site = tempfile::tempdir()?;
    let server = serve(empty_site.path()).await?;

    let response = http().get(server.url("/healthz")).send().await?;

    assert_eq!(response.status(), StatusCode::OK);
    Ok(())
}
