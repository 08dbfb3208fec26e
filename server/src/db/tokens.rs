//! Session tokens: stored as their SHA-256 only, each bound to a device of a user; who a
//! bearer token speaks for, its first use, the device's last sight, and revocation.

use shared::model::{DeviceId, Timestamp};

use super::DbFuture;
use crate::store::{TokenHash, TokenKind, TokenLookup};

/// What the HTTP layer needs of session tokens. The rule that makes a token valid (kind,
/// expiry, revocation, a disabled user: `auth::check_access`) is the caller's; this answers
/// the facts it is judged on.
pub trait Tokens: Send + Sync + std::fmt::Debug {
    /// Stores the token hashed `hash` for `device`, valid from `issued_at` until `expires_at`.
    fn store_token(
        &self,
        hash: TokenHash,
        device: DeviceId,
        kind: TokenKind,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> DbFuture<'_, ()>;

    /// The token hashed `hash`, with its user and device, if one is stored.
    fn lookup_token(&self, hash: TokenHash) -> DbFuture<'_, Option<TokenLookup>>;

    /// Notes the token's first use at `now` (once: a later note keeps the first time; its pair
    /// is no longer a lost refresh answer) when `first_use`, and with `touched` that device's
    /// last sight (never moved back).
    fn note_token_use(
        &self,
        hash: TokenHash,
        first_use: bool,
        touched: Option<DeviceId>,
        now: Timestamp,
    ) -> DbFuture<'_, ()>;

    /// Revokes every token of `device`, access and refresh; how many were live.
    fn revoke_device_tokens(&self, device: DeviceId) -> DbFuture<'_, usize>;

    /// Logs `device` out: revokes every token of it and records the logout by `login` at `at`
    /// in the audit log, both or neither.
    fn log_out(&self, device: DeviceId, login: String, at: Timestamp) -> DbFuture<'_, ()>;
}
