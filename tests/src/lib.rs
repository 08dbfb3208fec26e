//! Helpers shared by Lianxin's integration tests: the real server, started in-process on a free
//! loopback port.

pub mod account;
pub mod admin;
pub mod attack;
pub mod browser;
pub mod card;
pub mod device;
pub mod district;
pub mod feed;
pub mod fuzz;
pub mod kpi_oracle;
pub mod pg;
pub mod problem_world;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod robot;
pub mod rotation;
pub mod schemathesis;
pub mod trace;
pub mod uploads;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use server::AppState;
use server::sync::SyncService;
use shared::model::Timestamp;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running [`server::app`], stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// A sync service on a fresh SQLite file in `dir`, with the demo district's configuration.
///
/// # Errors
/// When the database cannot be created.
pub fn sync_service(
    dir: &std::path::Path,
) -> anyhow::Result<std::sync::Arc<server::sync::SyncService>> {
    sync_service_with(dir, shared::config::Config::demo())
}

/// A sync service on a fresh SQLite file in `dir`, with `config` (not validated: a test may
/// use a value a district file may not).
///
/// # Errors
/// When the database cannot be created.
pub fn sync_service_with(
    dir: &std::path::Path,
    config: shared::config::Config,
) -> anyhow::Result<std::sync::Arc<server::sync::SyncService>> {
    let service = server::sync::SyncService::open(&dir.join("lianxin.db"), config)
        .context("opening the test database")?;
    Ok(std::sync::Arc::new(service))
}

impl TestServer {
    /// Serves `server::app(state)` on `127.0.0.1:0`, returning once the socket is listening.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(state: AppState) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a free loopback port for the test server")?;
        let addr = listener
            .local_addr()
            .context("reading the test server's address")?;
        let task = tokio::spawn(async move {
            let forever = std::future::pending::<()>();
            if let Err(error) = server::serve::serve_on(listener, state, forever).await {
                eprintln!("test server stopped: {error}");
            }
        });
        Ok(Self { addr, task })
    }

    /// The absolute URL of `path` (which starts with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops serving (as dropping it does), for a test that restarts the server.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// The address it listens on (for a [`browser::Link`] in front of it).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Seeds the demo district (`server::demo::seed`, the demo's configuration) into `service`,
/// dated now; returns the time it was seeded at.
///
/// # Errors
/// When seeding fails or the store thread has stopped.
pub async fn seed_demo(service: &Arc<SyncService>) -> anyhow::Result<Timestamp> {
    let seeded_at = device::wall_clock();
    service
        .with_store(move |s| server::demo::seed(s, &shared::config::Config::demo(), seeded_at))
        .await
        .context("the store thread stopped")??;
    Ok(seeded_at)
}

/// The demo district on a fresh SQLite file, served over HTTP: without a web client, what the
/// read-API tests start from ([`DemoServer::start`]); with one, what browser tests start from
/// ([`DemoServer::with_site`]).
#[derive(Debug)]
pub struct DemoServer {
    /// The running server.
    pub server: TestServer,
    /// Its sync service (and store).
    pub service: Arc<SyncService>,
    /// When the district was seeded (its records are dated over the 90 days before).
    pub seeded_at: Timestamp,
    _dir: tempfile::TempDir,
}

impl DemoServer {
    /// Seeds the demo district into a temporary folder and serves it on a free port.
    ///
    /// # Errors
    /// When the database, the seeding or the port fails.
    pub async fn start() -> anyhow::Result<Self> {
        Self::serving_site(None).await
    }

    /// Seeds the demo district the same way and also serves the web client from `site` (the
    /// browser tests pass [`browser::require_site`]'s folder).
    ///
    /// # Errors
    /// When the database, the seeding or the port fails.
    pub async fn with_site(site: std::path::PathBuf) -> anyhow::Result<Self> {
        Self::serving_site(Some(site)).await
    }

    async fn serving_site(site: Option<std::path::PathBuf>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary folder")?;
        let service = sync_service(dir.path())?;
        let seeded_at = seed_demo(&service).await?;
        let site = site.unwrap_or_else(|| dir.path().join("no-site"));
        let server = TestServer::start(AppState::new(site, service.clone())).await?;
        Ok(Self {
            server,
            service,
            seeded_at,
            _dir: dir,
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
