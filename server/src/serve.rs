//! Serving the app on a TCP address until Ctrl-C or SIGTERM, finishing requests in flight.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::{AppState, app};

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

/// Loads the district configuration from `path`, or the defaults.
pub fn load_config(path: Option<&std::path::Path>) -> Result<shared::config::Config, ServeError> {
    let Some(path) = path else {
        return Ok(shared::config::Config::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| ServeError::Config {
        path: path.into(),
        message: e.to_string(),
    })?;
    shared::config::Config::from_toml(&text).map_err(|e| ServeError::Config {
        path: path.into(),
        message: e.to_string(),
    })
}

/// Serves the app as `args` say until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the address cannot be bound or the server fails while running.
pub async fn run(args: ServeArgs) -> Result<(), ServeError> {
    let index = args.site.join("index.html");
    if tokio::fs::try_exists(&index).await.unwrap_or(false) {
        tracing::info!(site = %args.site.display(), "serving the web client");
    } else {
        tracing::warn!(
            site = %args.site.display(),
            "no index.html in the site folder: pages will answer 503 until you run \
             `cargo xtask build-client`"
        );
    }

    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(version = crate::VERSION, "listening on http://{addr}/");

    let config = load_config(args.config.as_deref())?;
    let sync =
        crate::sync::SyncService::open(&args.db, config).map_err(|source| ServeError::Store {
            path: args.db.clone(),
            source,
        })?;
    tracing::info!(db = %args.db.display(), "database open (WAL, synchronous=FULL)");
    serve_on(
        listener,
        AppState::new(args.site, std::sync::Arc::new(sync)),
        shutdown_signal(),
    )
    .await
    .map_err(ServeError::Serve)?;
    tracing::info!("stopped");
    Ok(())
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
    axum::serve(listener, app(state))
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
