//! A user's own account (账号): changing their password (the current one checked under the
//! login throttle, the new one under [`super::policy`]), which ends the sessions of their
//! other devices and gives the calling device fresh tokens.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;

use super::session::{Checked, DeviceBody, UserBody, check_password, from_address, throttle_keys};
use super::{AuthError, AuthService, Authenticated, Secret, Session, password, policy, token};
use crate::printable::printable;
use crate::store::FreshTokens;
use crate::sync::SyncService;
use shared::model::Timestamp;

/// `POST /api/account/password` body.
#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    /// The password the account has now.
    pub current_password: Secret,
    /// The new one.
    pub new_password: Secret,
}

/// Changes the caller's own password. A wrong current password counts as a failed login for
/// the account and the client address (and is audited as one), so the change cannot be used
/// to guess. On success every token of the user's devices is revoked — the other devices log
/// in again with the new password, their open streams close — and the calling device gets
/// fresh tokens in the answer (its old ones are revoked too: a password change is what one
/// does after fearing a leak, and a copied token of this device must die with the others).
///
/// # Errors
/// [`AuthError::RateLimited`] after too many failures; [`AuthError::WrongPassword`] for a
/// wrong current password; [`AuthError::Policy`] for a new password breaking the policy.
pub async fn change_password(
    sync: &Arc<SyncService>,
    auth: &Arc<AuthService>,
    who: &Authenticated,
    req: PasswordChange,
    client: Option<IpAddr>,
) -> Result<Session, AuthError> {
    let now = super::now();
    let login = who.user.login.clone();
    let keys = throttle_keys(&login, client);
    if !auth.throttle().limited(&keys, now).await?.is_empty() {
        tracing::warn!(login = %printable(&login), "password change rate limited");
        return Err(AuthError::RateLimited);
    }
    let user = sync.db().directory().user_by_login(login.clone()).await?;
    let record = match check_password(auth, keys, user, req.current_password, now).await? {
        Checked::Right(record) => record,
        Checked::Wrong => {
            tracing::info!(login = %printable(&login), "wrong current password");
            // Recorded as a failed login is (by address, on the login).
            let recorded = sync
                .db()
                .tokens()
                .audit_failed_login(
                    now,
                    from_address(client),
                    login.clone(),
                    "wrong current password for a password change".into(),
                )
                .await;
            if recorded.is_err() {
                tracing::error!("a failed password check could not be recorded in the audit log");
            }
            return Err(AuthError::WrongPassword);
        }
        Checked::Limited => return Err(AuthError::RateLimited),
    };
    let (new, policy_login, current) = (
        req.new_password,
        login.clone(),
        record.password_hash.clone(),
    );
    let hash = password::limited(move || -> Result<_, AuthError> {
        policy::check(&new, &policy_login, Some(&current))?;
        password::hash(&new).map_err(|e| {
            tracing::error!(error = %e, "hashing a new password failed");
            AuthError::Unavailable
        })
    })
    .await
    .map_err(|e| match e {
        password::HashQueueError::Busy => AuthError::Busy,
        password::HashQueueError::Failed => AuthError::Unavailable,
    })??;
    let now = super::now();
    let (access, access_hash) = token::new_token();
    let (refresh, refresh_hash) = token::new_token();
    let expires_at = now.0.saturating_add(auth.config.access_ttl_ms);
    let fresh = FreshTokens {
        access: access_hash,
        access_expires_at: Timestamp(expires_at),
        refresh: refresh_hash,
        refresh_expires_at: Timestamp(now.0.saturating_add(auth.config.refresh_ttl_ms)),
    };
    let others = sync
        .db()
        .tokens()
        .change_own_password(who.user.id, hash, who.device.id, fresh, now)
        .await?;
    for other in others.iter().chain([&who.device.id]) {
        auth.end_sessions(*other);
    }
    tracing::info!(login = %printable(&login), ended = others.len(), "password changed");
    Ok(Session {
        token: access,
        refresh_token: refresh,
        expires_at,
        user: UserBody::from(&who.user),
        device: DeviceBody::from(&who.device),
    })
}
