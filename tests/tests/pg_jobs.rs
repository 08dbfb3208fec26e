//! Background jobs on several servers sharing one PostgreSQL (issue 16 item 4; issue 14 item 6):
//! two `lianxin-server serve` processes on one throwaway database holding the demo district,
//! one problem's change table tampered with before they start (a change it recorded no longer
//! in the record: its history was rewritten). Each server's timer fires the history audit's
//! round at start-up; the round runs once across the two (one run's verdicts, not two), finds
//! the rewritten history, and the leader sees it broken on the record and on the problem list,
//! as on SQLite (`history_audit_job.rs`), while the other records stay intact.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use server::history_audit::ROUND_PER_RUN;
use shared::config::Config;
use shared::model::Timestamp;
use tests::pg::{Throwaway, connect};
use tests::process::ServerProcess;
use tests::raw::demo_token;

/// How long the round may take to be seen, and to settle, on a loaded machine.
const WITHIN: Duration = Duration::from_secs(30);
/// How long a second round, if one ran, would have had to write its verdicts.
const SETTLE: Duration = Duration::from_secs(3);

fn now() -> anyhow::Result<Timestamp> {
    Ok(Timestamp(i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?))
}

/// How many verdicts a full check wrote, and how many distinct runs wrote them (each run
/// stamps every verdict it writes with its one start time).
async fn full_checks(db: &tokio_postgres::Client) -> anyhow::Result<(i64, i64)> {
    let row = db
        .query_one(
            "SELECT count(*), count(DISTINCT full_at) FROM history_verdicts \
             WHERE full_at IS NOT NULL",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_run_the_audit_once_and_find_a_rewritten_history()
-> anyhow::Result<()> {
    let database = Throwaway::create().await?;
    let url = database.url();
    server::pg::PgDb::connect(&url)
        .await?
        .seed_demo(&Config::demo(), now()?)
        .await?;
    let db = connect(&url).await?;
    // The first problem in the audit's order (never checked in full, by id), and one other.
    let ids: Vec<String> = db
        .query(
            "SELECT doc_id FROM history_verdicts WHERE doc_id LIKE 'problem/%' \
             ORDER BY full_at NULLS FIRST, doc_id COLLATE \"C\" LIMIT 2",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (tampered, untouched) = (ids[0].clone(), ids[1].clone());
    let before: i64 = db
        .query_one(
            "SELECT count(*) FROM history_verdicts WHERE doc_id COLLATE \"C\" < $1",
            &[&tampered],
        )
        .await?
        .get(0);
    assert!(
        usize::try_from(before)? < ROUND_PER_RUN,
        "the tampered problem is in the first round"
    );
    let records: i64 = db
        .query_one("SELECT count(*) FROM history_verdicts", &[])
        .await?
        .get(0);
    assert_eq!(
        full_checks(&db).await?,
        (0, 0),
        "nothing checked in full yet"
    );
    db.execute(
        "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
         VALUES ($1, decode(repeat('00', 32), 'hex'), '\\xaa', '\\x0d', 0, 0)",
        &[&tampered],
    )
    .await?;

    let cwd = tempfile::tempdir()?;
    let free: SocketAddr = "127.0.0.1:0".parse()?;
    let one = ServerProcess::start_postgres(&url, free, false, cwd.path())?;
    let two = ServerProcess::start_postgres(&url, free, false, cwd.path())?;

    // The round writes its verdicts; a second round, had one run, would have written more.
    let round = i64::try_from(ROUND_PER_RUN)?.min(records);
    let deadline = Instant::now() + WITHIN;
    while full_checks(&db).await?.0 < round && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        full_checks(&db).await?,
        (round, 1),
        "one round across the two servers: its verdicts, all from one run"
    );

    for (n, server) in [(1, &one), (2, &two)] {
        let token = demo_token(&server.url(), "leader1", n).await?;
        let http = reqwest::Client::new();
        let verdict = |doc: &str| {
            let request = http
                .get(format!("{}/api/history/{doc}", server.url()))
                .bearer_auth(&token);
            async move { anyhow::Ok(request.send().await?.json::<serde_json::Value>().await?) }
        };
        let found = verdict(&tampered).await?;
        assert_eq!(found["intact"], false, "{found}");
        assert!(
            found["broken"]
                .as_str()
                .is_some_and(|b| b.contains("history was rewritten")),
            "{found}"
        );
        assert!(found["full_at"].is_i64(), "{found}");
        let other = verdict(&untouched).await?;
        assert_eq!(other["intact"], true, "{other}");

        let page: serde_json::Value = http
            .get(format!("{}/api/problems?limit=200", server.url()))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let id = tampered.trim_start_matches("problem/");
        let row = page["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["id"] == id))
            .ok_or_else(|| anyhow::anyhow!("{id} is not listed: {page}"))?;
        assert_eq!(row["history_intact"], false, "{row}");
    }
    Ok(())
}
