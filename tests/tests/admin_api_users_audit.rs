//! The administrator's users import, audit log and configuration check over HTTP (issue 17
//! items 1 and 3), against a real server and SQLite file: a users file with bad lines is
//! refused naming every one and adds nobody; the corrected file adds everyone, each user with
//! their own audit entry beside the file's, and a password it generated logs in; the audit log is read a page at a time with a
//! filter, exported as CSV and its chain verified; a configuration file is judged with every
//! problem listed; none of it for anyone but the administrator.

use serde_json::Value;
use shared::model::{DeviceId, Role};
use tests::admin::{ADMIN, AdminServer, token};
use tests::device::id_bytes;
use tests::district::{self, PASSWORD};
use tests::raw::login_raw;

/// A server with town `town-1`, the administrator and officer `wang`.
async fn setup() -> anyhow::Result<AdminServer> {
    AdminServer::start(|s, town| {
        district::user(s, "wang", Role::Officer, town)?;
        Ok(())
    })
    .await
}

/// `method path` with `token` and an optional body of `content_type`; the status and body
/// (JSON, or the text as a JSON string).
async fn call(
    s: &AdminServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> anyhow::Result<(u16, Value)> {
    let client = reqwest::Client::new();
    let url = s.server.url(path);
    let mut request = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    }
    .bearer_auth(token);
    if let Some((content_type, text)) = body {
        request = request
            .header("content-type", content_type)
            .body(text.to_string());
    }
    let resp = request.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// A users file of `n` officers of `town-1`, `user-1` … `user-n`, with no passwords.
fn users_csv(n: usize) -> String {
    let mut csv = String::from("login,name,role,org_unit,phone,password\n");
    for i in 1..=n {
        csv.push_str(&format!("user-{i},干部{i},officer,town-1,1390000{i:04},\n"));
    }
    csv
}

async fn has_user(s: &AdminServer, login: &'static str) -> anyhow::Result<bool> {
    Ok(s.service
        .with_store(move |st| st.find_user_by_login(login))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??
        .is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_file_with_two_bad_lines_is_refused_naming_both_and_adds_nobody()
-> anyhow::Result<()> {
    let s = setup().await?;
    let csv = users_csv(5)
        .replace("user-2,干部2,officer", "user-2,干部2,boss")
        .replace(
            "user-4,干部4,officer,town-1,13900000004,",
            "user-4,干部4,officer,town-1,13900000004,123",
        );

    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/imports/users",
        Some(("text/csv", &csv)),
    )
    .await?;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "import_lines", "{body}");
    let lines: Vec<u64> = body["lines"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["line"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(
        lines,
        [3, 5],
        "the bad role and the password the policy refuses: {body}"
    );
    assert!(!has_user(&s, "user-1").await?, "the good lines stay out");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corrected_file_adds_everyone_each_audited_and_a_generated_password_logs_in()
-> anyhow::Result<()> {
    let s = setup().await?;

    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/imports/users",
        Some(("text/csv", &users_csv(5))),
    )
    .await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 5, "{body}");
    let passwords = body["passwords"].as_array().cloned().unwrap_or_default();
    assert_eq!(passwords.len(), 5, "one generated for each: {body}");
    assert!(has_user(&s, "user-5").await?);
    let first = &passwords[0];
    assert_eq!(first["login"], "user-1");
    let device = DeviceId::from_random_bytes(id_bytes(8, 77));
    let (status, _) = login_raw(
        &s.server.url(""),
        "user-1",
        first["password"].as_str().unwrap_or_default(),
        device,
    )
    .await?;
    assert_eq!(status, 200, "the generated password logs in");
    let (_, page) = call(
        &s,
        &s.admin,
        "GET",
        "/api/admin/audit?action=imported",
        None,
    )
    .await?;
    let entries = page["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["actor"], ADMIN);
    assert_eq!(entries[0]["detail"], "5 user(s), 5 password(s) generated");
    // One entry per user, as `users add` writes it, naming the import.
    let (_, page) = call(
        &s,
        &s.admin,
        "GET",
        "/api/admin/audit?action=user_added",
        None,
    )
    .await?;
    let added = page["entries"].as_array().cloned().unwrap_or_default();
    let mut subjects: Vec<&str> = added.iter().filter_map(|e| e["subject"].as_str()).collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        ["user-1", "user-2", "user-3", "user-4", "user-5"],
        "{page}"
    );
    assert!(added.iter().all(|e| e["actor"] == ADMIN), "{page}");
    assert_eq!(
        added
            .iter()
            .find(|e| e["subject"] == "user-3")
            .map(|e| e["detail"].clone()),
        Some("干部3 officer in town-1 (POST /api/admin/imports/users)".into()),
        "{page}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_pages_newest_first_by_filter_exports_csv_and_verifies() -> anyhow::Result<()>
{
    let s = setup().await?;
    // Three more logins after the administrator's own: four `login` entries in all.
    for n in 0..3 {
        token(&s.server, "wang", PASSWORD, 20 + n).await?;
    }

    let (status, first) = call(
        &s,
        &s.admin,
        "GET",
        "/api/admin/audit?action=login&limit=3",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{first}");
    let seqs = |page: &Value| -> Vec<i64> {
        page["entries"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["seq"].as_i64()).collect())
            .unwrap_or_default()
    };
    let page_one = seqs(&first);
    assert_eq!(page_one.len(), 3);
    assert!(
        page_one.windows(2).all(|w| w[0] > w[1]),
        "newest first: {page_one:?}"
    );
    let before = first["next_before"].as_i64().unwrap_or_default();
    let (_, second) = call(
        &s,
        &s.admin,
        "GET",
        &format!("/api/admin/audit?action=login&limit=3&before={before}"),
        None,
    )
    .await?;
    assert_eq!(seqs(&second).len(), 1, "the fourth login: {second}");
    assert!(second["next_before"].is_null());
    let (_, by_actor) = call(&s, &s.admin, "GET", "/api/admin/audit?actor=wang", None).await?;
    assert_eq!(seqs(&by_actor).len(), 3, "{by_actor}");

    let (status, csv) = call(
        &s,
        &s.admin,
        "GET",
        "/api/admin/audit/export?actor=wang",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap_or_default().to_string();
    assert!(
        csv.starts_with("\u{feff}seq,at,actor,action,subject,detail,hash\n"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        4,
        "the header and wang's three logins: {csv}"
    );

    let (status, verdict) = call(&s, &s.admin, "GET", "/api/admin/audit/verify", None).await?;
    assert_eq!(status, 200);
    assert_eq!(verdict["intact"], true, "{verdict}");
    assert_eq!(verdict["entries"], 4, "{verdict}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_file_is_judged_with_every_problem_listed() -> anyhow::Result<()> {
    let s = setup().await?;
    let bad = "hotline = \"0391-12345\"\ncategories = []\n[backup]\nevery_hours = -1\n";

    let (status, verdict) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/config/validate",
        Some(("application/toml", bad)),
    )
    .await?;

    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["valid"], false);
    let errors = verdict["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        errors.len(),
        2,
        "the empty categories and the negative hours: {verdict}"
    );
    let (_, current) = call(&s, &s.admin, "GET", "/api/admin/config", None).await?;
    let (_, good) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/config/validate",
        Some((
            "application/toml",
            current["toml"].as_str().unwrap_or_default(),
        )),
    )
    .await?;
    assert_eq!(
        good["valid"], true,
        "the running configuration passes: {good}"
    );
    assert_eq!(
        good["version"], current["version"],
        "and names the version devices hold"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_administrator_reads_the_audit_log_or_imports_users() -> anyhow::Result<()> {
    let s = setup().await?;
    let officer = token(&s.server, "wang", PASSWORD, 30).await?;

    for (method, path, body) in [
        ("GET", "/api/admin/audit", None),
        ("GET", "/api/admin/audit/export", None),
        ("GET", "/api/admin/audit/verify", None),
        ("GET", "/api/admin/config", None),
        (
            "POST",
            "/api/admin/config/validate",
            Some(("application/toml", "")),
        ),
        (
            "POST",
            "/api/admin/imports/users",
            Some((
                "text/csv",
                "login,name,role,org_unit\nx,甲,officer,town-1\n",
            )),
        ),
    ] {
        let (status, answer) = call(&s, &officer, method, path, body).await?;
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
    assert!(!has_user(&s, "x").await?);
    Ok(())
}
