//! Reads beside the writer (issue 16, item 1: no store-wide mutex). The store keeps one
//! writer; token checks, the leader's dashboard and the lists read through read-only
//! connections, so a long write (a bulk import, the group commit of a large merge) does not
//! hold them up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shared::model::DAY_MS;
use tests::raw::demo_token as token;

/// How long the test keeps the writer busy: far longer than any of the reads take.
const HOLD: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_leaders_dashboard_and_lists_answer_while_the_writer_is_held() -> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let base = demo.server.url("");
    let http = reqwest::Client::new();
    let (from, to) = (demo.seeded_at.0 - 90 * DAY_MS, demo.seeded_at.0 + DAY_MS);
    let reads = [
        format!("/api/dashboard/kpis?from={from}&to={to}"),
        format!("/api/dashboard/breakdown?by=category&from={from}&to={to}"),
        "/api/dashboard/freshness".to_string(),
        "/api/problems".to_string(),
        "/api/visits".to_string(),
    ];
    let leader = token(&base, "leader1", 1).await?;
    // A token's first use is noted by the writer: it happens before the writer is taken.
    let first = http
        .get(demo.server.url(&reads[0]))
        .bearer_auth(&leader)
        .send()
        .await?;
    assert_eq!(first.status(), 200);

    // A blocking job takes the writer and keeps it for HOLD.
    let held = Arc::new(AtomicBool::new(true));
    let (taken, writer_taken) = tokio::sync::oneshot::channel();
    let holder = {
        let held = held.clone();
        let service = demo.service.clone();
        tokio::spawn(async move {
            service
                .with_store(move |_store| {
                    let _ = taken.send(());
                    std::thread::sleep(HOLD);
                    held.store(false, Ordering::SeqCst);
                })
                .await
        })
    };
    writer_taken.await?;

    for path in &reads {
        let resp = tokio::time::timeout(
            HOLD * 2,
            http.get(demo.server.url(path)).bearer_auth(&leader).send(),
        )
        .await??;
        assert_eq!(resp.status(), 200, "{path}");
        assert!(
            held.load(Ordering::SeqCst),
            "{path} answered only after the writer was released"
        );
    }
    holder.await?;
    Ok(())
}
