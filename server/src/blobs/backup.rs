//! The blobs in `backup` and `restore`: a database file's blobs are in `<db>.blobs/sha256`
//! ([`super::blob_dir`]), so a backup `X` gets them in `X.blobs/sha256` and a restore from `X`
//! puts those back. Blobs never change once stored, so a backup copies only what its folder
//! lacks. Thumbnails and partial uploads are not copied: thumbnails are made again on demand,
//! and unfinished uploads resume from the offset the restored database's rows allow.

use std::fs;
use std::io;
use std::path::Path;

use super::{BlobHash, blob_dir, store::sync_dir};

/// Copies every blob of database `db` missing from the blobs of `to` (a backup's file);
/// returns how many were copied.
///
/// # Errors
/// When a folder or file cannot be read or written.
pub fn back_up(db: &Path, to: &Path) -> io::Result<usize> {
    copy_missing(&blob_dir(db).join("sha256"), &blob_dir(to).join("sha256"))
}

/// Replaces the blobs of database `db` by those of the backup `from` (staged beside them
/// first, then swapped in); returns how many the restored database has.
///
/// # Errors
/// When a folder or file cannot be read or written; the blobs are untouched unless the swap
/// itself failed.
pub fn restore(db: &Path, from: &Path) -> io::Result<usize> {
    let dir = blob_dir(db);
    let live = dir.join("sha256");
    let staged = dir.join("sha256.restoring");
    if staged.exists() {
        fs::remove_dir_all(&staged)?;
    }
    let n = copy_missing(&blob_dir(from).join("sha256"), &staged)?;
    if live.exists() {
        fs::remove_dir_all(&live)?;
    }
    fs::rename(&staged, &live)?;
    sync_dir(&dir)?;
    // Thumbnails were made from the blobs replaced.
    let thumbs = dir.join("thumb");
    if thumbs.exists() {
        fs::remove_dir_all(&thumbs)?;
    }
    Ok(n)
}

/// Copies the blobs in `from` that `to` lacks, each fsynced, then `to` itself.
fn copy_missing(from: &Path, to: &Path) -> io::Result<usize> {
    fs::create_dir_all(to)?;
    let entries = match fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            sync_dir(to)?;
            return Ok(0);
        }
        Err(e) => return Err(e),
    };
    let mut copied = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().and_then(BlobHash::parse).is_none() {
            continue;
        }
        let target = to.join(&name);
        if target.exists() {
            continue;
        }
        let partial = to.join(format!(".{}.part", name.to_string_lossy()));
        fs::copy(entry.path(), &partial)?;
        fs::File::open(&partial)?.sync_all()?;
        fs::rename(&partial, &target)?;
        copied += 1;
    }
    sync_dir(to)?;
    Ok(copied)
}
