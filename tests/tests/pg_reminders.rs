//! Reminders on several servers sharing one PostgreSQL (issues 15 and 16): two
//! `lianxin-server serve` processes on one throwaway database holding the demo district, each
//! sending reminders to a webhook receiver the test starts (a group robot's stand-in). The scan
//! records what the demo's problems owe; more reminders fall due at one instant on both servers
//! at once, so both delivery loops claim together; the robot refuses the first requests. Each
//! reminder reaches the robot exactly once across the two servers, the refused ones once they
//! are retried; a server killed and restarted sends nothing again and sends what fell due
//! while it was down, once. The in-app routes answer there too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::config::Config;
use shared::model::Timestamp;
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;
use tests::raw::demo_token;
use tests::robot::{Answer, Robot};

/// How long every reminder may take to be delivered, on a loaded machine.
const WITHIN: Duration = Duration::from_secs(60);
/// How long a duplicate, had one been claimed, would have had to arrive.
const SETTLE: Duration = Duration::from_secs(3);
/// Requests the robot refuses first.
const REFUSED: usize = 3;

fn now() -> anyhow::Result<Timestamp> {
    Ok(Timestamp(i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?))
}

/// The district file: the webhook at `url` (1 s per attempt, retries from 1 s).
fn district_file(dir: &Path, url: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join("district.toml");
    std::fs::write(
        &path,
        format!(
            "hotline = \"0391-12345\"\n[reminders]\nchannels = [\"webhook\"]\n\
             retry_first_seconds = 1\nretry_max_seconds = 2\nutc_offset_hours = 0\n\
             [reminders.webhook]\nurl = \"{url}\"\ntimeout_seconds = 1\n"
        ),
    )?;
    Ok(path)
}

/// A server on `url` with the district file `config`.
fn server(url: &str, config: &Path, cwd: &Path) -> anyhow::Result<ServerProcess> {
    ServerProcess::start_postgres_with(
        url,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        false,
        cwd,
        &[std::ffi::OsStr::new("--config"), config.as_os_str()],
    )
}

/// Records `n` webhook reminders (`tag` in their texts) due at `at`, as a scan would.
async fn due(
    db: &tokio_postgres::Client,
    tag: &str,
    n: usize,
    at: Timestamp,
) -> anyhow::Result<()> {
    for k in 0..n {
        db.execute(
            "INSERT INTO reminders (recipient, kind, problem, occasion, due_at, created_at, \
             channel, text, next_attempt_at) \
             VALUES ('someone', 'overdue', $1, '0', 0, 0, 'webhook', $2, $3)",
            &[
                &format!("{tag}{k}"),
                &format!("【连心提醒】{tag}第{k}条"),
                &at.0,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Every webhook reminder's text (sorted), and how many are not delivered yet.
async fn outbox(db: &tokio_postgres::Client) -> anyhow::Result<(Vec<String>, i64)> {
    let rows = db
        .query(
            "SELECT text, delivered_at IS NULL FROM reminders WHERE channel = 'webhook'",
            &[],
        )
        .await?;
    let mut texts: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    texts.sort();
    let waiting = rows.iter().filter(|r| r.get::<_, bool>(1)).count();
    Ok((texts, i64::try_from(waiting)?))
}

/// Waits until the outbox holds at least `at_least` webhook reminders, all delivered.
async fn all_delivered(
    db: &tokio_postgres::Client,
    at_least: usize,
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + WITHIN;
    loop {
        let (texts, waiting) = outbox(db).await?;
        if texts.len() >= at_least && waiting == 0 {
            return Ok(texts);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{waiting} of {} reminders not delivered within {WITHIN:?}",
            texts.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_deliver_each_reminder_once_and_retry_what_the_receiver_refused()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    server::pg::PgDb::connect(&url)
        .await?
        .seed_demo(&Config::demo(), now()?)
        .await?;
    let db = connect(&url).await?;
    // Due a few seconds after both servers started: both loops wake for them at once.
    let together = 40;
    due(&db, "同时", together, Timestamp(now()?.0 + 6_000)).await?;
    let (robot, robot_url) = Robot::start(REFUSED, 0).await?;
    let dir = tempfile::tempdir()?;
    let config = district_file(dir.path(), &robot_url)?;
    let one = server(&url, &config, dir.path())?;
    let two = server(&url, &config, dir.path())?;

    // The scan adds what the demo's problems owe to the forty.
    let texts = all_delivered(&db, together + 1).await?;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        sorted(robot.acknowledged()),
        texts,
        "each reminder acknowledged exactly once across the two servers"
    );
    assert_eq!(robot.answered(Answer::Failed).len(), REFUSED);
    let attempts: Vec<i32> = db
        .query(
            "SELECT attempts FROM reminders WHERE channel = 'webhook'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let requests = robot.seen.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        usize::try_from(attempts.iter().sum::<i32>())?,
        requests,
        "one request per attempt counted"
    );
    assert!(
        attempts.iter().filter(|a| **a > 1).count() >= 1,
        "the refused reminders were retried: {attempts:?}"
    );
    let error: i64 = db
        .query_one(
            "SELECT count(*) FROM reminders WHERE last_error IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(error, 0, "a delivery clears the last error");

    // Server one dies; what falls due meanwhile goes once, and nothing goes again.
    one.kill9()?;
    let later = 10;
    due(&db, "重启", later, now()?).await?;
    let _one = server(&url, &config, dir.path())?;
    let texts = all_delivered(&db, texts.len() + later).await?;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        sorted(robot.acknowledged()),
        texts,
        "after the restart, still each reminder exactly once"
    );

    // The in-app routes run on PostgreSQL (this district sends by webhook only: none listed).
    let token = demo_token(&two.url(), "leader1", 1).await?;
    let http = reqwest::Client::new();
    let listed: serde_json::Value = http
        .get(format!("{}/api/notifications", two.url()))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(listed["notifications"], serde_json::json!([]), "{listed}");
    let seen: serde_json::Value = http
        .post(format!("{}/api/notifications/seen", two.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "ids": [1] }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(
        seen["seen"], 0,
        "a webhook reminder is not an in-app one: {seen}"
    );
    Ok(())
}
