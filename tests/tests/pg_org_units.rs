//! The administrator's org units on `lianxin-server serve --db postgres://…` (issue 16) answer
//! what they answer on SQLite: one script of changes — the tree listed, a unit added, renamed,
//! refused changes (a taken code, a second zone, a cycle, the zone moved, a name the parent's
//! units have, an unknown unit), a town moved under another town and back, an org units file
//! imported, and a file with a cycle refused by line — run on a SQLite demo server and on a
//! PostgreSQL one gives the same answers, the same audit entries, and the same documents (but
//! problems, which SQLite's monitoring job also raises) on leader2's phone at each step: the moved town's enterprises reach the phone of the leader
//! above it at its next sync and leave it when the town moves back. The change feed does not
//! move for any of it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;

use serde_json::{Value, json};
use shared::doc::DocKind;
use shared::sync::protocol::DocId;
use tests::device::NativeDevice;
use tests::pg::{Throwaway, connect};
use tests::process::{ServerProcess, server_binary};
use tests::raw::demo_token;

/// The audit actions the script writes.
const ACTIONS: [&str; 4] = [
    "org_unit_added",
    "org_unit_renamed",
    "org_unit_moved",
    "imported",
];

/// What the script saw: each step's name, status and answer (ids left out: each server makes
/// its own), and leader2's documents after each sync round.
#[derive(Debug, PartialEq, Eq)]
struct Transcript {
    answers: Vec<(String, u16, Value)>,
    held: Vec<BTreeSet<DocId>>,
}

/// `value` without its `id` fields, at any depth.
fn without_ids(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "id")
                .map(|(k, v)| (k, without_ids(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_ids).collect()),
        other => other,
    }
}

/// Calls the server at `base` as `token`'s bearer: `GET path` without a body, else `POST`
/// with the JSON or CSV body.
async fn call(
    base: &str,
    token: &str,
    path: &str,
    body: Option<Body>,
) -> anyhow::Result<(u16, Value)> {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let request = match body {
        None => client.get(url),
        Some(Body::Json(v)) => client.post(url).json(&v),
        Some(Body::Csv(text)) => client
            .post(url)
            .header("content-type", "text/csv")
            .body(text.to_string()),
    };
    let answer = request.bearer_auth(token).send().await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or_default()))
}

enum Body {
    Json(Value),
    Csv(&'static str),
}

/// The documents a phone holds but problems: a SQLite server's monitoring job raises problems
/// of its own (power anomalies), which a server on PostgreSQL does not run yet.
fn held(phone: &NativeDevice) -> BTreeSet<DocId> {
    phone
        .client
        .replica()
        .ids()
        .filter(|id| id.kind() != DocKind::Problem)
        .cloned()
        .collect()
}

/// Two syncs: the re-scoped answer, then its acknowledgement.
async fn synced(phone: &mut NativeDevice) -> anyhow::Result<BTreeSet<DocId>> {
    phone.sync().await?;
    phone.sync().await?;
    Ok(held(phone))
}

/// Runs the script on the demo server at `base`.
async fn script(base: &str) -> anyhow::Result<Transcript> {
    let admin = demo_token(base, "admin", 81).await?;
    let mut leader2 =
        NativeDevice::logged_in(3, base, "leader2", server::demo::DEMO_PASSWORD).await?;
    let mut held = vec![synced(&mut leader2).await?];
    let steps: Vec<(&str, &str, Option<Body>)> = vec![
        ("the tree", "/api/admin/org-units", None),
        (
            "add",
            "/api/admin/org-units",
            Some(Body::Json(
                json!({"code": "xinqu", "name": "新区街道", "kind": "town", "parent": "zone"}),
            )),
        ),
        (
            "a taken code",
            "/api/admin/org-units",
            Some(Body::Json(
                json!({"code": "yuquan", "name": "另一个", "kind": "town", "parent": "zone"}),
            )),
        ),
        (
            "a second zone",
            "/api/admin/org-units",
            Some(Body::Json(
                json!({"code": "zone2", "name": "第二个示范区", "kind": "zone"}),
            )),
        ),
        (
            "rename",
            "/api/admin/org-units/xinqu/rename",
            Some(Body::Json(json!({"name": "新区"}))),
        ),
        (
            "a name the parent's units have",
            "/api/admin/org-units/xinqu/rename",
            Some(Body::Json(json!({"name": "克井镇"}))),
        ),
        (
            "an unknown unit",
            "/api/admin/org-units/nowhere/rename",
            Some(Body::Json(json!({"name": "无"}))),
        ),
        (
            "the zone moved",
            "/api/admin/org-units/zone/move",
            Some(Body::Json(json!({"parent": "yuquan"}))),
        ),
        (
            "a unit under itself",
            "/api/admin/org-units/kejing/move",
            Some(Body::Json(json!({"parent": "kejing"}))),
        ),
    ];
    let mut answers = Vec::new();
    for (step, path, body) in steps {
        let (status, answer) = call(base, &admin, path, body).await?;
        answers.push((step.to_string(), status, without_ids(answer)));
    }
    let moves = [
        ("kejing under yuquan", "yuquan"),
        ("kejing back under the zone", "zone"),
    ];
    for (step, parent) in moves {
        let body = Some(Body::Json(json!({ "parent": parent })));
        let (status, answer) = call(base, &admin, "/api/admin/org-units/kejing/move", body).await?;
        answers.push((step.to_string(), status, without_ids(answer)));
        held.push(synced(&mut leader2).await?);
    }
    let files = [
        (
            "an import",
            "code,name,kind,parent\nxinqu,新区街道,town,zone\nxq1,新区一科,department,xinqu\n",
        ),
        (
            "an import making a cycle",
            "code,name,kind,parent\nxq2,新区二科,department,xq1\nxinqu,新区街道,town,xq2\n",
        ),
        (
            "an import with bad lines",
            "code,name,kind,parent\nxq3,,department,xinqu\nxq4,新区四科,village,xinqu\n",
        ),
    ];
    for (step, csv) in files {
        let path = "/api/admin/imports/org-units";
        let (status, answer) = call(base, &admin, path, Some(Body::Csv(csv))).await?;
        answers.push((step.to_string(), status, without_ids(answer)));
    }
    let (status, answer) = call(base, &admin, "/api/admin/org-units", None).await?;
    answers.push(("the tree after".into(), status, without_ids(answer)));
    Ok(Transcript { answers, held })
}

/// The audit entries of [`ACTIONS`] on the SQLite server at `base`: (action, actor, subject,
/// detail), oldest first per action.
async fn sqlite_entries(base: &str) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let admin = demo_token(base, "admin", 82).await?;
    let mut all = Vec::new();
    for action in ACTIONS {
        let path = format!("/api/admin/audit?action={action}");
        let (status, page) = call(base, &admin, &path, None).await?;
        anyhow::ensure!(status == 200, "{path}: {status} {page}");
        let text = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_string();
        let mut entries: Vec<_> = page["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| {
                (
                    action.to_string(),
                    text(e, "actor"),
                    text(e, "subject"),
                    text(e, "detail"),
                )
            })
            .collect();
        entries.reverse();
        all.extend(entries);
    }
    Ok(all)
}

/// The same from the PostgreSQL database.
async fn postgres_entries(
    db: &tokio_postgres::Client,
) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let mut all = Vec::new();
    for action in ACTIONS {
        let rows = db
            .query(
                "SELECT actor, subject, detail FROM audit_log WHERE action = $1 ORDER BY seq",
                &[&action],
            )
            .await?;
        all.extend(
            rows.iter()
                .map(|r| (action.to_string(), r.get(0), r.get(1), r.get(2))),
        );
    }
    Ok(all)
}

/// Where the change feed stands in the PostgreSQL database.
async fn feed(db: &tokio_postgres::Client) -> anyhow::Result<i64> {
    Ok(db
        .query_one("SELECT COALESCE(max(seq), 0) FROM docs", &[])
        .await?
        .get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_unit_changes_on_postgres_answer_and_rescope_as_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.db");
    let seeded = Command::new(server_binary()?)
        .args(["demo", "--db"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .env_remove("LIANXIN_DB")
        .output()?;
    anyhow::ensure!(
        seeded.status.success(),
        "demo on SQLite failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let sqlite = ServerProcess::start(&file, "127.0.0.1:0".parse()?)?;
    let on_sqlite = script(&sqlite.url()).await?;
    let sqlite_audit = sqlite_entries(&sqlite.url()).await?;
    drop(sqlite);

    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let postgres = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let db = connect(&database.url()).await?;
    let feed_before = feed(&db).await?;
    let on_postgres = script(&postgres.url()).await?;

    // What the script must see on either server.
    let statuses: Vec<(&str, u16)> = on_sqlite
        .answers
        .iter()
        .map(|(step, status, _)| (step.as_str(), *status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("the tree", 200),
            ("add", 200),
            ("a taken code", 409),
            ("a second zone", 400),
            ("rename", 200),
            ("a name the parent's units have", 400),
            ("an unknown unit", 404),
            ("the zone moved", 400),
            ("a unit under itself", 400),
            ("kejing under yuquan", 200),
            ("kejing back under the zone", 200),
            ("an import", 200),
            ("an import making a cycle", 400),
            ("an import with bad lines", 400),
            ("the tree after", 200),
        ],
        "{:#?}",
        on_sqlite.answers
    );
    let [before, moved, back] = on_sqlite.held.as_slice() else {
        anyhow::bail!("three sync rounds: {:?}", on_sqlite.held.len());
    };
    assert!(
        before.is_subset(moved) && moved.len() > before.len(),
        "kejing's enterprises reach leader2 once kejing is under yuquan"
    );
    assert_eq!(back, before, "and leave when it moves back");

    // PostgreSQL answers as SQLite does.
    for (sqlite_step, postgres_step) in on_sqlite.answers.iter().zip(&on_postgres.answers) {
        assert_eq!(postgres_step, sqlite_step);
    }
    assert_eq!(on_postgres.answers.len(), on_sqlite.answers.len());
    assert_eq!(
        on_postgres.held, on_sqlite.held,
        "leader2's phone holds on PostgreSQL what it holds on SQLite"
    );
    let postgres_audit = postgres_entries(&db).await?;
    assert_eq!(postgres_audit, sqlite_audit);
    let by_admin: Vec<(&str, &str)> = postgres_audit
        .iter()
        .filter(|(_, actor, _, _)| actor == "admin")
        .map(|(action, _, subject, _)| (action.as_str(), subject.as_str()))
        .collect();
    assert_eq!(
        by_admin,
        [
            ("org_unit_added", "xinqu"),
            ("org_unit_renamed", "xinqu"),
            ("org_unit_moved", "kejing"),
            ("org_unit_moved", "kejing"),
            ("imported", "POST /api/admin/imports/org-units"),
        ],
        "{postgres_audit:?}"
    );
    assert_eq!(
        feed(&db).await?,
        feed_before,
        "org unit changes do not move the change feed"
    );
    Ok(())
}
