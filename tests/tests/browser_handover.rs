//! Handing over a phone that will never reach the server again (issue 17 item 2, issue 15
//! item 5), in headless Chromium against the real server: the officer, offline, records
//! visits (plain logout is refused: they would be lost), exports the handover file from the
//! sync page — again after a visit recorded since, which the new file carries too — and logs
//! out. IT imports the file with the server's own handover import, and the records are
//! on the server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::EnterpriseId;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::wall_clock;
use tests::district;

const WAIT: Duration = Duration::from_secs(40);
const ENTERPRISE_NAME: &str = "济源市示例特钢有限公司";
const OFFICER: &str = "zhang.wei";

/// A town, its officer and one enterprise assigned to them; the enterprise's id.
async fn seed(service: &Arc<SyncService>) -> anyhow::Result<EnterpriseId> {
    service
        .with_store(|s| district::town_officers_with_enterprise(s, &[OFFICER], ENTERPRISE_NAME))
        .await
        .context("the store thread stopped")?
}

/// Records a visit with `notes` on the enterprise's page, offline.
async fn record_visit(b: &Browser, notes: &str, waiting: usize) -> anyhow::Result<()> {
    b.route("#/").await?;
    b.click(".enterprise-card a", ENTERPRISE_NAME).await?;
    b.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    b.click("a.button", "新增走访").await?;
    b.wait_until("the visit form", "document.querySelector('#notes')", WAIT)
        .await?;
    b.fill("#notes", notes).await?;
    b.click("button.save", "").await?;
    b.wait_until(
        &format!("{waiting} records waiting"),
        &format!("document.querySelector('.sync-bar').dataset.waiting === '{waiting}'"),
        WAIT,
    )
    .await
}

/// Exports the handover file on the sync page; the bytes the app handed the browser to save
/// (caught as the Blob behind the download link: headless Chromium saves no files).
async fn export(b: &Browser) -> anyhow::Result<Vec<u8>> {
    b.route("#/sync").await?;
    b.js(
        "window.__saved = null; const create = URL.createObjectURL; \
         URL.createObjectURL = blob => { \
             const reader = new FileReader(); \
             reader.onload = () => { window.__saved = reader.result.split(',')[1]; }; \
             reader.readAsDataURL(blob); \
             return create(blob); };",
        vec![],
    )
    .await?;
    b.click(".export-handover", "").await?;
    b.wait_text(".handover-done", "已导出", WAIT).await?;
    b.wait_until("the file's bytes", "window.__saved !== null", WAIT)
        .await?;
    let saved = b.js_string("return window.__saved;").await?;
    tests::browser::base64_decode(&saved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_never_gets_signal_hands_its_records_over_to_it_and_logs_out()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let config = Config::default();
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        config.clone(),
    )?);
    let enterprise = seed(&service).await?;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let b = Browser::launch(&driver).await?;
    b.log_in(
        &link.url("/"),
        OFFICER,
        district::PASSWORD,
        ".enterprise-card",
        WAIT,
    )
    .await?;
    b.wait_synced("the first sync", WAIT).await?;

    // The signal is gone for good: a visit is recorded, and plain logout is refused.
    b.set_network(&link, false).await?;
    record_visit(&b, "没有信号时的第一次走访", 1).await?;
    b.route("#/sync").await?;
    b.click("button.danger", "退出登录").await?;
    b.wait_text(".field-error", "未上传", WAIT).await?;

    // Exported, then another visit: the file is exported again, and carries both.
    export(&b).await?;
    record_visit(&b, "导出之后又记的一次走访", 2).await?;
    b.route("#/sync").await?;
    b.wait_until(
        "the handover card",
        "document.querySelector('.export-handover') !== null",
        WAIT,
    )
    .await?;
    let bytes = export(&b).await?;
    b.click(".logout-handed-over", "").await?;
    b.wait_until(
        "the login screen",
        "document.querySelector('#login') !== null",
        WAIT,
    )
    .await?;
    b.close().await;

    // IT imports the file: both visits are on the server, as the phone's own push.
    let report = service
        .with_store(move |s| {
            server::admin::handover::import_handover(s, &config, &bytes, wall_clock())
        })
        .await
        .context("the store thread stopped")??;
    assert_eq!(report.accepted, 2, "{report:?}");
    assert!(report.refused.is_empty(), "{report:?}");
    let notes: Vec<String> = service
        .with_store(move |s| s.visit_rows_for(enterprise))
        .await
        .context("the store thread stopped")??
        .into_iter()
        .map(|v| v.notes)
        .collect();
    assert!(
        notes.contains(&"没有信号时的第一次走访".to_string())
            && notes.contains(&"导出之后又记的一次走访".to_string()),
        "{notes:?}"
    );
    Ok(())
}
