//! The history audit runs inside the real `lianxin-server serve` process (issue 14, item 6):
//! on the demo district's database, one problem's change table is tampered with while the
//! server is down (a change it recorded no longer in the record: its history was rewritten);
//! the audit's round at start-up finds it, and the leader sees it broken while the other
//! records stay intact.

use std::time::{Duration, Instant};

use server::store::SqliteStore;
use shared::config::Config;
use shared::model::Timestamp;
use tests::process::ServerProcess;
use tests::raw::demo_token;

#[tokio::test]
async fn the_audit_of_a_running_server_finds_a_record_rewritten_while_it_was_down()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.db");
    let now = Timestamp(i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?);
    {
        let mut store = SqliteStore::open(&db)?;
        server::demo::seed(&mut store, &Config::demo(), now)?;
    }
    // The first problem in the audit's order (never checked in full: by id), and one other.
    let conn = rusqlite::Connection::open(&db)?;
    let ids: Vec<String> = conn
        .prepare("SELECT doc_id FROM docs WHERE kind = 'problem' ORDER BY doc_id LIMIT 2")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let (tampered, untouched) = (ids[0].clone(), ids[1].clone());
    conn.execute(
        "INSERT INTO changes (doc_id, hash, actor, device, device_time, received_at) \
         VALUES (?1, zeroblob(32), 'aa', 'd', 0, 0)",
        [&tampered],
    )?;
    drop(conn);

    let server = ServerProcess::start(&db, "127.0.0.1:0".parse()?)?;
    let token = demo_token(&server.url(), "leader1", 1).await?;
    let http = reqwest::Client::new();
    let verdict = |doc: &str| {
        let request = http
            .get(format!("{}/api/history/{doc}", server.url()))
            .bearer_auth(&token);
        async move { anyhow::Ok(request.send().await?.json::<serde_json::Value>().await?) }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let found = loop {
        let v = verdict(&tampered).await?;
        if v["intact"] == false || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
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
    Ok(())
}
