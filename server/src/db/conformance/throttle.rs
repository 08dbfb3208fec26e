//! The login throttle's count on both backends (`db::LoginThrottle`), as two servers see it:
//! failures counted on one limit the other, the window slides, a right password and a login
//! take their counts back (also several counted in one millisecond and taken back at once),
//! and simultaneous guesses on both never slip under the limit.
//! SQLite's one server counts in memory (`auth::RateLimiter`, what `AuthService::new` holds):
//! its two servers are one count; PostgreSQL's are two [`PgDb`] handles on one database.

use std::sync::Arc;

use shared::model::Timestamp;

use super::throwaway::Throwaway;
use crate::auth::RateLimiter;
use crate::db::LoginThrottle;
use crate::pg::PgDb;

/// Attempts allowed per key within the window.
const MAX: usize = 3;
/// The window, ms.
const WINDOW: i64 = 60_000;
/// When the first attempt is made.
const T0: Timestamp = Timestamp(1_800_000_000_000);

/// Two servers' throttles on one count, and what to clean up.
struct Servers {
    one: Arc<dyn LoginThrottle>,
    two: Arc<dyn LoginThrottle>,
    _throwaway: Option<Throwaway>,
}

async fn sqlite() -> Servers {
    let count: Arc<dyn LoginThrottle> = Arc::new(RateLimiter::new(MAX, WINDOW));
    Servers {
        one: count.clone(),
        two: count,
        _throwaway: None,
    }
}

async fn postgres() -> Servers {
    let (throwaway, config) = Throwaway::create().await;
    let one = PgDb::open(config.clone()).await.expect("open server one");
    let two = PgDb::open(config).await.expect("open server two");
    Servers {
        one: Arc::new(one.login_throttle(MAX, WINDOW)),
        two: Arc::new(two.login_throttle(MAX, WINDOW)),
        _throwaway: Some(throwaway),
    }
}

/// Runs each behaviour on a fresh count of each backend.
macro_rules! on_both_counts {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::postgres().await).await;
                }
            )*
        }
    };
}

/// An attempt's keys: the account and the client address.
fn keys(login: &str, addr: &str) -> Vec<String> {
    vec![format!("login:{login}"), format!("addr:{addr}")]
}

fn at(ms: i64) -> Timestamp {
    Timestamp(T0.0 + ms)
}

async fn failures_on_one_server_limit_the_other_until_they_leave_the_window(s: Servers) {
    for n in 0..MAX as i64 {
        let counted = s.one.attempt(&keys("wang", "10.0.0.1"), at(n * 1000)).await;
        assert_eq!(counted.expect("counted"), Ok(()), "attempt {n}");
    }

    let refused = s.two.attempt(&keys("wang", "10.0.0.2"), at(5_000)).await;
    assert_eq!(
        refused.expect("asked"),
        Err(WINDOW - 5_000),
        "the account's first failure leaves the window at 60 s"
    );
    let limited = s
        .two
        .limited(&keys("wang", "10.0.0.1"), at(5_000))
        .await
        .expect("asked");
    assert_eq!(
        limited.into_iter().collect::<Vec<_>>(),
        vec!["addr:10.0.0.1".to_string(), "login:wang".to_string()]
    );
    let other = s.two.attempt(&keys("zhao", "10.0.0.2"), at(5_000)).await;
    assert_eq!(
        other.expect("asked"),
        Ok(()),
        "another account, another address"
    );
    let later = s.two.attempt(&keys("wang", "10.0.0.2"), at(WINDOW)).await;
    assert_eq!(
        later.expect("asked"),
        Ok(()),
        "the first failure left the window"
    );
    let again = s.one.attempt(&keys("wang", "10.0.0.3"), at(WINDOW)).await;
    assert!(
        again.expect("asked").is_err(),
        "the refused attempt counted nothing, the one after the window did"
    );
}

async fn a_right_password_takes_its_attempt_back_and_a_login_clears_the_account(s: Servers) {
    let (wang, addr) = (keys("wang", "10.0.0.1"), "addr:10.0.0.1".to_string());
    for n in 0..MAX as i64 - 1 {
        let counted = s.one.attempt(&wang, at(n)).await;
        assert_eq!(counted.expect("counted"), Ok(()));
    }
    let right = s.two.attempt(&wang, at(10)).await;
    assert_eq!(right.expect("counted"), Ok(()), "the last attempt allowed");
    s.two
        .forget_attempt(&wang, at(10))
        .await
        .expect("taken back");
    let next = s.one.attempt(&wang, at(11)).await;
    assert_eq!(
        next.expect("counted"),
        Ok(()),
        "the right password's place is free"
    );

    s.two.clear("login:wang").await.expect("cleared");

    let limited = s.one.limited(&wang, at(12)).await.expect("asked");
    assert_eq!(
        limited.into_iter().collect::<Vec<_>>(),
        vec![addr],
        "the account is cleared, the address is not"
    );
}

async fn simultaneous_guesses_on_two_servers_never_slip_under_the_limit(s: Servers) {
    let guesses: Vec<_> = (0..16)
        .map(|n| {
            let server = if n % 2 == 0 { &s.one } else { &s.two };
            let server = server.clone();
            tokio::spawn(async move {
                let guess = keys("wang", &format!("10.0.1.{n}"));
                server.attempt(&guess, at(0)).await.expect("asked").is_ok()
            })
        })
        .collect();
    let mut counted = 0;
    for guess in guesses {
        counted += usize::from(guess.await.expect("a guess"));
    }

    assert_eq!(counted, MAX, "guesses checked");
}

async fn right_passwords_counted_in_the_same_millisecond_on_both_servers_are_all_taken_back(
    s: Servers,
) {
    let wang = keys("wang", "10.0.0.1");
    for round in 0..20 {
        let now = at(round * 10);
        for n in 0..MAX {
            let counted = s.one.attempt(&wang, now).await.expect("asked");
            assert_eq!(counted, Ok(()), "round {round}: attempt {n}");
        }
        let rights: Vec<_> = (0..MAX)
            .map(|n| {
                let server = if n % 2 == 0 { &s.one } else { &s.two }.clone();
                let keys = wang.clone();
                tokio::spawn(async move { server.forget_attempt(&keys, now).await })
            })
            .collect();
        for right in rights {
            right.await.expect("a right password").expect("taken back");
        }

        for n in 0..MAX {
            let counted = s.two.attempt(&wang, now).await.expect("asked");
            assert_eq!(
                counted,
                Ok(()),
                "round {round}: attempt {n} after all were taken back"
            );
        }
        for _ in 0..MAX {
            s.two.forget_attempt(&wang, now).await.expect("taken back");
        }
    }
}

on_both_counts!(
    failures_on_one_server_limit_the_other_until_they_leave_the_window,
    a_right_password_takes_its_attempt_back_and_a_login_clears_the_account,
    simultaneous_guesses_on_two_servers_never_slip_under_the_limit,
    right_passwords_counted_in_the_same_millisecond_on_both_servers_are_all_taken_back,
);
