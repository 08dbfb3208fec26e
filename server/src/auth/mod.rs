//! Who is asking and what they may do: passwords (argon2), session tokens (random, stored as
//! SHA-256, with expiry and revocation), the login rate limiter, the bearer-token extractor,
//! each role's read and write scopes, and the authorship and role rules every pushed change
//! must pass.
//!
//! **Invariant:** no password, token or hash is ever logged or shown by `Debug`: secrets are
//! [`Secret`]s, stored hashes are redacted types.

pub mod account;
mod extract;
mod limiter;
pub mod password;
pub mod policy;
mod rules;
pub mod scope;
pub mod session;
pub mod token;

use std::fmt;
use std::sync::Arc;

use crate::db::LoginThrottle;

pub use extract::{Authenticated, bearer, check_access};
pub use limiter::RateLimiter;
pub use rules::RoleRules;
pub use scope::{Access, access_for, reads_lists};
pub use session::{AuthError, Session, login, refresh};

use shared::model::{DeviceId, Timestamp};

/// A secret from outside (a password, a token): kept out of `Debug` and logs.
/// Serializing it is deliberate: the one response that hands a token to its owner.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for hashing or sending once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Token lifetimes and login limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthConfig {
    /// How long an access token is valid, ms (1 h).
    pub access_ttl_ms: i64,
    /// How long a refresh token is valid, ms (30 days).
    pub refresh_ttl_ms: i64,
    /// Failed logins allowed per account and per client address within the window (5).
    pub max_failures: usize,
    /// The failure window, ms (15 min); also the window of the refresh limits.
    pub failure_window_ms: i64,
    /// Refreshes allowed per device within the window (10; a phone refreshes about once an
    /// hour).
    pub refreshes_per_device: usize,
    /// Failed refreshes allowed per client address within the window (20).
    pub refresh_failures_per_address: usize,
    /// How long after a refresh its old token may be presented again as a lost answer
    /// (a retry after the answer was cut off), ms (2 min); later it is a reuse.
    pub refresh_retry_grace_ms: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_ttl_ms: 60 * 60 * 1000,
            refresh_ttl_ms: 30 * 24 * 60 * 60 * 1000,
            max_failures: 5,
            failure_window_ms: 15 * 60 * 1000,
            refreshes_per_device: 10,
            refresh_failures_per_address: 20,
            refresh_retry_grace_ms: 2 * 60 * 1000,
        }
    }
}

/// The authentication state shared by handlers: configuration, the rate limiter, and the
/// sessions' end notices that open event streams listen to.
#[derive(Debug)]
pub struct AuthService {
    /// Lifetimes and limits.
    pub config: AuthConfig,
    /// Failed logins (and wrong current passwords of a password change) per account and
    /// address: in memory, or shared by the servers of a database ([`AuthService::with_login_throttle`]).
    throttle: Arc<dyn LoginThrottle>,
    /// Refreshes per device (`device:…`).
    pub refresh_devices: RateLimiter,
    /// Failed refreshes per client address (`addr:…`).
    pub refresh_addresses: RateLimiter,
    /// Devices whose session just ended on this server (logout).
    ended: tokio::sync::broadcast::Sender<DeviceId>,
}

impl AuthService {
    /// A service with `config`.
    pub fn new(config: AuthConfig) -> AuthService {
        AuthService {
            config,
            throttle: Arc::new(RateLimiter::new(
                config.max_failures,
                config.failure_window_ms,
            )),
            refresh_devices: RateLimiter::new(
                config.refreshes_per_device,
                config.failure_window_ms,
            ),
            refresh_addresses: RateLimiter::new(
                config.refresh_failures_per_address,
                config.failure_window_ms,
            ),
            ended: tokio::sync::broadcast::channel(64).0,
        }
    }

    /// The same service counting failed logins in `throttle` (several servers on one
    /// database share the count; its limit and window are the throttle's own).
    pub fn with_login_throttle(mut self, throttle: Arc<dyn LoginThrottle>) -> AuthService {
        self.throttle = throttle;
        self
    }

    /// The login throttle's count.
    pub fn throttle(&self) -> &dyn LoginThrottle {
        &*self.throttle
    }

    /// Those of `logins` whose logins are refused for now by the throttle (too many failures
    /// for the account within the window): the administrator's list shows it.
    ///
    /// # Errors
    /// The throttle's count could not be read.
    pub async fn locked_logins<'a>(
        &self,
        logins: impl IntoIterator<Item = &'a str>,
        now: Timestamp,
    ) -> Result<std::collections::BTreeSet<String>, crate::store::StoreError> {
        let keys: std::collections::BTreeMap<String, &str> = logins
            .into_iter()
            .map(|login| (session::throttle_keys(login, None)[0].clone(), login))
            .collect();
        let asked: Vec<String> = keys.keys().cloned().collect();
        let limited = self.throttle.limited(&asked, now).await?;
        Ok(limited
            .iter()
            .filter_map(|key| keys.get(key).map(|login| (*login).to_string()))
            .collect())
    }

    /// Announces that `device`'s session ended, so what it holds open closes at once.
    pub fn end_sessions(&self, device: DeviceId) {
        // No receiver means no stream is open: nothing to close.
        let _ = self.ended.send(device);
    }

    /// Notices of ended sessions, from now on.
    pub fn ended_sessions(&self) -> tokio::sync::broadcast::Receiver<DeviceId> {
        self.ended.subscribe()
    }
}

impl Default for AuthService {
    fn default() -> Self {
        AuthService::new(AuthConfig::default())
    }
}

/// The server's wall clock: the one place the server reads it; everything below takes `now`.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}
