//! The district configuration the server runs with, as one swappable handle
//! ([`LiveConfig`], held by the sync service): every reader at run time — sync validation,
//! flags and SLA deadlines of the commits, dashboards, check-in radius, the reminders' scan,
//! the monitoring rules, the 连心卡's page — takes the running configuration from it at the
//! moment it works (a sync request takes it once and keeps it to its commit), never a copy
//! made at start. Applying a new one ([`SyncService::apply_config`]: `POST /api/admin/config`,
//! `lianxin-server config apply`, SIGHUP) validates it first and lists every error, puts the
//! file in place atomically (temporary file, fsync, rename) so a restart keeps it, records it
//! among the published configurations and in the audit log, then swaps it in and tells the
//! open event streams. On any error the running configuration stays.
//!
//! Every published configuration is kept by version in the database (`published_configs`):
//! a device that declares an older version on its sync request (`X-Lianxin-Config`) has the
//! values it sets judged by that version too ([`LiveConfig::declared`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use shared::config::Config;
use tokio::sync::watch;

use crate::published_config::PublishedConfig;
use crate::serve::FileSettings;
use crate::store::{AuditAction, SqliteStore, StoreError};
use crate::sync::SyncService;

/// The audit entry's subject for configuration changes.
pub const AUDIT_SUBJECT: &str = "district configuration";

/// The configuration running now and its published form, swapped together.
#[derive(Debug)]
pub struct Running {
    /// The district configuration.
    pub config: Arc<Config>,
    /// As devices receive it, with its version.
    pub published: Arc<PublishedConfig>,
}

impl Running {
    fn new(config: Config) -> Running {
        Running {
            published: Arc::new(PublishedConfig::new(&config)),
            config: Arc::new(config),
        }
    }
}

/// The file the server was started with (`--config`) and the server's own sections as they
/// were read then (`[server]`, `[reminders]`, `[backup]`: read at start only).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Its server sections at start.
    pub started: FileSettings,
}

/// How many older configurations are kept parsed in memory.
const KNOWN_CACHE: usize = 16;

/// The running configuration, swappable; see the module's documentation.
#[derive(Debug)]
pub struct LiveConfig {
    running: RwLock<Arc<Running>>,
    /// Older published configurations read back from the database, by version.
    known: Mutex<HashMap<String, Arc<Config>>>,
    file: Option<ConfigFile>,
    /// One apply at a time.
    applying: tokio::sync::Mutex<()>,
    changed: watch::Sender<String>,
}

impl LiveConfig {
    /// Running `config`, with no file to keep changes in.
    pub fn new(config: Config) -> LiveConfig {
        let running = Running::new(config);
        let (changed, _) = watch::channel(running.published.version().to_string());
        LiveConfig {
            running: RwLock::new(Arc::new(running)),
            known: Mutex::new(HashMap::new()),
            file: None,
            applying: tokio::sync::Mutex::new(()),
            changed,
        }
    }

    /// The same, keeping applied configurations in `file`.
    #[must_use]
    pub fn with_file(mut self, file: ConfigFile) -> LiveConfig {
        self.file = Some(file);
        self
    }

    /// The configuration running now (one consistent pair of configuration and version).
    pub fn running(&self) -> Arc<Running> {
        self.running
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The file applied configurations are kept in, if the server was started with one.
    pub fn file(&self) -> Option<&ConfigFile> {
        self.file.as_ref()
    }

    /// A receiver of the running version, told each time another is applied.
    pub fn subscribe(&self) -> watch::Receiver<String> {
        self.changed.subscribe()
    }

    /// The configuration a device declaring `version` is also judged by: an older one this
    /// server published (`None` for the running one, one never published, or a malformed
    /// declaration: those are judged by the running one alone).
    pub fn declared(&self, store: &SqliteStore, version: &str) -> Option<Arc<Config>> {
        let well_formed = version.len() == 32
            && version
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed || version == self.running().published.version() {
            return None;
        }
        if let Some(known) = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(version)
        {
            return Some(known.clone());
        }
        let json = match store.published_config_json(version) {
            Ok(json) => json?,
            Err(error) => {
                tracing::warn!(%error, "reading a published configuration failed");
                return None;
            }
        };
        let config: Config = match serde_json::from_str(&json) {
            Ok(config) => config,
            Err(error) => {
                // Written by an older build in a layout this one no longer reads.
                tracing::warn!(%error, version, "a published configuration does not read back");
                return None;
            }
        };
        let config = Arc::new(config);
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= KNOWN_CACHE {
            known.clear();
        }
        known.insert(version.to_string(), config.clone());
        Some(config)
    }

    fn swap(&self, running: Running) {
        let version = running.published.version().to_string();
        *self.running.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(running);
        self.changed.send_replace(version);
    }
}

/// Why a configuration was not applied (the running one stays).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file breaks rules: every one of them.
    #[error("the configuration has errors; the running one stays: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The server was started without `--config`: nothing would keep a change across a restart.
    #[error(
        "the server was started without a configuration file (--config): a configuration applied \
         now would be lost at the next restart; start it with --config FILE"
    )]
    NoFile,
    /// The file could not be read (a reload) or written (an apply).
    #[error("the configuration file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Recording the new configuration failed; the file may hold it, the server runs the
    /// previous one until it is applied again or restarted.
    #[error("recording the configuration failed: {0}")]
    Store(#[from] StoreError),
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// The version that ran before.
    pub previous: String,
    /// The version running now (devices are told it after their next sync).
    pub version: String,
    /// Sections of the file the server reads at start only that differ from what it started
    /// with (`server`, `reminders`, `backup`): they take effect at the next restart.
    pub restart_needed: Vec<String>,
}

/// The server's own sections of `new` that differ from `started`.
fn restart_needed(started: &FileSettings, new: &FileSettings) -> Vec<String> {
    let mut server = new.clone();
    server.reminders = started.reminders.clone();
    server.backup = started.backup.clone();
    let mut sections = Vec::new();
    if server != *started {
        sections.push("server".to_string());
    }
    if new.reminders != started.reminders {
        sections.push("reminders".to_string());
    }
    if new.backup != started.backup {
        sections.push("backup".to_string());
    }
    sections
}

/// The version an audit entry of a configuration change names last: `"OLD → NEW"` or (at
/// start) `"NEW"`.
pub fn applied_version(detail: &str) -> &str {
    detail.rsplit(' ').next().unwrap_or(detail)
}

/// Writes `text` to `path` so that a crash leaves the old file or the new one, never a mix:
/// a temporary file beside it, fsynced, renamed over it, the folder fsynced.
///
/// # Errors
/// Any I/O failure; the old file stays then.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        // Keep the old file's permissions (it may hold the metrics token).
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

/// Where an applied configuration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A new file's text (the admin API): written over the server's file.
    Text,
    /// The server's file as it is now (SIGHUP): read, not written.
    File,
}

impl SyncService {
    /// Applies the configuration file `text` on behalf of `actor` (a login): validated (every
    /// error listed), written over the file the server was started with, recorded (published
    /// configurations, audit log) and swapped in. On any error the running one stays.
    ///
    /// # Errors
    /// [`ApplyError`].
    pub async fn apply_config(
        self: &Arc<Self>,
        text: &str,
        actor: &str,
    ) -> Result<Applied, ApplyError> {
        self.apply(text, actor, Source::Text).await
    }

    /// Reads the file the server was started with again (SIGHUP) and applies it like
    /// [`SyncService::apply_config`], without writing it.
    ///
    /// # Errors
    /// [`ApplyError`]; [`ApplyError::NoFile`] when started without one.
    pub async fn reload_config(self: &Arc<Self>) -> Result<Applied, ApplyError> {
        let file = self.live().file().ok_or(ApplyError::NoFile)?;
        let path = file.path.clone();
        let text = tokio::fs::read_to_string(&path)
            .await
            .map_err(|source| ApplyError::File { path, source })?;
        self.apply(&text, "server (SIGHUP)", Source::File).await
    }

    async fn apply(
        self: &Arc<Self>,
        text: &str,
        actor: &str,
        source: Source,
    ) -> Result<Applied, ApplyError> {
        let (config, settings) =
            crate::serve::parse_settings(text).map_err(|e| ApplyError::Invalid(e.problems()))?;
        let file = self.live().file().ok_or(ApplyError::NoFile)?.clone();
        let _one = self.live().applying.lock().await;
        let previous = self.live().running().published.version().to_string();
        if source == Source::Text {
            let (path, text) = (file.path.clone(), text.to_string());
            tokio::task::spawn_blocking(move || write_atomically(&path, &text))
                .await
                .map_err(|_| ApplyError::File {
                    path: file.path.clone(),
                    source: std::io::Error::other("the writing thread stopped"),
                })?
                .map_err(|source| ApplyError::File {
                    path: file.path.clone(),
                    source,
                })?;
        }
        let running = Running::new(config);
        let version = running.published.version().to_string();
        if version != previous {
            let (json, detail) = (
                running.published.json().to_string(),
                format!("{previous} → {version}"),
            );
            let (v, actor) = (version.clone(), actor.to_string());
            self.db()
                .write(move |s| -> Result<(), StoreError> {
                    let at = crate::auth::now();
                    s.remember_config(&v, &json, at)?;
                    s.audit(
                        at,
                        &actor,
                        AuditAction::ConfigApplied,
                        AUDIT_SUBJECT,
                        &detail,
                    )?;
                    Ok(())
                })
                .await
                .ok_or_else(|| StoreError::Group("the store thread stopped".into()))??;
            self.live().swap(running);
            tracing::info!(%previous, %version, "district configuration applied");
        }
        Ok(Applied {
            previous,
            version,
            restart_needed: restart_needed(&file.started, &settings),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_detail_names_the_applied_version_last() {
        assert_eq!(applied_version("aa → bb"), "bb");
        assert_eq!(applied_version("bb"), "bb");
    }

    #[test]
    fn a_written_file_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lianxin.toml");
        std::fs::write(&path, "old").expect("write");
        write_atomically(&path, "new").expect("written");
        assert_eq!(std::fs::read_to_string(&path).expect("reads"), "new");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("lists").collect();
        assert_eq!(left.len(), 1, "no temporary file is left beside it");
    }

    #[test]
    fn only_the_sections_read_at_start_that_changed_need_a_restart() {
        let started = FileSettings::default();
        assert!(restart_needed(&started, &FileSettings::default()).is_empty());
        let new = FileSettings {
            upload_daily_mb: Some(5),
            ..FileSettings::default()
        };
        assert_eq!(restart_needed(&started, &new), vec!["server".to_string()]);
    }
}
