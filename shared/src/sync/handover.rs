//! The handover file (交接文件): the unsynced changes of a phone that will never reach the
//! server again (an officer whose phone never gets signal), exported to a file that IT imports
//! with `lianxin-server handover import FILE`, which applies them as the device's own push.
//!
//! The format and its signature live here (the phone writes and signs, the server reads and
//! checks the same bytes); the server's applying code does not, so the web client links none
//! of it.
//!
//! The file is a protocol message ([`super::protocol::encode`]: `LX`, version, flags, the
//! deflated postcard payload) of a [`HandoverFile`]. Its `payload` is the postcard encoding of
//! a [`Handover`], and its `signature` the HMAC-SHA256 of [`HANDOVER_DOMAIN`] followed by
//! `payload`, keyed by the SHA-256 of the device secret (the 32 bytes of the hash of the
//! secret's UTF-8 text, as the server keeps it): only the phone holding the secret can sign,
//! and the server checks it without ever having held the secret.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::protocol::{self, DocPush};
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

/// HMAC-SHA256 (RFC 2104) of `parts` in order, keyed by `key` (at most 64 bytes are used as
/// they are; a longer key is hashed first).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The signing key of a device: the SHA-256 of its secret's UTF-8 text (what the server keeps
/// of the secret).
pub fn key_of(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The signature of a handover `payload` by the device whose secret hashes to `key`.
pub fn signature(key: &[u8; 32], payload: &[u8]) -> [u8; 32] {
    hmac_sha256(key, &[HANDOVER_DOMAIN, payload])
}

/// The file a phone writes: `handover` encoded and signed with the device's `secret`. Written
/// with an undeflated payload (the phone carries no compressor); the server reads both forms.
pub fn write(handover: &Handover, secret: &str) -> Vec<u8> {
    let payload = postcard::to_allocvec(handover).unwrap_or_default();
    let signature = signature(&key_of(secret), &payload).to_vec();
    protocol::encode_plain(&HandoverFile { payload, signature })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_hmac_is_rfc_4231s() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_written_file_reads_back_with_a_signature_that_holds_only_for_its_secret() {
        let handover = Handover {
            device: DeviceId::from_random_bytes([7; 16]),
            user: UserId::from_random_bytes([8; 16]),
            created_at: Timestamp(1_790_000_000_000),
            push: Vec::new(),
        };
        let bytes = write(&handover, "the phone's secret");
        let file: HandoverFile = protocol::decode(&bytes).expect("a handover file");
        let read: Handover = postcard::from_bytes(&file.payload).expect("its payload");
        assert_eq!(read, handover);
        assert_eq!(
            file.signature,
            signature(&key_of("the phone's secret"), &file.payload).to_vec()
        );
        assert_ne!(
            file.signature,
            signature(&key_of("another secret"), &file.payload).to_vec()
        );
    }
}
