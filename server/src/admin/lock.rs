//! One writer per database file: a running server holds an advisory lock on `<db>.lock` (the
//! operating system releases it when the process dies, even by SIGKILL) with its process id
//! written in the file. A command that writes the database takes the same lock for its run and
//! refuses, naming that process, while a server holds it: the server keeps state of its own
//! beside the file (caches, the change feed's notices, sessions), and writes made behind its
//! back can be lost or go unnoticed. Commands that only read (lists, `audit`, `config`,
//! `backup`) need no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::AdminError;

/// The held lock of a database file; released when dropped.
#[derive(Debug)]
pub struct DbLock {
    _file: File,
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the database's lock and writes this process's id in the lock file; `Ok(None)` when
/// another process (a running server) holds it.
///
/// # Errors
/// When the lock file cannot be created.
pub fn lock_db(db: &Path) -> std::io::Result<Option<DbLock>> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(db))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            write!(file, "{}", std::process::id())?;
            Ok(Some(DbLock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// The process id the lock file of `db` names (the process holding it, when one does).
pub fn holder(db: &Path) -> Option<u32> {
    std::fs::read_to_string(lock_path(db))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// How the process holding `db`'s lock is named in messages.
pub fn holder_name(db: &Path) -> String {
    holder(db).map_or_else(|| "pid unknown".into(), |pid| format!("pid {pid}"))
}

/// Takes the lock for a command that writes `db`, or refuses naming the server that holds it.
///
/// # Errors
/// [`AdminError::InUse`] while a server runs on `db`; an I/O error when the lock file cannot
/// be created.
pub fn for_writing(db: &Path) -> Result<DbLock, AdminError> {
    lock_db(db)?.ok_or_else(|| AdminError::InUse {
        db: db.to_path_buf(),
        holder: holder_name(db),
    })
}
