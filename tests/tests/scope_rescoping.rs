//! Re-scoping: when an enterprise moves from one officer to another, the old officer's phone
//! stops receiving it (and may no longer write it; its records leave that phone), and the new
//! officer's phone — which had already synced past those records — receives them with their
//! full history, once.

use std::sync::Arc;

use server::AppState;
use server::sync::SyncService;
use shared::doc::Author;
use shared::model::{OrgUnitKind, Role};
use shared::sync::protocol::{DocId, Refusal};
use tests::TestServer;
use tests::device::{NativeDevice, wall_clock};
use tests::district::{self, PASSWORD, enterprise};

async fn stored_changes(service: &Arc<SyncService>, id: &DocId) -> usize {
    let id = id.clone();
    service
        .with_store(move |s| s.change_hashes(&id).map(|h| h.len()))
        .await
        .and_then(Result::ok)
        .unwrap_or(0)
}

/// The authors named in a document's history, as the device holds it.
fn authors(dev: &NativeDevice, id: &DocId) -> Vec<String> {
    let mut doc = dev
        .client
        .replica()
        .read(id)
        .expect("on the device")
        .expect("builds")
        .into_owned();
    doc.automerge()
        .get_changes(&[])
        .iter()
        .filter_map(|c| c.message().and_then(Author::parse))
        .map(|a| a.user.to_string())
        .collect()
}

#[tokio::test]
async fn an_enterprise_moved_to_another_officer_arrives_there_with_its_full_history()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    let wang_user = district::officer(&service, "wang", [1]).await?;
    let li_user = district::officer(&service, "li", [2]).await?;
    service
        .with_store(|s| -> anyhow::Result<()> {
            let zone = district::org_unit(s, district::ZONE, OrgUnitKind::Zone, None)?;
            district::user(s, "boss", Role::Leader, zone)?;
            Ok(())
        })
        .await
        .expect("the store thread ran")?;

    // Wang keeps enterprise 1's records for a while; Li, of enterprise 2, syncs past them.
    let mut wang = NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    let first = wang.record_visit(enterprise(1), "第一次走访：用电紧张")?;
    let second = wang.record_visit(enterprise(1), "第二次走访：用工缺口")?;
    wang.sync().await?;
    wang.edit_visit_notes(&first, "回访：已协调供电公司增容")?;
    wang.sync().await?;
    let mut li = NativeDevice::logged_in(2, &base, "li", PASSWORD).await?;
    li.record_visit(enterprise(2), "李的企业")?;
    li.sync().await?;
    assert!(
        li.client.replica().get(&first).is_none(),
        "not Li's enterprise yet"
    );

    // The enterprise moves from Wang to Li.
    let (from, to) = (wang_user.id, li_user.id);
    service
        .with_store(move |s| s.move_assignment(enterprise(1), from, to, wall_clock()))
        .await
        .expect("the store thread ran")?;

    // A leader writes to it afterwards.
    let mut boss = NativeDevice::logged_in(3, &base, "boss", PASSWORD).await?;
    boss.sync().await?;
    boss.edit_visit_notes(&first, "领导批示：尽快办结")?;
    boss.sync().await?;

    // Wang may no longer write it: an edit made before his phone heard of the move is refused
    // (and kept, see scope_leaves_device.rs); the leader's instruction never reaches him and
    // the enterprise's other record leaves his phone.
    wang.edit_visit_notes(&second, "调岗后的修改")?;
    wang.sync().await?;
    assert!(
        wang.client.replica().get(&first).is_none(),
        "left the phone"
    );
    let refused = wang.status().refused;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (&refused[0].0, &refused[0].1),
        (&second, &Refusal::OutOfScope)
    );

    // Li receives both records with every change, including Wang's from before the move.
    li.sync().await?;
    assert_eq!(li.visit_notes(&first)?, "领导批示：尽快办结");
    assert_eq!(li.visit_notes(&second)?, "第二次走访：用工缺口");
    for id in [&first, &second] {
        let on_phone = li
            .client
            .replica()
            .read(id)
            .expect("received")
            .expect("builds")
            .into_owned()
            .automerge()
            .get_changes(&[])
            .len();
        assert_eq!(
            on_phone,
            stored_changes(&service, id).await,
            "{id}: full history"
        );
    }
    let history = authors(&li, &first);
    assert!(history.contains(&wang_user.id.to_string()), "{history:?}");
    assert_eq!(
        history.len(),
        3,
        "created, revisited, instructed: {history:?}"
    );

    // Only once: the next sync is one small round with nothing to pull.
    let before = li.traffic;
    li.sync().await?;
    assert_eq!(li.traffic.requests - before.requests, 1);
    assert!(li.traffic.bytes_down - before.bytes_down < 200);
    Ok(())
}
