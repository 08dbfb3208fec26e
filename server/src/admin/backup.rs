//! Backup (SQLite's online backup, consistent while the server writes) and restore (checked
//! first, refused over a running server's file without `--force`), each with the database's
//! blobs (`blobs::backup`). A running server holds an
//! advisory lock on `<db>.lock`; the operating system releases it when the process dies.

use std::path::{Path, PathBuf};

use super::AdminError;
use super::lock::{holder_name, lock_db};
use crate::store::SqliteStore;

/// Copies `db` to `to` with SQLite's online backup.
///
/// # Errors
/// When the database cannot be opened or the copy fails.
pub fn backup(db: &Path, to: &Path) -> Result<(), AdminError> {
    if !db.exists() {
        return Err(AdminError::Invalid(format!(
            "no database at {}",
            db.display()
        )));
    }
    let store = SqliteStore::open(db)?;
    store.backup_to(to)?;
    let copy = SqliteStore::open(to)?;
    let check = copy.integrity_check()?;
    if check != "ok" {
        return Err(AdminError::Invalid(format!(
            "the backup at {} fails the integrity check: {check}",
            to.display()
        )));
    }
    crate::blobs::backup::back_up(db, to)?;
    Ok(())
}

/// Replaces `db` by the backup `from`: the backup is copied beside `db`, opened (and migrated
/// if older) and checked with `PRAGMA integrity_check`; only then does it replace `db`.
///
/// # Errors
/// When the backup is unreadable or damaged, or a server is running on `db` and `force` is
/// not set; `db` is untouched then.
pub fn restore(db: &Path, from: &Path, force: bool) -> Result<(), AdminError> {
    if !from.exists() {
        return Err(AdminError::Invalid(format!(
            "no backup at {}",
            from.display()
        )));
    }
    let lock = lock_db(db)?;
    if lock.is_none() && !force {
        return Err(AdminError::Invalid(format!(
            "服务器正在使用 {db}（{pid}）：请先停止它，或加 --force 并在之后重启它。\n\
             a server ({pid}) is running on {db}: stop it first, or pass --force and restart it after",
            db = db.display(),
            pid = holder_name(db),
        )));
    }
    let mut staged = db.as_os_str().to_owned();
    staged.push(".restoring");
    let staged = PathBuf::from(staged);
    remove_with_sidecars(&staged)?;
    std::fs::copy(from, &staged)?;
    // The epoch of the database being replaced, when it still reads: the restored one's is
    // above it, so devices' cursors from either are known as another epoch's.
    let replaced = db
        .exists()
        .then(|| SqliteStore::open(db).ok()?.store_epoch().ok())
        .flatten();
    let checked = (|| -> Result<(), AdminError> {
        let mut store = SqliteStore::open(&staged)
            .map_err(|e| AdminError::Invalid(format!("the backup does not open: {e}")))?;
        let check = store.integrity_check()?;
        if check != "ok" {
            return Err(AdminError::Invalid(format!(
                "the backup fails the integrity check: {check}"
            )));
        }
        let [jump, ..] = crate::auth::token::random_id_bytes();
        store.start_epoch(replaced, u64::from(jump))?;
        Ok(())
    })();
    if let Err(e) = checked {
        remove_with_sidecars(&staged)?;
        return Err(e);
    }
    remove_with_sidecars(db)?;
    std::fs::rename(&staged, db)?;
    crate::blobs::backup::restore(db, from)?;
    drop(lock);
    Ok(())
}

/// Removes a database file and its `-wal` and `-shm` files, when present.
fn remove_with_sidecars(db: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
