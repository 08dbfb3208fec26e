//! A user's account and sessions over HTTP, for the account tests: a server with a chosen
//! [`AuthConfig`], logins, refreshes from a given client address, authenticated requests and
//! the audit log.

use std::sync::Arc;

use server::AppState;
use server::auth::AuthConfig;
use server::http::client_addr::TrustedProxies;
use server::sync::SyncService;
use shared::model::DeviceId;
use tempfile::TempDir;

use crate::TestServer;
use crate::device::id_bytes;
use crate::raw::login_raw;

/// A server in-process on a fresh SQLite file, with its sync service (for the audit log).
pub struct Setup {
    /// The server.
    pub server: TestServer,
    /// Its sync service.
    pub service: Arc<SyncService>,
    _dir: TempDir,
}

/// A server with `config`, trusting 127.0.0.1 as a proxy (so `X-Forwarded-For` names the
/// client).
///
/// # Errors
/// When the database or the listener cannot be made.
pub async fn setup_with(config: AuthConfig) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let service = crate::sync_service(dir.path())?;
    let state = AppState::new(dir.path().join("no-site"), service.clone())
        .with_auth_config(config)
        .with_trusted_proxies(TrustedProxies::new(vec!["127.0.0.1".parse()?]));
    let server = TestServer::start(state).await?;
    Ok(Setup {
        server,
        service,
        _dir: dir,
    })
}

/// A server with the default [`AuthConfig`].
///
/// # Errors
/// As [`setup_with`].
pub async fn setup() -> anyhow::Result<Setup> {
    setup_with(AuthConfig::default()).await
}

/// The `n`th test device id.
pub fn device(n: u64) -> DeviceId {
    DeviceId::from_random_bytes(id_bytes(2, n))
}

/// Tokens of a logged-in device.
pub struct Tokens {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// The device id.
    pub device: String,
}

/// The tokens of a login or refresh answer.
///
/// # Errors
/// When the body holds none.
pub fn tokens(body: &serde_json::Value) -> anyhow::Result<Tokens> {
    let text = |v: &serde_json::Value| -> anyhow::Result<String> {
        Ok(v.as_str()
            .ok_or_else(|| anyhow::anyhow!("no token in {body}"))?
            .to_string())
    };
    Ok(Tokens {
        access: text(&body["token"])?,
        refresh: text(&body["refresh_token"])?,
        device: text(&body["device"]["id"])?,
    })
}

/// Logs `login` in on device `n`.
///
/// # Errors
/// When the login is refused.
pub async fn log_in(s: &Setup, login: &str, password: &str, n: u64) -> anyhow::Result<Tokens> {
    let (status, body) = login_raw(&s.server.url(""), login, password, device(n)).await?;
    anyhow::ensure!(status == 200, "login as {login}: {status} {body}");
    tokens(&body)
}

/// A `POST /api/refresh` answer: status, `Retry-After`, body.
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The `Retry-After` header.
    pub retry_after: Option<String>,
    /// The JSON body (null when none).
    pub body: serde_json::Value,
}

/// Presents refresh token `token` from client address `from`.
///
/// # Errors
/// When the request cannot be sent.
pub async fn refresh(s: &Setup, token: &str, from: &str) -> anyhow::Result<Answer> {
    let resp = reqwest::Client::new()
        .post(s.server.url("/api/refresh"))
        .header("x-forwarded-for", from)
        .json(&serde_json::json!({ "refresh_token": token }))
        .send()
        .await?;
    Ok(Answer {
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: resp.json().await.unwrap_or_default(),
    })
}

/// `GET path` with the access token: status and JSON body.
///
/// # Errors
/// When the request cannot be sent.
pub async fn get(s: &Setup, path: &str, token: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .get(s.server.url(path))
        .bearer_auth(token)
        .send()
        .await?;
    Ok((
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    ))
}

/// `POST path` with the access token and a JSON body, from [`ALICE`]: status and JSON body.
///
/// # Errors
/// When the request cannot be sent.
pub async fn post(
    s: &Setup,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .post(s.server.url(path))
        .bearer_auth(token)
        .header("x-forwarded-for", ALICE)
        .json(&body)
        .send()
        .await?;
    Ok((
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    ))
}

/// `(actor, action, subject)` of every audit entry.
///
/// # Errors
/// When the store fails.
pub async fn audit(s: &Setup) -> anyhow::Result<Vec<(String, String, String)>> {
    let entries = s
        .service
        .with_store(|st| st.audit_log(0, 10_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .into_iter()
        .map(|e| (e.actor, e.action, e.subject))
        .collect())
}

/// A client address.
pub const ALICE: &str = "203.0.113.10";
/// Another client address.
pub const BOB: &str = "203.0.113.20";
