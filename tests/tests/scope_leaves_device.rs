//! Records that leave a person's scope leave their phone (issue 17 item 4b): when an
//! enterprise moves to another officer, the old officer's next sync removes its records from
//! the device — except a record holding changes the server never took, which stays, refused as
//! out of scope — and when it moves back, it arrives again whole.

use anyhow::Context as _;
use server::AppState;
use shared::sync::protocol::{DocId, Refusal};
use tests::TestServer;
use tests::device::{NativeDevice, wall_clock};
use tests::district::{self, PASSWORD, enterprise};

#[tokio::test]
async fn an_enterprise_moved_away_leaves_the_old_officers_phone_at_the_next_sync()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    let wang_user = district::officer(&service, "wang", [1, 3]).await?;
    let li_user = district::officer(&service, "li", [2]).await?;

    // Wang keeps records of enterprises 1 and 3, all synced.
    let mut wang = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    let first = wang.record_visit(enterprise(1), "第一次走访：用电紧张")?;
    let second = wang.record_visit(enterprise(1), "第二次走访：用工缺口")?;
    let kept = wang.record_visit(enterprise(3), "仍归王负责的企业")?;
    wang.sync().await?;
    // A second sync acknowledges the first's answer: the server confirms this scope.
    wang.sync().await?;
    assert!(wang.client.replica().get(&first).is_some());

    // Enterprise 1 moves to Li.
    let (from, to) = (wang_user.id, li_user.id);
    service
        .with_store(move |s| s.move_assignment(enterprise(1), from, to, wall_clock()))
        .await
        .expect("the store thread ran")?;

    // Wang's next sync removes enterprise 1's records from the phone, from its storage too;
    // the record of enterprise 3 stays.
    wang.sync().await?;
    for id in [&first, &second] {
        assert!(wang.client.replica().get(id).is_none(), "{id} still held");
    }
    assert_eq!(wang.visit_notes(&kept).context("kept")?, "仍归王负责的企业");
    assert!(wang.status().refused.is_empty());
    let mut removed: Vec<&DocId> = wang.persisted.iter().flat_map(|b| &b.removed).collect();
    removed.sort();
    let mut expected = vec![&first, &second];
    expected.sort();
    assert_eq!(removed, expected, "deleted from the device's storage");

    // Li received them.
    let mut li = NativeDevice::logged_in(2, &base, "li", PASSWORD).await?;
    li.sync().await?;
    assert_eq!(
        li.visit_notes(&second).context("li")?,
        "第二次走访：用工缺口"
    );

    // Moved back before Wang's phone acknowledged the answer that removed them (a return to
    // the scope the server had confirmed): it receives them again, whole.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    service
        .with_store(move |s| s.move_assignment(enterprise(1), to, from, wall_clock()))
        .await
        .expect("the store thread ran")?;
    wang.sync().await?;
    assert_eq!(
        wang.visit_notes(&first).context("back")?,
        "第一次走访：用电紧张"
    );
    assert_eq!(wang.visit_notes(&second)?, "第二次走访：用工缺口");
    Ok(())
}

#[tokio::test]
async fn a_record_with_changes_the_server_never_took_stays_refused_as_out_of_scope()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    let wang_user = district::officer(&service, "wang", [1]).await?;
    let li_user = district::officer(&service, "li", [2]).await?;
    let mut wang = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    let synced = wang.record_visit(enterprise(1), "已同步的走访")?;
    let edited = wang.record_visit(enterprise(1), "走访")?;
    wang.sync().await?;

    // Offline, Wang edits one record; meanwhile the enterprise moves to Li.
    wang.edit_visit_notes(&edited, "调岗前未上传的修改")?;
    let (from, to) = (wang_user.id, li_user.id);
    service
        .with_store(move |s| s.move_assignment(enterprise(1), from, to, wall_clock()))
        .await
        .expect("the store thread ran")?;

    wang.sync().await?;
    assert!(wang.client.replica().get(&synced).is_none());
    assert_eq!(wang.visit_notes(&edited)?, "调岗前未上传的修改", "kept");
    let refused = wang.status().refused;
    assert_eq!(refused, vec![(edited.clone(), Refusal::OutOfScope)]);
    Ok(())
}
