//! The blob store: finished blobs by name, behind [`BlobStore`] so a PostgreSQL deployment can
//! keep them in its database or on shared storage. [`FsBlobStore`] keeps them as files:
//! `sha256/<hash>` for what was uploaded, `thumb/<hash>.jpg` for thumbnails made from it. A
//! file enters the store whole or not at all: written to a temporary file, fsynced, renamed
//! to its name, and the folder fsynced, so a name that exists after a crash holds all its bytes.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::BlobHash;

/// Which file of a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The bytes uploaded, whose SHA-256 the hash is.
    Original,
    /// The server's ~320 px JPEG thumbnail of them.
    Thumb,
}

/// A file in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobName {
    /// The original's hash.
    pub hash: BlobHash,
    /// Which file.
    pub variant: Variant,
}

impl BlobName {
    /// The uploaded bytes of `hash`.
    pub fn original(hash: &BlobHash) -> BlobName {
        BlobName {
            hash: hash.clone(),
            variant: Variant::Original,
        }
    }

    /// The thumbnail of `hash`.
    pub fn thumb(hash: &BlobHash) -> BlobName {
        BlobName {
            hash: hash.clone(),
            variant: Variant::Thumb,
        }
    }
}

/// Why the blob store failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The file system failed.
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
}

/// Where finished blobs live. Every method blocks: call it off the async runtime.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Moves the finished file `from` (already fsynced, on the store's file system for the
    /// filesystem store) in as `name`, durably. A name already stored keeps its bytes: `from` is
    /// removed (the same hash is stored once).
    fn put(&self, name: &BlobName, from: &Path) -> Result<(), BlobError>;
    /// The bytes of `name`, if stored.
    fn get(&self, name: &BlobName) -> Result<Option<Vec<u8>>, BlobError>;
    /// Whether `name` is stored.
    fn exists(&self, name: &BlobName) -> Result<bool, BlobError>;
    /// Removes `name`, if stored.
    fn delete(&self, name: &BlobName) -> Result<(), BlobError>;
    /// Every stored original with its size in bytes (thumbnails go with their original).
    fn list(&self) -> Result<Vec<(BlobHash, u64)>, BlobError>;
    /// A folder on the store's file system for files being written before [`BlobStore::put`].
    fn staging_dir(&self) -> PathBuf;
}

/// Blobs as files under one folder.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// The store under `root` (made when first written).
    pub fn new(root: &Path) -> FsBlobStore {
        FsBlobStore { root: root.into() }
    }

    fn path(&self, name: &BlobName) -> PathBuf {
        match name.variant {
            Variant::Original => self.root.join("sha256").join(name.hash.as_str()),
            Variant::Thumb => self
                .root
                .join("thumb")
                .join(format!("{}.jpg", name.hash.as_str())),
        }
    }
}

/// Makes `dir` (and its parents) and fsyncs it and its parent, so the folder itself survives
/// a crash.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    sync_dir(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Fsyncs a folder, so a rename or a new file in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to a new temporary file in `dir`, fsynced; returns its path.
pub fn write_temp(dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    ensure_dir(dir)?;
    let name: [u8; 12] = rand::random();
    let path = dir.join(format!("tmp-{}", crate::auth::token::hex(&name)));
    let mut file = File::create(&path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(path)
}

impl BlobStore for FsBlobStore {
    fn put(&self, name: &BlobName, from: &Path) -> Result<(), BlobError> {
        let to = self.path(name);
        let dir = to.parent().unwrap_or(&self.root);
        ensure_dir(dir)?;
        if to.exists() {
            fs::remove_file(from)?;
            return Ok(());
        }
        File::open(from)?.sync_all()?;
        fs::rename(from, &to)?;
        sync_dir(dir)?;
        Ok(())
    }

    fn get(&self, name: &BlobName) -> Result<Option<Vec<u8>>, BlobError> {
        match fs::read(self.path(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn exists(&self, name: &BlobName) -> Result<bool, BlobError> {
        Ok(self.path(name).try_exists()?)
    }

    fn delete(&self, name: &BlobName) -> Result<(), BlobError> {
        match fs::remove_file(self.path(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn list(&self) -> Result<Vec<(BlobHash, u64)>, BlobError> {
        let dir = self.root.join("sha256");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            // Anything not named by a hash is not a blob (an operator's stray file).
            let Some(hash) = entry.file_name().to_str().and_then(BlobHash::parse) else {
                continue;
            };
            out.push((hash, entry.metadata()?.len()));
        }
        out.sort();
        Ok(out)
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_put_twice_is_stored_once_and_listed_with_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsBlobStore::new(&dir.path().join("db.blobs"));
        let bytes = b"a photo".to_vec();
        let hash = BlobHash::of(&bytes);
        let name = BlobName::original(&hash);
        assert!(!store.exists(&name).expect("exists"));
        for _ in 0..2 {
            let temp = write_temp(&store.staging_dir(), &bytes).expect("temp");
            store.put(&name, &temp).expect("put");
            assert!(!temp.exists(), "the temporary file is moved or removed");
        }
        assert_eq!(store.get(&name).expect("get"), Some(bytes));
        assert_eq!(store.list().expect("list"), vec![(hash.clone(), 7)]);
        store.delete(&name).expect("delete");
        assert_eq!(store.get(&name).expect("get"), None);
        assert!(store.list().expect("list").is_empty());
    }
}
