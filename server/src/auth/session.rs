//! Logging in and refreshing: checks a password (or a refresh token), registers the device
//! with its own Automerge actor, and issues tokens. Every failure is an [`AuthError`], answered
//! as a stable JSON error.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::model::{DeviceId, Timestamp, User};

use super::{AuthService, Secret, password, token};
use crate::http::error::ErrorBody;
use crate::printable::printable;
use crate::store::AuditAction;
use crate::store::{Device, FreshTokens, Rotation, SqliteStore, StoreError, TokenHash, TokenKind};
use crate::sync::SyncService;

/// Why a login, a refresh or an authenticated request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown login, wrong password or disabled account (never said which).
    #[error("the login or the password is wrong")]
    BadCredentials,
    /// Too many failed logins for this account or from this address.
    #[error("too many failed logins: wait a few minutes and try again")]
    RateLimited,
    /// Too many refreshes for this device, or failed ones from this address; try again after
    /// this many seconds.
    #[error("刷新过于频繁，请稍后再试 / too many token refreshes: try again in {0} s")]
    RefreshLimited(u64),
    /// A refresh token already exchanged was presented again: the device's session ended.
    #[error(
        "此登录凭证已使用过，为安全起见本设备已退出，请重新登录 / this refresh token was \
         already used: the device's session was ended for safety; log in again"
    )]
    RefreshReused,
    /// The current password given with a password change is wrong.
    #[error("当前密码不正确 / the current password is wrong")]
    WrongPassword,
    /// The new password breaks the policy.
    #[error("{0}")]
    Policy(#[from] super::policy::PolicyError),
    /// The access token expired: refresh it.
    #[error("the access token expired: refresh it")]
    TokenExpired,
    /// The device was revoked by an administrator: wipe local data.
    #[error("this device was revoked by an administrator")]
    DeviceRevoked,
    /// No valid token.
    #[error("log in first")]
    Unauthenticated,
    /// The request body is not what the endpoint takes.
    #[error("{0}")]
    Malformed(String),
    /// The store failed.
    #[error("the server could not reach its database; try again")]
    Unavailable,
    /// Too many logins are waiting for a password check.
    #[error("the server is busy checking other logins; try again in a moment")]
    Busy,
}

impl AuthError {
    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::BadCredentials => "bad_credentials",
            AuthError::RateLimited | AuthError::RefreshLimited(_) => "rate_limited",
            AuthError::RefreshReused => "refresh_token_reused",
            AuthError::WrongPassword => "wrong_password",
            AuthError::Policy(_) => "password_policy",
            AuthError::TokenExpired => "token_expired",
            AuthError::DeviceRevoked => "device_revoked",
            AuthError::Unauthenticated => "unauthenticated",
            AuthError::Malformed(_) => "malformed",
            AuthError::Unavailable => "store_unavailable",
            AuthError::Busy => "busy",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::BadCredentials
            | AuthError::TokenExpired
            | AuthError::DeviceRevoked
            | AuthError::RefreshReused
            | AuthError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AuthError::RateLimited | AuthError::RefreshLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthError::WrongPassword => StatusCode::FORBIDDEN,
            AuthError::Malformed(_) | AuthError::Policy(_) => StatusCode::BAD_REQUEST,
            AuthError::Unavailable | AuthError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "auth store failure");
        AuthError::Unavailable
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        });
        if status == StatusCode::UNAUTHORIZED {
            (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else if let AuthError::RefreshLimited(seconds) = self {
            (status, [(header::RETRY_AFTER, seconds.to_string())], body).into_response()
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            (status, [(header::RETRY_AFTER, "900".to_string())], body).into_response()
        } else if matches!(self, AuthError::Busy) {
            (status, [(header::RETRY_AFTER, "5".to_string())], body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}

/// `POST /api/login` body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Login name.
    pub login: String,
    /// Password.
    pub password: Secret,
    /// The device's id, made by the client once and remembered.
    pub device_id: DeviceId,
    /// A name for the device, e.g. "王芳的手机".
    #[serde(default)]
    pub device_name: String,
    /// The device's secret, made by the client once with its id and kept beside it: binds the
    /// id to this phone (only its SHA-256 is stored). Absent from apps older than it.
    #[serde(default)]
    pub device_secret: Option<Secret>,
}

/// Fewest and most characters of a device secret.
pub const DEVICE_SECRET_CHARS: std::ops::RangeInclusive<usize> = 16..=256;

/// `POST /api/refresh` body.
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token from the login.
    pub refresh_token: Secret,
}

/// The user part of a session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserBody {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role code.
    pub role: &'static str,
    /// Org unit id.
    pub org_unit: String,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        UserBody {
            id: u.id.to_string(),
            name: u.name.clone(),
            role: u.role.code(),
            org_unit: u.org_unit.to_string(),
        }
    }
}

/// The device part of a session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceBody {
    /// The device id to use from now on (a new one when the client's id was taken).
    pub id: String,
    /// Its Automerge actor, hex.
    pub actor_id: String,
}

impl From<&Device> for DeviceBody {
    fn from(d: &Device) -> Self {
        DeviceBody {
            id: d.id.to_string(),
            actor_id: d.actor_id.clone(),
        }
    }
}

/// What login and refresh answer. `Debug` hides the tokens.
#[derive(Serialize)]
pub struct Session {
    /// The access token (`Authorization: Bearer …`).
    pub token: Secret,
    /// The refresh token.
    pub refresh_token: Secret,
    /// When the access token expires, ms since the epoch.
    pub expires_at: i64,
    /// Who logged in.
    pub user: UserBody,
    /// Their device.
    pub device: DeviceBody,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// What the hashing thread found for a password check.
pub(super) enum Checked {
    /// The password is right.
    Right(crate::store::UserRecord),
    /// Wrong password, unknown login or disabled account; counted as a failure.
    Wrong,
    /// The account or the address reached the limit while the attempt waited.
    Limited,
}

/// Checks `password` against `user`'s on a hashing thread, under the login throttle's `keys`
/// (the account and the client address): on the hashing thread the limit is checked again
/// and the attempt counted as a failure before the password is checked
/// (`db::LoginThrottle::attempt`), so of many simultaneous guesses — on this server or others
/// sharing the count — only as many as the limit allows are ever checked; a right password
/// takes the count back. Logins and password changes both go through here: one throttle for
/// guessing.
///
/// # Errors
/// [`AuthError::Busy`] when the hashing queue is full; [`AuthError::Unavailable`] when the
/// hashing thread failed or the throttle's count could not be read.
pub(super) async fn check_password(
    auth: &Arc<AuthService>,
    keys: [String; 2],
    user: Option<crate::store::UserRecord>,
    password: Secret,
    now: Timestamp,
) -> Result<Checked, AuthError> {
    // The attempt is counted on the hashing thread, when its turn comes: counted before the
    // queue, every caller waiting in it would count as a failure, and a burst of right
    // passwords for one account (twenty phones logging in at once) would lock it.
    let service = auth.clone();
    let runtime = tokio::runtime::Handle::current();
    let checked = password::limited(move || -> Result<Checked, StoreError> {
        let throttle = service.throttle();
        if runtime.block_on(throttle.attempt(&keys, now))?.is_err() {
            return Ok(Checked::Limited);
        }
        let verified = match user {
            Some(u) if !u.disabled => password::verify(&password, &u.password_hash).then_some(u),
            _ => {
                password::verify_dummy(&password);
                None
            }
        };
        match verified {
            Some(u) => {
                runtime.block_on(throttle.forget_attempt(&keys, now))?;
                Ok(Checked::Right(u))
            }
            None => Ok(Checked::Wrong),
        }
    })
    .await;
    match checked {
        Ok(checked) => Ok(checked?),
        Err(password::HashQueueError::Busy) => Err(AuthError::Busy),
        Err(password::HashQueueError::Failed) => Err(AuthError::Unavailable),
    }
}

/// The login throttle's keys for `login` from `client`: the account and the address.
pub(super) fn throttle_keys(login: &str, client: Option<IpAddr>) -> [String; 2] {
    [
        format!("login:{}", login.trim().to_lowercase()),
        crate::http::client_addr::limit_key(client),
    ]
}

/// Most characters kept of a device name.
const DEVICE_NAME_CHARS: usize = 100;

/// Logs in: rate limit, password, device registration, tokens.
///
/// # Errors
/// [`AuthError::Malformed`] for a device secret of a length no client makes;
/// [`AuthError::RateLimited`] after too many failures for the account or the address;
/// [`AuthError::BadCredentials`] for an unknown login, a wrong password or a disabled account.
pub async fn login(
    sync: &Arc<SyncService>,
    auth: &Arc<AuthService>,
    req: LoginRequest,
    client: Option<IpAddr>,
) -> Result<Session, AuthError> {
    let secret = match &req.device_secret {
        Some(secret) if !DEVICE_SECRET_CHARS.contains(&secret.expose().chars().count()) => {
            return Err(AuthError::Malformed(format!(
                "device_secret must have {} to {} characters",
                DEVICE_SECRET_CHARS.start(),
                DEVICE_SECRET_CHARS.end()
            )));
        }
        Some(secret) => Some(token::hash(secret)),
        None => None,
    };
    let now = super::now();
    let login = req.login.trim().to_string();
    let [account_key, address_key] = throttle_keys(&login, client);
    let keys = [account_key.clone(), address_key.clone()];
    if !auth.throttle().limited(&keys, now).await?.is_empty() {
        tracing::warn!(login = %printable(&login), "login rate limited");
        return Err(AuthError::RateLimited);
    }
    let user = sync.db().directory().user_by_login(login.clone()).await?;
    let checked = check_password(
        auth,
        [account_key.clone(), address_key],
        user,
        req.password,
        now,
    )
    .await?;
    let user = match checked {
        Checked::Right(user) => user,
        Checked::Wrong => {
            tracing::info!(login = %printable(&login), "failed login");
            let recorded = sync
                .db()
                .tokens()
                .audit_failed_login(now, from_address(client), login.clone(), String::new())
                .await;
            if recorded.is_err() {
                tracing::error!("a failed login could not be recorded in the audit log");
            }
            return Err(AuthError::BadCredentials);
        }
        Checked::Limited => {
            tracing::warn!(login = %printable(&login), "login rate limited");
            return Err(AuthError::RateLimited);
        }
    };
    auth.throttle().clear(&account_key).await?;
    let mut name: String = req
        .device_name
        .trim()
        .chars()
        .take(DEVICE_NAME_CHARS)
        .collect();
    if name.is_empty() {
        name = "unnamed device".into();
    }
    let config = auth.config;
    let device_id = req.device_id;
    // The tokens' lifetimes start now, not when the request arrived: the wait for a hashing
    // thread and the hash itself must not shorten them.
    let now = super::now();
    let from = from_address(client);
    if let Some(pg) = sync.db().postgres_db() {
        let session = on_postgres(
            pg,
            device_id,
            secret.as_ref(),
            &user.user,
            &name,
            &from,
            config,
            now,
        )
        .await?;
        tracing::info!(login = %printable(&login), device = %session.device.id, "logged in");
        return Ok(session);
    }
    let session = sync
        .db()
        .write(move |s| -> Result<Session, StoreError> {
            let device = register(s, device_id, secret.as_ref(), &user.user, &name, now)?;
            s.audit(
                now,
                &user.user.login,
                AuditAction::Login,
                &device.id.to_string(),
                &format!("{name} {from}"),
            )?;
            s.purge_expired_tokens(now)?;
            let (refresh, refresh_hash) = token::new_token();
            s.store_token(
                &refresh_hash,
                device.id,
                TokenKind::Refresh,
                now,
                Timestamp(now.0.saturating_add(config.refresh_ttl_ms)),
            )?;
            issue(s, &user.user, &device, refresh, config.access_ttl_ms, now)
        })
        .await
        .ok_or(AuthError::Unavailable)??;
    tracing::info!(login = %printable(&login), device = %session.device.id, "logged in");
    Ok(session)
}

/// A login's device, audit entry and tokens on PostgreSQL ([`crate::pg::PgDb::log_in_device`]),
/// with SQLite's rule for a device id that cannot be this phone's ([`register`]): a fresh one.
/// Expired tokens are not purged here yet (SQLite's login purges them).
#[allow(clippy::too_many_arguments)]
async fn on_postgres(
    pg: &crate::pg::PgDb,
    id: DeviceId,
    secret: Option<&TokenHash>,
    user: &User,
    name: &str,
    from: &str,
    config: super::AuthConfig,
    now: Timestamp,
) -> Result<Session, StoreError> {
    use crate::pg::{NewDevice, NewToken};
    let (refresh, refresh_hash) = token::new_token();
    let (access, access_hash) = token::new_token();
    let expires_at = now.0.saturating_add(config.access_ttl_ms);
    let tokens = [
        NewToken {
            hash: refresh_hash,
            kind: TokenKind::Refresh,
            expires_at: Timestamp(now.0.saturating_add(config.refresh_ttl_ms)),
        },
        NewToken {
            hash: access_hash,
            kind: TokenKind::Access,
            expires_at: Timestamp(expires_at),
        },
    ];
    let mut id = id;
    for _ in 0..4 {
        let new = NewDevice {
            id,
            user: user.id,
            name,
            secret,
            new_actor: token::new_actor(),
        };
        let detail = format!("{name} {from}");
        match pg
            .log_in_device(new, &user.login, &detail, &tokens, now)
            .await
        {
            Ok(device) => {
                return Ok(Session {
                    token: access,
                    refresh_token: refresh,
                    expires_at,
                    user: UserBody::from(user),
                    device: DeviceBody::from(&device),
                });
            }
            Err(StoreError::Conflict(_)) => {
                id = DeviceId::from_random_bytes(token::random_id_bytes());
            }
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Conflict(
        "could not find a free device id".into(),
    ))
}

/// How the audit log names where a request came from.
pub(super) fn from_address(client: Option<IpAddr>) -> String {
    client.map_or_else(
        || "from an unknown address".to_string(),
        |a| format!("from {a}"),
    )
}

/// Registers the client's device id, or a fresh one (with a fresh actor) when that id belongs
/// to someone else, was revoked, or is bound to another phone's device secret: two phones
/// presenting one id (a copied browser profile, a restored backup) never share an actor. The
/// fresh id is bound to the secret presented, so that phone keeps it at its next login.
fn register(
    s: &mut SqliteStore,
    id: DeviceId,
    secret: Option<&TokenHash>,
    user: &User,
    name: &str,
    now: Timestamp,
) -> Result<Device, StoreError> {
    let mut id = id;
    for _ in 0..4 {
        match s.register_device(id, user.id, name, secret, token::new_actor(), now) {
            Err(StoreError::Conflict(_) | StoreError::Duplicate { .. }) => {
                id = DeviceId::from_random_bytes(token::random_id_bytes());
            }
            other => return other,
        }
    }
    Err(StoreError::Conflict(
        "could not find a free device id".into(),
    ))
}

/// A new access token for `device`, with `refresh` handed back as it is.
fn issue(
    s: &mut SqliteStore,
    user: &User,
    device: &Device,
    refresh: Secret,
    access_ttl_ms: i64,
    now: Timestamp,
) -> Result<Session, StoreError> {
    let (access, access_hash) = token::new_token();
    let expires_at = now.0.saturating_add(access_ttl_ms);
    s.store_token(
        &access_hash,
        device.id,
        TokenKind::Access,
        now,
        Timestamp(expires_at),
    )?;
    Ok(Session {
        token: access,
        refresh_token: refresh,
        expires_at,
        user: UserBody::from(user),
        device: DeviceBody::from(device),
    })
}

/// Exchanges a refresh token for a new access token and a new refresh token (rotation): the
/// token presented is used up. Presenting a used-up token again means two parties hold it (a
/// copy was stolen, or the thief refreshed first): every token of the device is revoked, its
/// open streams close and the reuse is audited; the owner logs in again with their password
/// (OAuth 2.0 Security BCP, refresh token rotation). One exception keeps a phone on one bar of
/// signal logged in: a retry after the answer was lost — the used token presented again once,
/// within [`super::AuthConfig::refresh_retry_grace_ms`] of its use, while the pair issued for
/// it was never used — gets a new pair, and the lost one is revoked (audited as a retry). The
/// new refresh token keeps the expiry of the one it replaces: a session still ends 30 days
/// after its login.
///
/// Limited per device (every refresh counts) and per client address (failed refreshes count).
///
/// # Errors
/// [`AuthError::RefreshLimited`] over a limit; [`AuthError::DeviceRevoked`] for a revoked
/// device; [`AuthError::RefreshReused`] for a used-up token; [`AuthError::Unauthenticated`]
/// for an unknown, expired or revoked refresh token or a disabled user.
pub async fn refresh(
    sync: &Arc<SyncService>,
    auth: &Arc<AuthService>,
    req: RefreshRequest,
    client: Option<IpAddr>,
) -> Result<Session, AuthError> {
    let now = super::now();
    let address = crate::http::client_addr::limit_key(client);
    auth.refresh_addresses
        .attempt(&[&address], now.0)
        .map_err(refresh_limited)?;
    let presented = token::hash(&req.refresh_token);
    let (access, access_hash) = token::new_token();
    let (refresh, refresh_hash) = token::new_token();
    let expires_at = now.0.saturating_add(auth.config.access_ttl_ms);
    let fresh = FreshTokens {
        access: access_hash,
        access_expires_at: Timestamp(expires_at),
        refresh: refresh_hash,
        refresh_expires_at: Timestamp(now.0.saturating_add(auth.config.refresh_ttl_ms)),
    };
    let tokens = sync.db().tokens();
    if let Some(t) = tokens.lookup_token(presented).await?
        && t.kind == TokenKind::Refresh
    {
        let key = format!("device:{}", t.device.id);
        auth.refresh_devices
            .attempt(&[&key], now.0)
            .map_err(refresh_limited)?;
    }
    let grace = auth.config.refresh_retry_grace_ms;
    let rotation = tokens
        .rotate_refresh_token(presented, fresh, now, grace, from_address(client))
        .await?;
    if let Rotation::Retried(t) = &rotation {
        tracing::info!(
            login = %printable(&t.user.user.login),
            device = %t.device.id,
            "a refresh answer was lost: the retry gets new tokens"
        );
    }
    match rotation {
        Rotation::Rotated(t) | Rotation::Retried(t) => {
            auth.refresh_addresses.forget_attempt(&[&address], now.0);
            Ok(Session {
                token: access,
                refresh_token: refresh,
                expires_at,
                user: UserBody::from(&t.user.user),
                device: DeviceBody::from(&t.device),
            })
        }
        Rotation::Reused(t) => {
            tracing::warn!(
                login = %printable(&t.user.user.login),
                device = %t.device.id,
                "a used refresh token was presented again: the device's tokens are revoked"
            );
            auth.end_sessions(t.device.id);
            Err(AuthError::RefreshReused)
        }
        Rotation::Dead(t) if t.device.revoked_at.is_some() => Err(AuthError::DeviceRevoked),
        Rotation::Dead(_) | Rotation::Unknown => Err(AuthError::Unauthenticated),
    }
}

/// The refusal of a refresh over a limit, with the wait in whole seconds (at least one).
fn refresh_limited(wait_ms: i64) -> AuthError {
    AuthError::RefreshLimited(u64::try_from(wait_ms.max(1).saturating_add(999) / 1000).unwrap_or(1))
}
