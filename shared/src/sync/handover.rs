//! The handover file (交接文件): the unsynced changes of a phone that will never reach the
//! server again (an officer whose phone never gets signal), exported to a file that IT imports
//! with `lianxin-server handover import FILE`, which applies them as the device's own push.
//!
//! Only the format lives here (the phone writes it, the server reads it); the server's
//! checking and applying code does not, so the web client links none of it.
//!
//! The file is a protocol message ([`super::protocol::encode`]: `LX`, version, flags, the
//! deflated postcard payload) of a [`HandoverFile`]. Its `payload` is the postcard encoding of
//! a [`Handover`], and its `signature` the HMAC-SHA256 of [`HANDOVER_DOMAIN`] followed by
//! `payload`, keyed by the SHA-256 of the device secret (the 32 bytes of the hash of the
//! secret's UTF-8 text, as the server keeps it): only the phone holding the secret can sign,
//! and the server checks it without ever having held the secret.

use serde::{Deserialize, Serialize};

use super::protocol::DocPush;
use crate::model::{DeviceId, Timestamp, UserId};

/// What the signature covers before the payload, so a handover signature is never valid for
/// any other use of the key.
pub const HANDOVER_DOMAIN: &[u8] = b"lianxin handover v1\n";

/// A signed handover, as written to the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverFile {
    /// The postcard encoding of a [`Handover`].
    pub payload: Vec<u8>,
    /// HMAC-SHA256 over [`HANDOVER_DOMAIN`] then `payload` (32 bytes).
    pub signature: Vec<u8>,
}

/// The unsynced changes of one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// The device that made them (its id as the server gave it).
    pub device: DeviceId,
    /// Its user.
    pub user: UserId,
    /// When the file was made, by the device's clock.
    pub created_at: Timestamp,
    /// Every document with changes the server has not acknowledged, as the device would push
    /// them (base: what it knows the server has).
    pub push: Vec<DocPush>,
}
