//! Session tokens: stored as their SHA-256 only, each bound to a device of a user; who a
//! bearer token speaks for, its first use, the device's last sight, and revocation; and the
//! session writes built on them — a refresh token's rotation, a password change, a logout —
//! each one transaction with its audit entry.

use shared::model::{DeviceId, Timestamp, UserId};

use super::DbFuture;
use crate::store::{FreshTokens, PasswordHash, Rotation, TokenHash, TokenKind, TokenLookup};

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

    /// Exchanges the refresh token hashed `presented` for `fresh` tokens at `now` — rotation,
    /// with reuse detection and the lost-answer grace `grace_ms` (the rule:
    /// `store/directory/sessions.rs`) — in one transaction that holds the presented token, so
    /// of simultaneous exchanges of one token (on this server or another on the database) at
    /// most one is a rotation and at most one a forgiven retry. The fresh refresh token keeps
    /// the expiry of the one it replaces. A retry and a reuse (every token of the device
    /// revoked) are audited, `from` saying where the request came from.
    fn rotate_refresh_token(
        &self,
        presented: TokenHash,
        fresh: FreshTokens,
        now: Timestamp,
        grace_ms: i64,
        from: String,
    ) -> DbFuture<'_, Rotation>;

    /// Sets `user`'s own password hash to `hash`, revokes every token of their devices, stores
    /// `fresh` tokens for the calling `device` and appends the audit entry, in one
    /// transaction. Returns the user's other devices that are not revoked (whose open streams
    /// the caller closes); `NotFound` for an unknown user or a device not theirs.
    fn change_own_password(
        &self,
        user: UserId,
        hash: PasswordHash,
        device: DeviceId,
        fresh: FreshTokens,
        now: Timestamp,
    ) -> DbFuture<'_, Vec<DeviceId>>;

    /// Records a failed password check — a login's or a password change's — in the audit log:
    /// by `from` (where the request came from), on the login `attempted`, with `detail`.
    fn audit_failed_login(
        &self,
        at: Timestamp,
        from: String,
        attempted: String,
        detail: String,
    ) -> DbFuture<'_, ()>;
}
