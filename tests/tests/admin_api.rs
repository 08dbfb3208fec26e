//! The administrator's accounts and devices over HTTP while the server runs (issue 17 item 1,
//! `/api/admin/users…`, `/api/admin/devices…`), against a real server and SQLite file: a
//! revoked phone's next sync and refresh are refused as revoked and its event stream closes; a
//! disabled user cannot log in and their sessions end, and can be enabled again; a reset
//! password follows the policy and the old one stops working; an added user logs in; an
//! officer gets 403 on every administrator's route; every change is in the audit log with the
//! acting administrator.

use std::time::Duration;

use serde_json::{Value, json};
use shared::model::DeviceId;
use tests::TestServer;
use tests::admin::{ADMIN, AdminServer, token};
use tests::device::{NativeDevice, id_bytes};
use tests::district::{self, PASSWORD, enterprise};
use tests::raw::login_raw;

const NEW_PASSWORD: &str = "a new horse battery";

type Setup = AdminServer;

async fn setup() -> anyhow::Result<Setup> {
    AdminServer::start(|_, _| Ok(())).await
}

async fn call(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api{path}"));
    let mut req = if method == "get" {
        client.get(url)
    } else {
        client.post(url)
    };
    req = req.bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

/// The audit log's entries of `action` as (actor, subject).
async fn audited(s: &Setup, action: &str) -> anyhow::Result<Vec<(String, String)>> {
    let entries = s
        .service
        .with_store(|st| st.audit_log(0, 10_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| (e.actor, e.subject))
        .collect())
}

async fn open_events(server: &TestServer, token: &str) -> anyhow::Result<reqwest::Response> {
    Ok(reqwest::Client::new()
        .get(server.url("/api/events"))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .send()
        .await?)
}

/// Whether `stream` ends (the server closed it) within five seconds.
async fn ends(stream: &mut reqwest::Response) -> anyhow::Result<bool> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.chunk()).await {
            Err(_) => return Ok(false),
            Ok(Ok(None)) => return Ok(true),
            Ok(Ok(Some(_))) => continue,
            Ok(Err(error)) => anyhow::bail!("the stream failed instead of ending: {error}"),
        }
    }
}

async fn officer(s: &Setup, login: &str, n: u8) -> anyhow::Result<NativeDevice> {
    district::officer(&s.service, login, [1]).await?;
    NativeDevice::logged_in(n, &s.server.url(""), login, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_revokes_an_officers_phone_while_the_server_runs_and_it_is_refused_as_revoked()
-> anyhow::Result<()> {
    let s = setup().await?;
    let mut phone = officer(&s, "wang", 1).await?;
    phone.record_visit(enterprise(1), "丢失前已同步")?;
    phone.sync().await?;
    let mut stream = open_events(&s.server, phone.token.as_deref().unwrap_or_default()).await?;
    assert_eq!(stream.status(), 200);

    let (status, listed) = call(&s.server, &s.admin, "get", "/admin/devices", None).await?;
    assert_eq!(status, 200, "{listed}");
    let id = phone.actor.device.to_string();
    let row = listed["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["id"] == id.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["user"], "wang", "{listed}");
    assert!(row["last_sync"].is_i64(), "{row}");
    assert_eq!(row["revoked"], false, "{row}");

    let path = format!("/admin/devices/{id}/revoke");
    let (status, body) = call(&s.server, &s.admin, "post", &path, None).await?;
    assert_eq!(status, 200, "{body}");

    assert!(
        ends(&mut stream).await?,
        "the revoked phone's stream stayed open"
    );
    phone.record_visit(enterprise(1), "丢失后")?;
    let refused = phone.sync().await.expect_err("a revoked phone cannot sync");
    assert!(refused.to_string().contains("device_revoked"), "{refused}");
    let refreshed = phone.refresh().await?;
    assert_eq!(refreshed.body["error"], "device_revoked");
    assert_eq!(
        audited(&s, "device_revoked").await?,
        [(ADMIN.to_string(), id)]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_cannot_log_in_and_their_sessions_end_until_enabled_again()
-> anyhow::Result<()> {
    let s = setup().await?;
    let mut phone = officer(&s, "wang", 1).await?;
    let mut stream = open_events(&s.server, phone.token.as_deref().unwrap_or_default()).await?;
    assert_eq!(stream.status(), 200);

    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        "/admin/users/wang/disable",
        None,
    )
    .await?;
    assert_eq!(
        (status, &body["sessions_ended"]),
        (200, &json!(1)),
        "{body}"
    );

    assert!(
        ends(&mut stream).await?,
        "the disabled user's stream stayed open"
    );
    assert_eq!(phone.refresh().await?.status, 401);
    let (status, _) = login_raw(
        &s.server.url(""),
        "wang",
        PASSWORD,
        DeviceId::from_random_bytes(id_bytes(8, 2)),
    )
    .await?;
    assert_eq!(status, 401, "a disabled user logged in");
    let (_, users) = call(&s.server, &s.admin, "get", "/admin/users", None).await?;
    let wang = users["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["login"] == "wang"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&wang["disabled"], &wang["role"], &wang["org_unit"]),
        (&json!(true), &json!("officer"), &json!("town-1"))
    );

    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        "/admin/users/wang/enable",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    token(&s.server, "wang", PASSWORD, 3).await?;
    let wang = || vec![(ADMIN.to_string(), "wang".to_string())];
    assert_eq!(audited(&s, "user_disabled").await?, wang());
    assert_eq!(audited(&s, "user_enabled").await?, wang());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_password_must_follow_the_policy_and_then_the_old_one_is_refused()
-> anyhow::Result<()> {
    let s = setup().await?;
    let mut phone = officer(&s, "wang", 1).await?;
    let path = "/admin/users/wang/password";

    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        path,
        Some(json!({"password": "12345"})),
    )
    .await?;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("password_policy")),
        "{body}"
    );
    assert_eq!(
        body["failures"],
        json!(["too_short", "only_digits"]),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at least 10 characters"),
        "{body}"
    );
    token(&s.server, "wang", PASSWORD, 2).await?;

    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        path,
        Some(json!({"password": NEW_PASSWORD})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (old, _) = login_raw(
        &s.server.url(""),
        "wang",
        PASSWORD,
        DeviceId::from_random_bytes(id_bytes(8, 3)),
    )
    .await?;
    assert_eq!(old, 401, "the old password still logs in");
    assert_eq!(
        phone.refresh().await?.status,
        401,
        "the old session lives on"
    );
    token(&s.server, "wang", NEW_PASSWORD, 4).await?;
    assert_eq!(
        audited(&s, "password_reset").await?,
        [(ADMIN.to_string(), "wang".to_string())]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_user_logs_in_with_a_password_that_follows_the_policy() -> anyhow::Result<()> {
    let s = setup().await?;
    let li = |password: &str| {
        json!({"login": "li", "name": "李娜", "role": "officer", "org_unit": "town-1",
               "phone": "0571-1234", "password": password})
    };
    let (status, body) = call(&s.server, &s.admin, "post", "/admin/users", Some(li("li"))).await?;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("password_policy")),
        "{body}"
    );
    let mut wrong_unit = li(NEW_PASSWORD);
    wrong_unit["org_unit"] = json!("nowhere");
    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        "/admin/users",
        Some(wrong_unit),
    )
    .await?;
    assert_eq!(status, 400, "{body}");

    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        "/admin/users",
        Some(li(NEW_PASSWORD)),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &s.server,
        &s.admin,
        "post",
        "/admin/users",
        Some(li(NEW_PASSWORD)),
    )
    .await?;
    assert_eq!(
        (status, &body["error"]),
        (409, &json!("duplicate")),
        "{body}"
    );
    token(&s.server, "li", NEW_PASSWORD, 5).await?;
    assert_eq!(
        audited(&s, "user_added").await?,
        [(ADMIN.to_string(), "li".to_string())]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_locked_out_by_failed_logins_is_shown_locked_out() -> anyhow::Result<()> {
    let s = setup().await?;
    district::officer(&s.service, "wang", [1]).await?;
    let locked = |users: &Value| {
        users["users"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["login"] == "wang"))
            .map(|u| u["locked_out"].clone())
    };
    let (_, users) = call(&s.server, &s.admin, "get", "/admin/users", None).await?;
    assert_eq!(locked(&users), Some(json!(false)), "{users}");
    for n in 0..server::auth::AuthConfig::default().max_failures {
        let device = DeviceId::from_random_bytes(id_bytes(8, 10 + n as u64));
        login_raw(&s.server.url(""), "wang", "wrong password!", device).await?;
    }
    let (_, users) = call(&s.server, &s.admin, "get", "/admin/users", None).await?;
    assert_eq!(locked(&users), Some(json!(true)), "{users}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_is_refused_every_administrators_route_and_changes_nothing() -> anyhow::Result<()>
{
    let s = setup().await?;
    let phone = officer(&s, "wang", 1).await?;
    let own = phone.token.clone().unwrap_or_default();
    let device = phone.actor.device.to_string();
    let mut checked = 0;
    for route in server::http::openapi_admin::ADMIN_ROUTES {
        let path = route
            .path
            .replace("{login}", "wang")
            .replace("{id}", &device);
        let body = route.body.map(|_| {
            json!({"login": "mole", "name": "Mole", "role": "admin", "org_unit": "town-1",
                   "password": NEW_PASSWORD})
        });
        let (status, answer) = call(&s.server, &own, route.method, &path, body).await?;
        assert_eq!(
            (status, &answer["error"]),
            (403, &json!("forbidden")),
            "{} {path}: {answer}",
            route.method
        );
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} routes checked");
    // Nothing happened: the officer's own session still works, no mole was added.
    token(&s.server, "wang", PASSWORD, 6).await?;
    let log = s
        .service
        .with_store(|st| st.audit_log(0, 10_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    let changes: Vec<_> = log
        .iter()
        .filter(|e| !matches!(e.action.as_str(), "login" | "config_applied"))
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    Ok(())
}
