//! Scheduled backups (定期备份, issue 17 items 1 and 5): the `[backup]` section of the server's
//! configuration file ([`Settings`]: a directory, how often, how many to keep; off without a
//! directory), the backups in that directory ([`list`]), taking one ([`Backups::run`]: the
//! database with `VACUUM INTO` and its blob files, verified, then renamed into place, the oldest
//! beyond `keep` removed, recorded in the audit log), the job that takes them on schedule
//! ([`job`]) and the one-at-a-time rule that `POST /api/admin/backups` answers 409 by.
//!
//! A backup in the directory is `lianxin-YYYYMMDDTHHMMSSZ.db` (UTC, so names sort by time)
//! with its blobs in `lianxin-….db.blobs/sha256`, the layout `lianxin-server restore --from`
//! reads. It is written as `.partial` names and renamed only once the copy passed
//! `PRAGMA integrity_check` and its blobs are copied: a listed backup is a verified one.

pub mod job;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use shared::model::Timestamp;

use crate::admin::AdminError;
use crate::store::{AuditAction, StoreError};
use crate::sync::SyncService;

/// The `[backup]` section of the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where backups go; none: no backups are taken (the default).
    pub directory: Option<PathBuf>,
    /// Hours between scheduled backups (fractions allowed); 0: only on request.
    pub every_hours: f64,
    /// How many backups the directory keeps; older ones are removed after each new one.
    pub keep: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            directory: None,
            every_hours: 0.0,
            keep: 7,
        }
    }
}

impl Settings {
    /// What is wrong with the settings, each as a line (empty: valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(0.0..=8760.0).contains(&self.every_hours) {
            out.push(format!(
                "backup.every_hours is {}: use 0 (on request only) up to 8760 (a year)",
                self.every_hours
            ));
        }
        if self.keep == 0 {
            out.push("backup.keep is 0: keep at least one backup".into());
        }
        if self.every_hours > 0.0 && self.directory.is_none() {
            out.push("backup.every_hours is set but backup.directory is not".into());
        }
        out
    }

    /// The time between scheduled backups, when they are scheduled.
    pub fn every(&self) -> Option<std::time::Duration> {
        (self.directory.is_some() && self.every_hours > 0.0)
            .then(|| std::time::Duration::from_secs_f64(self.every_hours * 3600.0))
    }
}

/// One backup in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupFile {
    /// Its file name, e.g. `lianxin-20261206T020000Z.db`.
    pub name: String,
    /// Its path (what `lianxin-server restore --from` takes).
    pub path: PathBuf,
    /// When it was taken, ms since the epoch (from its name).
    pub taken_at: i64,
    /// The database file's size.
    pub bytes: u64,
    /// How many blob files it holds.
    pub blobs: usize,
}

/// Why a backup was not taken.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No `[backup] directory` is configured.
    #[error("备份未配置（[backup] directory）/ backups are not configured: set [backup] directory")]
    Off,
    /// Another backup is being taken.
    #[error("正在备份，请稍后 / a backup is already running: wait for it to finish")]
    Running,
    /// The copy, its check or the directory failed.
    #[error("{0}")]
    Failed(#[from] AdminError),
    /// Reading or writing the directory failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The audit log could not be written.
    #[error("{0}")]
    Store(#[from] StoreError),
}

const PREFIX: &str = "lianxin-";
const SUFFIX: &str = ".db";
const PARTIAL: &str = ".partial";
/// The time in a backup's name.
const NAME_TIME: &str = "%Y%m%dT%H%M%SZ";

/// The backups of a database, with the rule that one runs at a time. Cheap to share.
#[derive(Debug)]
pub struct Backups {
    db: PathBuf,
    settings: Settings,
    running: AtomicBool,
}

/// Clears the running flag when a backup ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Backups {
    /// The backups of database `db` as `settings` say.
    pub fn new(db: &Path, settings: Settings) -> Arc<Backups> {
        Arc::new(Backups {
            db: db.to_path_buf(),
            settings,
            running: AtomicBool::new(false),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether a backup is being taken.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The backups in the directory, oldest first (none when backups are off).
    ///
    /// # Errors
    /// When the directory cannot be read.
    pub fn list(&self) -> std::io::Result<Vec<BackupFile>> {
        match &self.settings.directory {
            Some(dir) => list(dir),
            None => Ok(Vec::new()),
        }
    }

    /// Takes a backup now on a blocking thread ([`Backups::run`]) and records it in the audit
    /// log as done by `actor`, through the running server's own connection.
    ///
    /// # Errors
    /// As [`Backups::run`]; a failure to write the audit log after the backup is taken too.
    pub async fn run_recorded(
        self: &Arc<Self>,
        sync: &Arc<SyncService>,
        actor: String,
    ) -> Result<BackupFile, BackupError> {
        let this = self.clone();
        let now = crate::auth::now();
        let (file, detail) = tokio::task::spawn_blocking(move || this.run(now))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let subject = file.path.display().to_string();
        sync.db()
            .write(move |s| s.audit(now, &actor, AuditAction::BackedUp, &subject, &detail))
            .await
            .ok_or_else(|| std::io::Error::other("the store thread stopped"))??;
        Ok(file)
    }

    /// Takes a backup now (blocking), verifies it and removes the oldest beyond `keep`; returns
    /// it with the audit log's detail for it (sizes, removed backups).
    ///
    /// # Errors
    /// [`BackupError::Running`] while another runs, [`BackupError::Off`] without a directory,
    /// else why the copy failed (nothing is left under a backup's name then).
    pub fn run(&self, now: Timestamp) -> Result<(BackupFile, String), BackupError> {
        let dir = self.settings.directory.as_ref().ok_or(BackupError::Off)?;
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(BackupError::Running);
        }
        let _running = Running(&self.running);
        std::fs::create_dir_all(dir)?;
        clear_partials(dir)?;
        let taken = chrono::DateTime::from_timestamp_millis(now.0).unwrap_or_default();
        let name = format!("{PREFIX}{}{SUFFIX}", taken.format(NAME_TIME));
        let path = dir.join(&name);
        if path.exists() {
            // Two in one second: the one there is as recent.
            return Err(BackupError::Running);
        }
        let partial = dir.join(format!("{name}{PARTIAL}"));
        // The copy, its integrity check and its blobs (`admin::backup`), under the partial name.
        crate::admin::backup(&self.db, &partial)?;
        std::fs::rename(blobs_of(&partial), blobs_of(&path))?;
        std::fs::rename(&partial, &path)?;
        crate::blobs::store::sync_dir(dir)?;
        let pruned = prune(dir, self.settings.keep)?;
        let file = list(dir)?
            .into_iter()
            .find(|b| b.name == name)
            .ok_or_else(|| std::io::Error::other(format!("{} vanished", path.display())))?;
        let detail = format!(
            "{} bytes, {} blob(s), {pruned} older backup(s) removed",
            file.bytes, file.blobs
        );
        tracing::info!(backup = %path.display(), %detail, "backup taken and verified");
        Ok((file, detail))
    }
}

/// The folder holding a backup's blobs (`blobs::blob_dir` of the backup's file).
fn blobs_of(backup: &Path) -> PathBuf {
    crate::blobs::blob_dir(backup)
}

/// The backups in `dir`, oldest first: files named as the job names them (partial ones are
/// not listed).
///
/// # Errors
/// When the directory cannot be read (a missing one holds no backups).
pub fn list(dir: &Path) -> std::io::Result<Vec<BackupFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(time) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix(SUFFIX))
        else {
            continue;
        };
        let Ok(taken) = chrono::NaiveDateTime::parse_from_str(time, NAME_TIME) else {
            continue;
        };
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let path = entry.path();
        let blobs = match std::fs::read_dir(blobs_of(&path).join("sha256")) {
            Ok(files) => files.filter(|f| f.is_ok()).count(),
            Err(_) => 0,
        };
        out.push(BackupFile {
            name,
            taken_at: taken.and_utc().timestamp_millis(),
            path,
            bytes: meta.len(),
            blobs,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes the oldest backups beyond `keep` (each with its blobs); returns how many.
fn prune(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let all = list(dir)?;
    let old = all.len().saturating_sub(keep.max(1));
    for backup in &all[..old] {
        remove_backup(&backup.path)?;
    }
    Ok(old)
}

/// Removes what a backup taken before a crash left under partial names.
fn clear_partials(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with(PREFIX) && name.ends_with(PARTIAL) {
            remove_backup(&path)?;
        }
    }
    Ok(())
}

/// Removes a backup's file, its `-wal`/`-shm` files and its blobs, whichever exist.
fn remove_backup(path: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    match std::fs::remove_dir_all(blobs_of(path)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn backups_are_off_unless_a_directory_is_given_and_bad_settings_are_named() {
        assert_eq!(Settings::default().every(), None);
        assert!(Settings::default().problems().is_empty());
        let bad = Settings {
            directory: None,
            every_hours: -1.0,
            keep: 0,
        };
        let problems = bad.problems().join("\n");
        assert!(problems.contains("every_hours"), "{problems}");
        assert!(problems.contains("keep"), "{problems}");
        let daily = Settings {
            directory: Some("/var/backups/lianxin".into()),
            every_hours: 24.0,
            keep: 7,
        };
        assert_eq!(daily.every(), Some(std::time::Duration::from_secs(86_400)));
    }

    #[test]
    fn one_backup_runs_at_a_time_and_the_oldest_beyond_keep_are_removed() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db = dir.path().join("lianxin.db");
        drop(SqliteStore::open(&db).expect("a database"));
        let backups = Backups::new(
            &db,
            Settings {
                directory: Some(dir.path().join("backups")),
                every_hours: 0.0,
                keep: 2,
            },
        );
        backups.running.store(true, Ordering::Release);
        assert!(matches!(
            backups.run(Timestamp(1_000)),
            Err(BackupError::Running)
        ));
        assert!(
            backups.list().expect("listed").is_empty(),
            "nothing written"
        );
        backups.running.store(false, Ordering::Release);
        for second in 1..=3 {
            let (taken, _) = backups.run(Timestamp(second * 1_000)).expect("taken");
            assert_eq!(taken.taken_at, second * 1_000);
        }
        assert!(!backups.is_running());
        let names: Vec<String> = backups
            .list()
            .expect("listed")
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(
            names,
            ["lianxin-19700101T000002Z.db", "lianxin-19700101T000003Z.db"]
        );
        assert!(!blobs_of(&dir.path().join("backups/lianxin-19700101T000001Z.db")).exists());
        let off = Backups::new(&db, Settings::default());
        assert!(matches!(off.run(Timestamp(0)), Err(BackupError::Off)));
    }
}
