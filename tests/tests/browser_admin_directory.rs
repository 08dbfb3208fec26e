//! The administrator's org units and configuration screens end to end (issue 17 item 1), in
//! headless Chromium at a desktop width against the real server:
//! - org units: the administrator adds a town, renames it, sees it listed under the zone with
//!   the new name, adds a department under it, and is told why putting the town under that
//!   department is refused (a cycle), which changes nothing;
//! - configuration: a broken file shows every error and no apply button; a changed file,
//!   validated, offers the apply button (gone again once the text is edited, back after a new
//!   check), and applied after the confirmation it runs at once: `GET /api/config` answers
//!   its categories and version, the server's file holds it, the audit log records it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use server::AppState;
use server::live_config::ConfigFile;
use server::sync::SyncService;
use shared::model::{DeviceId, Role};
use tests::browser::{Browser, Chromedriver, Served, require_site};
use tests::device::id_bytes;
use tests::district::{self, PASSWORD};
use tests::raw::login_raw;

const WAIT: Duration = Duration::from_secs(40);

/// The configuration file the server starts with: the built-in categories.
const FIRST: &str = "hotline = \"0391-1234567\"\n";

/// The one the administrator applies: two categories, 电力 (power) gone.
const SECOND: &str = "hotline = \"0391-1234567\"\n\n[[categories]]\ncode = \"land\"\n\
                      zh = \"土地要素\"\nen = \"Land use\"\n\n[[categories]]\n\
                      code = \"energy\"\nzh = \"能源保障\"\nen = \"Energy supply\"\n";

/// Two errors: a clock skew over the limit, a webhook channel without its url.
const BROKEN: &str = "hotline = \"0391-1234567\"\n[clock]\nallowed_skew_minutes = 5000\n\
                      [reminders]\nchannels = [\"webhook\"]\n";

/// A served web app over `service`, with the zone, town `town-1`, administrator `it` and
/// officer `wang`; the app's address.
async fn serve(service: &Arc<SyncService>) -> anyhow::Result<(Served, String)> {
    let site = require_site()?;
    service
        .with_store(|s| -> anyhow::Result<()> {
            let town = district::town(s, "town-1")?;
            district::user(s, "it", Role::Admin, town)?;
            district::officer_in(s, "wang", [1])?;
            Ok(())
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let base = format!("http://{}", served.addr);
    Ok((served, base))
}

/// The administrator logged in at a desktop's width, on `section`.
async fn admin_on(driver: &Chromedriver, base: &str, section: &str) -> anyhow::Result<Browser> {
    let admin = Browser::launch(driver).await?;
    admin
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await?;
    admin
        .log_in(
            &format!("{base}/"),
            "it",
            PASSWORD,
            "main.screen.admin #admin-users",
            WAIT,
        )
        .await?;
    admin.route(&format!("#/admin/{section}")).await?;
    Ok(admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_and_renames_a_town_and_is_told_a_cycle_is_refused()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let (_served, base) = serve(&service).await?;
    let driver = Chromedriver::start().await?;
    let admin = admin_on(&driver, &base, "org-units").await?;
    admin
        .wait_until(
            "the tree",
            "document.querySelector('#admin-org-units tr[data-code=town-1]')",
            WAIT,
        )
        .await?;

    // A town under the zone.
    admin.fill("#org-unit-code", "xinqu").await?;
    admin.fill("#org-unit-name", "新区").await?;
    admin.fill("#org-unit-kind", "town").await?;
    admin.fill("#org-unit-parent", "zone").await?;
    admin.click("#org-unit-add", "").await?;
    admin
        .wait_text("#admin-org-units tr[data-code=xinqu]", "新区", WAIT)
        .await?;

    // Renamed: listed under the zone with its new name.
    admin
        .click("#admin-org-units tr[data-code=xinqu] button.rename", "")
        .await?;
    admin.fill("#org-unit-new-name", "新区街道").await?;
    admin.click("#org-unit-save", "").await?;
    admin
        .wait_text(".org-units > .ok", "已重命名", WAIT)
        .await?;
    admin
        .wait_text(
            "#admin-org-units tr[data-code=xinqu] .unit-name",
            "新区街道",
            WAIT,
        )
        .await?;
    let depth = admin
        .js_string(
            "return document.querySelector('#admin-org-units tr[data-code=xinqu]').dataset.depth;",
        )
        .await?;
    assert_eq!(depth, "1", "directly under the zone");

    // A department under it; the town put under that department is refused as a cycle.
    admin.fill("#org-unit-code", "xinqu-office").await?;
    admin.fill("#org-unit-name", "新区办事处").await?;
    admin.fill("#org-unit-kind", "department").await?;
    admin.fill("#org-unit-parent", "xinqu").await?;
    admin.click("#org-unit-add", "").await?;
    admin
        .wait_text(
            "#admin-org-units tr[data-code=xinqu-office]",
            "新区办事处",
            WAIT,
        )
        .await?;
    admin
        .click("#admin-org-units tr[data-code=xinqu] button.move", "")
        .await?;
    admin.fill("#org-unit-new-parent", "xinqu-office").await?;
    admin.click("#org-unit-save", "").await?;
    admin
        .wait_text(".org-units > .field-error", "循环", WAIT)
        .await?;
    admin.screenshot("admin-org-units").await.ok();

    let stored = service
        .with_store(|s| -> anyhow::Result<(String, Option<String>)> {
            let town = s
                .org_unit_by_code("xinqu")?
                .ok_or_else(|| anyhow::anyhow!("xinqu is stored"))?;
            let parent = match town.unit.parent {
                Some(p) => s.org_unit(p)?.map(|u| u.code),
                None => None,
            };
            Ok((town.unit.name, parent))
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    assert_eq!(
        stored,
        ("新区街道".into(), Some("zone".into())),
        "not moved"
    );
    admin.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_validates_and_applies_a_configuration_in_the_browser()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lianxin.toml");
    std::fs::write(&file, FIRST)?;
    let (config, started) =
        server::serve::parse_settings(FIRST).map_err(|e| anyhow::anyhow!("{e}"))?;
    let service = Arc::new(
        SyncService::open(&dir.path().join("lianxin.db"), config)?.with_config_file(ConfigFile {
            path: file.clone(),
            started,
        }),
    );
    let first_version = service.published_config().version().to_string();
    let (_served, base) = serve(&service).await?;
    let driver = Chromedriver::start().await?;
    let admin = admin_on(&driver, &base, "config").await?;
    admin.wait_text(".config", &first_version, WAIT).await?;

    // A broken file: every error, and nothing to apply.
    admin.fill("#config-text", BROKEN).await?;
    admin.click("#config-validate", "").await?;
    admin
        .wait_until(
            "both errors",
            "document.querySelectorAll('.config-errors li').length >= 2",
            WAIT,
        )
        .await?;
    let offered = admin
        .js("return !!document.querySelector('#config-apply');", vec![])
        .await?;
    assert_eq!(offered, json!(false), "no apply button for a broken file");

    // The changed file, validated: the apply button, only for the text that was checked.
    admin.fill("#config-text", SECOND).await?;
    admin.click("#config-validate", "").await?;
    admin
        .wait_until(
            "the apply button",
            "document.querySelector('#config-apply')",
            WAIT,
        )
        .await?;
    admin
        .fill("#config-text", &format!("{SECOND}# edited\n"))
        .await?;
    let offered = admin
        .js("return !!document.querySelector('#config-apply');", vec![])
        .await?;
    assert_eq!(
        offered,
        json!(false),
        "an edited text must be checked again"
    );
    admin.fill("#config-text", SECOND).await?;
    admin.click("#config-validate", "").await?;
    admin
        .wait_until(
            "the apply button again",
            "document.querySelector('#config-apply')",
            WAIT,
        )
        .await?;

    // Applied after the confirmation: the server runs it at once.
    admin.click("#config-apply", "").await?;
    admin
        .wait_until(
            "the confirmation",
            "document.querySelector('#config-apply-confirm')",
            WAIT,
        )
        .await?;
    admin.click("#config-apply-confirm", "").await?;
    admin.wait_text(".config .ok", "已应用", WAIT).await?;
    let version = service.published_config().version().to_string();
    assert_ne!(version, first_version);
    admin.wait_text(".config", &version, WAIT).await?;
    admin.screenshot("admin-config-applied").await.ok();

    let device = DeviceId::from_random_bytes(id_bytes(8, 95));
    let (status, login) = login_raw(&base, "wang", PASSWORD, device).await?;
    assert_eq!(status, 200, "{login}");
    let officer = login["token"].as_str().unwrap_or_default().to_string();
    let answer = reqwest::Client::new()
        .get(format!("{base}/api/config"))
        .bearer_auth(&officer)
        .send()
        .await?;
    assert_eq!(
        answer
            .headers()
            .get("x-lianxin-config")
            .and_then(|v| v.to_str().ok()),
        Some(version.as_str())
    );
    let served: shared::config::Config = serde_json::from_str(&answer.text().await?)?;
    let codes: Vec<&str> = served.categories.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["land", "energy"]);
    assert_eq!(std::fs::read_to_string(&file)?, SECOND);
    let applied = service
        .with_store(|s| s.last_audit_detail(server::store::AuditAction::ConfigApplied))
        .await
        .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))??;
    assert!(
        applied.is_some_and(|d| d.contains(&version)),
        "the audit log records the new version"
    );
    admin.close().await;
    Ok(())
}
