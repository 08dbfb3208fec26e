//! The rate limiter behind the login throttle and the 连心卡's public page: attempts per key
//! (an account, a client address, a card) within a sliding window. In memory: a restart
//! forgets it, which only gives an attacker a few more tries.
//!
//! **Invariant:** bounded memory and bounded work per request, whatever the keys: at most
//! `max_keys` keys are kept (each with at most its limit's timestamps); a new key past that
//! evicts the key used least recently (an order kept beside the map, O(log n) per request,
//! never a sweep of the whole map under the lock).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

/// Keys kept at most, unless a limiter is made with another bound.
pub const MAX_KEYS: usize = 10_000;

/// Attempts per key (`login:…`, `addr:…`, `card:…`) in a sliding window.
#[derive(Debug)]
pub struct RateLimiter {
    max_failures: usize,
    window_ms: i64,
    max_keys: usize,
    keys: Mutex<Keys>,
}

/// The keys' attempts, and the order they were last used in (for eviction).
#[derive(Debug, Default)]
struct Keys {
    entries: HashMap<String, Entry>,
    /// Last use (a counter) → key; the first is the one used least recently.
    order: BTreeMap<u64, String>,
    next: u64,
}

#[derive(Debug)]
struct Entry {
    times: VecDeque<i64>,
    used: u64,
}

impl Keys {
    /// The attempts of `key`, made the most recently used; a new key past `max_keys` evicts
    /// the least recently used.
    fn touch(&mut self, key: &str, max_keys: usize) -> &mut VecDeque<i64> {
        let used = self.next;
        self.next += 1;
        if !self.entries.contains_key(key) {
            while self.entries.len() >= max_keys.max(1) {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.entries.remove(&oldest);
            }
        }
        let entry = self.entries.entry(key.to_string()).or_insert(Entry {
            times: VecDeque::new(),
            used,
        });
        self.order.remove(&entry.used);
        entry.used = used;
        self.order.insert(used, key.to_string());
        &mut entry.times
    }
}

impl RateLimiter {
    /// Allows `max_failures` attempts per key within `window_ms`, keeping [`MAX_KEYS`] keys.
    pub fn new(max_failures: usize, window_ms: i64) -> RateLimiter {
        RateLimiter::bounded(max_failures, window_ms, MAX_KEYS)
    }

    /// The same, keeping at most `max_keys` keys.
    pub fn bounded(max_failures: usize, window_ms: i64, max_keys: usize) -> RateLimiter {
        RateLimiter {
            max_failures,
            window_ms,
            max_keys,
            keys: Mutex::new(Keys::default()),
        }
    }

    /// How many keys are kept now (at most the bound).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an attempt under any of `keys` is refused at `now` because the key already
    /// failed `max_failures` times within the window.
    pub fn is_limited(&self, keys: &[&str], now: i64) -> bool {
        let mut map = self.lock();
        keys.iter().any(|k| {
            map.entries.get_mut(*k).is_some_and(|e| {
                prune(&mut e.times, now - self.window_ms);
                e.times.len() >= self.max_failures
            })
        })
    }

    /// Records a failure under each key.
    pub fn record_failure(&self, keys: &[&str], now: i64) {
        let mut map = self.lock();
        for k in keys {
            let q = map.touch(k, self.max_keys);
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
        self.attempt(keys, now).is_ok()
    }

    /// [`RateLimiter::try_attempt`], telling when to try again when refused: `Err(ms)`, the
    /// time until the limited key's oldest attempt in the window leaves it.
    pub fn attempt(&self, keys: &[&str], now: i64) -> Result<(), i64> {
        let mut map = self.lock();
        let cutoff = now - self.window_ms;
        let mut retry_after = None;
        for k in keys {
            if let Some(e) = map.entries.get_mut(*k) {
                prune(&mut e.times, cutoff);
                if e.times.len() >= self.max_failures {
                    let oldest = e.times.front().copied().unwrap_or(now);
                    let wait = (oldest - cutoff).max(1);
                    retry_after = Some(retry_after.map_or(wait, |w: i64| w.max(wait)));
                }
            }
        }
        if let Some(wait) = retry_after {
            return Err(wait);
        }
        for k in keys {
            map.touch(k, self.max_keys).push_back(now);
        }
        Ok(())
    }

    /// Takes back one attempt counted at `now` by [`RateLimiter::try_attempt`].
    pub fn forget_attempt(&self, keys: &[&str], now: i64) {
        let mut map = self.lock();
        for k in keys {
            if let Some(e) = map.entries.get_mut(*k)
                && let Some(at) = e.times.iter().rposition(|t| *t == now)
            {
                e.times.remove(at);
            }
        }
    }

    /// Forgets a key's failures (after a successful login to that account).
    pub fn clear(&self, key: &str) {
        let mut map = self.lock();
        if let Some(e) = map.entries.remove(key) {
            map.order.remove(&e.used);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys
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

    #[test]
    fn a_refused_attempt_says_when_the_oldest_leaves_the_window() {
        let l = RateLimiter::new(2, 1000);
        assert_eq!(l.attempt(&["k"], 100), Ok(()));
        assert_eq!(l.attempt(&["k"], 400), Ok(()));
        assert_eq!(
            l.attempt(&["k"], 500),
            Err(600),
            "the attempt at 100 leaves at 1100"
        );
    }

    #[test]
    fn past_its_bound_a_new_key_evicts_the_least_recently_used_one() {
        let l = RateLimiter::bounded(2, 1_000_000, 3);
        for k in ["a", "b", "c"] {
            assert!(l.try_attempt(&[k], 0));
        }
        assert!(
            l.try_attempt(&["a"], 1),
            "a is used again: the most recent now"
        );
        assert!(l.try_attempt(&["d"], 2), "a fourth key evicts b");
        assert_eq!(l.len(), 3);
        assert!(
            !l.try_attempt(&["a"], 3),
            "a is kept, with its two attempts"
        );
        assert!(
            l.try_attempt(&["b"], 3) && l.try_attempt(&["b"], 3),
            "b starts afresh"
        );
        assert!(l.try_attempt(&["d"], 4), "d is kept, with one attempt");
        assert!(!l.try_attempt(&["d"], 4));
    }

    #[test]
    fn a_flood_of_distinct_keys_keeps_the_bound() {
        let l = RateLimiter::bounded(5, 60_000, 100);
        for n in 0..20_000 {
            assert!(l.try_attempt(&[&format!("addr:{n}")], n));
        }
        assert_eq!(l.len(), 100);
        assert_eq!(l.lock().order.len(), 100, "the order keeps no stale entry");
    }
}
