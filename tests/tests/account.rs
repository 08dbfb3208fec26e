//! A user's own account against the real server with a real SQLite file: refresh tokens rotate
//! and a used one presented again ends the device's session (reuse detection, audited) unless
//! it is a lost answer's retry (tests/tests/lost_refresh_answer.rs); of simultaneous refreshes
//! with one token at most two succeed; refreshes are limited per device
//! and per address; a user changes their password under the policy and the login throttle,
//! ending their other devices' sessions; a user lists their devices and revokes one of their
//! own, never another's; the administrator's reset follows the same policy.

use std::io::Write as _;
use std::process::{Command, Stdio};

use server::auth::AuthConfig;
use server::store::SqliteStore;
use tests::account::{
    ALICE, BOB, audit, device, get, log_in, post, refresh, setup, setup_with, tokens,
};
use tests::device::NativeDevice;
use tests::district::{self, PASSWORD, enterprise};
use tests::process::server_binary;
use tests::raw::login_raw;

const NEW_PASSWORD: &str = "玉泉街道走访 2026 新密码";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_hands_out_a_new_refresh_token_and_the_presented_one_is_used_up()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let first = log_in(&s, "wang", PASSWORD, 1).await?;

    let second = refresh(&s, &first.refresh, BOB).await?;
    assert_eq!(second.status, 200, "{}", second.body);
    let second = tokens(&second.body)?;
    assert_ne!(second.refresh, first.refresh, "a new refresh token");
    assert_eq!(get(&s, "/api/me", &second.access).await?.0, 200);
    let third = refresh(&s, &second.refresh, BOB).await?;
    assert_eq!(third.status, 200, "the new one works: {}", third.body);

    let again = refresh(&s, &first.refresh, BOB).await?;
    assert_eq!(
        again.status, 401,
        "the first one is used up: {}",
        again.body
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_refresh_token_presented_again_ends_the_device_session_and_is_audited()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let phone = log_in(&s, "wang", PASSWORD, 1).await?;
    let tablet = log_in(&s, "wang", PASSWORD, 2).await?;
    // The owner refreshes and goes on working; a thief holding a copy of the old token
    // presents it afterwards.
    let owner = refresh(&s, &phone.refresh, BOB).await?;
    assert_eq!(owner.status, 200, "{}", owner.body);
    let owner = tokens(&owner.body)?;
    assert_eq!(get(&s, "/api/me", &owner.access).await?.0, 200);

    let thief = refresh(&s, &phone.refresh, ALICE).await?;
    assert_eq!(
        (thief.status, thief.body["error"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    assert_eq!(
        refresh(&s, &owner.refresh, BOB).await?.status,
        401,
        "the owner's new refresh token is revoked too"
    );
    assert_eq!(get(&s, "/api/me", &owner.access).await?.0, 401);
    assert_eq!(
        get(&s, "/api/me", &tablet.access).await?.0,
        200,
        "the user's other device keeps its session"
    );
    let entries = audit(&s).await?;
    assert!(
        entries.contains(&(
            "wang".to_string(),
            "refresh_token_reused".to_string(),
            phone.device.clone()
        )),
        "{entries:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_refreshes_with_one_token_give_one_rotation_one_retry_and_then_reuse()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let phone = log_in(&s, "wang", PASSWORD, 1).await?;
    let (url, body) = (
        s.server.url("/api/refresh"),
        serde_json::json!({ "refresh_token": phone.refresh }),
    );
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = reqwest::Client::new().post(&url).json(&body);
        requests.spawn(async move {
            let answer = request.send().await?;
            let status = answer.status().as_u16();
            anyhow::Ok((status, answer.json::<serde_json::Value>().await?))
        });
    }
    let mut won = Vec::new();
    let mut reused = 0;
    while let Some(answer) = requests.join_next().await {
        match answer?? {
            (200, body) => won.push(tokens(&body)?),
            (401, body) if body["error"] == "refresh_token_reused" => reused += 1,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    // The second looks like a lost answer's retry and is forgiven; the third cannot be.
    assert_eq!((won.len(), reused), (2, 4));
    for pair in &won {
        assert_eq!(
            get(&s, "/api/me", &pair.access).await?.0,
            401,
            "the reuse ended the session"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_are_limited_per_device_and_failed_ones_per_address_with_retry_after()
-> anyhow::Result<()> {
    let s = setup_with(AuthConfig {
        refreshes_per_device: 2,
        refresh_failures_per_address: 3,
        ..AuthConfig::default()
    })
    .await?;
    district::officer(&s.service, "wang", [1]).await?;
    let phone = log_in(&s, "wang", PASSWORD, 1).await?;
    let tablet = log_in(&s, "wang", PASSWORD, 2).await?;

    let mut token = phone.refresh;
    for n in 0..2 {
        let answer = refresh(&s, &token, BOB).await?;
        assert_eq!(answer.status, 200, "refresh {n}: {}", answer.body);
        token = tokens(&answer.body)?.refresh;
    }
    let limited = refresh(&s, &token, BOB).await?;
    assert_eq!(
        (limited.status, limited.body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    let wait: u64 = limited.retry_after.as_deref().unwrap_or("none").parse()?;
    assert!((1..=900).contains(&wait), "Retry-After {wait}");
    let tablet_refreshed = refresh(&s, &tablet.refresh, BOB).await?;
    assert_eq!(
        tablet_refreshed.status, 200,
        "another device is not limited"
    );

    for n in 0..3 {
        let guess = refresh(&s, &format!("{n:064x}"), ALICE).await?;
        assert_eq!(guess.status, 401);
    }
    let tablet_token = tokens(&tablet_refreshed.body)?.refresh;
    let from_alice = refresh(&s, &tablet_token, ALICE).await?;
    assert_eq!(from_alice.status, 429, "Alice's address is limited");
    assert!(from_alice.retry_after.is_some());
    let from_bob = refresh(&s, &tablet_token, BOB).await?;
    assert_eq!(from_bob.status, 200, "Bob's is not: {}", from_bob.body);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_password_ends_the_other_devices_sessions_and_renews_this_one()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let phone = log_in(&s, "wang", PASSWORD, 1).await?;
    let tablet = log_in(&s, "wang", PASSWORD, 2).await?;

    let (status, body) = post(
        &s,
        "/api/account/password",
        &phone.access,
        serde_json::json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let renewed = tokens(&body)?;
    assert_eq!(renewed.device, phone.device, "the same device");
    assert_eq!(get(&s, "/api/me", &renewed.access).await?.0, 200);
    assert_eq!(get(&s, "/api/me", &phone.access).await?.0, 401);
    assert_eq!(get(&s, "/api/me", &tablet.access).await?.0, 401);
    assert_eq!(refresh(&s, &tablet.refresh, BOB).await?.status, 401);
    assert_eq!(refresh(&s, &renewed.refresh, BOB).await?.status, 200);

    let base = s.server.url("");
    assert_eq!(login_raw(&base, "wang", PASSWORD, device(2)).await?.0, 401);
    assert_eq!(
        login_raw(&base, "wang", NEW_PASSWORD, device(2)).await?.0,
        200
    );
    let entries = audit(&s).await?;
    assert!(
        entries.contains(&(
            "wang".to_string(),
            "password_changed".to_string(),
            "wang".to_string()
        )),
        "{entries:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_breaking_the_policy_is_refused_naming_every_broken_rule()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "13800001111", [1]).await?;
    let phone = log_in(&s, "13800001111", PASSWORD, 1).await?;
    let change = |new: &str| serde_json::json!({"current_password": PASSWORD, "new_password": new});
    for (new, failures) in [
        ("13800001111", vec!["same_as_login", "only_digits"]),
        ("short", vec!["too_short"]),
        (PASSWORD, vec!["same_as_current"]),
    ] {
        let (status, body) = post(&s, "/api/account/password", &phone.access, change(new)).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("password_policy")),
            "{new}: {body}"
        );
        assert_eq!(body["failures"], serde_json::json!(failures), "{new}");
    }
    let (_, body) = post(&s, "/api/account/password", &phone.access, change("short")).await?;
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("至少 10 个字符") && message.contains("at least 10 characters"),
        "{message}"
    );
    assert_eq!(
        get(&s, "/api/me", &phone.access).await?.0,
        200,
        "nothing changed"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_count_against_the_login_throttle() -> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let phone = log_in(&s, "wang", PASSWORD, 1).await?;
    let guess =
        serde_json::json!({"current_password": "a guess at it", "new_password": NEW_PASSWORD});
    for n in 0..5 {
        let (status, body) =
            post(&s, "/api/account/password", &phone.access, guess.clone()).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("wrong_password")),
            "guess {n}"
        );
    }
    let (status, _) = post(&s, "/api/account/password", &phone.access, guess).await?;
    assert_eq!(status, 429, "the sixth guess is throttled");
    let (status, body) = login_raw(&s.server.url(""), "wang", PASSWORD, device(1)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited")),
        "and so is a login to the account"
    );
    let failed = audit(&s)
        .await?
        .into_iter()
        .filter(|(_, action, _)| action == "login_failed")
        .count();
    assert_eq!(failed, 5);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_lists_their_own_devices_and_revokes_one_of_them_but_not_anothers()
-> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    district::officer(&s.service, "li", [2]).await?;
    let mut phone = NativeDevice::logged_in(1, &s.server.url(""), "wang", PASSWORD).await?;
    phone.record_visit(enterprise(1), "走访")?;
    phone.sync().await?;
    let access = phone.token.clone().unwrap_or_default();
    let tablet = log_in(&s, "wang", PASSWORD, 2).await?;
    let li = log_in(&s, "li", PASSWORD, 3).await?;

    let (status, body) = get(&s, "/api/account/devices", &access).await?;
    assert_eq!(status, 200, "{body}");
    let listed = body["devices"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 2, "only wang's: {body}");
    let find = |id: &str| listed.iter().find(|d| d["id"] == id).cloned();
    let mine = find(&phone.actor.device.to_string()).ok_or_else(|| anyhow::anyhow!("{body}"))?;
    let other = find(&tablet.device).ok_or_else(|| anyhow::anyhow!("{body}"))?;
    assert_eq!(
        (mine["current"].as_bool(), other["current"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(mine["last_sync"].is_i64(), "the phone synced: {mine}");
    assert!(
        other["last_sync"].is_null(),
        "the tablet never did: {other}"
    );
    assert_eq!(other["revoked"], false);
    assert_eq!(other["name"], "raw test device");
    assert!(other["registered_at"].is_i64());

    let revoke = |id: &str| format!("/api/account/devices/{id}/revoke");
    let (status, _) = post(&s, &revoke(&li.device), &access, serde_json::json!({})).await?;
    assert_eq!(status, 404, "another user's device");
    assert_eq!(
        get(&s, "/api/me", &li.access).await?.0,
        200,
        "li is untouched"
    );
    let (status, _) = post(&s, &revoke("not-a-device"), &access, serde_json::json!({})).await?;
    assert_eq!(status, 404);

    let (status, _) = post(&s, &revoke(&tablet.device), &access, serde_json::json!({})).await?;
    assert_eq!(status, 204);
    let (status, body) = get(&s, "/api/me", &tablet.access).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("device_revoked"))
    );
    let (_, body) = get(&s, "/api/account/devices", &access).await?;
    let revoked = body["devices"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|d| d["id"] == tablet.device.as_str())
                .cloned()
        })
        .ok_or_else(|| anyhow::anyhow!("{body}"))?;
    assert_eq!(revoked["revoked"], true);
    let entries = audit(&s).await?;
    assert!(
        entries.contains(&(
            "wang".to_string(),
            "own_device_revoked".to_string(),
            tablet.device.clone()
        )),
        "{entries:?}"
    );
    Ok(())
}

#[test]
fn the_administrators_password_reset_follows_the_same_policy() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("lianxin.db");
    {
        let mut store = SqliteStore::open(&db)?;
        district::officer_in(&mut store, "wang", [1])?;
    }
    let reset = |password: &str| -> anyhow::Result<std::process::Output> {
        let mut child = Command::new(server_binary()?)
            .args([
                "users",
                "reset-password",
                "wang",
                "--password-stdin",
                "--db",
            ])
            .arg(&db)
            .env("NO_COLOR", "1")
            .env_remove("LIANXIN_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(format!("{password}\n").as_bytes())?;
        }
        Ok(child.wait_with_output()?)
    };
    for (password, says) in [
        ("short", "at least 10 characters"),
        ("1234567890123", "not only digits"),
        (PASSWORD, "not the current password"),
    ] {
        let out = reset(password)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{password} accepted");
        assert!(stderr.contains(says), "{password}: {stderr}");
    }
    let out = reset(NEW_PASSWORD)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
