//! Session tokens: 32 random bytes from the operating system's CSPRNG, written as 64 hex
//! digits; only their SHA-256 is stored.

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::Secret;
use crate::store::TokenHash;

/// A new random token and its hash.
pub fn new_token() -> (Secret, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = Secret::new(hex(&bytes));
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn hash(token: &Secret) -> TokenHash {
    TokenHash(Sha256::digest(token.expose().as_bytes()).into())
}

/// 16 random bytes for a device's Automerge actor.
pub fn new_actor() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// 16 random bytes for an id.
pub fn random_id_bytes() -> [u8; 16] {
    new_actor()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
