//! An officer's to-do (待办) on `lianxin-server serve --db postgres://…` (issue 16): officer1's
//! `GET /api/todo` on a PostgreSQL demo server answers the counts a SQLite demo server answers
//! (the one selection, `store::todo_problems`, over documents each backend loads,
//! `Queries::todo_documents`), and they are not all zero.

use std::net::SocketAddr;
use std::process::Command;

use shared::todo::TodoCounts;
use tests::pg::Throwaway;
use tests::process::{ServerProcess, server_binary};
use tests::raw::demo_token;

/// officer1's `GET /api/todo` counts on the server at `base`.
async fn todo(base: &str) -> anyhow::Result<TodoCounts> {
    let token = demo_token(base, "officer1", 7).await?;
    let answer = reqwest::Client::new()
        .get(format!("{base}/api/todo"))
        .bearer_auth(&token)
        .send()
        .await?;
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await?;
    anyhow::ensure!(status == 200, "GET /api/todo answered {status}: {body}");
    Ok(serde_json::from_value(body["counts"].clone())?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officers_todo_on_postgres_counts_what_it_counts_on_sqlite() -> anyhow::Result<()> {
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
    let on_sqlite = todo(&sqlite.url()).await?;
    drop(sqlite);

    let database = Throwaway::create().await?;
    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let postgres = ServerProcess::start_postgres(&database.url(), free, true, cwd.path())?;
    let on_postgres = todo(&postgres.url()).await?;

    assert_ne!(
        on_sqlite,
        TodoCounts::default(),
        "the demo gives officer1 something to do"
    );
    assert_eq!(on_postgres, on_sqlite);
    Ok(())
}
