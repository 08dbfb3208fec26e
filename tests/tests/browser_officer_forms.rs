//! The officer's problem forms end to end, in headless Chromium against the real server seeded
//! with the demo district: the department picker lists the directory's departments by name,
//! the department chosen on a new problem reaches the server as its handling unit, and the
//! picker still lists them after an offline reload (from the cached directory); and the problem
//! edit form, when sync brings someone else's change to a field the officer is editing, asks
//! "keep mine / take theirs" for that field before anything is overwritten, and the server
//! ends up with what the officer chose.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use server::demo::DEMO_PASSWORD;
use shared::doc::{ActorId, DocKind, ProblemDoc};
use shared::model::{EnterpriseId, OrgUnitId, OrgUnitKind, Problem, ProblemId};
use shared::sync::protocol::DocId;
use shared::sync::server::ServerStore as _;
use tests::DemoServer;
use tests::browser::{Browser, Chromedriver, Link, require_site};
use tests::device::{NativeDevice, wall_clock};

const WAIT: Duration = Duration::from_secs(40);
const OFFICER: &str = "officer1";
/// The town leader of officer1's town (玉泉街道): "someone else" on another device.
const TOWN_LEADER: &str = "leader2";
/// The department the new problem is handed to.
const DEPARTMENT: &str = "人力资源和社会保障局";

/// One Chromium at a time: the scenarios of this file would otherwise run in parallel, and the
/// machines that run them have two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Logs the officer in and waits until the app opens with no network (the service worker
/// controls the page) and the first sync is done.
async fn officer_logs_in(browser: &Browser, link: &Link) -> anyhow::Result<()> {
    browser
        .log_in(
            &link.url("/"),
            OFFICER,
            DEMO_PASSWORD,
            ".enterprise-card",
            WAIT,
        )
        .await?;
    browser
        .wait_until(
            "the service worker to control the page",
            "navigator.serviceWorker.controller !== null",
            WAIT,
        )
        .await?;
    browser.wait_synced("the officer's first sync", WAIT).await
}

/// The department names the picker of the open problem form shows (without the ✓ of a
/// chosen one), sorted.
async fn picker_names(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let names = browser
        .js(
            "return Array.from(document.querySelectorAll('#departments .chips button')) \
               .map(b => b.textContent.replace('✓', '').trim());",
            vec![],
        )
        .await?;
    let mut names: Vec<String> = names
        .as_array()
        .context("the picker's names")?
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// Waits until the problem form's department picker shows exactly `expected` (sorted).
async fn wait_picker_lists(browser: &Browser, expected: &[String]) -> anyhow::Result<()> {
    browser
        .wait_until(
            "the department picker",
            &format!(
                "document.querySelectorAll('#departments .chips button').length === {}",
                expected.len()
            ),
            WAIT,
        )
        .await?;
    let shown = picker_names(browser).await?;
    ensure!(
        shown == expected,
        "the picker lists the directory's departments by name: {shown:?}, expected {expected:?}"
    );
    Ok(())
}

/// The problem as the server stores it.
async fn server_problem(demo: &DemoServer, id: ProblemId) -> anyhow::Result<Problem> {
    demo.service
        .with_store(move |s| -> anyhow::Result<Problem> {
            let doc_id = DocId::new(DocKind::Problem, &id.to_string());
            let stored = s.load_doc(&doc_id)?.context("the problem on the server")?;
            Ok(ProblemDoc::load(&stored.bytes, ActorId::from([0u8; 16]))?.read()?)
        })
        .await
        .context("the store thread stopped")?
}

/// The textarea's value in the open problem edit form.
async fn typed_description(browser: &Browser) -> anyhow::Result<String> {
    browser
        .js_string("return document.querySelector('details.problem-edit #description').value;")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_picker_offers_the_districts_departments_and_the_chosen_one_is_saved()
-> anyhow::Result<()> {
    let _one = ONE_BROWSER.lock().await;
    let demo = DemoServer::with_site(require_site()?).await?;
    let departments = demo
        .service
        .with_store(|s| anyhow::Ok(s.list_org_units()?))
        .await
        .context("the store thread stopped")??
        .into_iter()
        .filter(|u| u.unit.kind == OrgUnitKind::Department)
        .map(|u| (u.unit.id, u.unit.name))
        .collect::<Vec<(OrgUnitId, String)>>();
    let mut names: Vec<String> = departments.iter().map(|(_, n)| n.clone()).collect();
    names.sort();
    let chosen = departments
        .iter()
        .find(|(_, n)| n == DEPARTMENT)
        .map(|(id, _)| *id)
        .context("the demo's labour bureau")?;
    let link = Link::start(demo.server.addr()).await?;
    let driver = Chromedriver::start().await?;
    let browser = Browser::launch(&driver).await?;

    // The officer logs in; the directory arrives with the first sync.
    officer_logs_in(&browser, &link).await?;
    let href = browser
        .js(
            "return document.querySelector('.enterprise-card a').getAttribute('href');",
            vec![],
        )
        .await?;
    let enterprise = EnterpriseId::parse(
        href.as_str()
            .context("an enterprise link")?
            .trim_start_matches("#/e/"),
    )?;

    // The new problem's form lists the district's four departments by name.
    browser.route(&format!("#/intake/{enterprise}")).await?;
    wait_picker_lists(&browser, &names).await?;
    browser.fill("#category", "labour").await?;
    browser
        .fill("#description", "新建生产线缺少熟练焊工约30人，招聘困难。")
        .await?;
    browser
        .fill("#expectation", "协助对接人社部门组织专场招聘。")
        .await?;
    browser
        .click("#departments .chips button", DEPARTMENT)
        .await?;
    browser
        .wait_until(
            "the chosen department to be marked",
            &format!(
                "Array.from(document.querySelectorAll('#departments .chips button[aria-pressed=true]')) \
                   .map(b => b.textContent).join('|').includes({})",
                json!(DEPARTMENT)
            ),
            WAIT,
        )
        .await?;
    let pressed = browser
        .js(
            "return document.querySelectorAll('#departments .chips button[aria-pressed=true]').length;",
            vec![],
        )
        .await?;
    ensure!(
        pressed == json!(1),
        "exactly one department chosen: {pressed}"
    );
    browser
        .screenshot("officer-forms-01-department-picker")
        .await?;

    // Saved, it opens as a problem handled by that department; then it syncs.
    browser.click("button.save", "").await?;
    browser
        .wait_until(
            "the saved problem's page",
            "location.hash.startsWith('#/p/') && document.querySelector('.handling-units')",
            WAIT,
        )
        .await?;
    browser
        .wait_text(".handling-units", DEPARTMENT, WAIT)
        .await?;
    let hash = browser.js("return location.hash;", vec![]).await?;
    let problem = ProblemId::parse(
        hash.as_str()
            .context("the problem's address")?
            .trim_start_matches("#/p/"),
    )?;
    browser.wait_synced("the new problem to sync", WAIT).await?;

    // The server holds that department as the problem's only handling unit, in its record and
    // in the list a leader filters by department.
    let stored = server_problem(&demo, problem).await?;
    ensure!(
        stored.handling_units.iter().copied().collect::<Vec<_>>() == vec![chosen],
        "the stored problem is handled by {DEPARTMENT}: {:?}",
        stored.handling_units
    );
    let leader = tests::raw::demo_token(&demo.server.url(""), "leader1", 31).await?;
    let listed: Value = reqwest::Client::new()
        .get(
            demo.server
                .url(&format!("/api/problems?department={chosen}&limit=200")),
        )
        .bearer_auth(&leader)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let row = listed["rows"]
        .as_array()
        .context("the list's rows")?
        .iter()
        .find(|r| r["id"] == problem.to_string())
        .with_context(|| format!("the problem in the department's list: {listed}"))?;
    ensure!(
        row["handling_units"] == json!([{ "id": chosen.to_string(), "name": DEPARTMENT }]),
        "the list names the department as its handling unit: {row}"
    );

    // With no network the app reloads from the service worker; the picker still lists the
    // departments (from the directory kept on the device), and the problem names its unit.
    browser.set_network(&link, false).await?;
    browser
        .wait_until(
            "the bar to say offline",
            "document.querySelector('.sync-bar').dataset.online === 'false'",
            WAIT,
        )
        .await?;
    browser
        .client
        .refresh()
        .await
        .context("reloading offline")?;
    browser
        .wait_text(".handling-units", DEPARTMENT, WAIT)
        .await?;
    browser.route(&format!("#/intake/{enterprise}")).await?;
    wait_picker_lists(&browser, &names).await?;
    ensure!(
        browser
            .js(
                "return document.querySelector('.sync-bar').dataset.online;",
                vec![]
            )
            .await?
            == json!("false"),
        "the picker was filled with the device offline"
    );
    browser
        .screenshot("officer-forms-02-picker-offline")
        .await?;

    browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_changed_by_someone_else_while_editing_is_offered_as_keep_mine_or_take_theirs()
-> anyhow::Result<()> {
    let _one = ONE_BROWSER.lock().await;
    let demo = DemoServer::with_site(require_site()?).await?;
    // One of the officer's problems, at an enterprise assigned to them now.
    let problem = demo
        .service
        .with_store(|s| -> anyhow::Result<ProblemId> {
            let officer = s
                .find_user_by_login(OFFICER)?
                .context("the demo's officer1")?;
            let assigned = s.active_assignments(officer.user.id, wall_clock())?;
            s.problems_of(officer.user.id)?
                .into_iter()
                .find(|(_, e)| assigned.contains(e))
                .map(|(p, _)| p)
                .context("a problem of officer1's enterprises")
        })
        .await
        .context("the store thread stopped")??;
    let doc_id = DocId::new(DocKind::Problem, &problem.to_string());
    let mut leader =
        NativeDevice::logged_in(2, &demo.server.url(""), TOWN_LEADER, DEMO_PASSWORD).await?;
    leader.sync().await?;
    ensure!(
        leader.client.replica().get(&doc_id).is_some(),
        "the town leader's phone holds the problem"
    );
    let link = Link::start(demo.server.addr()).await?;
    let driver = Chromedriver::start().await?;
    let browser = Browser::launch(&driver).await?;
    officer_logs_in(&browser, &link).await?;

    // Round 1: the officer rewrites the description; meanwhile the town leader rewrites it on
    // their phone and syncs; the officer's device receives it with the form still open.
    let mine = "【走访核实】企业新建电炉需增容2000千伏安，现有线路无法满足。";
    let theirs = "【领导批示】请供电公司一周内上门勘察增容方案。";
    browser.route(&format!("#/p/{problem}")).await?;
    browser
        .wait_until(
            "the problem page",
            "document.querySelector('.problem-description') \
             && document.querySelector('details.problem-edit #description')",
            WAIT,
        )
        .await?;
    let base = server_problem(&demo, problem).await?.description;
    browser
        .js(
            "document.querySelector('details.problem-edit').open = true;",
            vec![],
        )
        .await?;
    browser
        .fill("details.problem-edit #description", mine)
        .await?;
    leader.edit_problem_description(&doc_id, theirs)?;
    leader.sync().await?;
    browser.click(".sync-now", "").await?;
    browser
        .wait_text(".problem-description", theirs, WAIT)
        .await?;
    ensure!(
        typed_description(&browser).await? == mine,
        "the open form keeps what the officer typed while the record changes"
    );

    // Saving asks first, naming the field with both values; nothing is written yet.
    browser
        .click("details.problem-edit button[type=submit]", "")
        .await?;
    browser.wait_text(".edit-conflict", theirs, WAIT).await?;
    let notice = browser.text(".edit-conflict").await?;
    ensure!(
        notice.contains(mine) && notice.contains("问题描述"),
        "the prompt names the description and both values: {notice}"
    );
    ensure!(
        browser
            .js(
                "return document.querySelector('.sync-bar').dataset.waiting;",
                vec![]
            )
            .await?
            == json!("0"),
        "nothing is saved before the officer chooses"
    );
    ensure!(
        server_problem(&demo, problem).await?.description == theirs,
        "the server still holds the leader's text while the officer decides"
    );
    browser.screenshot("officer-forms-03-keep-or-take").await?;

    // "Keep mine": the officer's text is saved, syncs, and the server holds it.
    browser.click(".edit-conflict .keep-mine", "").await?;
    browser
        .wait_text("details.problem-edit .hint.saved", "已保存到本机", WAIT)
        .await?;
    browser
        .wait_until(
            "the prompt to close",
            "document.querySelector('.edit-conflict') === null",
            WAIT,
        )
        .await?;
    browser
        .wait_synced("the officer's edit to sync", WAIT)
        .await?;
    let stored = server_problem(&demo, problem).await?.description;
    ensure!(
        stored == mine,
        "the server holds the officer's text: {stored:?} (was {base:?})"
    );

    // Round 2: the same race, and this time the officer takes the leader's text.
    leader.sync().await?;
    let mine_again = "【走访核实】供电公司尚未答复，企业仍在等待。";
    let theirs_again = "【领导批示】已协调供电公司，本周五现场勘察。";
    browser
        .fill("details.problem-edit #description", mine_again)
        .await?;
    leader.edit_problem_description(&doc_id, theirs_again)?;
    leader.sync().await?;
    browser.click(".sync-now", "").await?;
    browser
        .wait_text(".problem-description", theirs_again, WAIT)
        .await?;
    browser
        .click("details.problem-edit button[type=submit]", "")
        .await?;
    browser
        .wait_text(".edit-conflict", theirs_again, WAIT)
        .await?;
    browser.click(".edit-conflict .take-theirs", "").await?;
    browser
        .wait_until(
            "the prompt to close with the leader's text in the form",
            &format!(
                "document.querySelector('.edit-conflict') === null \
                 && document.querySelector('details.problem-edit #description').value === {}",
                json!(theirs_again)
            ),
            WAIT,
        )
        .await?;
    // Saving now has nothing of the officer's to write.
    browser
        .click("details.problem-edit button[type=submit]", "")
        .await?;
    browser
        .wait_text("details.problem-edit .hint.saved", "没有修改", WAIT)
        .await?;
    browser
        .wait_synced("the officer's device to settle", WAIT)
        .await?;
    let stored = server_problem(&demo, problem).await?.description;
    ensure!(
        stored == theirs_again,
        "the server keeps the leader's text: {stored:?}"
    );

    browser.close().await;
    Ok(())
}
