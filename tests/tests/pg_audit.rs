//! The administrator's audit log on `lianxin-server serve --db postgres://…` (issue 16)
//! answers what it answers on SQLite: one script of audited acts (logins, a failed login, a
//! person added, disabled, enabled and given a new password) run on a SQLite demo server and on
//! a PostgreSQL one, then read back through `GET /api/admin/audit` with each filter (action,
//! actor, text, a time window, pages by `before` and `limit`), `GET /api/admin/audit/export`
//! and `GET /api/admin/audit/verify`, gives the same answers (but positions, times and hashes,
//! each server's own); an entry changed in the database behind the server's back is reported
//! broken at that entry on both. Two PostgreSQL servers appending to one chain at once: every
//! walk either of them makes meanwhile finds the chain whole, and at the end it holds every
//! entry once.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use shared::model::DeviceId;
use tests::pg::{Throwaway, connect};
use tests::process::{ServerProcess, server_binary};
use tests::raw::{demo_token, login_raw};

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The server's clock as the test reads it (ms): a time window's edges.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `GET path` (or `POST` with a JSON `body`) as `token`'s bearer: the status and the answer
/// (JSON, or the text as a JSON string).
async fn call(
    base: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let request = match body {
        None => client.get(url),
        Some(body) => client.post(url).json(&body),
    };
    let answer = request.bearer_auth(token).send().await?;
    let status = answer.status().as_u16();
    let text = answer.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// A page's entries without what each server gives its own (position, time, hash), and
/// whether it names a next page.
fn page_of(answer: &Value) -> Value {
    let entries: Vec<Value> = answer["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| json!([e["actor"], e["action"], e["subject"], e["detail"]]))
        .collect();
    json!({
        "entries": entries,
        "more": !answer["next_before"].is_null(),
        "actions": answer["actions"],
    })
}

/// An export's lines without their first two cells (position, time) and their last (hash).
fn export_of(answer: &Value) -> Vec<String> {
    answer
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let rest = line
                .split_once(',')
                .and_then(|(_, r)| r.split_once(','))
                .map_or(line, |(_, r)| r);
            rest.rsplit_once(',').map_or(rest, |(r, _)| r).to_string()
        })
        .collect()
}

/// What the script saw, step by step: (step, status, answer without each server's own).
type Transcript = Vec<(String, u16, Value)>;

/// Runs the script on the demo server at `base`.
async fn script(base: &str) -> anyhow::Result<Transcript> {
    // Answered once the server runs: a SQLite server first records the configuration it
    // started with (`config_applied`), which a server on PostgreSQL does not yet.
    let admin = demo_token(base, "admin", 81).await?;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let start = now_ms();
    let mut acts = Vec::new();
    for n in [11, 12] {
        demo_token(base, "officer1", n).await?;
    }
    let wrong = login_raw(
        base,
        "officer2",
        "不是这个密码",
        DeviceId::from_random_bytes([13; 16]),
    );
    acts.push(("a wrong password", wrong.await?.0, Value::Null));
    let person = json!({"login": "shenji", "name": "沈计", "role": "officer",
                        "org_unit": "yuquan", "phone": "0391-5555", "password": "审计员的密码-2026"});
    let (status, _) = call(base, &admin, "/api/admin/users", Some(person)).await?;
    acts.push(("shenji added", status, Value::Null));
    // A moment apart from the entries on either side of it.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let middle = now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for (step, path, body) in [
        (
            "shenji disabled",
            "/api/admin/users/shenji/disable",
            json!({}),
        ),
        (
            "shenji enabled",
            "/api/admin/users/shenji/enable",
            json!({}),
        ),
        (
            "shenji's password reset",
            "/api/admin/users/shenji/password",
            json!({"password": "管理员重置的密码-2026"}),
        ),
    ] {
        let (status, _) = call(base, &admin, path, Some(body)).await?;
        acts.push((step, status, Value::Null));
    }
    let mut transcript: Transcript = acts
        .into_iter()
        .map(|(step, status, v)| (step.to_string(), status, v))
        .collect();

    let reads = [
        ("everything since the start", format!("from={start}")),
        ("logins", format!("from={start}&action=login")),
        ("by admin", format!("from={start}&actor=admin")),
        ("officer1's, as a text", format!("from={start}&q=officer1")),
        ("shenji, as a text", format!("from={start}&q=shenji")),
        (
            "a text in actors and details",
            format!("from={start}&q=127.0.0"),
        ),
        ("a text in another case", format!("from={start}&q=OFFICER1")),
        (
            "a Chinese text",
            format!("from={start}&q=%E6%B2%88%E8%AE%A1"),
        ),
        ("a text nowhere", format!("from={start}&q=%25")),
        ("before the middle", format!("from={start}&to={middle}")),
        ("after the middle", format!("from={middle}")),
        (
            "disabled by admin",
            "action=user_disabled&actor=admin".to_string(),
        ),
        ("an unknown action", "action=nothing".to_string()),
    ];
    for (step, query) in reads {
        let (status, answer) =
            call(base, &admin, &format!("/api/admin/audit?{query}"), None).await?;
        transcript.push((step.to_string(), status, page_of(&answer)));
    }
    // A page at a time, each asking below the last.
    let mut before = String::new();
    for n in 1..=4 {
        let path = format!("/api/admin/audit?from={start}&limit=3{before}");
        let (status, answer) = call(base, &admin, &path, None).await?;
        transcript.push((format!("page {n} of 3"), status, page_of(&answer)));
        match answer["next_before"].as_i64() {
            Some(next) => before = format!("&before={next}"),
            None => break,
        }
    }
    for (step, query) in [("a limit of 0", "limit=0"), ("a limit of 201", "limit=201")] {
        let (status, answer) =
            call(base, &admin, &format!("/api/admin/audit?{query}"), None).await?;
        transcript.push((step.to_string(), status, answer));
    }
    let officer = demo_token(base, "officer1", 14).await?;
    for path in [
        "/api/admin/audit",
        "/api/admin/audit/export",
        "/api/admin/audit/verify",
    ] {
        let (status, answer) = call(base, &officer, path, None).await?;
        transcript.push((format!("{path} as officer1"), status, answer));
    }
    let path = format!("/api/admin/audit/export?from={start}&actor=admin");
    let (status, answer) = call(base, &admin, &path, None).await?;
    transcript.push(("the export".into(), status, json!(export_of(&answer))));
    let (status, verdict) = call(base, &admin, "/api/admin/audit/verify", None).await?;
    let (_, newest) = call(base, &admin, "/api/admin/audit?limit=1", None).await?;
    let last = newest["entries"][0]["seq"].clone();
    transcript.push((
        "the chain".into(),
        status,
        json!({
            "intact": verdict["intact"],
            "every entry": verdict["entries"] == last,
            "broken_at": verdict["broken_at"],
        }),
    ));
    Ok(transcript)
}

/// The position of shenji's `user_enabled` entry on the server at `base`.
async fn enabled_entry(base: &str, admin: &str) -> anyhow::Result<i64> {
    let path = "/api/admin/audit?action=user_enabled&q=shenji";
    let (_, page) = call(base, admin, path, None).await?;
    page["entries"][0]["seq"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no user_enabled entry: {page}"))
}

/// `GET /api/admin/audit/verify` on the server at `base`.
async fn verify(base: &str, admin: &str) -> anyhow::Result<Value> {
    let (status, verdict) = call(base, admin, "/api/admin/audit/verify", None).await?;
    anyhow::ensure!(status == 200, "verify answered {status}: {verdict}");
    Ok(verdict)
}

/// Seeds the demo district into a SQLite file at `file`.
fn sqlite_demo(file: &Path) -> anyhow::Result<()> {
    let seeded = Command::new(server_binary()?)
        .args(["demo", "--db"])
        .arg(file)
        .env("NO_COLOR", "1")
        .env_remove("LIANXIN_DB")
        .output()?;
    anyhow::ensure!(
        seeded.status.success(),
        "demo on SQLite failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_on_postgres_answers_and_verifies_as_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.db");
    sqlite_demo(&file)?;
    let sqlite = ServerProcess::start(&file, any_port())?;
    let on_sqlite = script(&sqlite.url()).await?;
    let admin = demo_token(&sqlite.url(), "admin", 82).await?;
    let sqlite_enabled = enabled_entry(&sqlite.url(), &admin).await?;
    drop(sqlite);
    // Someone with the file changes the entry behind the server's back.
    let conn = rusqlite::Connection::open(&file)?;
    conn.execute_batch("DROP TRIGGER audit_log_is_append_only_update")?;
    conn.execute(
        "UPDATE audit_log SET subject = 'officer1' WHERE seq = ?1",
        [sqlite_enabled],
    )?;
    drop(conn);
    let sqlite = ServerProcess::start(&file, any_port())?;
    let admin = demo_token(&sqlite.url(), "admin", 83).await?;
    let sqlite_broken = verify(&sqlite.url(), &admin).await?;
    drop(sqlite);

    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let postgres = ServerProcess::start_postgres(&database.url(), any_port(), true, cwd.path())?;
    let on_postgres = script(&postgres.url()).await?;

    // The script's acts and reads, as SQLite answered them.
    let statuses: Vec<(&str, u16)> = on_sqlite
        .iter()
        .map(|(step, status, _)| (step.as_str(), *status))
        .collect();
    assert!(
        statuses.iter().take(5).all(|(_, s)| [200, 401].contains(s))
            && statuses[0] == ("a wrong password", 401),
        "{statuses:?}"
    );
    let everything = &on_sqlite[5].2;
    assert_eq!(
        everything["entries"].as_array().map(Vec::len),
        Some(7),
        "officer1's two logins, a failed login, four acts on shenji: {everything}"
    );
    let chain = &on_sqlite.last().expect("the chain").2;
    assert_eq!(
        chain,
        &json!({"intact": true, "every entry": true, "broken_at": null})
    );
    for (sqlite_step, postgres_step) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(postgres_step, sqlite_step);
    }
    assert_eq!(on_postgres.len(), on_sqlite.len());

    // The same change made in PostgreSQL is found at that entry, as on SQLite.
    let admin = demo_token(&postgres.url(), "admin", 82).await?;
    let postgres_enabled = enabled_entry(&postgres.url(), &admin).await?;
    let db = connect(&database.url()).await?;
    db.batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_is_append_only")
        .await?;
    let changed = db
        .execute(
            "UPDATE audit_log SET subject = 'officer1' WHERE seq = $1",
            &[&postgres_enabled],
        )
        .await?;
    assert_eq!(changed, 1);
    let postgres_broken = verify(&postgres.url(), &admin).await?;
    assert_eq!(
        (
            &sqlite_broken["intact"],
            &sqlite_broken["broken_at"],
            &sqlite_broken["reason"]
        ),
        (
            &json!(false),
            &json!(sqlite_enabled),
            &json!("its contents do not match its hash")
        ),
        "{sqlite_broken}"
    );
    assert_eq!(
        (
            &postgres_broken["intact"],
            &postgres_broken["broken_at"],
            &postgres_broken["reason"]
        ),
        (
            &json!(false),
            &json!(postgres_enabled),
            &sqlite_broken["reason"]
        ),
        "{postgres_broken}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_appending_at_once_keep_one_chain_each_walk_finds_whole() -> anyhow::Result<()>
{
    const TOGGLES: usize = 12;
    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let a = ServerProcess::start_postgres(&database.url(), any_port(), true, cwd.path())?;
    let b = ServerProcess::start_postgres(&database.url(), any_port(), false, cwd.path())?;
    let (a_url, b_url) = (a.url(), b.url());
    let admin_a = demo_token(&a_url, "admin", 81).await?;
    let admin_b = demo_token(&b_url, "admin", 82).await?;
    let before = verify(&a_url, &admin_a).await?["entries"]
        .as_i64()
        .unwrap_or_default();

    // Each server disables and enables a person of its own, one entry per request, while
    // both walk the chain.
    let toggle = |base: String, admin: String, login: &'static str| async move {
        for _ in 0..TOGGLES {
            for act in ["disable", "enable"] {
                let path = format!("/api/admin/users/{login}/{act}");
                let (status, answer) = call(&base, &admin, &path, Some(json!({}))).await?;
                anyhow::ensure!(status == 200, "{path}: {status} {answer}");
            }
        }
        anyhow::Ok(())
    };
    let on_a = tokio::spawn(toggle(a_url.clone(), admin_a.clone(), "officer5"));
    let on_b = tokio::spawn(toggle(b_url.clone(), admin_b.clone(), "officer6"));
    let mut walks = 0;
    let mut seen = before;
    while !(on_a.is_finished() && on_b.is_finished()) {
        for (base, admin) in [(&a_url, &admin_a), (&b_url, &admin_b)] {
            let verdict = verify(base, admin).await?;
            assert_eq!(
                verdict["intact"], true,
                "a walk during the appends: {verdict}"
            );
            let entries = verdict["entries"].as_i64().unwrap_or_default();
            assert!(entries >= seen, "a walk found {entries} after {seen}");
            seen = entries;
            walks += 1;
        }
    }
    on_a.await??;
    on_b.await??;
    assert!(walks >= 2, "the walks ran during the appends");
    let appended = i64::try_from(4 * TOGGLES)?;
    for (base, admin) in [(&a_url, &admin_a), (&b_url, &admin_b)] {
        assert_eq!(
            verify(base, admin).await?,
            json!({"intact": true, "entries": before + appended, "broken_at": null, "reason": null})
        );
    }
    for login in ["officer5", "officer6"] {
        let path = format!("/api/admin/audit?q={login}&limit=100");
        let (_, page) = call(&a_url, &admin_a, &path, None).await?;
        let actions: Vec<&str> = page["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|e| e["action"].as_str())
            .collect();
        let expected: Vec<&str> = (0..TOGGLES)
            .flat_map(|_| ["user_disabled", "user_enabled"])
            .collect();
        assert_eq!(
            actions, expected,
            "{login}'s entries, in the order they were made"
        );
    }
    Ok(())
}
