//! Partial uploads as files: `uploads/<id>` under the blob folder holds the bytes received so
//! far, in order, so the upload's offset is the file's length. Every append is fsynced before
//! it is acknowledged, so an acknowledged offset survives `kill -9` and power loss; bytes
//! written but not acknowledged (a cut mid-request) are kept too and count, since they are the
//! uploader's bytes at their place. The upload's row (`db::BlobRecords`) says what is
//! expected; its bytes are verified against the hash before they enter the blob store.
//!
//! Several servers may share the folder (PostgreSQL, `serve --blobs DIR`): an upload started
//! on one is continued on another from the same file. While a request appends to an upload or
//! finishes it, its server holds an exclusive lock on `locks/<id>` ([`UploadFiles::try_hold`],
//! `flock`, which Linux carries over NFS as a POSIX lock), so two servers never write one
//! upload at once.

use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use axum::body::Body;
use futures_util::StreamExt as _;
use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;

use super::BlobHash;

/// How an append ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    /// The whole body was written; the new offset.
    Done(u64),
    /// The body ended early (the connection was cut, or sent nothing for
    /// [`super::limits::UPLOAD_IDLE`]); what arrived was kept: the new offset.
    Cut(u64),
    /// A newer request for the upload arrived (`stop`) before the body's end; what arrived
    /// was kept: the new offset.
    Stopped(u64),
    /// The offset given is not the upload's: its offset.
    Mismatch(u64),
    /// The body went past the upload's length; the bytes up to it were kept: the new offset.
    TooLong(u64),
    /// The body's SHA-256 is not the `Upload-Checksum` given: nothing of it was kept (the
    /// offset is the one before).
    ChecksumMismatch(u64),
}

/// The folder of partial uploads.
#[derive(Debug, Clone)]
pub struct UploadFiles {
    dir: PathBuf,
    locks: PathBuf,
}

/// An upload held by this process ([`UploadFiles::try_hold`]): released when dropped.
#[derive(Debug)]
pub struct UploadHold {
    _locked: std::fs::File,
}

/// Whether `id` is an upload id the server makes: 32 hex digits (so never a path).
pub fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl UploadFiles {
    /// Partial uploads under `root/uploads`, their locks under `root/locks`.
    pub fn new(root: &Path) -> UploadFiles {
        UploadFiles {
            dir: root.join("uploads"),
            locks: root.join("locks"),
        }
    }

    /// Takes upload `id`'s lock if no other holder (another server on the folder) has it:
    /// `None` while one does (blocking: call it off the runtime).
    ///
    /// # Errors
    /// When the file system fails.
    pub fn try_hold(&self, id: &str) -> io::Result<Option<UploadHold>> {
        if !is_upload_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{id:?} is not an upload id"),
            ));
        }
        if !self.locks.is_dir() {
            std::fs::create_dir_all(&self.locks)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.locks.join(id))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(UploadHold { _locked: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The file of upload `id` (an id the server made: hex digits only).
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Bytes of upload `id` received so far (0 before the first).
    ///
    /// # Errors
    /// When the file system fails.
    pub fn offset(&self, id: &str) -> io::Result<u64> {
        match std::fs::metadata(self.path(id)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Appends `body` to upload `id` if its offset is `offset`, writing nothing past
    /// `length`, until the body ends or `stop` resolves; every byte written is fsynced before
    /// this returns, whatever the outcome. The offset is compared before any byte of the body
    /// is read. With a `checksum` (the SHA-256 of the whole body), a body that arrived whole
    /// but does not match it is cut off again.
    ///
    /// # Errors
    /// When the file system fails.
    pub async fn append(
        &self,
        id: &str,
        offset: u64,
        length: u64,
        body: Body,
        checksum: Option<[u8; 32]>,
        stop: impl Future<Output = ()>,
    ) -> io::Result<Appended> {
        if !tokio::fs::try_exists(&self.dir).await? {
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&dir)?;
                super::store::sync_dir(&dir)
            })
            .await
            .map_err(io::Error::other)??;
        }
        let path = self.path(id);
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let at = file.metadata().await?.len();
        if at != offset {
            return Ok(Appended::Mismatch(at));
        }
        if at == 0 {
            // The new file's name is durable before any byte of it is acknowledged.
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || super::store::sync_dir(&dir))
                .await
                .map_err(io::Error::other)??;
        }
        let mut written = at;
        let mut hasher = sha2::Sha256::new();
        let mut stream = body.into_data_stream();
        let mut stop = std::pin::pin!(stop);
        let outcome = loop {
            let next = tokio::select! {
                biased;
                () = &mut stop => break Ok(Appended::Stopped(written)),
                next = tokio::time::timeout(super::limits::UPLOAD_IDLE, stream.next()) => next,
            };
            match next {
                Ok(None) => break Ok(Appended::Done(written)),
                Err(_) | Ok(Some(Err(_))) => break Ok(Appended::Cut(written)),
                Ok(Some(Ok(bytes))) => {
                    let room = length.saturating_sub(written);
                    let take = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
                    if let Err(e) = file.write_all(&bytes[..take]).await {
                        break Err(e);
                    }
                    hasher.update(&bytes[..take]);
                    written += take as u64;
                    if take < bytes.len() {
                        break Ok(Appended::TooLong(written));
                    }
                }
            }
        };
        let outcome = match (outcome, checksum) {
            (Ok(Appended::Done(_)), Some(expected)) if hasher.finalize().as_slice() != expected => {
                file.set_len(at).await?;
                Ok(Appended::ChecksumMismatch(at))
            }
            (outcome, _) => outcome,
        };
        // Even after a failed write: whatever part of it the file holds is made durable
        // before anyone reads the offset from the file's length.
        file.sync_all().await?;
        outcome
    }

    /// The SHA-256 of upload `id`'s bytes (blocking: call it off the runtime).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn hash(&self, id: &str) -> io::Result<BlobHash> {
        let mut file = std::fs::File::open(self.path(id))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(BlobHash(crate::auth::token::hex(&hasher.finalize())))
    }

    /// Removes the lock file of upload `id`, finished (so never written again), if any.
    ///
    /// # Errors
    /// When the file system fails.
    pub fn forget_lock(&self, id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.locks.join(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes upload `id`'s bytes and its lock file, if any (a request still waiting for
    /// that lock then finds the upload's row gone).
    ///
    /// # Errors
    /// When the file system fails.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        for path in [self.path(id), self.locks.join(id)] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Every partial upload file with its last change.
    ///
    /// # Errors
    /// When the folder cannot be read.
    pub fn list(&self) -> io::Result<Vec<(String, SystemTime)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str() {
                out.push((name.to_string(), entry.metadata()?.modified()?));
            }
        }
        Ok(out)
    }
}
