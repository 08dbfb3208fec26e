//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), as PHC
//! strings with a random salt each.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

use super::Secret;
use crate::store::PasswordHash;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct HashError(String);

/// Shortest password accepted for a new account or a reset.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes a password with a fresh random salt.
///
/// # Errors
/// When the password is shorter than [`MIN_PASSWORD_CHARS`] or argon2 fails.
pub fn hash(password: &Secret) -> Result<PasswordHash, HashError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(HashError(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `hash`. A malformed stored hash matches nothing.
pub fn verify(password: &Secret, hash: &PasswordHash) -> bool {
    let Ok(parsed) = Phc::new(&hash.0) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Spends the same work as a real check, for logins whose account does not exist, so timing
/// does not tell which logins exist.
pub fn verify_dummy(password: &Secret) {
    static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| hash(&Secret::new("dummy-password-for-timing")).ok()) {
        let _ = verify(password, h);
    }
}
