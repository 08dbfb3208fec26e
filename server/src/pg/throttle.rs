//! The login throttle's count shared by the servers of one PostgreSQL
//! ([`crate::db::LoginThrottle`]): each attempt is a row of `login_attempts`
//! (`pg/migrations/0005_login_throttle.sql`) under each of its keys, with the same limit and
//! window as one server's [`crate::auth::RateLimiter`].
//!
//! **Checking and counting are one step across servers:** an attempt's transaction first takes
//! a transaction-level advisory lock per key (in the keys' order, so two attempts sharing keys
//! never wait on each other in a circle), then counts the key's rows within the window, and
//! inserts its own only if no key reached the limit. A second attempt under the same key waits
//! for the first's commit and counts its row. Taking an attempt back (a right password) deletes
//! one of its key's rows under the same locks.
//!
//! **Bounded:** an attempt deletes its keys' rows that left the window, and at most one attempt
//! at a time (a lock tried, never waited for) deletes every other row that left it.

use std::collections::BTreeSet;

use shared::model::Timestamp;

use super::PgDb;
use crate::db::{DbFuture, LoginThrottle};

/// The first key of the throttle's advisory locks (the second is the hash of the attempt's
/// key): "lxth". The sweep of every key's old rows takes (`THROTTLE`, 0).
const THROTTLE: i32 = 0x6c78_7468;

/// The throttle on a database: attempts per key within a window.
#[derive(Debug, Clone)]
pub struct PgLoginThrottle {
    db: PgDb,
    max_failures: i64,
    window_ms: i64,
}

impl PgDb {
    /// The login throttle on this database: at most `max_failures` attempts per key within
    /// `window_ms`.
    pub fn login_throttle(&self, max_failures: usize, window_ms: i64) -> PgLoginThrottle {
        PgLoginThrottle {
            db: self.clone(),
            max_failures: i64::try_from(max_failures).unwrap_or(i64::MAX),
            window_ms,
        }
    }
}

impl LoginThrottle for PgLoginThrottle {
    fn attempt<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, Result<(), i64>> {
        Box::pin(async move {
            let cutoff = now.0 - self.window_ms;
            let keys: BTreeSet<&String> = keys.iter().collect();
            let mut client = self.db.client().await?;
            let tx = client.transaction().await?;
            for key in &keys {
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&THROTTLE, key],
                )
                .await?;
            }
            let keys: Vec<&String> = keys.into_iter().collect();
            tx.execute(
                "DELETE FROM login_attempts WHERE key = ANY($1) AND at <= $2",
                &[&keys, &cutoff],
            )
            .await?;
            let swept: bool = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1, 0)", &[&THROTTLE])
                .await?
                .get(0);
            if swept {
                tx.execute("DELETE FROM login_attempts WHERE at <= $1", &[&cutoff])
                    .await?;
            }
            let mut retry_after: Option<i64> = None;
            for key in &keys {
                let times: Vec<i64> = tx
                    .query(
                        "SELECT at FROM login_attempts WHERE key = $1 AND at > $2 ORDER BY at",
                        &[key, &cutoff],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let count = i64::try_from(times.len()).unwrap_or(i64::MAX);
                if count >= self.max_failures {
                    // Free again once the count drops below the limit: when this one leaves.
                    let index = usize::try_from(count - self.max_failures).unwrap_or(0);
                    let leaves = times.get(index).copied().unwrap_or(now.0);
                    let wait = (leaves - cutoff).max(1);
                    retry_after = Some(retry_after.map_or(wait, |w| w.max(wait)));
                }
            }
            if let Some(wait) = retry_after {
                tx.commit().await?;
                return Ok(Err(wait));
            }
            tx.execute(
                "INSERT INTO login_attempts (key, at) SELECT k, $2::BIGINT FROM unnest($1::TEXT[]) AS k",
                &[&keys, &now.0],
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(()))
        })
    }

    fn forget_attempt<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, ()> {
        Box::pin(async move {
            // Under the keys' locks, as an attempt: two right passwords counted in the same
            // millisecond are two equal rows, and two deletes of "one of them" running at once
            // would both pick the first and leave the second counted for the window.
            let keys: BTreeSet<&String> = keys.iter().collect();
            let mut client = self.db.client().await?;
            let tx = client.transaction().await?;
            for key in &keys {
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&THROTTLE, key],
                )
                .await?;
            }
            for key in &keys {
                tx.execute(
                    "DELETE FROM login_attempts WHERE ctid IN (SELECT ctid FROM \
                     login_attempts WHERE key = $1 AND at = $2 LIMIT 1)",
                    &[key, &now.0],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> DbFuture<'a, ()> {
        Box::pin(async move {
            self.db
                .client()
                .await?
                .execute("DELETE FROM login_attempts WHERE key = $1", &[&key])
                .await?;
            Ok(())
        })
    }

    fn limited<'a>(&'a self, keys: &'a [String], now: Timestamp) -> DbFuture<'a, BTreeSet<String>> {
        Box::pin(async move {
            let rows = self
                .db
                .client()
                .await?
                .query(
                    "SELECT key FROM login_attempts WHERE key = ANY($1) AND at > $2 \
                     GROUP BY key HAVING count(*) >= $3",
                    &[&keys, &(now.0 - self.window_ms), &self.max_failures],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }
}
