//! The state every request handler can reach.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::{AuthConfig, AuthService};
use crate::backups::Backups;
use crate::blobs::{BlobLimits, BlobService};
use crate::card::{CardLimits, CardService};
use crate::db::Db;
use crate::http::client_addr::TrustedProxies;
use crate::http::metrics::MetricsToken;
use crate::sync::SyncService;
use crate::sync::events::EventStreams;

/// Everything the router needs from the outside world, shared by all handlers.
///
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    site_dir: Arc<Path>,
    db: Db,
    sync: Arc<SyncService>,
    auth: Arc<AuthService>,
    card: Arc<CardService>,
    trusted_proxies: Arc<TrustedProxies>,
    /// `None` on PostgreSQL until a shared folder is given ([`AppState::with_blob_folder`]).
    blobs: Option<BlobService>,
    blob_limits: BlobLimits,
    events: Arc<EventStreams>,
    metrics_token: Option<Arc<MetricsToken>>,
    backups: Arc<Backups>,
}

impl AppState {
    /// State serving the built web client from `site_dir` (the output of
    /// `cargo xtask build-client`, normally `target/site`) and syncing through `sync`.
    ///
    /// The folder need not exist yet: until it holds an `index.html`, page requests get a
    /// 503 that says how to build the client.
    pub fn new(site_dir: impl Into<PathBuf>, sync: Arc<SyncService>) -> Self {
        Self {
            site_dir: Arc::from(site_dir.into()),
            auth: Arc::new(auth_service(sync.db(), AuthConfig::default())),
            card: Arc::new(CardService::default()),
            trusted_proxies: Arc::new(TrustedProxies::default()),
            events: Arc::new(EventStreams::default()),
            metrics_token: None,
            blob_limits: BlobLimits::default(),
            // On SQLite beside the file; on PostgreSQL only in a folder the servers share.
            blobs: (!sync.db().is_postgres())
                .then(|| BlobService::for_db(sync.db_path(), BlobLimits::default())),
            backups: Backups::new(sync.db_path(), crate::backups::Settings::default()),
            db: sync.db().clone(),
            sync,
        }
    }

    /// The same state with other limits on blobs and uploads.
    #[must_use]
    pub fn with_blob_limits(mut self, limits: BlobLimits) -> Self {
        self.blob_limits = limits;
        self.blobs = self.blobs.map(|b| b.with_limits(limits));
        self
    }

    /// The same state keeping blobs in `folder` (`serve --blobs DIR`, PostgreSQL: one folder
    /// every server of the database shares).
    #[must_use]
    pub fn with_blob_folder(mut self, folder: &Path) -> Self {
        self.blobs = Some(BlobService::in_folder(folder, self.blob_limits));
        self
    }

    /// The same state with backups as the `[backup]` section says (off by default).
    #[must_use]
    pub fn with_backups(mut self, settings: crate::backups::Settings) -> Self {
        self.backups = Backups::new(self.sync.db_path(), settings);
        self
    }

    /// The database's backups.
    pub fn backups(&self) -> &Arc<Backups> {
        &self.backups
    }

    /// Photos and other files by hash, and their uploads; `None` on PostgreSQL without a
    /// blob folder.
    pub fn blobs(&self) -> Option<&BlobService> {
        self.blobs.as_ref()
    }

    /// The same state with other token lifetimes and login limits (tests shorten them).
    #[must_use]
    pub fn with_auth_config(mut self, config: AuthConfig) -> Self {
        self.auth = Arc::new(auth_service(&self.db, config));
        self
    }

    /// The same state with other limits on the 连心卡's public page (tests lower them).
    #[must_use]
    pub fn with_card_limits(mut self, limits: CardLimits) -> Self {
        self.card = Arc::new(CardService::new(limits));
        self
    }

    /// The same state believing `X-Forwarded-For` from these reverse proxies
    /// ([`crate::http::client_addr`]).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// The same state with other limits on the push channel's streams (tests shorten the
    /// re-check).
    #[must_use]
    pub fn with_event_streams(mut self, streams: EventStreams) -> Self {
        self.events = Arc::new(streams);
        self
    }

    /// The same state serving `/metrics` to this token's bearer (none: `/metrics` is off).
    #[must_use]
    pub fn with_metrics_token(mut self, token: Option<MetricsToken>) -> Self {
        self.metrics_token = token.map(Arc::new);
        self
    }

    /// The token `/metrics` asks for, if metrics are on.
    pub fn metrics_token(&self) -> Option<&MetricsToken> {
        self.metrics_token.as_deref()
    }

    /// The push channel's open streams and their limits.
    pub fn events(&self) -> &Arc<EventStreams> {
        &self.events
    }

    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }

    /// The 连心卡's public page: its rate limits and turns.
    pub fn card(&self) -> &CardService {
        &self.card
    }

    /// Authentication: token lifetimes and the login rate limiter.
    pub fn auth(&self) -> &Arc<AuthService> {
        &self.auth
    }

    /// The folder the web client is served from.
    pub fn site_dir(&self) -> &Path {
        &self.site_dir
    }

    /// The database ([`crate::db`]): what handlers read and write through.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The sync service (configuration, push channel, counters, group commit).
    pub fn sync(&self) -> &Arc<SyncService> {
        &self.sync
    }
}

/// Authentication with `config`, counting failed logins where the database's servers share
/// the count: in memory on SQLite (one server per file), in the database on PostgreSQL.
fn auth_service(db: &Db, config: AuthConfig) -> AuthService {
    let service = AuthService::new(config);
    match db.postgres_db() {
        Some(pg) => service.with_login_throttle(Arc::new(
            pg.login_throttle(config.max_failures, config.failure_window_ms),
        )),
        None => service,
    }
}

impl FromRef<AppState> for Arc<SyncService> {
    fn from_ref(state: &AppState) -> Self {
        state.sync.clone()
    }
}
