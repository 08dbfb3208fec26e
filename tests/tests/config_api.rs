//! The district's configuration reaches every device: `GET /api/config` over HTTP answers the
//! server's validated configuration as JSON that reads back into `Config`, for every role and
//! not without a token; its version is the `ETag` (an unchanged one costs a `304` with no
//! body) and follows the district file; every sync answer announces the same version in
//! `X-Lianxin-Config`.

use reqwest::StatusCode;
use shared::config::Config;
use shared::model::Timestamp;
use shared::sync::protocol::{self, SyncRequest};
use tests::problem_world::{PEOPLE, Who, World};

/// A district file that renames a category, removes another and changes the SLA.
const DISTRICT_FILE: &str = r#"
hotline = "0391-88886666"

[[categories]]
code = "land"
zh = "土地要素"
en = "Land use"

[[categories]]
code = "energy"
zh = "能源保障"
en = "Energy supply"

[sla]
route_days = 2
first_feedback_days = 3
on_site_days = 1
routine_days = 10
major_days = 30
"#;

/// `GET /api/config` with `token` and an optional `If-None-Match`.
async fn get_config(
    world: &World,
    token: Option<&str>,
    if_none_match: Option<&str>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = reqwest::Client::new().get(world.server.url("/api/config"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    Ok(request.send().await?)
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The configuration a server answers, with its `ETag`.
async fn served(world: &World) -> anyhow::Result<(Config, String)> {
    let response = get_config(world, Some(&world.session(Who::Wang).token), None).await?;
    anyhow::ensure!(response.status() == StatusCode::OK, "{}", response.status());
    let etag = header(&response, "etag").ok_or_else(|| anyhow::anyhow!("no ETag"))?;
    let config: Config = serde_json::from_str(&response.text().await?)?;
    Ok((config, etag))
}

#[tokio::test]
async fn every_role_reads_the_configuration_and_an_unchanged_one_costs_a_304() -> anyhow::Result<()>
{
    let world = World::new().await?;

    let response = get_config(&world, None, None).await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (config, etag) = served(&world).await?;
    assert_eq!(
        &config,
        &*world.service.config(),
        "the server's own configuration"
    );
    let version = world.service.published_config().version().to_string();
    assert_eq!(etag, format!("\"{version}\""));

    for who in PEOPLE {
        let response = get_config(&world, Some(&world.session(who).token), None).await?;
        assert_eq!(response.status(), StatusCode::OK, "{who:?}");
        assert_eq!(header(&response, "x-lianxin-config"), Some(version.clone()));
    }

    let response = get_config(&world, Some(&world.session(Who::Boss).token), Some(&etag)).await?;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, "etag"), Some(etag.clone()));
    assert!(response.bytes().await?.is_empty(), "a 304 has no body");

    let response = get_config(
        &world,
        Some(&world.session(Who::Boss).token),
        Some("\"an older version\""),
    )
    .await?;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "another version gets the body"
    );
    Ok(())
}

#[tokio::test]
async fn another_district_file_has_another_version_and_the_same_one_the_same() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("district.toml");
    std::fs::write(&file, DISTRICT_FILE)?;
    let district = server::serve::load_config(Some(&file))?;

    let default = World::new().await?;
    let again = World::new().await?;
    let other = World::with_config(district.clone()).await?;

    let (default_config, default_tag) = served(&default).await?;
    let (_, again_tag) = served(&again).await?;
    let (other_config, other_tag) = served(&other).await?;
    assert_eq!(
        default_tag, again_tag,
        "the same configuration, the same version"
    );
    assert_ne!(
        default_tag, other_tag,
        "another district file, another version"
    );
    assert_eq!(other_config, district);
    assert_eq!(other_config.sla.routine_days, 10);
    assert_ne!(default_config, other_config);
    Ok(())
}

#[tokio::test]
async fn every_sync_answer_announces_the_configuration_version() -> anyhow::Result<()> {
    let world = World::with_config(server::serve::load_config(None)?).await?;
    let (_, etag) = served(&world).await?;
    let session = world.session(Who::Wang);
    let http = reqwest::Client::new();
    let sync = |body: Vec<u8>| {
        http.post(world.server.url("/api/sync"))
            .bearer_auth(&session.token)
            .body(body)
            .send()
    };

    let request = SyncRequest {
        cursor: 0,
        ack: 0,
        device_time: Timestamp(0),
        push: Vec::new(),
        max_response_bytes: 4096,
        unsent: None,
    };
    let response = sync(protocol::encode(&request)).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let announced = header(&response, "x-lianxin-config");
    assert_eq!(announced.map(|v| format!("\"{v}\"")), Some(etag.clone()));

    // A refused request announces it too.
    let response = sync(b"not a sync request".to_vec()).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let announced = header(&response, "x-lianxin-config");
    assert_eq!(announced.map(|v| format!("\"{v}\"")), Some(etag));
    Ok(())
}
