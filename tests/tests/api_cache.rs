//! What the API answers stays out of caches: every `/api` answer that sets no caching of its
//! own says `Cache-Control: no-store` (records, KPIs and sessions are not for shared caches or
//! the browser's disk), while the answers that choose their own caching keep it.

use tests::raw::demo_token as token;

#[tokio::test]
async fn api_answers_say_no_store_unless_they_choose_their_own_caching() -> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let http = reqwest::Client::new();
    let leader = token(&server.url(""), "leader1", 1).await?;

    for path in [
        "/api/problems",
        "/api/dashboard/kpis",
        "/api/bulletins",
        "/api/me",
        "/api/no-such-route",
    ] {
        let resp = http
            .get(server.url(path))
            .bearer_auth(&leader)
            .send()
            .await?;
        assert_eq!(
            resp.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path} answered {}",
            resp.status()
        );
    }
    let unauthenticated = http.get(server.url("/api/problems")).send().await?;
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(
        unauthenticated
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );

    let config = http
        .get(server.url("/api/config"))
        .bearer_auth(&leader)
        .send()
        .await?;
    let own = config
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok());
    assert!(
        own.is_some_and(|v| v != "no-store"),
        "the configuration's own caching was overridden: {own:?}"
    );
    Ok(())
}
