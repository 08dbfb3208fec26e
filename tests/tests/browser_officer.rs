//! The officer app end to end, in headless Chromium against the real server: an officer logs
//! in, loses the signal, records a visit with two problems, reloads the app with no network (it
//! opens from the service worker and still shows the records), gets the signal back and syncs;
//! the server's database holds the records; a second officer in a second browser profile sees
//! them; both edit the same problem offline and the edits merge as specified; a record the
//! server refuses stays on the device with its reason shown until it is fixed or discarded; a
//! bad rating recorded on another officer's phone puts a revisit on the owner's home screen.
//!
//! Everything is real: the officers and their assignments are written into the store as the
//! admin CLI would, the enterprise is imported from CSV, and the browsers log in with
//! passwords and sync with bearer tokens.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::Value;
use server::AppState;
use server::sync::SyncService;
use shared::config::Config;
use shared::model::{EnterpriseId, ProblemId, Rating};
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, wall_clock};
use tests::district;

const WAIT: Duration = Duration::from_secs(40);
const ENTERPRISE_NAME: &str = "济源市示例特钢有限公司";
const OFFICER_1: &str = "zhang.wei";
const OFFICER_2: &str = "li.na";

/// Two officers of the same town, both assigned one imported enterprise; returns its id.
async fn seed(service: &Arc<SyncService>) -> anyhow::Result<EnterpriseId> {
    service
        .with_store(|s| {
            district::town_officers_with_enterprise(s, &[OFFICER_1, OFFICER_2], ENTERPRISE_NAME)
        })
        .await
        .context("the store thread stopped")?
}

async fn log_in(browser: &Browser, link: &Link, login: &str) -> anyhow::Result<()> {
    browser.goto(&link.url("/")).await?;
    browser
        .wait_until("the login form", "document.querySelector('#login')", WAIT)
        .await?;
    browser.fill("#login", login).await?;
    browser.fill("#password", district::PASSWORD).await?;
    browser.click("form button[type=submit]", "").await?;
    browser
        .wait_text(".enterprise-card", ENTERPRISE_NAME, WAIT)
        .await?;
    // The service worker has taken control once the shell is cached: from now on the app
    // opens with no network.
    browser
        .wait_until(
            "the service worker to control the page",
            "navigator.serviceWorker.controller !== null",
            WAIT,
        )
        .await
}

async fn waiting(browser: &Browser) -> anyhow::Result<String> {
    browser
        .js_string(
            "const b = document.querySelector('.sync-bar'); return b ? b.dataset.waiting : '';",
        )
        .await
}

/// Waits until the device has uploaded everything and no round is running.
async fn wait_synced(browser: &Browser, what: &str) -> anyhow::Result<()> {
    browser.wait_synced(what, WAIT).await
}

/// Takes in a hotline problem filed as "other" at the window (the server's validation refuses
/// that category), optionally photographing the filled form, and waits for the refusal.
async fn intake_refused(
    browser: &Browser,
    enterprise: EnterpriseId,
    description: &str,
    shot: Option<&str>,
) -> anyhow::Result<()> {
    browser.route(&format!("#/intake/{enterprise}")).await?;
    browser
        .wait_until(
            "the intake form",
            "document.querySelector('#description')",
            WAIT,
        )
        .await?;
    browser.fill("#source", "hotline").await?;
    browser.fill("#category", "other").await?;
    browser.fill("#description", description).await?;
    if let Some(name) = shot {
        browser.screenshot(name).await?;
    }
    browser.click("button.save", "").await?;
    browser
        .wait_until(
            "the server to refuse the problem",
            "document.querySelector('.sync-bar').dataset.refused === '1'",
            WAIT,
        )
        .await
}

fn problem_ids(hrefs: &Value) -> anyhow::Result<Vec<ProblemId>> {
    hrefs
        .as_array()
        .context("hrefs")?
        .iter()
        .filter_map(|h| h.as_str())
        .map(|h| ProblemId::parse(h.trim_start_matches("#/p/")).context("a problem link"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_works_offline_and_two_officers_merge_their_edits() -> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    // This district does not use the "other" category. Officer 1's phone never receives the
    // district's configuration (its fetch is blocked below), so it offers the built-in list,
    // and a problem filed as "other" is refused by the server's validation: a phone on an old
    // configuration.
    let mut config = Config::default();
    config.categories.retain(|c| c.code != "other");
    let service = Arc::new(SyncService::open(&dir.path().join("lianxin.db"), config)?);
    let enterprise = seed(&service).await?;
    let served = Served::start(server::app(AppState::new(site, service.clone()))).await?;
    let link_a = Link::start(served.addr).await?;
    let link_b = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;

    // 1. Officer 1 logs in; the enterprise arrives by sync.
    let a = Browser::launch(&driver).await?;
    a.cdp("Network.enable", serde_json::json!({})).await?;
    a.cdp(
        "Network.setBlockedURLs",
        serde_json::json!({ "urls": ["*/api/config*"] }),
    )
    .await?;
    a.goto(&link_a.url("/")).await?;
    a.wait_until("the login form", "document.querySelector('#login')", WAIT)
        .await?;
    a.screenshot("01-login").await?;
    log_in(&a, &link_a, OFFICER_1).await?;
    a.screenshot("02-enterprises").await?;

    // 2. The signal is lost.
    a.set_network(&link_a, false).await?;
    a.wait_until(
        "the bar to say offline",
        "document.querySelector('.sync-bar').dataset.online === 'false'",
        WAIT,
    )
    .await?;

    // 3. A visit with two problems, recorded offline.
    a.click(".enterprise-card a", ENTERPRISE_NAME).await?;
    a.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    a.click("a.button", "新增走访").await?;
    a.wait_until("the visit form", "document.querySelector('#notes')", WAIT)
        .await?;
    a.fill("#attendees", "王总经理、赵会计").await?;
    a.fill("#notes", "企业生产正常，反映用电和用工两方面困难。")
        .await?;
    a.click(".add-problem", "").await?;
    a.click(".add-problem", "").await?;
    a.fill("#category-0", "power").await?;
    a.fill("#description-0", "新建电炉需要增容，供电线路不足。")
        .await?;
    a.fill("#expectation-0", "年底前完成增容。").await?;
    a.fill("#category-1", "labour").await?;
    a.fill("#tier-1", "department").await?;
    a.fill("#description-1", "熟练焊工缺口约30人。").await?;
    a.wait_text(".deadline-hint", "7", WAIT).await?;
    // Only a leader may put a problem at the city-leader tier: the form does not offer it to
    // an officer (the server would refuse it), and says why with the rights table's reason.
    a.wait_until(
        "no city-leader tier offered to an officer, with the reason",
        "!document.querySelector('#tier-1 option[value=city_leader]') \
         && document.querySelector('.field-locked').textContent.includes('市领导')",
        WAIT,
    )
    .await?;
    a.screenshot("03-new-visit").await?;
    a.click("button.save", "").await?;
    a.wait_text(".flash", "已保存到本机", WAIT).await?;
    a.wait_until(
        "three records waiting (the visit and two problems)",
        "document.querySelector('.sync-bar').dataset.waiting === '3'",
        WAIT,
    )
    .await?;
    a.wait_until(
        "two problems on the enterprise page",
        "document.querySelectorAll('.problem-card').length === 2",
        WAIT,
    )
    .await?;
    a.screenshot("04-enterprise-offline").await?;
    // Logging out now would lose them: refused, with the reason.
    a.route("#/sync").await?;
    a.click("button.danger", "退出登录").await?;
    a.wait_text(".field-error", "3 条更改未上传", WAIT).await?;
    a.route(&format!("#/e/{enterprise}")).await?;
    a.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;

    // 4. Reload with no network: the service worker serves the app, IndexedDB the records.
    a.client.refresh().await.context("reloading offline")?;
    a.wait_text("h1", ENTERPRISE_NAME, WAIT).await?;
    a.wait_until(
        "the visit and its problems after an offline reload",
        "document.querySelectorAll('.problem-card').length === 2 \
         && document.querySelector('.visit-notes').textContent.includes('用电和用工')",
        WAIT,
    )
    .await?;
    ensure!(waiting(&a).await? == "3", "the outbox survived the reload");
    a.screenshot("05-reloaded-offline").await?;
    let hrefs = a
        .js(
            "return Array.from(document.querySelectorAll('.problem-card a')).map(a => a.getAttribute('href'));",
            vec![],
        )
        .await?;
    let problems = problem_ids(&hrefs)?;
    ensure!(problems.len() == 2, "two problem links: {hrefs}");

    // 5. The signal returns: everything syncs, and the server's database holds it.
    a.set_network(&link_a, true).await?;
    wait_synced(&a, "officer 1's records to sync").await?;
    let rows = service
        .with_store(move |s| {
            let visits = s.visit_rows_for(enterprise)?;
            let problems = problems
                .iter()
                .map(|p| s.problem_row(*p))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, server::store::StoreError>((visits.len(), problems))
        })
        .await
        .context("store task")??;
    ensure!(rows.0 == 1, "the server holds the visit");
    ensure!(
        rows.1.iter().all(Option::is_some),
        "the server holds both problems: {:?}",
        rows.1
    );
    // The power problem, found by its text: the page lists problems in id order, which is
    // random, so its position says nothing.
    let candidates = problem_ids(&hrefs)?;
    let problem = service
        .with_store(move |s| -> anyhow::Result<Option<ProblemId>> {
            for p in candidates {
                let id = shared::sync::protocol::DocId::new(
                    shared::doc::DocKind::Problem,
                    &p.to_string(),
                );
                let stored =
                    shared::sync::server::ServerStore::load_doc(s, &id)?.context("stored")?;
                let doc = shared::doc::ProblemDoc::load(
                    &stored.bytes,
                    shared::doc::ActorId::from([0u8; 16]),
                )?;
                if doc.read()?.description.contains("供电线路不足") {
                    return Ok(Some(p));
                }
            }
            Ok(None)
        })
        .await
        .context("store task")??
        .context("the power problem on the server")?;

    // 6. Officer 2, in another browser profile, sees them.
    let b = Browser::launch(&driver).await?;
    log_in(&b, &link_b, OFFICER_2).await?;
    b.route(&format!("#/e/{enterprise}")).await?;
    b.wait_until(
        "officer 2 to see the visit and both problems",
        "document.querySelectorAll('.problem-card').length === 2 \
         && document.querySelector('.visit-notes').textContent.includes('用电和用工')",
        WAIT,
    )
    .await?;
    b.screenshot("06-officer2-sees-them").await?;

    // 7. Both edit the same problem offline: text edits merge; a concurrent class choice
    // resolves the same way on both and is flagged as needing a decision.
    for browser in [&a, &b] {
        browser.route(&format!("#/p/{problem}")).await?;
        browser
            .wait_text(".problem-description", "供电线路不足", WAIT)
            .await?;
    }
    a.set_network(&link_a, false).await?;
    b.set_network(&link_b, false).await?;
    for (browser, description, class) in [
        (
            &a,
            "新建电炉需要增容，供电线路不足。（补充：已联系供电公司）",
            "C",
        ),
        (&b, "【紧急】新建电炉需要增容，供电线路不足。", "A"),
    ] {
        browser
            .js("document.querySelector('details').open = true;", vec![])
            .await?;
        browser.fill("#description", description).await?;
        browser.fill("#class", class).await?;
        browser.click("button.primary", "保存修改").await?;
        browser
            .wait_text(".hint.saved", "已保存到本机", WAIT)
            .await?;
        ensure!(waiting(browser).await? == "1", "the edit waits to upload");
    }
    b.screenshot("07-officer2-edit-offline").await?;
    a.set_network(&link_a, true).await?;
    wait_synced(&a, "officer 1's edit to sync").await?;
    b.set_network(&link_b, true).await?;
    wait_synced(&b, "officer 2's edit to sync").await?;
    a.click(".sync-now", "").await?;
    let merged = "document.querySelector('.problem-description').textContent.includes('【紧急】') \
                  && document.querySelector('.problem-description').textContent.includes('已联系供电公司') \
                  && document.querySelector('.needs-decision') !== null";
    a.wait_until("officer 1 to see the merged problem", merged, WAIT)
        .await?;
    b.wait_until("officer 2 to see the merged problem", merged, WAIT)
        .await?;
    let class_of = "return document.querySelector('.facts dd').textContent;";
    let (class_a, class_b) = (a.js(class_of, vec![]).await?, b.js(class_of, vec![]).await?);
    ensure!(
        class_a == class_b,
        "the concurrent class choice resolves the same way on both: {class_a} vs {class_b}"
    );
    a.screenshot("08-merged").await?;
    a.route(&format!("#/h/problem/{problem}")).await?;
    a.wait_text(".history-entry", OFFICER_1, WAIT).await?;
    a.screenshot("09-history").await?;

    // 8. A record the server refuses stays on the device with its reason, until fixed.
    intake_refused(
        &a,
        enterprise,
        "热线来电：企业反映园区道路夜间照明不足。",
        Some("10-intake"),
    )
    .await?;
    a.client.refresh().await?;
    a.wait_text(".refusal-reason", "other", WAIT).await?;
    a.route("#/sync").await?;
    a.wait_text(".refused-item", "other", WAIT).await?;
    a.screenshot("11-refused").await?;
    a.click(".refused-item a", "打开修改").await?;
    a.wait_until("the fix form", "document.querySelector('#category')", WAIT)
        .await?;
    a.fill("#category", "infrastructure").await?;
    a.click("button.primary", "保存修改").await?;
    a.wait_until(
        "the corrected problem to be accepted",
        "document.querySelector('.sync-bar').dataset.refused === '0' \
         && document.querySelector('.sync-bar').dataset.waiting === '0' \
         && document.querySelector('.notice.refused') === null",
        WAIT,
    )
    .await?;

    // 9. An action the workflow refuses shows the guard's reason.
    a.click("button.action", "答复企业").await?;
    a.click(".action-form button.primary", "确定").await?;
    a.wait_text(".field-error", "不能", WAIT).await?;
    a.screenshot("12-problem-actions").await?;

    // 9b. Or the person discards a refused record: one the server never took leaves the
    // device, and nothing is refused or waiting any more.
    intake_refused(&a, enterprise, "热线来电：企业询问展会补贴申报时间。", None).await?;
    a.route("#/sync").await?;
    a.click(".refused-item .discard-ask", "放弃本机修改")
        .await?;
    a.wait_text(".discard-confirm", "确定放弃", WAIT).await?;
    a.click(".refused-item .discard-yes", "放弃本机修改")
        .await?;
    a.wait_until(
        "the discarded record to leave the device",
        "document.querySelector('.sync-bar').dataset.refused === '0' \
         && document.querySelector('.sync-bar').dataset.waiting === '0' \
         && document.querySelector('.refused-item') === null",
        WAIT,
    )
    .await?;

    // 9c. Officer 2's phone records a bad rating of a problem officer 1 owns: after a sync,
    // officer 1's home lists the revisit, and the problem says why it was reopened.
    let owner = service
        .with_store(|s| s.find_user_by_login(OFFICER_1))
        .await
        .context("store task")??
        .context("officer 1")?
        .user
        .id;
    let base = format!("http://{}", served.addr);
    let mut phone = NativeDevice::logged_in(9, &base, OFFICER_2, district::PASSWORD).await?;
    let rated = phone.resolved_on_site(1, enterprise, owner)?;
    phone.sync().await?;
    ensure!(phone.rate(&rated, Rating::Dissatisfied, "线路还是经常跳闸")?);
    phone.sync().await?;
    a.route("#/").await?;
    a.click(".sync-now", "").await?;
    a.wait_text(".follow-up[data-kind=revisit]", ENTERPRISE_NAME, WAIT)
        .await?;
    a.screenshot("12b-revisit-task").await?;
    a.click(".follow-up a", ENTERPRISE_NAME).await?;
    a.wait_text(".notice.reopened", "企业差评", WAIT).await?;

    // 10. The other screens, for the record: sync page, English, a bad credit code.
    a.route("#/sync").await?;
    a.wait_text(".persisted", "", WAIT).await?;
    a.screenshot("13-sync-page").await?;
    a.route("#/intake").await?;
    a.wait_until(
        "the intake form",
        "document.querySelector('#enterprise')",
        WAIT,
    )
    .await?;
    a.fill("#enterprise", "new").await?;
    a.fill("#credit_code", "91419001MA9F8KXY20").await?;
    a.click("button.save", "").await?;
    a.wait_text(".field-error", "校验", WAIT).await?;
    a.screenshot("14-intake-new-enterprise").await?;
    a.route("#/").await?;
    a.click(".lang-switch", "").await?;
    a.wait_text("h1", "My enterprises", WAIT).await?;
    a.screenshot("15-english").await?;

    // 11. An administrator revokes officer 2's phone while it holds an unsynced change: at its
    // next contact the app wipes the device without a tap and the login screen lists the
    // record whose change was lost, until the officer has read it.
    b.set_network(&link_b, false).await?;
    b.fill("#progress", "已与供电公司约定下周现场勘察。")
        .await?;
    b.click("button.secondary", "添加进展").await?;
    b.wait_text(".hint.saved", "已保存到本机", WAIT).await?;
    service
        .with_store(|s| -> anyhow::Result<()> {
            for (device, _) in s.list_devices(Some(OFFICER_2))? {
                s.revoke_device(device.id, wall_clock(), "test")?;
            }
            Ok(())
        })
        .await
        .context("the store thread stopped")??;
    b.set_network(&link_b, true).await?;
    // The app syncs by itself once the link is back, and may already have been wiped: then
    // there is no "sync now" to tap.
    b.js(
        "const now = document.querySelector('.sync-now'); if (now) now.click();",
        vec![],
    )
    .await?;
    b.wait_until(
        "the wiped device to show the login screen",
        "document.querySelector('#login') !== null",
        WAIT,
    )
    .await?;
    b.wait_text(".wiped", "以下 1 条记录的更改未上传", WAIT)
        .await?;
    b.wait_text(".wiped .lost li", "问题", WAIT).await?;
    b.screenshot("17-revoked").await?;
    b.click(".wiped button", "").await?;
    b.wait_until(
        "the notice to go once read",
        "document.querySelector('.wiped') === null && document.querySelector('#login') !== null",
        WAIT,
    )
    .await?;

    a.close().await;
    b.close().await;
    Ok(())
}
