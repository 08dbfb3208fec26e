//! The administrator's enterprise screen end to end (issue 17 item 1), in headless Chromium at
//! a desktop width against the real server seeded with the demo district, where one of
//! officer1's enterprises was registered a second time (same credit code) and that duplicate
//! assigned to officer2, who recorded a visit of it: the administrator finds the duplicates,
//! opens officer1's profile, adds a contact and sets its position, and merges the duplicate
//! into it; officer1's phone (a native test device) then shows the profile with the new contact
//! and position and with both profiles' visits, and the duplicate is gone from officer2's.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::{CreditCode, EnterpriseId};
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, wall_clock};
use tests::district;

const WAIT: Duration = Duration::from_secs(40);

/// The demo's credit code of enterprise `i` (`server::demo`): 0 is officer1's.
fn demo_code(i: usize) -> anyhow::Result<String> {
    Ok(
        CreditCode::from_parts('9', '1', "419001", &format!("MA4{:05}", 1000 + i * 37))?
            .as_str()
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_edits_a_profile_and_merges_its_duplicate_which_the_phones_follow()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    let (kept, duplicate) = service
        .with_store(|s| -> anyhow::Result<(EnterpriseId, EnterpriseId)> {
            server::demo::seed(s, &Config::default(), wall_clock())?;
            let code = demo_code(0)?;
            let kept = s
                .enterprise_by_credit_code(&code)?
                .context("a demo enterprise")?;
            let town = s.enterprise_town(kept)?.context("its town")?;
            // Registered again at the window, and handed to officer2.
            let duplicate = district::profile(s, 900, &code, "重复登记的企业", town)?;
            let officer2 = s
                .find_user_by_login("officer2")?
                .context("the demo's officer2")?;
            district::assign(s, officer2.user.id, [duplicate])?;
            Ok((kept, duplicate))
        })
        .await
        .context("the store thread stopped")??;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let base = format!("http://{}", served.addr);
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let mut officer1 = NativeDevice::logged_in(1, &base, "officer1", DEMO_PASSWORD).await?;
    let mut officer2 = NativeDevice::logged_in(2, &base, "officer2", DEMO_PASSWORD).await?;
    officer1.sync().await?;
    officer2.sync().await?;
    officer2.record_visit(duplicate, "二号干部：重复档案上的走访")?;
    officer2.sync().await?;
    let before = officer1.visits_of(kept)?;

    let admin = Browser::launch(&driver).await?;
    admin
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await?;
    admin
        .log_in(
            &link.url("/"),
            "admin",
            DEMO_PASSWORD,
            "main.screen.admin #admin-users",
            WAIT,
        )
        .await?;

    // 1. Only the duplicates: the two profiles with one credit code.
    admin.route("#/admin/enterprises").await?;
    admin
        .wait_until(
            "the list",
            "document.querySelector('#admin-enterprises')",
            WAIT,
        )
        .await?;
    admin.click("#ent-duplicates", "").await?;
    admin
        .wait_until(
            "two duplicate rows",
            "document.querySelectorAll('#admin-enterprises tr.enterprise-row').length === 2",
            WAIT,
        )
        .await?;

    // 2. Open officer1's profile; add a contact and set the position; save.
    admin.click(&format!("#ent-open-{kept}"), "").await?;
    admin
        .wait_until("the form", "document.querySelector('#ent-save')", WAIT)
        .await?;
    let contacts_before = admin
        .js_string("return String(document.querySelectorAll('.enterprise-form .contact').length);")
        .await?;
    admin.click("#ent-add-contact", "").await?;
    let i = contacts_before.parse::<usize>()?;
    admin
        .fill(&format!("#ent-contact-{i}-name"), "孙丽")
        .await?;
    admin
        .fill(&format!("#ent-contact-{i}-title"), "财务总监")
        .await?;
    admin
        .fill(&format!("#ent-contact-{i}-phone"), "13903917777")
        .await?;
    admin.fill("#ent-lat", "35.0912").await?;
    admin.fill("#ent-lon", "112.6021").await?;
    admin.fill("#ent-accuracy", "8").await?;
    admin.click("#ent-save", "").await?;
    admin
        .wait_text(".enterprise-form .ok", "已保存", WAIT)
        .await?;

    // 3. Merge the duplicate into it.
    admin
        .wait_until(
            "the duplicate offered",
            &format!("document.querySelector('#ent-merge-{duplicate}')"),
            WAIT,
        )
        .await?;
    admin.click(&format!("#ent-merge-{duplicate}"), "").await?;
    admin
        .wait_text("#ent-merge-notice .ok", "已完成", WAIT)
        .await?;
    admin.screenshot("admin-enterprises").await.ok();

    // 4. The phones follow: officer1's shows the profile as edited with both profiles' visits.
    officer1.sync().await?;
    officer2.sync().await?;
    let profile = officer1
        .profile(kept)?
        .context("the profile on officer1's phone")?;
    assert!(
        profile
            .contacts
            .values()
            .any(|c| c.name == "孙丽" && c.title == "财务总监" && c.phone == "13903917777"),
        "{:?}",
        profile.contacts
    );
    let position = profile.position.context("a position")?;
    assert_eq!(
        (position.lat, position.lon, position.accuracy_m),
        (35.0912, 112.6021, 8.0)
    );
    let mut expected = before;
    expected.push("二号干部：重复档案上的走访".to_string());
    expected.sort();
    assert_eq!(officer1.visits_of(kept)?, expected, "both profiles' visits");
    assert!(
        officer2.profile(duplicate)?.is_none(),
        "the duplicate left officer2's phone"
    );
    admin.close().await;
    Ok(())
}
