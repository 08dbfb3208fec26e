//! The login throttle's count (issue 16 item 4): failed logins (and wrong current passwords of
//! a password change) per account and per client address within a sliding window, the keys
//! `auth::session::throttle_keys` makes. One server counts in memory ([`RateLimiter`]: a
//! restart forgets it, which only gives an attacker a few more tries); several servers on one
//! PostgreSQL count in a table they share (`pg/throttle.rs`), so guesses spread over the
//! servers meet the same limit.
//!
//! **Invariant:** an attempt is counted before its password is checked, and checking and
//! counting are one step for all its keys ([`LoginThrottle::attempt`]), so simultaneous
//! guesses — on one server or several — cannot all slip under the limit.

use std::collections::BTreeSet;

use shared::model::Timestamp;

use super::DbFuture;
use crate::auth::RateLimiter;

/// Where failed logins are counted.
pub trait LoginThrottle: Send + Sync + std::fmt::Debug {
    /// Counts an attempt under every key in `keys` at `now`, unless one of them already reached
    /// the limit within the window: then counts nothing and answers `Err(ms)`, the time until
    /// that key's attempt that ends the limit leaves the window.
    fn attempt<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, Result<(), i64>>;

    /// Takes back one attempt counted at `now` under each key (its password was right, or it
    /// was never checked).
    fn forget_attempt<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, ()>;

    /// Forgets every attempt under `key` (a successful login to that account).
    fn clear<'a>(&'a self, key: &'a str) -> DbFuture<'a, ()>;

    /// Those of `keys` that reached the limit within the window at `now`.
    fn limited<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, BTreeSet<String>>;
}

impl LoginThrottle for RateLimiter {
    fn attempt<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, Result<(), i64>> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        Box::pin(std::future::ready(Ok(RateLimiter::attempt(
            self, &keys, now.0,
        ))))
    }

    fn forget_attempt<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, ()> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        RateLimiter::forget_attempt(self, &keys, now.0);
        Box::pin(std::future::ready(Ok(())))
    }

    fn clear<'a>(&'a self, key: &'a str) -> DbFuture<'a, ()> {
        RateLimiter::clear(self, key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn limited<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, BTreeSet<String>> {
        let limited = keys
            .iter()
            .filter(|k| self.is_limited(&[k.as_str()], now.0))
            .cloned()
            .collect();
        Box::pin(std::future::ready(Ok(limited)))
    }
}
