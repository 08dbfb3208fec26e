//! The administrator's screens end to end (issue 17 items 1 and 3), in headless Chromium at a
//! desktop width against the real server seeded with the demo district: the administrator
//! imports 50 users from a file with two bad lines — both reported by number, nobody added —
//! fixes them and imports all 50 (a generated password logs in); ends one of officer1's
//! assignments and moves another of officer1's enterprises to officer2; the officers' phones
//! (native test devices) follow at their next sync; the audit screen lists each step and
//! verifies the chain.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::Locator;
use serde_json::json;
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::doc::DocKind;
use shared::model::{CreditCode, DeviceId, EnterpriseId};
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, id_bytes, wall_clock};
use tests::raw::login_raw;

const WAIT: Duration = Duration::from_secs(40);
/// 50 users hash 50 passwords (argon2) before the answer.
const IMPORT_WAIT: Duration = Duration::from_secs(120);
const USERS: usize = 50;

/// The demo's credit code of enterprise `i` (`server::demo`): 0 and 6 are officer1's.
fn demo_code(i: usize) -> anyhow::Result<String> {
    Ok(
        CreditCode::from_parts('9', '1', "419001", &format!("MA4{:05}", 1000 + i * 37))?
            .as_str()
            .to_string(),
    )
}

/// The users file: 50 officers of 玉泉街道 with generated passwords; `bad` breaks lines 12
/// (an unknown role) and 40 (an unknown org unit).
fn users_file(bad: bool) -> String {
    let mut csv = String::from("login,name,role,org_unit,phone,password\n");
    for i in 1..=USERS {
        let line = i + 1;
        let role = if bad && line == 12 { "boss" } else { "officer" };
        let unit = if bad && line == 40 {
            "nowhere"
        } else {
            "yuquan"
        };
        csv.push_str(&format!("gb{i:02},干部{i},{role},{unit},1390391{i:04},\n"));
    }
    csv
}

/// The enterprises on a phone.
fn held(phone: &NativeDevice) -> Vec<String> {
    phone
        .client
        .replica()
        .ids()
        .filter(|d| d.kind() == DocKind::Enterprise)
        .map(|d| d.root_id().to_string())
        .collect()
}

/// Chooses `path` in the file input `css` and presses its import button.
async fn import_file(browser: &Browser, css: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let input = browser.client.find(Locator::Css(css)).await?;
    input
        .send_keys(&path.display().to_string())
        .await
        .context("choosing the file")?;
    browser
        .wait_until(
            "the import button",
            &format!("!document.querySelector('{css}-go').disabled"),
            WAIT,
        )
        .await?;
    browser.click(&format!("{css}-go"), "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_imports_users_reassigns_enterprises_and_audits_it_all()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::default(),
    )?);
    let (ended, moved) = service
        .with_store(|s| -> anyhow::Result<(EnterpriseId, EnterpriseId)> {
            server::demo::seed(s, &Config::default(), wall_clock())?;
            let id = |i| -> anyhow::Result<EnterpriseId> {
                s.enterprise_by_credit_code(&demo_code(i)?)?
                    .context("a demo enterprise")
            };
            Ok((id(0)?, id(6)?))
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
    let (ended_id, moved_id) = (ended.to_string(), moved.to_string());
    assert!(held(&officer1).contains(&ended_id) && held(&officer1).contains(&moved_id));
    assert!(!held(&officer2).contains(&moved_id));

    // The administrator logs in at a desktop's width: the admin screens are home.
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

    // 1. A file with two bad lines: both named, nobody added.
    let files = tempfile::tempdir()?;
    let bad = files.path().join("users-bad.csv");
    std::fs::write(&bad, users_file(true))?;
    import_file(&admin, "#import-users", &bad).await?;
    admin
        .wait_until(
            "two bad lines",
            "document.querySelectorAll('.import-errors li').length === 2",
            IMPORT_WAIT,
        )
        .await?;
    let errors = admin.text(".import-errors").await?;
    assert!(
        errors.contains("第 12 行") && errors.contains("第 40 行"),
        "{errors}"
    );
    let added = service
        .with_store(|s| s.find_user_by_login("gb01"))
        .await
        .context("the store thread stopped")??;
    assert!(added.is_none(), "nothing imported");

    // 2. The fixed file: all 50, each with a generated password shown once.
    let good = files.path().join("users.csv");
    std::fs::write(&good, users_file(false))?;
    import_file(&admin, "#import-users", &good).await?;
    admin
        .wait_until(
            "the import's report",
            "document.querySelectorAll('.import-done table.generated tr').length === 51",
            IMPORT_WAIT,
        )
        .await?;
    admin.wait_text("#admin-users", "gb50", WAIT).await?;
    let password = admin
        .js_string("return document.querySelector('.import-done table.generated tr:nth-child(2) code').textContent;")
        .await?;
    let device = DeviceId::from_random_bytes(id_bytes(8, 501));
    let (status, _) = login_raw(&base, "gb01", &password, device).await?;
    assert_eq!(status, 200, "the generated password logs in");

    // 3. End one of officer1's assignments, move another to officer2.
    admin.route("#/admin/assignments").await?;
    admin
        .wait_until(
            "the assignments form",
            "document.querySelector('#assign-enterprise')",
            WAIT,
        )
        .await?;
    admin.fill("#assign-enterprise", &demo_code(0)?).await?;
    admin.click("#assign-end", "").await?;
    admin
        .wait_text(".assignments .ok", "包联已结束", WAIT)
        .await?;
    admin.fill("#assign-enterprise", &demo_code(6)?).await?;
    admin.fill("#assign-to", "officer2").await?;
    admin.click("#assign-move", "").await?;
    admin
        .wait_text(".assignments .ok", "包联已调整", WAIT)
        .await?;

    // 4. The phones follow at their next sync.
    officer1.sync().await?;
    officer2.sync().await?;
    let (one, two) = (held(&officer1), held(&officer2));
    assert!(
        !one.contains(&ended_id),
        "the ended enterprise left officer1's phone"
    );
    assert!(
        !one.contains(&moved_id),
        "the moved enterprise left officer1's phone"
    );
    assert!(two.contains(&moved_id), "and reached officer2's");

    // 5. The audit screen shows each step and verifies the chain.
    admin.route("#/admin/audit").await?;
    for action in ["imported", "assignment_ended", "assignment_moved"] {
        admin
            .wait_until(
                &format!("an audit row {action}"),
                &format!("document.querySelector('#admin-audit tr[data-action={action}]')"),
                WAIT,
            )
            .await?;
    }
    let imported = admin.text("#admin-audit tr[data-action=imported]").await?;
    assert!(
        imported.contains("admin") && imported.contains("50 user(s)"),
        "{imported}"
    );
    admin.click("#audit-verify", "").await?;
    admin.wait_text(".audit .ok", "审计日志完整", WAIT).await?;
    admin.screenshot("admin-audit").await.ok();
    admin.close().await;
    Ok(())
}
