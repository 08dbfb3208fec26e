//! What a new user tripped over (issue 15, item 7), in headless Chromium against the real
//! server seeded with the demo district: a leader's problem list names each problem's source
//! and, on a 1280 px desktop, uses the width (a phone's 360 px layout unchanged); the window
//! clerk's home is the window desk, not "my assigned enterprises" never visited; a record
//! outside the officer's scope says so instead of "not on this device", and a malformed link
//! says the page does not exist instead of silently showing home.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::Value;
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::derive::initial_deadline;
use shared::doc::{DocKind, NewProblem, ProblemDoc};
use shared::model::{EnterpriseId, ProblemClass, ProblemId, ProblemSource, Tier};
use shared::sync::protocol::DocId;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::{NativeDevice, id_bytes, wall_clock};

const WAIT: Duration = Duration::from_secs(40);

/// The real server over a fresh database seeded with the demo district.
struct Demo {
    _dir: tempfile::TempDir,
    served: Served,
}

impl Demo {
    async fn start() -> anyhow::Result<Demo> {
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
        Ok(Demo { _dir: dir, served })
    }

    fn base(&self) -> String {
        format!("http://{}", self.served.addr)
    }

    /// A native device logged in as `login`, caught up with the server.
    async fn device(&self, n: u8, login: &str) -> anyhow::Result<NativeDevice> {
        let mut device = NativeDevice::logged_in(n, &self.base(), login, DEMO_PASSWORD).await?;
        device.sync().await?;
        Ok(device)
    }
}

/// The problems a device holds.
fn problems(device: &NativeDevice) -> Vec<ProblemId> {
    device
        .client
        .replica()
        .ids()
        .filter(|id| id.kind() == DocKind::Problem)
        .filter_map(|id| ProblemId::parse(id.root_id()).ok())
        .collect()
}

/// The officer's phone records a problem reported on the hotline at one of their enterprises
/// and syncs it; returns its id.
async fn hotline_problem(officer: &mut NativeDevice) -> anyhow::Result<ProblemId> {
    let enterprise = officer
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == DocKind::Enterprise)
        .map(|id| EnterpriseId::parse(id.root_id()))
        .context("an enterprise on the officer's phone")??;
    let config = Config::default();
    let now = wall_clock();
    let id = ProblemId::from_random_bytes(id_bytes(151, 7));
    let new = NewProblem {
        id,
        enterprise,
        visit: None,
        source: ProblemSource::Hotline,
        category: "power".into(),
        class: ProblemClass::B,
        tier: Tier::Department,
        owner: officer.actor.user,
        leader: None,
        deadline: initial_deadline(&config, Tier::Department, now),
        description: "12345热线转来：园区路灯损坏，夜间运输不便".into(),
        expectation: "一周内修复".into(),
    };
    let doc = ProblemDoc::create(&new, &config, &officer.actor, officer.actor_id.clone(), now)?;
    officer.client.replica_mut().insert_new(
        DocId::new(DocKind::Problem, &id.to_string()),
        doc.into_record(),
    );
    officer.sync().await?;
    Ok(id)
}

/// Logs `login` in on `browser` through `link` and waits for `home` (a CSS selector).
async fn log_in(browser: &Browser, link: &Link, login: &str, home: &str) -> anyhow::Result<()> {
    browser
        .log_in(&link.url("/"), login, DEMO_PASSWORD, home, WAIT)
        .await
}

/// A number the page computes.
async fn number(browser: &Browser, script: &str) -> anyhow::Result<f64> {
    browser
        .js(script, vec![])
        .await?
        .as_f64()
        .with_context(|| format!("a number from {script}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaders_problem_list_on_a_desktop_names_each_source_across_the_width()
-> anyhow::Result<()> {
    let demo = Demo::start().await?;
    let mut officer = demo.device(1, "officer1").await?;
    let hotline = hotline_problem(&mut officer).await?;
    let link = Link::start(demo.served.addr).await?;
    let driver = Chromedriver::start().await?;
    let leader = Browser::launch(&driver).await?;
    leader.viewport(1280, 900, false).await?;
    log_in(&leader, &link, "leader1", "main.screen.dashboard").await?;

    // The list filtered by source holds the hotline problem alone, and its row names it.
    leader.route("#/problems?source=hotline").await?;
    let row = format!("li.problem-row[data-id=\"{hotline}\"]");
    leader
        .wait_until(
            "the hotline problem listed under the hotline filter, its source named",
            &format!("document.querySelector('{row} .row-source[data-source=hotline]')"),
            WAIT,
        )
        .await?;
    let source = leader.text(&format!("{row} .row-source")).await?;
    ensure!(
        source == ProblemSource::Hotline.zh(),
        "the row names its source {:?}, not {source:?}",
        ProblemSource::Hotline.zh()
    );
    let total = leader
        .js(
            "return document.querySelector('.list-total').dataset.total;",
            vec![],
        )
        .await?;
    ensure!(
        total == Value::String("1".into()),
        "only the hotline problem comes from the hotline: {total}"
    );

    // At 1280 px the list takes the desktop's width, not a phone's column.
    let width = "return document.querySelector('ul.problem-rows').getBoundingClientRect().width;";
    let desktop = number(&leader, width).await?;
    ensure!(
        desktop > 1000.0,
        "the problem list is {desktop} px wide on a 1280 px desktop"
    );
    // The same list on a phone keeps the phone's layout.
    leader.viewport(360, 780, true).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let phone = number(&leader, width).await?;
    ensure!(
        phone <= 360.0,
        "the problem list is {phone} px wide on a phone"
    );
    leader.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_clerks_home_is_the_window_desk() -> anyhow::Result<()> {
    let demo = Demo::start().await?;
    let link = Link::start(demo.served.addr).await?;
    let driver = Chromedriver::start().await?;
    let clerk = Browser::launch(&driver).await?;
    log_in(&clerk, &link, "window1", "main.screen.enterprises").await?;
    clerk
        .wait_until(
            "the district's enterprises on the clerk's home",
            "document.querySelectorAll('.enterprise-card').length >= 10",
            WAIT,
        )
        .await?;
    clerk.screenshot("clerk-01-home").await?;
    let title = clerk.text("main.screen h1").await?;
    ensure!(
        title == "窗口受理",
        "the clerk's home is titled {title:?}, not the window desk"
    );
    let home = clerk.text("main.screen").await?;
    ensure!(
        !home.contains("未走访") && !home.contains("我的包联企业"),
        "the clerk's home speaks of visits or assigned enterprises:\n{home}"
    );
    let to_intake = clerk
        .js(
            "const links = Array.from(document.querySelectorAll('.enterprise-card a')); \
             return links.length > 0 && links.every(a => a.getAttribute('href').startsWith('#/intake/'));",
            vec![],
        )
        .await?;
    ensure!(
        to_intake == Value::Bool(true),
        "each enterprise on the clerk's home opens an intake for it"
    );
    clerk.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_outside_the_officers_scope_and_a_malformed_link_say_so() -> anyhow::Result<()> {
    let demo = Demo::start().await?;
    let officer = demo.device(1, "officer1").await?;
    let leader = demo.device(2, "leader1").await?;
    let own = problems(&officer);
    let elsewhere = problems(&leader)
        .into_iter()
        .find(|p| !own.contains(p))
        .context("a demo problem outside officer1's enterprises")?;
    let link = Link::start(demo.served.addr).await?;
    let driver = Chromedriver::start().await?;
    let phone = Browser::launch(&driver).await?;
    log_in(&phone, &link, "officer1", ".enterprise-card").await?;
    phone.wait_synced("the phone to catch up", WAIT).await?;

    // Another officer's problem: outside what this account can see, not "sync and retry".
    phone.route(&format!("#/p/{elsewhere}")).await?;
    phone
        .wait_text(
            "main.screen .out-of-scope",
            "不在本账号可查看的范围内",
            WAIT,
        )
        .await?;
    phone.screenshot("scope-01-outside").await?;

    // Links that name no screen: an unknown path, and a record path with no valid id.
    for hash in ["#/no/such/page", "#/p/not-an-id"] {
        phone.route(hash).await?;
        phone
            .wait_text("main.screen .not-found", "找不到这个页面", WAIT)
            .await
            .with_context(|| format!("the link {hash}"))?;
        ensure!(
            phone.text(".enterprise-card").await?.is_empty(),
            "{hash} shows home"
        );
    }
    phone.close().await;
    Ok(())
}
