//! `lianxin-server serve --db postgres://…` (issue 16 item 2): the real binary on a throwaway
//! PostgreSQL database. An unreachable database stops it with a clear error; on a reachable one
//! it migrates, seeds the demo with `--demo`, logs in and lists, answers what is not built on
//! PostgreSQL yet with a 503 naming the route, and writes no SQLite file anywhere.

use std::net::SocketAddr;
use tests::pg::Throwaway;
use tests::process::{ServerProcess, server_binary};
use tests::raw::demo_token;

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
        (reqwest::Method::GET, "/api/notifications"),
        (reqwest::Method::POST, "/api/account/password"),
        (reqwest::Method::GET, "/api/admin/users"),
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
