//! 签到核验 on the officer's own phone (issue 14, item 5), in headless Chromium against the real
//! server seeded with the demo district: the officer's visit page shows how far the check-in
//! was from the enterprise's registered position ("签到距企业 2.3 公里"), marks one outside the
//! district's radius ("超出签到范围"), and marks an on-site check-in without a position
//! ("无定位"). The visits are recorded on another phone of the same officer and synced, so the
//! browser measures them from what it holds, offline too.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::{DocKind, NewVisit, VisitDoc};
use shared::model::{
    CheckIn, EnterpriseId, OperatingStatus, Position, PositionFix, VisitId, VisitMethod,
};
use shared::sync::protocol::DocId;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, id_bytes, wall_clock};

const WAIT: Duration = Duration::from_secs(40);

/// Records an on-site visit at `enterprise` checked in with `fix` on the officer's native
/// phone; returns its id.
fn record(
    officer: &mut NativeDevice,
    n: u64,
    enterprise: EnterpriseId,
    fix: PositionFix,
) -> anyhow::Result<VisitId> {
    let id = VisitId::from_random_bytes(id_bytes(153, n));
    let now = wall_clock();
    let visit = NewVisit {
        id,
        enterprise,
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: now,
            position: fix,
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: format!("签到核验 {n}"),
    };
    let doc = VisitDoc::create(&visit, &officer.actor, officer.actor_id.clone(), now)?;
    officer.client.replica_mut().insert_new(
        DocId::new(DocKind::Visit, &id.to_string()),
        doc.into_record(),
    );
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officers_visit_page_shows_the_check_in_distance_and_marks_it() -> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    service
        .with_store(|s| server::demo::seed(s, &Config::default(), wall_clock()))
        .await
        .context("the store thread stopped")??;
    let served = Served::start(server::app(AppState::new(site, service))).await?;
    let base = format!("http://{}", served.addr);

    // The officer's other phone: one visit checked in 0.0207° north of the enterprise's
    // registered position (about 2.3 km, outside the default 500 m radius), one whose
    // position was refused.
    let mut phone = NativeDevice::logged_in(1, &base, "officer1", DEMO_PASSWORD).await?;
    phone.sync().await?;
    let mut registered = None;
    for id in phone
        .client
        .replica()
        .ids()
        .filter(|id| id.kind() == DocKind::Enterprise)
    {
        let enterprise = EnterpriseId::parse(id.root_id())?;
        if let Some(p) = phone.profile(enterprise)?.and_then(|e| e.position) {
            registered = Some((enterprise, p));
            break;
        }
    }
    let (enterprise, at) = registered.context("an enterprise with a registered position")?;
    let away = Position::new(at.lat + 0.0207, at.lon, 25.0)?;
    let far = record(&mut phone, 1, enterprise, PositionFix::Fixed(away))?;
    let refused = record(&mut phone, 2, enterprise, PositionFix::PermissionRefused)?;
    phone.sync().await?;

    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let browser = Browser::launch(&driver).await?;
    browser.viewport(390, 844, true).await?;
    browser
        .log_in(
            &link.url("/"),
            "officer1",
            DEMO_PASSWORD,
            ".enterprise-card",
            WAIT,
        )
        .await?;

    browser.route(&format!("#/v/{far}")).await?;
    browser
        .wait_text(".check-in-distance", "2.3 公里", WAIT)
        .await?;
    let line = browser.text(".check-in-distance").await?;
    ensure!(
        line.contains("超出签到范围"),
        "a check-in 2.3 km away is marked outside the radius: {line:?}"
    );
    let label = browser
        .js_string(
            "return document.querySelector('.check-in-distance').previousElementSibling.textContent;",
        )
        .await?;
    ensure!(label == "签到距企业", "the line's label: {label:?}");

    browser.route(&format!("#/v/{refused}")).await?;
    browser
        .wait_text(".check-in-distance", "无定位", WAIT)
        .await?;
    let line = browser.text(".check-in-distance").await?;
    ensure!(
        !line.contains("公里") && !line.contains(" 米"),
        "a check-in without a position has no distance: {line:?}"
    );

    browser.close().await;
    Ok(())
}
