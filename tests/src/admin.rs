//! The admin API tests' common ground: a server whose event streams only a change closes (the
//! periodic re-check is far beyond a test), the district's first town with its administrator
//! (`it`), and that administrator's access token; a call of the API and a CSV import, each
//! read back as status and JSON.

use std::sync::Arc;
use std::time::Duration;

use server::AppState;
use server::store::SqliteStore;
use server::sync::SyncService;
use server::sync::events::EventStreams;
use shared::model::{DeviceId, OrgUnitId, Role};

use crate::TestServer;
use crate::device::id_bytes;
use crate::district::{self, PASSWORD};
use crate::raw::login_raw;

/// The administrator's login: the actor every audit entry of these tests must name.
pub const ADMIN: &str = "it";

/// A running server with its administrator logged in.
pub struct AdminServer {
    /// The server.
    pub server: TestServer,
    /// Its sync service (and store).
    pub service: Arc<SyncService>,
    /// The administrator's access token.
    pub admin: String,
    /// The database's folder.
    pub dir: tempfile::TempDir,
}

impl AdminServer {
    /// Starts a server, seeds town `town-1` with the administrator and whatever `seed` adds
    /// there, and logs the administrator in.
    ///
    /// # Errors
    /// When the server, the seeding or the login fails.
    pub async fn start(
        seed: impl FnOnce(&mut SqliteStore, OrgUnitId) -> anyhow::Result<()> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let service = crate::sync_service(dir.path())?;
        let state = AppState::new(dir.path().join("no-site"), service.clone())
            .with_event_streams(EventStreams::new(Duration::from_secs(600), 8));
        let server = TestServer::start(state).await?;
        service
            .with_store(move |s| -> anyhow::Result<()> {
                let town = district::town(s, "town-1")?;
                district::user(s, ADMIN, Role::Admin, town)?;
                seed(s, town)
            })
            .await
            .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
        let admin = token(&server, ADMIN, PASSWORD, 90).await?;
        Ok(Self {
            server,
            service,
            admin,
            dir,
        })
    }
}

/// Logs `login` in on test device `n`; its access token.
///
/// # Errors
/// When the login is refused.
pub async fn token(
    server: &TestServer,
    login: &str,
    password: &str,
    n: u64,
) -> anyhow::Result<String> {
    let device = DeviceId::from_random_bytes(id_bytes(8, n));
    let (status, body) = login_raw(&server.url(""), login, password, device).await?;
    anyhow::ensure!(status == 200, "login as {login}: {status} {body}");
    Ok(body["token"].as_str().unwrap_or_default().to_string())
}

/// `method` on `{base}{path}` as `token`'s bearer, with `body` as JSON if any: the status and
/// the answer's JSON (`Null` when it has none).
///
/// # Errors
/// When the request cannot be sent.
pub async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or_default()))
}

/// `POST /api/admin/imports/{kind}` of the CSV `csv` as `token`'s bearer: the status and the
/// answer's JSON (`Null` when it has none).
///
/// # Errors
/// When the request cannot be sent.
pub async fn import_csv(
    base: &str,
    token: &str,
    kind: &str,
    csv: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/admin/imports/{kind}"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or_default()))
}
