//! The enterprise's signature (企业签字): its representative signs on the officer's screen to
//! confirm a visit (the 连心卡's confirmation) or a problem's resolution (the `confirm`
//! event). The record's document holds the signer's name, when, and the PNG's SHA-256 and
//! size; the image travels like a photo (kept on the phone by hash, uploaded by tus, readable
//! by whoever may read the record). Records from before signatures read as unsigned.

use serde::{Deserialize, Serialize};

use super::ids::EntryId;
use super::photo::is_blob_hash;
use super::records::{Problem, Visit};
use super::time::Timestamp;

/// The most bytes a signature's image may have.
pub const MAX_SIGNATURE_BYTES: u64 = 512 * 1024;

/// The longest signer's name, in characters.
pub const MAX_SIGNER_CHARS: usize = 50;

/// A signature's media type: always PNG.
pub const SIGNATURE_TYPE: &str = "image/png";

/// A signature's image: a PNG named by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The SHA-256 of the PNG, 64 lower-case hex digits: its name in the blob store.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type ([`SIGNATURE_TYPE`]).
    pub media_type: String,
}

/// The enterprise's signature on a problem's `confirm` event (企业确认签字).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedConfirmation {
    /// The `confirm` event it goes with.
    pub event: EntryId,
    /// Who signed for the enterprise.
    pub by_name: String,
    /// When (the event's time, by the device's clock).
    pub at: Timestamp,
    /// The image.
    pub signature: Signature,
}

/// A signature breaks a bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The hash is not 64 lower-case hex digits.
    #[error("signature hash {0:?} is not a SHA-256 in hex")]
    Hash(String),
    /// Empty or larger than [`MAX_SIGNATURE_BYTES`].
    #[error("signature {0} has {1} bytes (1 to {MAX_SIGNATURE_BYTES})")]
    Size(String, u64),
    /// Not a PNG.
    #[error("signature {0} has type {1:?} (image/png)")]
    Type(String, String),
    /// No signer's name, or one over [`MAX_SIGNER_CHARS`].
    #[error("a signature needs the signer's name, 1 to {MAX_SIGNER_CHARS} characters")]
    Name,
}

/// Checks one signature and its signer's name against the bounds above (the server refuses a
/// write that breaks one).
pub fn check_signature(by_name: &str, signature: &Signature) -> Result<(), SignatureError> {
    let name = by_name.trim().chars().count();
    if name == 0 || name > MAX_SIGNER_CHARS {
        return Err(SignatureError::Name);
    }
    if !is_blob_hash(&signature.hash) {
        return Err(SignatureError::Hash(signature.hash.clone()));
    }
    if signature.size == 0 || signature.size > MAX_SIGNATURE_BYTES {
        return Err(SignatureError::Size(signature.hash.clone(), signature.size));
    }
    if signature.media_type != SIGNATURE_TYPE {
        return Err(SignatureError::Type(
            signature.hash.clone(),
            signature.media_type.clone(),
        ));
    }
    Ok(())
}

/// Checks every signature a record holds (a visit's confirmation, a problem's confirmations).
pub fn check_signed(
    visit: Option<&Visit>,
    problem: Option<&Problem>,
) -> Result<(), SignatureError> {
    let confirmation = visit.and_then(|v| v.confirmation.as_ref());
    if let Some((c, s)) = confirmation.and_then(|c| Some((c, c.signature.as_ref()?))) {
        check_signature(&c.by_name, s)?;
    }
    for s in problem.map(|p| p.signatures.as_slice()).unwrap_or_default() {
        check_signature(&s.by_name, &s.signature)?;
    }
    Ok(())
}
