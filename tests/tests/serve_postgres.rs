//! `lianxin-server serve --db postgres://…` (issue 16 item 2): the real binary on a throwaway
//! PostgreSQL database. An unreachable database stops it with a clear error; on a reachable one
//! it migrates, seeds the demo with `--demo`, logs in and lists, refreshes its tokens (one
//! refresh token presented to two servers at once is exchanged once) and changes a password,
//! answers what is not built on PostgreSQL yet with a 503 naming the route, and writes no
//! SQLite file anywhere.

use std::net::SocketAddr;
use tests::pg::Throwaway;
use tests::process::{ServerProcess, server_binary};
use tests::raw::{demo_token, login_raw};

#[test]
fn an_unreachable_postgres_stops_serve_with_a_clear_error() -> anyhow::Result<()> {
    let cwd = tempfile::tempdir()?;
    // Port 1: nothing listens there.
    let output = std::process::Command::new(server_binary()?)
        .current_dir(cwd.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            "postgres://lianxin:secret@127.0.0.1:1/lianxin",
        ])
        .env("NO_COLOR", "1")
        .output()?;
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it served: {said}");
    assert!(
        said.contains(
            "cannot open the PostgreSQL database postgres://lianxin:***@127.0.0.1:1/lianxin"
        ),
        "{said}"
    );
    assert!(!said.contains("secret"), "the password was shown: {said}");
    assert_eq!(std::fs::read_dir(cwd.path())?.count(), 0, "it wrote files");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_not_built_on_postgres_answers_503_naming_it_and_no_sqlite_file_is_made()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let http = reqwest::Client::new();
    let token = demo_token(&server.url(), "leader1", 7).await?;
    // Built on PostgreSQL: the seeded demo's problems.
    let problems: serde_json::Value = http
        .get(format!("{}/api/problems", server.url()))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(
        problems["total"].as_u64().unwrap_or(0) > 0,
        "the demo's problems are not listed: {problems}"
    );
    // Not built on PostgreSQL yet: a 503 that says which route, before the handler runs.
    for (method, path) in [
        (reqwest::Method::POST, "/api/admin/backups"),
        (reqwest::Method::GET, "/api/admin/backups"),
    ] {
        let answer = http
            .request(method.clone(), format!("{}{path}", server.url()))
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(answer.status().as_u16(), 503, "{method} {path}");
        let body: serde_json::Value = answer.json().await?;
        assert_eq!(body["error"], "not_on_postgres", "{method} {path}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("{method} {path}")) && message.contains("PostgreSQL"),
            "{message}"
        );
    }
    // The session is still good.
    let me = http
        .get(format!("{}/api/me", server.url()))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(me.status().as_u16(), 200);
    drop(server);
    assert_eq!(
        std::fs::read_dir(cwd.path())?.count(),
        0,
        "the server wrote files beside it (a SQLite database?)"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phones_sync_on_postgres_shows_in_the_leaders_freshness_table() -> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    // An officer's phone records a visit and syncs it: nothing is left in its outbox.
    let mut phone = tests::device::NativeDevice::logged_in(
        1,
        &server.url(),
        "officer1",
        server::demo::DEMO_PASSWORD,
    )
    .await?;
    phone.sync().await?;
    let enterprise = phone
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == shared::doc::DocKind::Enterprise)
        .map(|id| shared::model::EnterpriseId::parse(id.root_id()))
        .ok_or_else(|| anyhow::anyhow!("the officer sees no enterprise"))??;
    phone.record_visit(enterprise, "在 PostgreSQL 上同步")?;
    phone.sync().await?;
    let http = reqwest::Client::new();
    let token = demo_token(&server.url(), "leader1", 9).await?;
    let rows: serde_json::Value = http
        .get(format!("{}/api/dashboard/freshness", server.url()))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let phone_id = phone.actor.device.to_string();
    let device = rows
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["device_detail"].as_array().into_iter().flatten())
        .find(|d| d["device"] == phone_id.as_str())
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the phone {phone_id} is not in the table: {rows}"))?;
    // The sync was recorded (its last sync) with the outbox count the phone reported.
    assert!(device["last_sync"].as_i64().is_some(), "{device}");
    assert_eq!(device["unsent"], 0, "{device}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_on_postgres_ends_the_session_and_is_audited() -> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let http = reqwest::Client::new();
    let token = demo_token(&server.url(), "leader1", 5).await?;
    let out = http
        .post(format!("{}/api/logout", server.url()))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(out.status().as_u16(), 204);
    let me = http
        .get(format!("{}/api/me", server.url()))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(
        me.status().as_u16(),
        401,
        "the token still works after logout"
    );
    let db = tests::pg::connect(&database.url()).await?;
    let audited: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'logout' AND actor = 'leader1'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(audited, 1, "the logout is not in the audit log");
    Ok(())
}

/// Logs `login` in with the demo password on device `[n; 16]`: (access, refresh, device id).
async fn demo_session(base: &str, login: &str, n: u8) -> anyhow::Result<[String; 3]> {
    let device = shared::model::DeviceId::from_random_bytes([n; 16]);
    let (status, body) = login_raw(base, login, server::demo::DEMO_PASSWORD, device).await?;
    anyhow::ensure!(status == 200, "login {login}: {status} {body}");
    Ok([
        body["token"].as_str().unwrap_or_default().to_string(),
        body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        body["device"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    ])
}

/// `POST /api/refresh` with `refresh`: the status and the JSON body.
async fn refresh(base: &str, refresh: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    refresh_on(&reqwest::Client::new(), base, refresh).await
}

/// [`refresh`] through `http` (its connections kept open between calls).
async fn refresh_on(
    http: &reqwest::Client,
    base: &str,
    refresh: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let answer = http
        .post(format!("{base}/api/refresh"))
        .json(&serde_json::json!({ "refresh_token": refresh }))
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or_default()))
}

/// The status `GET /api/me` answers with `token`.
async fn me(base: &str, token: &str) -> anyhow::Result<u16> {
    let answer = reqwest::Client::new()
        .get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await?;
    Ok(answer.status().as_u16())
}

/// How many audit entries of `action` the database holds on `subject`.
async fn audited(db: &tokio_postgres::Client, action: &str, subject: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = $1 AND subject = $2",
            &[&action, &subject],
        )
        .await?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_on_postgres_rotates_and_the_used_token_presented_again_ends_the_device()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let base = server.url();
    let [_, old_refresh, device] = demo_session(&base, "officer1", 11).await?;
    let (status, body) = refresh(&base, &old_refresh).await?;
    assert_eq!(status, 200, "the refresh: {body}");
    let (access, new_refresh) = (
        body["token"].as_str().unwrap_or_default().to_string(),
        body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    assert_ne!(
        new_refresh, old_refresh,
        "the refresh token was not rotated"
    );
    assert_eq!(body["device"]["id"], device.as_str());
    assert_eq!(me(&base, &access).await?, 200, "the new access token works");
    // The used token again, after the new pair was used: someone else holds a copy.
    let (status, body) = refresh(&base, &old_refresh).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("refresh_token_reused")),
        "{body}"
    );
    assert_eq!(
        me(&base, &access).await?,
        401,
        "the device's session lives on"
    );
    assert_eq!(refresh(&base, &new_refresh).await?.0, 401);
    let db = tests::pg::connect(&database.url()).await?;
    assert_eq!(audited(&db, "refresh_token_reused", &device).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refresh_token_sent_to_two_servers_at_once_leaves_one_live_pair() -> anyhow::Result<()>
{
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let a = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let b = ServerProcess::start_postgres(&database.url(), free, false, cwd.path())?;
    let db = tests::pg::connect(&database.url()).await?;
    let (a_url, b_url) = (a.url(), b.url());
    // A connection open to each server, so both requests leave at once.
    let (to_a, to_b) = (reqwest::Client::new(), reqwest::Client::new());
    for (http, url) in [(&to_a, &a_url), (&to_b, &b_url)] {
        http.get(format!("{url}/healthz")).send().await?;
    }
    // Rounds, each a phone of its own, so the two servers' exchanges overlap in some.
    for round in 0..12u8 {
        let [_, presented, device] = demo_session(&a_url, "officer1", 20 + round).await?;
        let (one, other) = tokio::join!(
            refresh_on(&to_a, &a_url, &presented),
            refresh_on(&to_b, &b_url, &presented)
        );
        let answers = [one?, other?];
        assert!(
            answers.iter().any(|(status, _)| *status == 200),
            "round {round}: neither server exchanged the token: {answers:?}"
        );
        let mut working = 0;
        for (status, body) in &answers {
            // The other waited for the first and is the lost answer's retry (200), or was
            // refused; never a second rotation beside the first.
            assert!(*status == 200 || *status == 401, "round {round}: {body}");
            if *status == 200
                && me(&a.url(), body["token"].as_str().unwrap_or_default()).await? == 200
            {
                working += 1;
            }
        }
        assert_eq!(
            working, 1,
            "round {round}: {working} working pairs: {answers:?}"
        );
        let live: i64 = db
            .query_one(
                "SELECT count(*) FROM tokens WHERE device = $1 AND kind = 'refresh' \
                 AND NOT revoked AND rotated_at IS NULL",
                &[&device],
            )
            .await?
            .get(0);
        assert_eq!(live, 1, "round {round}: {live} live refresh tokens");
        let reused = audited(&db, "refresh_token_reused", &device).await?;
        assert_eq!(reused, 0, "round {round}: the phone's session was ended");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_on_postgres_ends_the_other_sessions_and_the_new_password_logs_in()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let base = server.url();
    let http = reqwest::Client::new();
    let [phone, _, _] = demo_session(&base, "officer1", 31).await?;
    let [tablet, _, _] = demo_session(&base, "officer1", 32).await?;
    let change = |current: &str| {
        http.post(format!("{base}/api/account/password"))
            .bearer_auth(&phone)
            .json(&serde_json::json!({
                "current_password": current,
                "new_password": "换了新的密码-2026",
            }))
            .send()
    };
    let wrong = change("not the password").await?;
    assert_eq!(wrong.status().as_u16(), 403, "a wrong current password");
    let answer = change(server::demo::DEMO_PASSWORD).await?;
    assert_eq!(answer.status().as_u16(), 200);
    let session: serde_json::Value = answer.json().await?;
    let fresh = session["token"].as_str().unwrap_or_default();
    assert_eq!(
        me(&base, fresh).await?,
        200,
        "the fresh token does not work"
    );
    assert_eq!(
        me(&base, &phone).await?,
        401,
        "the old token of this device works"
    );
    assert_eq!(
        me(&base, &tablet).await?,
        401,
        "the other device's session lives"
    );
    let device = shared::model::DeviceId::from_random_bytes([33; 16]);
    let old = login_raw(&base, "officer1", server::demo::DEMO_PASSWORD, device).await?;
    assert_eq!(old.0, 401, "the old password logs in");
    let new = login_raw(&base, "officer1", "换了新的密码-2026", device).await?;
    assert_eq!(new.0, 200, "the new password does not log in: {}", new.1);
    let db = tests::pg::connect(&database.url()).await?;
    assert_eq!(audited(&db, "password_changed", "officer1").await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_on_postgres_revokes_a_phone_disables_enables_and_resets_a_password()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let server = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let base = server.url();
    let http = reqwest::Client::new();
    let admin = demo_token(&base, "admin", 41).await?;
    let [phone, _, device] = demo_session(&base, "officer1", 42).await?;
    let listed: serde_json::Value = http
        .get(format!("{base}/api/admin/devices"))
        .bearer_auth(&admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let row = listed["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["id"] == device.as_str());
    assert_eq!(
        row.map(|d| d["user"].clone()),
        Some("officer1".into()),
        "{listed}"
    );
    let users: serde_json::Value = http
        .get(format!("{base}/api/admin/users"))
        .bearer_auth(&admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(
        users["users"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| u["login"] == "officer1" && u["disabled"] == false),
        "{users}"
    );
    let post = |path: String, body: serde_json::Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let none = serde_json::json!({});
    let revoked = post(format!("/api/admin/devices/{device}/revoke"), none.clone()).await?;
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(
        me(&base, &phone).await?,
        401,
        "the revoked phone still works"
    );
    let again = shared::model::DeviceId::from_random_bytes([43; 16]);
    let disabled = post("/api/admin/users/officer1/disable".into(), none.clone()).await?;
    assert_eq!(disabled.status().as_u16(), 200);
    let refused = login_raw(&base, "officer1", server::demo::DEMO_PASSWORD, again).await?;
    assert_eq!(refused.0, 401, "a disabled person logs in");
    let enabled = post("/api/admin/users/officer1/enable".into(), none).await?;
    assert_eq!(enabled.status().as_u16(), 200);
    let reset = serde_json::json!({ "password": "管理员重置的密码-2026" });
    let reset = post("/api/admin/users/officer1/password".into(), reset).await?;
    assert_eq!(reset.status().as_u16(), 200);
    let new = login_raw(&base, "officer1", "管理员重置的密码-2026", again).await?;
    assert_eq!(new.0, 200, "the reset password does not log in: {}", new.1);
    let db = tests::pg::connect(&database.url()).await?;
    for (action, subject) in [
        ("device_revoked", device.as_str()),
        ("user_disabled", "officer1"),
        ("user_enabled", "officer1"),
        ("password_reset", "officer1"),
    ] {
        assert_eq!(audited(&db, action, subject).await?, 1, "{action}");
    }
    Ok(())
}
