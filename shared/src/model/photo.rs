//! Photos on records (现场照片 on a visit, the problem as found): what a record's document
//! holds of each photo (its SHA-256, size, type, caption, when and where it was taken; the
//! bytes travel apart, by tus, and are kept by hash), the bounds the server checks, and the one
//! list of the blobs a record references ([`Visit::blob_hashes`], [`Problem::blob_hashes`]:
//! its photos ([`Visit::photo_hashes`], [`Problem::photo_hashes`]) and the enterprise's
//! signatures).

use serde::{Deserialize, Serialize};

use super::geo::Position;
use super::records::{Problem, Visit};
use super::time::Timestamp;

/// The most bytes one photo may have (the server's per-blob limit; phones send a few hundred
/// KB after downscaling).
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

/// The most photos one record may hold.
pub const MAX_PHOTOS: usize = 20;

/// The longest caption, in characters.
pub const MAX_CAPTION_CHARS: usize = 200;

/// The media types a photo may have.
pub const PHOTO_TYPES: [&str; 2] = ["image/jpeg", "image/png"];

/// One photo of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    /// The SHA-256 of its bytes, 64 lower-case hex digits: its name in the blob store.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type (`image/jpeg`).
    pub media_type: String,
    /// What it shows, as the officer wrote it (empty: none).
    pub caption: String,
    /// When it was taken (the device's clock).
    pub taken_at: Timestamp,
    /// Where the device was when it was taken, if it knew.
    pub position: Option<Position>,
}

/// A photo breaks a bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// The hash is not 64 lower-case hex digits.
    #[error("photo hash {0:?} is not a SHA-256 in hex")]
    Hash(String),
    /// Empty or larger than [`MAX_PHOTO_BYTES`].
    #[error("photo {0} has {1} bytes (1 to {MAX_PHOTO_BYTES})")]
    Size(String, u64),
    /// Not one of [`PHOTO_TYPES`].
    #[error("photo {0} has type {1:?} (image/jpeg or image/png)")]
    Type(String, String),
    /// A caption over [`MAX_CAPTION_CHARS`].
    #[error("photo {0}'s caption is over {MAX_CAPTION_CHARS} characters")]
    Caption(String),
    /// More than [`MAX_PHOTOS`] on one record.
    #[error("{0} photos on one record (at most {MAX_PHOTOS})")]
    Count(usize),
}

/// Whether `text` is a blob's name: 64 lower-case hex digits.
pub fn is_blob_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a record's photos against the bounds above (the server refuses a write that breaks
/// one).
pub fn check_photos(photos: &[Photo]) -> Result<(), PhotoError> {
    if photos.len() > MAX_PHOTOS {
        return Err(PhotoError::Count(photos.len()));
    }
    for p in photos {
        if !is_blob_hash(&p.hash) {
            return Err(PhotoError::Hash(p.hash.clone()));
        }
        if p.size == 0 || p.size > MAX_PHOTO_BYTES {
            return Err(PhotoError::Size(p.hash.clone(), p.size));
        }
        if !PHOTO_TYPES.contains(&p.media_type.as_str()) {
            return Err(PhotoError::Type(p.hash.clone(), p.media_type.clone()));
        }
        if p.caption.chars().count() > MAX_CAPTION_CHARS {
            return Err(PhotoError::Caption(p.hash.clone()));
        }
    }
    Ok(())
}

/// The blob hashes in `candidates` that name a blob, each once, in first-seen order.
fn hashes<'a>(candidates: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for h in candidates {
        if is_blob_hash(h) && !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

impl Visit {
    /// Every photo the visit references: the check-in photo of older apps, then its photos.
    pub fn photo_hashes(&self) -> Vec<&str> {
        let check_in = self.check_in.iter().filter_map(|c| c.photo_hash.as_deref());
        hashes(check_in.chain(self.photos.iter().map(|p| p.hash.as_str())))
    }
}

impl Problem {
    /// Every photo the problem references: its attachments, then its photos.
    pub fn photo_hashes(&self) -> Vec<&str> {
        let attached = self.attachments.iter().map(String::as_str);
        hashes(attached.chain(self.photos.iter().map(|p| p.hash.as_str())))
    }

    /// Every blob the problem references: its photos, then the enterprise's signatures.
    /// Uploads, reads and garbage collection follow this list; photo counts do not.
    pub fn blob_hashes(&self) -> Vec<&str> {
        let mut out = self.photo_hashes();
        out.extend(self.signatures.iter().map(|s| s.signature.hash.as_str()));
        hashes(out.into_iter())
    }
}

impl Visit {
    /// Every blob the visit references: its photos, then the enterprise's signature.
    /// Uploads, reads and garbage collection follow this list; photo counts do not.
    pub fn blob_hashes(&self) -> Vec<&str> {
        let mut out = self.photo_hashes();
        let signed = self
            .confirmation
            .as_ref()
            .and_then(|c| c.signature.as_ref());
        out.extend(signed.map(|s| s.hash.as_str()));
        hashes(out.into_iter())
    }
}
