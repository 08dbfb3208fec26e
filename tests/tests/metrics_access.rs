//! `/metrics` is for the IT department's monitoring, not the public: off unless a token is
//! configured, and then only for that token's bearer.

use server::AppState;
use server::http::metrics::MetricsToken;
use tests::TestServer;

const TOKEN: &str = "the IT department's scraper token";

async fn server(token: Option<&str>) -> anyhow::Result<(TestServer, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let token = token
        .map(MetricsToken::new)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let state = AppState::new(dir.path().join("no-site"), service).with_metrics_token(token);
    Ok((TestServer::start(state).await?, dir))
}

async fn get(server: &TestServer, bearer: Option<&str>) -> anyhow::Result<(u16, String)> {
    let mut request = reqwest::Client::new().get(server.url("/metrics"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

#[tokio::test]
async fn without_a_configured_token_metrics_are_off() -> anyhow::Result<()> {
    let (server, _dir) = server(None).await?;
    let (status, body) = get(&server, Some(TOKEN)).await?;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("lianxin_sync"), "{body}");
    Ok(())
}

#[tokio::test]
async fn only_the_configured_tokens_bearer_reads_the_counters() -> anyhow::Result<()> {
    let (server, _dir) = server(Some(TOKEN)).await?;
    for bearer in [None, Some("the IT department's scraper tokeN"), Some("")] {
        let (status, body) = get(&server, bearer).await?;
        assert_eq!(status, 401, "{bearer:?} got {body}");
        assert!(!body.contains("lianxin_sync"), "{body}");
    }
    let (status, body) = get(&server, Some(TOKEN)).await?;
    assert_eq!(status, 200);
    assert!(body.contains("lianxin_sync_merge_slots "), "{body}");
    Ok(())
}
