//! The login rate limiter: failed attempts per account and per client address within a sliding
//! window. In memory: a restart forgets it, which only gives an attacker a few more tries.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Most keys kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

/// Failed attempts per key (`login:…`, `addr:…`) in a sliding window.
#[derive(Debug)]
pub struct RateLimiter {
    max_failures: usize,
    window_ms: i64,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl RateLimiter {
    /// Allows `max_failures` failures per key within `window_ms`.
    pub fn new(max_failures: usize, window_ms: i64) -> RateLimiter {
        RateLimiter {
            max_failures,
            window_ms,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an attempt under any of `keys` is refused at `now` because the key already
    /// failed `max_failures` times within the window.
    pub fn is_limited(&self, keys: &[&str], now: i64) -> bool {
        let mut map = self.lock();
        keys.iter().any(|k| {
            map.get_mut(*k).is_some_and(|q| {
                prune(q, now - self.window_ms);
                q.len() >= self.max_failures
            })
        })
    }

    /// Records a failure under each key.
    pub fn record_failure(&self, keys: &[&str], now: i64) {
        let mut map = self.lock();
        if map.len() >= SWEEP_AT {
            let cutoff = now - self.window_ms;
            map.retain(|_, q| {
                prune(q, cutoff);
                !q.is_empty()
            });
        }
        for k in keys {
            let q = map.entry((*k).to_string()).or_default();
            q.push_back(now);
            while q.len() > self.max_failures {
                q.pop_front();
            }
        }
    }

    /// Counts an attempt under every key as a failure before its password is checked, unless
    /// one of them is already limited (then counts nothing and answers `false`). Checking and
    /// counting under one lock means simultaneous attempts cannot all slip under the limit;
    /// [`RateLimiter::forget_attempt`] takes the count back when the password was right.
    pub fn try_attempt(&self, keys: &[&str], now: i64) -> bool {
        let mut map = self.lock();
        if map.len() >= SWEEP_AT {
            let cutoff = now - self.window_ms;
            map.retain(|_, q| {
                prune(q, cutoff);
                !q.is_empty()
            });
        }
        let limited = keys.iter().any(|k| {
            map.get_mut(*k).is_some_and(|q| {
                prune(q, now - self.window_ms);
                q.len() >= self.max_failures
            })
        });
        if limited {
            return false;
        }
        for k in keys {
            map.entry((*k).to_string()).or_default().push_back(now);
        }
        true
    }

    /// Takes back one attempt counted at `now` by [`RateLimiter::try_attempt`].
    pub fn forget_attempt(&self, keys: &[&str], now: i64) {
        let mut map = self.lock();
        for k in keys {
            if let Some(q) = map.get_mut(*k)
                && let Some(at) = q.iter().rposition(|t| *t == now)
            {
                q.remove(at);
            }
        }
    }

    /// Forgets a key's failures (after a successful login to that account).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<i64>>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn prune(q: &mut VecDeque<i64>, cutoff: i64) {
    while q.front().is_some_and(|t| *t <= cutoff) {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_within_the_window_is_limited_and_the_window_slides() {
        let l = RateLimiter::new(5, 1000);
        for t in 0..5 {
            assert!(!l.is_limited(&["login:wang"], t));
            l.record_failure(&["login:wang"], t);
        }
        assert!(l.is_limited(&["login:wang"], 10));
        assert!(l.is_limited(&["addr:1.2.3.4", "login:wang"], 10));
        assert!(!l.is_limited(&["login:li"], 10));
        assert!(
            !l.is_limited(&["login:wang"], 1001),
            "the first failure left the window"
        );
        l.clear("login:wang");
        assert!(!l.is_limited(&["login:wang"], 11));
    }

    #[test]
    fn simultaneous_attempts_are_counted_before_their_check_and_a_right_one_is_taken_back() {
        let l = RateLimiter::new(2, 1000);
        assert!(l.try_attempt(&["login:wang", "addr:a"], 5));
        assert!(l.try_attempt(&["login:wang", "addr:a"], 5));
        assert!(
            !l.try_attempt(&["login:wang", "addr:a"], 5),
            "two attempts still being checked fill the limit"
        );
        l.forget_attempt(&["login:wang", "addr:a"], 5);
        assert!(l.try_attempt(&["login:wang", "addr:a"], 6));
    }
}
