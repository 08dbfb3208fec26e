//! The administrator ends and moves assignments (包联) while the server runs (issue 17 item 1,
//! `POST /api/admin/assignments/{enterprise}/end|move`), against a real server and SQLite
//! file: a moved enterprise's records reach the new officer's phone and leave the old one's at
//! their next sync; an ended one's leave its officer's phone; each change is audited as the
//! acting administrator's; an officer gets 403 and a move to a non-officer 400, both changing
//! nothing.

use std::sync::Arc;

use serde_json::{Value, json};
use server::sync::SyncService;
use shared::model::{EnterpriseId, UserId};
use shared::sync::protocol::DocId;
use tests::TestServer;
use tests::admin::{ADMIN, AdminServer};
use tests::device::{NativeDevice, wall_clock};
use tests::district::{self, PASSWORD, enterprise};

struct Setup {
    server: TestServer,
    service: Arc<SyncService>,
    admin: String,
    wang: NativeDevice,
    li: NativeDevice,
    /// Wang's visit of enterprise 1.
    wangs: DocId,
    /// Li's visit of enterprise 2.
    lis: DocId,
    _dir: tempfile::TempDir,
}

/// A server with the administrator, officer `wang` assigned enterprise 1 and officer `li`
/// assigned enterprise 2, each of whom recorded a visit of theirs and synced.
async fn setup() -> anyhow::Result<Setup> {
    let AdminServer {
        server,
        service,
        admin,
        dir,
    } = AdminServer::start(|s, _| {
        district::officer_in(s, "wang", [1])?;
        district::officer_in(s, "li", [2])?;
        Ok(())
    })
    .await?;
    let mut wang = NativeDevice::logged_in(1, &server.url(""), "wang", PASSWORD).await?;
    let wangs = wang.record_visit(enterprise(1), "王的企业：用电紧张")?;
    wang.sync().await?;
    let mut li = NativeDevice::logged_in(2, &server.url(""), "li", PASSWORD).await?;
    let lis = li.record_visit(enterprise(2), "李的企业：用工缺口")?;
    li.sync().await?;
    Ok(Setup {
        server,
        service,
        admin,
        wang,
        li,
        wangs,
        lis,
        _dir: dir,
    })
}

async fn post(
    s: &Setup,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = reqwest::Client::new()
        .post(s.server.url(&format!("/api{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

/// Who is assigned `of` now.
async fn assignees(s: &Setup, of: EnterpriseId) -> anyhow::Result<Vec<UserId>> {
    let set = s
        .service
        .with_store(move |st| st.assignees(of, wall_clock()))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(set.into_iter().collect())
}

/// The audit log's entries of `action` as (actor, subject, detail).
async fn audited(s: &Setup, action: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let entries = s
        .service
        .with_store(|st| st.audit_log(0, 10_000))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    Ok(entries
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| (e.actor, e.subject, e.detail))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_enterprises_records_reach_the_new_officer_and_leave_the_old_one()
-> anyhow::Result<()> {
    let mut s = setup().await?;
    let path = format!("/admin/assignments/{}/move", enterprise(1));

    let (status, body) = post(&s, &s.admin, &path, Some(json!({"to_officer": "li"}))).await?;

    assert_eq!(status, 200, "{body}");
    s.li.sync().await?;
    s.wang.sync().await?;
    assert_eq!(s.li.visit_notes(&s.wangs)?, "王的企业：用电紧张");
    assert!(
        s.wang.client.replica().get(&s.wangs).is_none(),
        "left Wang's phone"
    );
    assert_eq!(
        audited(&s, "assignment_moved").await?,
        [(
            ADMIN.to_string(),
            enterprise(1).to_string(),
            "wang -> li".to_string()
        )]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_enterprises_records_leave_its_officers_phone() -> anyhow::Result<()> {
    let mut s = setup().await?;
    let path = format!("/admin/assignments/{}/end", enterprise(2));

    let (status, body) = post(&s, &s.admin, &path, None).await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], 1, "{body}");
    s.li.sync().await?;
    assert!(
        s.li.client.replica().get(&s.lis).is_none(),
        "left Li's phone"
    );
    assert!(assignees(&s, enterprise(2)).await?.is_empty());
    assert_eq!(
        audited(&s, "assignment_ended").await?,
        [(
            ADMIN.to_string(),
            enterprise(2).to_string(),
            "li".to_string()
        )]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_may_not_end_or_move_an_assignment_and_nothing_changes() -> anyhow::Result<()> {
    let s = setup().await?;
    let token = s.wang.token.clone().unwrap_or_default();
    let before = assignees(&s, enterprise(1)).await?;

    let moved = format!("/admin/assignments/{}/move", enterprise(1));
    let (status, body) = post(&s, &token, &moved, Some(json!({"to_officer": "li"}))).await?;
    assert_eq!(status, 403, "{body}");
    let ended = format!("/admin/assignments/{}/end", enterprise(1));
    let (status, body) = post(&s, &token, &ended, None).await?;
    assert_eq!(status, 403, "{body}");

    assert_eq!(assignees(&s, enterprise(1)).await?, before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_is_not_moved_to_a_user_who_is_no_officer() -> anyhow::Result<()> {
    let s = setup().await?;
    let before = assignees(&s, enterprise(1)).await?;
    let path = format!("/admin/assignments/{}/move", enterprise(1));

    let (status, body) = post(&s, &s.admin, &path, Some(json!({"to_officer": ADMIN}))).await?;

    assert_eq!(status, 400, "{body}");
    assert_eq!(assignees(&s, enterprise(1)).await?, before);
    Ok(())
}
