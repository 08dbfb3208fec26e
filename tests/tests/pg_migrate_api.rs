//! `lianxin-server migrate --from lianxin.db --to postgres://…` (issue 16 item 2), judged by
//! the API: the demo district seeded into a SQLite file, migrated into a throwaway PostgreSQL
//! database, then one server on each; the same people asking the same questions get the same
//! answers from both.

use std::net::SocketAddr;
use std::path::Path;

use tests::pg::Throwaway;
use tests::process::{ServerProcess, server_binary};
use tests::raw::demo_token;

/// Runs the server's command line with `args`; fails with its output unless it succeeds.
fn cli(cwd: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new(server_binary()?)
        .current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "lianxin-server {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// `GET path` on the server at `url` as `token`: status and body.
async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    path: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let answer = http
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((
        status,
        answer.json().await.unwrap_or(serde_json::Value::Null),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrated_demo_district_answers_the_same_on_postgres_as_on_sqlite() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.db");
    let file_arg = file.to_string_lossy().to_string();
    cli(dir.path(), &["demo", "--db", &file_arg])?;
    let database = Throwaway::create().await?;
    cli(
        dir.path(),
        &["migrate", "--from", &file_arg, "--to", &database.url()],
    )?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let sqlite = ServerProcess::start(&file, free)?;
    let postgres = ServerProcess::start_postgres(&database.url(), free, false, dir.path())?;
    let http = reqwest::Client::new();
    let now = tests::device::wall_clock().0;
    let month_ago = now - 30 * 86_400_000;
    // The zone's leader and a town's, each on a device of their own on each server.
    let mut asked = 0;
    for (login, seed) in [("leader1", 11), ("leader2", 12)] {
        let (on_sqlite, on_postgres) = (
            demo_token(&sqlite.url(), login, seed).await?,
            demo_token(&postgres.url(), login, seed).await?,
        );
        let (_, problems) =
            get(&http, &sqlite.url(), &on_sqlite, "/api/problems?limit=200").await?;
        let enterprise = problems["rows"][0]["enterprise"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for path in [
            "/api/directory".to_string(),
            "/api/dashboard/kpis?from=0&to=4102444800000".to_string(),
            format!("/api/dashboard/kpis?from={month_ago}&to={now}"),
            "/api/dashboard/breakdown?from=0&to=4102444800000&by=town".to_string(),
            "/api/dashboard/breakdown?from=0&to=4102444800000&by=category".to_string(),
            "/api/dashboard/freshness".to_string(),
            "/api/problems?limit=200".to_string(),
            "/api/visits?limit=200".to_string(),
            "/api/bulletins".to_string(),
            format!("/api/enterprises/{enterprise}/timeline"),
        ] {
            let (a, b) = (
                get(&http, &sqlite.url(), &on_sqlite, &path).await?,
                get(&http, &postgres.url(), &on_postgres, &path).await?,
            );
            assert_eq!(
                a.0, b.0,
                "{login} {path}: the status differs ({a:?} / {b:?})"
            );
            assert_eq!(
                a.1, b.1,
                "{login} {path}: SQLite and PostgreSQL answer differently"
            );
            if a.0 == 200 {
                asked += 1;
            }
        }
    }
    // Every question was answered, by both alike.
    assert_eq!(asked, 20, "only {asked} answers compared");
    Ok(())
}
