//! The bearer-token extractor: a handler that takes [`Authenticated`] runs only for a valid,
//! unexpired access token of a device that is not revoked. It notes a token's first use (once),
//! which tells a lost refresh answer from a used one.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shared::model::{Timestamp, User};

use super::{AuthError, Secret, token};
use crate::AppState;
use crate::db::Db;
use crate::store::{Device, TokenHash, TokenKind, TokenLookup};

/// Refresh `last_seen` at most this often per device, ms.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The user and device behind a request's access token.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user.
    pub user: User,
    /// Their device.
    pub device: Device,
    /// The token's hash (for logout).
    pub token: TokenHash,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = bearer(&parts.headers).ok_or(AuthError::Unauthenticated)?;
        let hash = token::hash(&Secret::new(value));
        let now = super::now();
        let tokens = state.db().tokens();
        // The check reads only (on a reader, for SQLite): a request never waits behind a
        // sync's commit for its token. The writer is taken only for the two rare notes below.
        let found = valid_access(tokens.lookup_token(hash).await?, now)?;
        let first_use = found.used_at.is_none();
        let touch = now.0 - found.device.last_seen.0 > TOUCH_EVERY_MS;
        if first_use || touch {
            // Once per token: its pair is no longer a lost refresh answer.
            let touched = touch.then_some(found.device.id);
            tokens.note_token_use(hash, first_use, touched, now).await?;
        }
        Ok(authenticated(found, hash))
    }
}

/// The credential of an `Authorization: Bearer <value>` header (scheme in any case), trimmed;
/// `None` without one or with an empty value.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let header = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, value) = header.split_once(' ')?;
    let value = value.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !value.is_empty()).then_some(value)
}

/// The one rule for an access token: known, of kind access, not revoked, its device not
/// revoked, its user not disabled, not expired at `now`. The extractor applies it to every
/// request and the event stream again while it stays open.
pub async fn check_access(
    db: &Db,
    hash: TokenHash,
    now: Timestamp,
) -> Result<Authenticated, AuthError> {
    let found = db.tokens().lookup_token(hash).await?;
    valid_access(found, now).map(|found| authenticated(found, hash))
}

/// The token `found` if it passes [`check_access`]'s rule.
fn valid_access(found: Option<TokenLookup>, now: Timestamp) -> Result<TokenLookup, AuthError> {
    let Some(t) = found.filter(|t| t.kind == TokenKind::Access) else {
        return Err(AuthError::Unauthenticated);
    };
    if t.device.revoked_at.is_some() {
        return Err(AuthError::DeviceRevoked);
    }
    if t.revoked || t.user.disabled {
        return Err(AuthError::Unauthenticated);
    }
    if now >= t.expires_at {
        return Err(AuthError::TokenExpired);
    }
    Ok(t)
}

/// Who a valid access token `t` (hashed `hash`) speaks for.
fn authenticated(t: TokenLookup, hash: TokenHash) -> Authenticated {
    Authenticated {
        user: t.user.user,
        device: t.device,
        token: hash,
    }
}
