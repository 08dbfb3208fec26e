//! The district's configuration reaches the officer's phone (issue 15 item 1), in headless
//! Chromium against the demo district: the server restarts on a district file that removes a
//! category, renames another and lengthens the routine SLA; after a sync the phone offers the
//! new categories and deadlines, and an older problem of the removed category can still be
//! edited (shown as retired) and signed off, and the server accepts both.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use server::AppState;
use server::demo::DEMO_PASSWORD;
use shared::config::Config;
use shared::doc::{ActorId, DocKind, ProblemDoc};
use shared::model::{Problem, ProblemId, ProblemState};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use tests::TestServer;
use tests::browser::{Browser, Chromedriver, Link, require_site};

const WAIT: Duration = Duration::from_secs(40);
const OFFICER: &str = "officer1";

/// The problem as the server stores it.
async fn server_problem(
    service: &std::sync::Arc<server::sync::SyncService>,
    id: ProblemId,
) -> anyhow::Result<Problem> {
    service
        .with_store(move |s| -> anyhow::Result<Problem> {
            let doc_id = DocId::new(DocKind::Problem, &id.to_string());
            let stored = s.load_doc(&doc_id)?.context("the problem on the server")?;
            Ok(ProblemDoc::load(&stored.bytes, ActorId::from([0u8; 16]))?.read()?)
        })
        .await
        .context("the store thread stopped")?
}

/// A problem of the officer's that the enterprise has confirmed (the list a leader reads).
async fn confirmed_problem_of_the_officer(
    server: &TestServer,
    service: &std::sync::Arc<server::sync::SyncService>,
) -> anyhow::Result<Problem> {
    let officer = service
        .with_store(|s| anyhow::Ok(s.find_user_by_login(OFFICER)?))
        .await
        .context("the store thread stopped")??
        .context("the demo's officer1")?;
    let leader = tests::raw::demo_token(&server.url(""), "leader1", 41).await?;
    let listed: Value = reqwest::Client::new()
        .get(server.url("/api/problems?state=confirmed&limit=200"))
        .bearer_auth(&leader)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = listed["rows"]
        .as_array()
        .context("the list's rows")?
        .iter()
        .find(|r| r["owner"] == officer.user.id.to_string())
        .and_then(|r| r["id"].as_str())
        .with_context(|| format!("a confirmed problem of {OFFICER}: {listed}"))?;
    server_problem(service, ProblemId::parse(id)?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_district_file_reaches_the_phone_and_older_problems_stay_workable()
-> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    tests::seed_demo(&service).await?;
    let server = TestServer::start(AppState::new(site.clone(), service.clone())).await?;
    let link = Link::start(server.addr()).await?;
    let driver = Chromedriver::start().await?;
    let b = Browser::launch(&driver).await?;
    b.log_in(
        &link.url("/"),
        OFFICER,
        DEMO_PASSWORD,
        ".enterprise-card",
        WAIT,
    )
    .await?;
    b.wait_synced("the officer's first sync", WAIT).await?;

    // The district's new file: the older problem's category removed, another renamed, routine
    // problems given 12 days instead of 7.
    let older = confirmed_problem_of_the_officer(&server, &service).await?;
    let removed = older.category.clone();
    let mut district = Config::demo();
    district.categories.retain(|c| c.code != removed);
    let renamed = district.categories.first_mut().context("a category left")?;
    renamed.zh = format!("{}（更名）", renamed.zh);
    let (renamed_code, renamed_zh) = (renamed.code.clone(), renamed.zh.clone());
    district.sla.routine_days = 12;
    district.validate()?;

    // The server restarts on it (same database, same address for the phone).
    drop(server);
    drop(service);
    let service = tests::sync_service_with(dir.path(), district)?;
    let server = TestServer::start(AppState::new(site, service.clone())).await?;
    link.redirect(server.addr());
    b.wait_synced("the sync after the restart", WAIT).await?;

    // A new problem's form offers the district's categories and its deadline.
    b.route(&format!("#/intake/{}", older.enterprise)).await?;
    b.wait_until(
        "the renamed category in the picker",
        &format!(
            "Array.from(document.querySelectorAll('#category option')) \
               .some(o => o.value === {} && o.textContent === {})",
            json!(renamed_code),
            json!(renamed_zh)
        ),
        WAIT,
    )
    .await?;
    let offered = b
        .js(
            "return Array.from(document.querySelectorAll('#category option')).map(o => o.value);",
            vec![],
        )
        .await?;
    ensure!(
        !offered
            .as_array()
            .context("the options")?
            .contains(&json!(removed)),
        "the removed category {removed:?} is not offered: {offered}"
    );
    b.fill("#tier", "department").await?;
    b.wait_text(".deadline-hint", "12 天", WAIT).await?;
    b.screenshot("config-01-new-categories-and-sla").await?;

    // The older problem: its category shown as retired, still editable and signed off.
    b.route(&format!("#/p/{}", older.id)).await?;
    b.wait_text("h1", "（已停用）", WAIT).await?;
    b.click("details.problem-edit summary", "").await?;
    let selected = b
        .js_string("return document.querySelector('details.problem-edit #category').value;")
        .await?;
    ensure!(
        selected == removed,
        "the edit form keeps the stored category: {selected:?}"
    );
    let description = format!("{}（已补充现场核实情况）", older.description);
    b.fill("details.problem-edit #description", &description)
        .await?;
    b.click("details.problem-edit button[type=submit]", "")
        .await?;
    b.wait_text("details.problem-edit .saved", "已保存到本机", WAIT)
        .await?;
    b.js(
        "Array.from(document.querySelectorAll('button.action')) \
           .find(e => e.textContent.trim() === '销号').click();",
        vec![],
    )
    .await?;
    b.click(".action-form button.primary", "").await?;
    b.wait_until(
        "the problem to show signed off",
        "document.querySelector('.badges').textContent.includes('已销号')",
        WAIT,
    )
    .await?;
    b.screenshot("config-02-retired-category-signed-off")
        .await?;
    b.wait_synced("the edit and the sign-off to sync", WAIT)
        .await?;

    let stored = server_problem(&service, older.id).await?;
    ensure!(
        stored.description == description && stored.category == removed,
        "the server took the edit and kept the category: {:?} / {:?}",
        stored.description,
        stored.category
    );
    let state = shared::workflow::replay(&stored).state;
    ensure!(
        state == ProblemState::SignedOff,
        "the server holds the sign-off: {state:?}"
    );
    b.close().await;
    Ok(())
}
