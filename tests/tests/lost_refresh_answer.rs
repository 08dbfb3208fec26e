//! A refresh whose answer is lost (the connection cut after the server committed) against the
//! real server with a real SQLite file: the phone's retry with its old refresh token gets a new
//! pair and the lost pair is revoked; but once the new pair was used, or after the grace
//! window, or for the second of two retries, the old token is a reuse that ends the device's
//! session.

use std::time::Duration;

use server::auth::AuthConfig;
use tests::account::{BOB, Setup, Tokens, audit, get, log_in, refresh, setup, setup_with, tokens};
use tests::district::{self, PASSWORD};

/// Logs wang in on a phone and refreshes once, "losing" the answer: the phone still holds the
/// login's tokens; the lost pair is returned for the checks.
async fn refreshed_with_lost_answer(s: &Setup) -> anyhow::Result<(Tokens, Tokens)> {
    district::officer(&s.service, "wang", [1]).await?;
    let phone = log_in(s, "wang", PASSWORD, 1).await?;
    let lost = refresh(s, &phone.refresh, BOB).await?;
    anyhow::ensure!(lost.status == 200, "the first refresh: {}", lost.body);
    Ok((phone, tokens(&lost.body)?))
}

/// Whether the audit log holds `action` for `device`.
async fn audited(s: &Setup, action: &str, device: &str) -> anyhow::Result<bool> {
    Ok(audit(s)
        .await?
        .iter()
        .any(|(_, a, subject)| a == action && subject == device))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_lost_answer_gets_a_new_pair_and_the_lost_pair_dies() -> anyhow::Result<()>
{
    let s = setup().await?;
    let (phone, lost) = refreshed_with_lost_answer(&s).await?;

    let retry = refresh(&s, &phone.refresh, BOB).await?;
    assert_eq!(retry.status, 200, "the retry is forgiven: {}", retry.body);
    let renewed = tokens(&retry.body)?;
    assert_ne!(renewed.refresh, lost.refresh);
    assert_eq!(get(&s, "/api/me", &renewed.access).await?.0, 200);
    assert_eq!(
        get(&s, "/api/me", &lost.access).await?.0,
        401,
        "the lost access token is revoked"
    );
    assert!(audited(&s, "refresh_retried", &phone.device).await?);
    assert!(!audited(&s, "refresh_token_reused", &phone.device).await?);

    // Should the lost refresh token turn up after all, it reached someone else: a reuse.
    let late = refresh(&s, &lost.refresh, BOB).await?;
    assert_eq!(
        (late.status, late.body["error"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    assert_eq!(get(&s, "/api/me", &renewed.access).await?.0, 401);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_new_access_token_was_used_the_old_refresh_token_is_a_reuse() -> anyhow::Result<()>
{
    let s = setup().await?;
    let (phone, fresh) = refreshed_with_lost_answer(&s).await?;
    // The answer was not lost after all: the phone (or a thief) works with the new pair.
    assert_eq!(get(&s, "/api/me", &fresh.access).await?.0, 200);

    let old = refresh(&s, &phone.refresh, BOB).await?;
    assert_eq!(
        (old.status, old.body["error"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    assert_eq!(
        get(&s, "/api/me", &fresh.access).await?.0,
        401,
        "the device is logged out"
    );
    assert_eq!(refresh(&s, &fresh.refresh, BOB).await?.status, 401);
    assert!(audited(&s, "refresh_token_reused", &phone.device).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_grace_window_is_a_reuse() -> anyhow::Result<()> {
    let s = setup_with(AuthConfig {
        refresh_retry_grace_ms: 300,
        ..AuthConfig::default()
    })
    .await?;
    let (phone, lost) = refreshed_with_lost_answer(&s).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;

    let late = refresh(&s, &phone.refresh, BOB).await?;
    assert_eq!(
        (late.status, late.body["error"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    assert_eq!(refresh(&s, &lost.refresh, BOB).await?.status, 401);
    assert!(audited(&s, "refresh_token_reused", &phone.device).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_simultaneous_retries_after_a_lost_answer_exactly_one_succeeds() -> anyhow::Result<()>
{
    let s = setup().await?;
    let (phone, _lost) = refreshed_with_lost_answer(&s).await?;
    let (url, body) = (
        s.server.url("/api/refresh"),
        serde_json::json!({ "refresh_token": phone.refresh }),
    );
    let mut retries = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let request = reqwest::Client::new().post(&url).json(&body);
        retries.spawn(async move {
            let answer = request.send().await?;
            let status = answer.status().as_u16();
            anyhow::Ok((status, answer.json::<serde_json::Value>().await?))
        });
    }
    let mut outcomes = Vec::new();
    while let Some(answer) = retries.join_next().await {
        let (status, body) = answer??;
        outcomes.push((status, body["error"].as_str().map(str::to_string)));
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        [(200, None), (401, Some("refresh_token_reused".to_string()))],
        "a lost answer is forgiven once; the other retry is a reuse"
    );
    Ok(())
}
