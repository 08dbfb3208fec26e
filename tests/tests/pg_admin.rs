//! What an administrator and the IT department use on day one, on `lianxin-server serve --db
//! postgres://…` (issue 16): `/metrics` counts a phone's syncs for the metrics token's bearer
//! only; a person added over `POST /api/admin/users` logs in (the password policy, an unknown
//! unit and a taken login refused as on SQLite, and one login sent to two servers at once
//! added once); a people file over `POST /api/admin/imports/users` adds everyone or no one,
//! each audited, and an assignments file gives a new officer's phone its enterprise at its
//! first sync.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tests::admin::{call, import_csv};
use tests::pg::Throwaway;
use tests::process::{METRICS_TOKEN, ServerProcess};
use tests::raw::{demo_token, login_raw};

/// A password the policy accepts.
const NEW_PASSWORD: &str = "新同事的密码-2026";

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// `GET /metrics` with `bearer`: the status and the text.
async fn metrics(base: &str, bearer: Option<&str>) -> anyhow::Result<(u16, String)> {
    let mut request = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let answer = request.send().await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}

/// The value of the sample `name` in Prometheus `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The audit entries of `action` in the database: (actor, subject, detail), oldest first.
async fn audited(
    db: &tokio_postgres::Client,
    action: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let rows = db
        .query(
            "SELECT actor, subject, detail FROM audit_log WHERE action = $1 ORDER BY seq",
            &[&action],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Whether a person logs in as `login` in the database.
async fn has_user(db: &tokio_postgres::Client, login: &str) -> anyhow::Result<bool> {
    let row = db
        .query_opt("SELECT 1 FROM users WHERE login = $1", &[&login])
        .await?;
    Ok(row.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_postgres_count_a_phones_syncs_for_the_tokens_bearer_only() -> anyhow::Result<()>
{
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&database.url(), any_port(), true, cwd.path())?;
    let base = server.url();
    for bearer in [None, Some("not the metrics token at all")] {
        let (status, text) = metrics(&base, bearer).await?;
        assert_eq!(status, 401, "{bearer:?}: {text}");
        assert!(!text.contains("lianxin_sync"), "{text}");
    }
    let mut phone =
        tests::device::NativeDevice::logged_in(1, &base, "officer1", server::demo::DEMO_PASSWORD)
            .await?;
    phone.sync().await?;
    let enterprise = phone
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == shared::doc::DocKind::Enterprise)
        .map(|id| shared::model::EnterpriseId::parse(id.root_id()))
        .ok_or_else(|| anyhow::anyhow!("the officer sees no enterprise"))??;
    phone.record_visit(enterprise, "在 PostgreSQL 上数一数")?;
    phone.sync().await?;
    let (status, text) = metrics(&base, Some(METRICS_TOKEN)).await?;
    assert_eq!(status, 200, "{text}");
    let at_least = |name: &str, least: f64| {
        let value = sample(&text, name);
        assert!(
            value.is_some_and(|v| v >= least),
            "{name} is {value:?}, not at least {least}: {text}"
        );
    };
    at_least("lianxin_sync_requests_total", 2.0);
    at_least("lianxin_sync_documents_merged_total", 1.0);
    at_least("lianxin_sync_bytes_in_total", 1.0);
    // Each request commits alone on PostgreSQL: one commit of one request each.
    at_least("lianxin_sync_group_commits_total", 2.0);
    at_least("lianxin_sync_group_commit_requests_total", 2.0);
    at_least("lianxin_sync_latency_seconds_count", 2.0);
    at_least("lianxin_sync_merge_slots", 1.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_added_on_postgres_logs_in_and_one_login_sent_to_two_servers_is_added_once()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let a = ServerProcess::start_postgres(&database.url(), any_port(), true, cwd.path())?;
    let b = ServerProcess::start_postgres(&database.url(), any_port(), false, cwd.path())?;
    let base = a.url();
    let admin = demo_token(&base, "admin", 51).await?;
    let li = |login: &str, password: &str| {
        json!({"login": login, "name": "李娜", "role": "officer", "org_unit": "yuquan",
               "phone": "0391-1234", "password": password})
    };
    let add = |base: String, body: Value| {
        let admin = admin.clone();
        async move {
            call(
                &base,
                &admin,
                reqwest::Method::POST,
                "/api/admin/users",
                Some(body),
            )
            .await
        }
    };
    let (status, body) = add(base.clone(), li("li", "li")).await?;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("password_policy")),
        "{body}"
    );
    let mut nowhere = li("li", NEW_PASSWORD);
    nowhere["org_unit"] = json!("nowhere");
    let (status, body) = add(base.clone(), nowhere).await?;
    assert_eq!(status, 400, "an unknown unit: {body}");
    let mut handler = li("li", NEW_PASSWORD);
    handler["role"] = json!("department_handler");
    let (status, body) = add(base.clone(), handler).await?;
    assert_eq!(status, 400, "a handler in a town: {body}");

    let (status, body) = add(base.clone(), li("li", NEW_PASSWORD)).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"], "li");
    let (status, body) = add(b.url(), li("li", NEW_PASSWORD)).await?;
    assert_eq!(
        (status, &body["error"]),
        (409, &json!("duplicate")),
        "{body}"
    );
    let device = shared::model::DeviceId::from_random_bytes([52; 16]);
    let (status, body) = login_raw(&b.url(), "li", NEW_PASSWORD, device).await?;
    assert_eq!(status, 200, "the added person does not log in: {body}");
    let (_, users) = call(
        &base,
        &admin,
        reqwest::Method::GET,
        "/api/admin/users",
        None,
    )
    .await?;
    let listed = users["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["login"] == "li")
        .cloned();
    assert_eq!(
        listed.map(|u| (
            u["role"].clone(),
            u["org_unit"].clone(),
            u["disabled"].clone()
        )),
        Some((json!("officer"), json!("yuquan"), json!(false))),
        "{users}"
    );

    // One login sent to both servers at once: one adds it, the other answers it is taken.
    for round in 0..4 {
        let login = format!("twin-{round}");
        let (one, other) = tokio::join!(
            add(base.clone(), li(&login, NEW_PASSWORD)),
            add(b.url(), li(&login, NEW_PASSWORD))
        );
        let mut statuses = [one?.0, other?.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}");
    }

    let db = tests::pg::connect(&database.url()).await?;
    let phone: Option<String> = db
        .query_one("SELECT phone FROM users WHERE login = 'li'", &[])
        .await?
        .get(0);
    assert_eq!(phone.as_deref(), Some("0391-1234"));
    let twins: i64 = db
        .query_one("SELECT count(*) FROM users WHERE login LIKE 'twin-%'", &[])
        .await?
        .get(0);
    assert_eq!(twins, 4);
    let added = audited(&db, "user_added").await?;
    assert_eq!(
        added.first(),
        Some(&(
            "admin".to_string(),
            "li".to_string(),
            "李娜 officer in yuquan".to_string()
        ))
    );
    assert_eq!(added.len(), 5, "one entry per person added: {added:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_and_assignment_files_on_postgres_add_all_or_nothing() -> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let server = ServerProcess::start_postgres(&database.url(), any_port(), true, cwd.path())?;
    let base = server.url();
    let admin = demo_token(&base, "admin", 61).await?;
    let db = tests::pg::connect(&database.url()).await?;
    let file = "login,name,role,org_unit,phone,password\n\
                user-1,干部1,officer,yuquan,13900000001,\n\
                user-2,干部2,officer,kejing,13900000002,另一个好密码-2026\n\
                user-3,干部3,department_handler,gongxin,,\n";

    // A bad role, a login taken and one given twice: every line named, nobody added.
    let bad = file.replace("user-2,干部2,officer", "user-2,干部2,boss")
        + "officer1,重名,officer,yuquan,,\nuser-1,又一个,officer,yuquan,,\n";
    let (status, body) = import_csv(&base, &admin, "users", &bad).await?;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("import_lines")),
        "{body}"
    );
    let lines: Vec<u64> = body["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["line"].as_u64())
        .collect();
    assert_eq!(lines, [3, 5, 6], "{body}");
    assert!(!has_user(&db, "user-1").await?, "a good line was stored");

    let (status, body) = import_csv(&base, &admin, "users", file).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["kind"].clone(), body["imported"].clone()),
        (json!("users"), json!(3))
    );
    let passwords = body["passwords"].as_array().cloned().unwrap_or_default();
    let logins: Vec<&str> = passwords
        .iter()
        .filter_map(|p| p["login"].as_str())
        .collect();
    assert_eq!(
        logins,
        ["user-1", "user-3"],
        "generated for the empty cells: {body}"
    );
    let generated = passwords[0]["password"].as_str().unwrap_or_default();
    let device = shared::model::DeviceId::from_random_bytes([62; 16]);
    let (status, _) = login_raw(&base, "user-1", generated, device).await?;
    assert_eq!(status, 200, "the generated password does not log in");
    let device = shared::model::DeviceId::from_random_bytes([63; 16]);
    let (status, _) = login_raw(&base, "user-2", "另一个好密码-2026", device).await?;
    assert_eq!(status, 200, "the file's password does not log in");
    let subject = "POST /api/admin/imports/users";
    assert_eq!(
        audited(&db, "imported").await?,
        [(
            "admin".to_string(),
            subject.to_string(),
            "3 user(s), 2 password(s) generated".to_string()
        )]
    );
    let added = audited(&db, "user_added").await?;
    assert_eq!(added.len(), 3, "{added:?}");
    assert_eq!(
        added[2],
        (
            "admin".to_string(),
            "user-3".to_string(),
            format!("干部3 department_handler in gongxin ({subject})")
        )
    );

    // An assignments file: an unknown credit code, a handler and a bad date refused by line;
    // then the new officer's assignment, which their phone's first sync follows.
    let code: String = db
        .query_one(
            "SELECT credit_code FROM enterprises ORDER BY credit_code COLLATE \"C\" LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    let bad = format!(
        "credit_code,login,valid_from,valid_to\n\
         91410100MA00000000,user-1,2026-01-01,\n\
         {code},user-3,2026-01-01,\n\
         {code},user-1,2026-13-01,\n"
    );
    let (status, body) = import_csv(&base, &admin, "assignments", &bad).await?;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("import_lines")),
        "{body}"
    );
    let lines: Vec<u64> = body["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["line"].as_u64())
        .collect();
    assert_eq!(lines, [2, 3, 4], "{body}");
    let good = format!("credit_code,login,valid_from,valid_to\n{code},user-1,2026-01-01,\n");
    let (status, body) = import_csv(&base, &admin, "assignments", &good).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], 1, "{body}");
    let assigned: i64 = db
        .query_one(
            "SELECT count(*) FROM assignments a JOIN users u ON u.id = a.user_id \
             JOIN enterprises e ON e.id = a.enterprise \
             WHERE u.login = 'user-1' AND e.credit_code = $1",
            &[&code],
        )
        .await?
        .get(0);
    assert_eq!(assigned, 1);
    let imported = audited(&db, "imported").await?;
    assert_eq!(
        imported
            .last()
            .map(|(_, subject, detail)| (subject.as_str(), detail.as_str())),
        Some(("POST /api/admin/imports/assignments", "1 assignment(s)")),
        "{imported:?}"
    );
    let mut phone = tests::device::NativeDevice::logged_in(9, &base, "user-1", generated).await?;
    phone.sync().await?;
    let enterprises = phone
        .client
        .replica()
        .ids()
        .filter(|id| id.kind() == shared::doc::DocKind::Enterprise)
        .count();
    assert_eq!(
        enterprises, 1,
        "the new officer's phone holds their enterprise"
    );

    Ok(())
}
