//! Serving the app on a TCP address until Ctrl-C or SIGTERM, finishing requests in flight.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::http::client_addr::{Network, TrustedProxies};
use crate::http::metrics::MetricsToken;
use crate::monitoring::MonitoringError;
use crate::store::StoreHold as _;
use crate::{AppState, app};
use shared::sync::server::ServerStore as _;

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening socket could not be opened (address in use, no permission, ...).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The server stopped on an I/O error.
    #[error("the HTTP server stopped with an error")]
    Serve(#[source] io::Error),
    /// The configuration file could not be read or is invalid.
    #[error("configuration {path}: {message}")]
    Config {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another process (a second server, a restore) holds the database: two servers on one
    /// file can lose writes, so this one does not start.
    #[error(
        "another lianxin-server or a restore ({holder}) is using the database {path} (it holds \
         {path}.lock): stop it first; two servers on one file can lose writes"
    )]
    InUse {
        /// The file.
        path: std::path::PathBuf,
        /// The process holding it, as `pid N`.
        holder: String,
    },
    /// The database's lock file could not be created.
    #[error("cannot lock the database {path}")]
    Lock {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The PostgreSQL database could not be reached, refused the login, or could not be
    /// migrated.
    #[error(
        "cannot open the PostgreSQL database {target}: {source} (is PostgreSQL running, and \
         are the URL's host, port, user and database right?)"
    )]
    Postgres {
        /// The URL, its password hidden.
        target: String,
        /// Why.
        #[source]
        source: crate::store::StoreError,
    },
    /// The database could not be opened.
    #[error("cannot open the database {path}")]
    Store {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: crate::store::StoreError,
    },
}

/// Settings after flags, environment, the configuration file and defaults, in that order.
struct ResolvedArgs {
    listen: SocketAddr,
    metrics_token: Option<MetricsToken>,
    trusted_proxies: Vec<Network>,
    site: std::path::PathBuf,
    db: std::path::PathBuf,
    blob_limits: crate::blobs::BlobLimits,
    /// PostgreSQL only: the blob folder the servers share.
    blobs: Option<std::path::PathBuf>,
}

/// Server settings a configuration file may give in its `[server]` table; flags and
/// `LIANXIN_*` environment variables take precedence over them.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// Address and port to listen on.
    pub listen: Option<SocketAddr>,
    /// The SQLite database file, or a PostgreSQL URL (`postgres://…`).
    pub db: Option<std::path::PathBuf>,
    /// Folder holding the built web client.
    pub site: Option<std::path::PathBuf>,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client
    /// ([`crate::http::client_addr`]); none by default.
    pub trusted_proxies: Option<Vec<Network>>,
    /// The bearer token `/metrics` asks for ([`crate::http::metrics`]); none: `/metrics` is off.
    pub metrics_token: Option<String>,
    /// The file's `[reminders]` section ([`crate::remind::settings`]), read beside `[server]`.
    #[serde(skip)]
    pub reminders: crate::remind::Settings,
    /// Megabytes of photos one user may upload in any 24 hours
    /// ([`crate::blobs::BlobLimits`]).
    pub upload_daily_mb: Option<u64>,
    /// PostgreSQL only: the folder every server of the database keeps photos in (`serve
    /// --blobs`).
    pub blobs: Option<std::path::PathBuf>,
    /// The file's `[backup]` section ([`crate::backups::Settings`]), read beside `[server]`.
    #[serde(skip)]
    pub backup: crate::backups::Settings,
}

/// Loads a configuration file: the optional `[server]` table and the district configuration
/// (every other section, over the built-in defaults; what has no default, the hotline, must
/// be in the file). No file: the demo district's configuration ([`Config::demo`]).
///
/// [`Config::demo`]: shared::config::Config::demo
pub fn load_settings(
    path: Option<&std::path::Path>,
) -> Result<(shared::config::Config, FileSettings), ServeError> {
    let Some(path) = path else {
        return Ok((shared::config::Config::demo(), FileSettings::default()));
    };
    let fail = |message: String| ServeError::Config {
        path: path.into(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse_settings(&text).map_err(|e| fail(e.to_string()))
}

/// Why a configuration file's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Not TOML, or a section of the wrong shape: the first such problem.
    #[error("{0}")]
    Unreadable(String),
    /// Read, but breaking rules: every one of them.
    #[error("{}", shared::config::ConfigError::Invalid(.0.clone()))]
    Invalid(Vec<String>),
}

impl SettingsError {
    /// Each problem as one message.
    pub fn problems(&self) -> Vec<String> {
        match self {
            SettingsError::Unreadable(one) => vec![one.clone()],
            SettingsError::Invalid(all) => all.clone(),
        }
    }
}

/// Reads a configuration file's text: the district's configuration and the server's own
/// sections (`[server]`, `[reminders]`, `[backup]`). What `--config` loads at start and what
/// `POST /api/admin/config/validate` judges.
///
/// # Errors
/// [`SettingsError`]: a TOML syntax error or a section of the wrong shape; otherwise every
/// rule of the district's, the reminders' and the backups' broken.
pub fn parse_settings(text: &str) -> Result<(shared::config::Config, FileSettings), SettingsError> {
    let unreadable = |e: String| SettingsError::Unreadable(e);
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| unreadable(e.to_string()))?;
    let settings = match table.remove("server") {
        Some(v) => v
            .try_into::<FileSettings>()
            .map_err(|e| unreadable(format!("[server]: {e}")))?,
        None => FileSettings::default(),
    };
    let mut settings = settings;
    if let Some(v) = table.remove("reminders") {
        settings.reminders = v
            .try_into::<crate::remind::Settings>()
            .map_err(|e| unreadable(format!("[reminders]: {e}")))?;
    }
    if let Some(v) = table.remove("backup") {
        settings.backup = v
            .try_into::<crate::backups::Settings>()
            .map_err(|e| unreadable(format!("[backup]: {e}")))?;
    }
    let rest = toml::to_string(&table).map_err(|e| unreadable(e.to_string()))?;
    // The district's errors, the reminders' and the backups' are listed together.
    use shared::config::ConfigError;
    let mut others = settings.reminders.problems();
    others.extend(settings.backup.problems());
    match shared::config::Config::from_toml(&rest) {
        Ok(config) if others.is_empty() => Ok((config, settings)),
        Ok(_) => Err(SettingsError::Invalid(others)),
        Err(ConfigError::Invalid(mut errors)) => {
            errors.extend(others);
            Err(SettingsError::Invalid(errors))
        }
        Err(e) => Err(unreadable(e.to_string())),
    }
}

/// Loads the district configuration from `path`, or the defaults.
pub fn load_config(path: Option<&std::path::Path>) -> Result<shared::config::Config, ServeError> {
    load_settings(path).map(|(config, _)| config)
}

/// Serves the app as `args` say until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the address cannot be bound or the server fails while running.
pub async fn run(args: ServeArgs) -> Result<(), ServeError> {
    let (config, file) = load_settings(args.config.as_deref())?;
    let demo = args.demo;
    let config_file = args
        .config
        .clone()
        .map(|path| crate::live_config::ConfigFile {
            path,
            started: file.clone(),
        });
    if args.config.is_none() {
        tracing::warn!(
            hotline = %config.hotline,
            "no configuration file: serving with the demo district's configuration (--config)"
        );
    }
    let args = ResolvedArgs {
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        site: args
            .site
            .or(file.site)
            .unwrap_or_else(|| "target/site".into()),
        db: args.db.or(file.db).unwrap_or_else(|| "lianxin.db".into()),
        metrics_token: match args.metrics_token.or(file.metrics_token) {
            Some(token) => Some(MetricsToken::new(&token).map_err(|message| {
                ServeError::Config {
                    path: args
                        .config
                        .clone()
                        .unwrap_or_else(|| "LIANXIN_METRICS_TOKEN".into()),
                    message,
                }
            })?),
            None => None,
        },
        blob_limits: args
            .upload_daily_mb
            .or(file.upload_daily_mb)
            .map(crate::blobs::BlobLimits::with_daily_mb)
            .unwrap_or_default(),
        blobs: args.blobs.or(file.blobs),
        trusted_proxies: if args.trusted_proxies.is_empty() {
            file.trusted_proxies.unwrap_or_default()
        } else {
            args.trusted_proxies
        },
    };
    if args.trusted_proxies.is_empty() {
        tracing::info!("no trusted proxies: each connection's peer is the client's address");
    } else {
        let list: Vec<String> = args.trusted_proxies.iter().map(|n| n.to_string()).collect();
        tracing::info!(
            proxies = %list.join(", "),
            "X-Forwarded-For is believed from these proxies only"
        );
    }
    let index = args.site.join("index.html");
    let postgres = postgres_url(&args.db).map(str::to_string);
    if tokio::fs::try_exists(&index).await.unwrap_or(false) {
        tracing::info!(site = %args.site.display(), "serving the web client");
    } else {
        tracing::warn!(
            site = %args.site.display(),
            "no index.html in the site folder: pages will answer 503 until you run \
             `cargo xtask build-client`"
        );
    }

    if let Some(url) = postgres {
        return run_postgres(&url, args, config, demo, file.reminders).await;
    }
    if let Some(folder) = &args.blobs {
        return Err(ServeError::Config {
            path: "--blobs".into(),
            message: format!(
                "--blobs {} is for a server on PostgreSQL; on a SQLite file photos are kept \
                 beside it, in {}",
                folder.display(),
                crate::blobs::blob_dir(&args.db).display()
            ),
        });
    }
    if demo {
        return Err(ServeError::Config {
            path: "--demo".into(),
            message: "--demo seeds a PostgreSQL database; for a SQLite file run \
                      `lianxin-server demo --db FILE` before serving"
                .into(),
        });
    }

    // A second server on the same file stops here, before it listens or opens the database.
    let lock = crate::admin::lock_db(&args.db)
        .map_err(|source| ServeError::Lock {
            path: args.db.clone(),
            source,
        })?
        .ok_or_else(|| ServeError::InUse {
            path: args.db.clone(),
            holder: crate::admin::holder_name(&args.db),
        })?;

    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(version = crate::VERSION, "listening on http://{addr}/");

    let mut sync =
        crate::sync::SyncService::open_holding(&args.db, config, lock).map_err(|source| {
            ServeError::Store {
                path: args.db.clone(),
                source,
            }
        })?;
    if let Some(config_file) = config_file {
        sync = sync.with_config_file(config_file);
    }
    tracing::info!(db = %args.db.display(), "database open (WAL, synchronous=FULL)");
    let sync = std::sync::Arc::new(sync);
    record_config_version(&sync, &args.db).await?;
    crate::remind::job::spawn(sync.clone(), file.reminders);
    reload_on_hangup(sync.clone());
    let state = AppState::new(args.site, sync.clone())
        .with_trusted_proxies(TrustedProxies::new(args.trusted_proxies))
        .with_metrics_token(args.metrics_token)
        .with_blob_limits(args.blob_limits)
        .with_backups(file.backup);
    crate::backups::job::spawn(state.backups().clone(), sync.clone());
    if let Some(blobs) = state.blobs() {
        spawn_background_jobs(sync, blobs.clone());
    }
    serve_on(listener, state, shutdown_signal())
        .await
        .map_err(ServeError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// The PostgreSQL URL `db` is (`postgres://` or `postgresql://`), if it is one; anything else
/// is a SQLite file's path.
pub fn postgres_url(db: &std::path::Path) -> Option<&str> {
    db.to_str()
        .filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// A PostgreSQL URL as logs and errors show it: its password hidden.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// What a server on PostgreSQL does not run yet: logged once at start.
const NOT_ON_POSTGRES: &str = "background jobs (blob garbage collection, monitoring and its \
    follower, enterprise merges), scheduled backups, configuration reload on SIGHUP, the \
    configuration's audit entry; routes not built on PostgreSQL answer 503 \
    (http::postgres_gate). Running: the history audit and compaction, once across servers; \
    the reminders' scan (once across servers) and delivery (every server claims, each \
    reminder sent by one)";

/// `serve` on PostgreSQL: migrates the database, then serves the routes built on it (the rest
/// answer 503); several servers may run on one database. Nothing of SQLite is opened.
async fn run_postgres(
    url: &str,
    args: ResolvedArgs,
    config: shared::config::Config,
    demo: bool,
    reminders: crate::remind::Settings,
) -> Result<(), ServeError> {
    let target = redacted_url(url);
    let failed = |source| ServeError::Postgres {
        target: target.clone(),
        source,
    };
    let pg = crate::pg::PgDb::connect(url).await.map_err(failed)?;
    let db = crate::db::Db::postgres(pg).await.map_err(failed)?;
    tracing::info!(db = %target, "PostgreSQL database open and migrated");
    if demo {
        let pg = db.postgres_db().cloned();
        if let Some(pg) = pg {
            match pg.seed_demo(&config, crate::auth::now()).await {
                Ok(seeded) => tracing::info!(
                    users = seeded.users,
                    enterprises = seeded.enterprises,
                    "the demo district is seeded (password {})",
                    crate::demo::DEMO_PASSWORD
                ),
                Err(crate::demo::DemoError::AlreadySeeded) => {
                    tracing::info!("the database holds the demo district already");
                }
                Err(error) => {
                    return Err(ServeError::Config {
                        path: "--demo".into(),
                        message: error.to_string(),
                    });
                }
            }
        }
    }
    tracing::warn!(
        not_running = NOT_ON_POSTGRES,
        "on PostgreSQL these do not run yet"
    );
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(version = crate::VERSION, "listening on http://{addr}/");
    let sync = std::sync::Arc::new(crate::sync::SyncService::postgres(db, config));
    spawn_document_jobs(sync.clone());
    crate::remind::job::spawn(sync.clone(), reminders);
    let mut state = AppState::new(args.site, sync)
        .with_trusted_proxies(TrustedProxies::new(args.trusted_proxies))
        .with_metrics_token(args.metrics_token)
        .with_blob_limits(args.blob_limits);
    match &args.blobs {
        Some(folder) => {
            tracing::info!(
                blobs = %folder.display(),
                "photos are kept in this folder, which every server of the database must share"
            );
            state = state.with_blob_folder(folder);
        }
        None => tracing::warn!(
            "no blob folder (--blobs DIR): uploads and photo reads answer 503 no_blob_folder"
        ),
    }
    serve_on(listener, state, shutdown_signal())
        .await
        .map_err(ServeError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// Records in the audit log that the server now runs another configuration than the last
/// one applied or started with (the first start records its first).
async fn record_config_version(
    sync: &std::sync::Arc<crate::sync::SyncService>,
    db: &std::path::Path,
) -> Result<(), ServeError> {
    let published = sync.published_config();
    let recorded = sync
        .db()
        .write(move |s| -> Result<(), crate::store::StoreError> {
            use crate::live_config::{AUDIT_SUBJECT, applied_version};
            use crate::store::AuditAction::ConfigApplied;
            let version = published.version();
            let at = crate::auth::now();
            let last = s.last_audit_detail(ConfigApplied)?;
            if last.as_deref().map(applied_version) != Some(version) {
                s.audit(at, "server", ConfigApplied, AUDIT_SUBJECT, version)?;
            }
            Ok(())
        })
        .await
        .ok_or(ServeError::Serve(io::Error::other(
            "the store thread stopped",
        )))?;
    recorded.map_err(|source| ServeError::Store {
        path: db.into(),
        source,
    })
}

/// How often documents with appended changes are compacted.
const COMPACT_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// How often the economic-monitoring rules run.
const MONITOR_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Background work on the store, each step a short hold of the store lock: the jobs that
/// rework stored documents ([`spawn_document_jobs`]: the history audit, compaction), the
/// monitoring job (at start-up, then hourly): missing monitoring documents of key
/// enterprises, then the rules that raise problems from anomalies; and the follower that
/// creates a new key enterprise's monitoring document soon after its commit; and the blobs'
/// garbage collection (at start-up, then hourly, `blobs::gc`). Each run first takes its job's
/// lock (`db::JobLocks`): one run at a time across the servers of a database.
fn spawn_background_jobs(
    sync: std::sync::Arc<crate::sync::SyncService>,
    blobs: crate::blobs::BlobService,
) {
    use crate::db::Job;
    let collector = sync.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::blobs::gc::GC_EVERY);
        loop {
            tick.tick().await;
            let Some(_run) = collector.db().job_run(Job::BlobCollection).await else {
                continue;
            };
            let blobs = blobs.clone();
            let ran = collector
                .db()
                .holds(move |store| crate::blobs::gc::run(store, &blobs, crate::auth::now()))
                .await;
            match ran {
                Some(Ok(report)) => tracing::info!(
                    blobs = report.blobs,
                    uploads = report.uploads,
                    "blob garbage collection"
                ),
                Some(Err(error)) => tracing::warn!(%error, "blob garbage collection failed"),
                None => tracing::error!("blob garbage collection did not finish"),
            }
        }
    });
    tokio::spawn(crate::monitoring::follow_commits(sync.clone()));
    tokio::spawn(crate::admin::enterprises::follow_merges(sync.clone()));
    spawn_document_jobs(sync.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(MONITOR_EVERY);
        loop {
            tick.tick().await;
            let Some(_run) = sync.db().job_run(Job::Monitoring).await else {
                continue;
            };
            // The configuration running now (one applied since start included).
            let config = sync.config();
            let now = crate::auth::now();
            let ran = sync
                .db()
                .holds(move |mut store| -> Result<_, MonitoringError> {
                    let report = crate::monitoring::run_job(store, &config, now)?;
                    // Without the feed's position the run still counts; only the notice waits.
                    let seq = store.hold(|s| s.latest_seq()).ok();
                    Ok((report, seq))
                })
                .await;
            match ran {
                Some(Ok((report, seq))) => {
                    if !report.raised.is_empty() {
                        tracing::info!(
                            problems = report.raised.len(),
                            "monitoring raised problems"
                        );
                    }
                    // Online devices fetch what the job wrote at once.
                    if let Some(seq) =
                        seq.filter(|_| !report.raised.is_empty() || !report.created.is_empty())
                    {
                        sync.announce(seq);
                    }
                }
                Some(Err(error)) => tracing::warn!(%error, "monitoring rule failed"),
                None => tracing::error!(
                    "monitoring job did not finish: it panicked or the runtime is shutting down"
                ),
            }
        }
    });
}

/// The background jobs that rework stored documents, on either backend ([`crate::db::Maintenance`]):
/// the history audit (`history_audit::run`: after each burst of commits, and a round every
/// minute) and compaction of appended changes (every [`COMPACT_EVERY`]). Each run first takes
/// its job's lock (`db::JobLocks`), the periodic ones only when due: on PostgreSQL, one run
/// per period across the servers of a database.
fn spawn_document_jobs(sync: std::sync::Arc<crate::sync::SyncService>) {
    tokio::spawn(crate::history_audit::run(sync.clone()));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(COMPACT_EVERY);
        loop {
            tick.tick().await;
            let Some(_run) = sync
                .db()
                .job_run_due(crate::db::Job::Compaction, COMPACT_EVERY)
                .await
            else {
                continue;
            };
            let compacted = sync
                .db()
                .maintain(|store| crate::store::compact_pending(store, 200))
                .await;
            match compacted {
                Some(Ok(0)) | None => {}
                Some(Ok(n)) => tracing::debug!(documents = n, "compacted"),
                Some(Err(error)) => tracing::warn!(%error, "compaction failed"),
            }
        }
    });
}

/// Applies the configuration file again on each SIGHUP ([`crate::live_config`]): validated
/// first; on any error the running configuration stays and the log lists every error. The
/// signal is taken over here, before the server answers anything (SIGHUP's default action
/// would stop the process).
fn reload_on_hangup(sync: std::sync::Arc<crate::sync::SyncService>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGHUP: no configuration reload");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                reload(&sync).await;
            }
        });
    }
    #[cfg(not(unix))]
    drop(sync);
}

/// One SIGHUP's reload, logged.
async fn reload(sync: &std::sync::Arc<crate::sync::SyncService>) {
    match sync.reload_config().await {
        Ok(applied) if applied.previous == applied.version => {
            tracing::info!(version = %applied.version, "SIGHUP: the configuration is unchanged");
        }
        Ok(applied) => tracing::info!(
            previous = %applied.previous,
            version = %applied.version,
            restart_needed = %applied.restart_needed.join(", "),
            "SIGHUP: configuration reloaded"
        ),
        Err(crate::live_config::ApplyError::Invalid(errors)) => {
            for error in &errors {
                tracing::error!(
                    error = %crate::printable::printable(error),
                    "SIGHUP: configuration error"
                );
            }
            tracing::error!(
                errors = errors.len(),
                "SIGHUP: the configuration file has errors; the running configuration stays"
            );
        }
        Err(error) => tracing::error!(%error, "SIGHUP: the configuration was not reloaded"),
    }
}

/// Serves [`app`] on an already bound `listener` until `shutdown` resolves, then lets requests
/// in flight finish. Tests call this with a listener on `127.0.0.1:0`.
///
/// # Errors
/// When the server fails while running.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // Connect info gives the rate limiters the peer's address (`http::client_addr`).
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on the first Ctrl-C (SIGINT) or, on Unix, SIGTERM.
///
/// If a signal handler cannot be installed, that signal is logged and ignored rather than
/// stopping the server at once.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_gives_server_settings_and_the_district_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lianxin.toml");
        std::fs::write(
            &path,
            "hotline = \"0391-1234567\"\n[server]\nlisten = \"0.0.0.0:9000\"\ndb = \"/var/lib/lianxin/lianxin.db\"\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n\n[sla]\nroute_days = 1\nfirst_feedback_days = 2\non_site_days = 1\nroutine_days = 5\nmajor_days = 20\n",
        )
        .expect("write");
        let (config, settings) = load_settings(Some(&path)).expect("loads");
        assert_eq!(
            settings.listen,
            Some(SocketAddr::from(([0, 0, 0, 0], 9000)))
        );
        assert_eq!(
            settings.db.as_deref(),
            Some(std::path::Path::new("/var/lib/lianxin/lianxin.db"))
        );
        assert_eq!(settings.site, None);
        assert_eq!(
            settings.trusted_proxies,
            Some(vec![
                "127.0.0.1".parse().expect("valid"),
                "10.0.0.0/8".parse().expect("valid")
            ])
        );
        assert_eq!(config.hotline, "0391-1234567");
        assert_eq!(config.sla.routine_days, 5);
        assert_eq!(config.categories.len(), 12);
    }

    #[test]
    fn an_unknown_server_setting_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lianxin.toml");
        std::fs::write(&path, "[server]\nport = 9000\n").expect("write");
        let err = load_settings(Some(&path)).expect_err("unknown key");
        assert!(err.to_string().contains("port"), "{err}");
        std::fs::write(
            &path,
            "hotline = \"12345\"\n[server]\ntrusted_proxies = [\"proxy\"]\n",
        )
        .expect("write");
        let err = load_settings(Some(&path)).expect_err("not an address");
        assert!(err.to_string().contains("proxy"), "{err}");
    }

    #[test]
    fn the_reminders_section_is_read_beside_the_district_and_its_errors_listed_with_its() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lianxin.toml");
        std::fs::write(
            &path,
            "hotline = \"0391-12345\"\n[reminders]\nchannels = [\"in_app\", \"webhook\"]\n\
             [reminders.webhook]\nurl = \"http://10.0.0.5/send?key=k\"\n",
        )
        .expect("write");
        let (_, settings) = load_settings(Some(&path)).expect("loads");
        assert_eq!(
            settings.reminders.channels,
            vec![
                crate::remind::ChannelKind::InApp,
                crate::remind::ChannelKind::Webhook
            ]
        );
        std::fs::write(
            &path,
            "hotline = \"0391-12345\"\n[clock]\nallowed_skew_minutes = 5000\n\
             [reminders]\nchannels = [\"webhook\"]\n",
        )
        .expect("write");
        let err = load_settings(Some(&path))
            .expect_err("two errors")
            .to_string();
        assert!(err.contains("clock.allowed_skew_minutes is 5000"), "{err}");
        assert!(err.contains("gives no url"), "{err}");
        let (_, none) = load_settings(None).expect("the demo's");
        assert_eq!(none.reminders, crate::remind::Settings::default());
    }

    #[test]
    fn a_real_configuration_file_must_give_the_hotline_and_only_no_file_means_the_demo() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lianxin.toml");
        std::fs::write(&path, "[server]\nlisten = \"0.0.0.0:9000\"\n").expect("write");
        let err = load_settings(Some(&path)).expect_err("no hotline");
        assert!(err.to_string().contains("hotline is missing"), "{err}");
        let (demo, _) = load_settings(None).expect("the demo's");
        assert_eq!(demo, shared::config::Config::demo());
    }
}
