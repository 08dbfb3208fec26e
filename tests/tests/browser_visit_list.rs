//! The leaders' visit list and history verdicts (issue 14, items 5 and 6, the screens), in
//! headless Chromium on a 1280 px desktop against the real server seeded with the demo
//! district: the dashboard's visit tiles open the visit list of the period, which counts the
//! visits the tile counts and shows each visit's check-in distance, evidence and history
//! verdict; a record's history page says "history intact" when the server found it so. The
//! leaders' navigation opens the visit list (走访), and the on-site evidence tile opens the
//! period's visits without evidence, as many as the tile says lack it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
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

/// The officer's phone raises a problem at one of their enterprises and syncs it.
async fn raise(officer: &mut NativeDevice) -> anyhow::Result<DocId> {
    let enterprise = officer
        .client
        .replica()
        .ids()
        .find(|id| id.kind() == DocKind::Enterprise)
        .map(|id| EnterpriseId::parse(id.root_id()))
        .context("an enterprise on the officer's phone")??;
    let config = Config::default();
    let now = wall_clock();
    let id = ProblemId::from_random_bytes(id_bytes(152, 1));
    let new = NewProblem {
        id,
        enterprise,
        visit: None,
        source: ProblemSource::SelfReport,
        category: "power".into(),
        class: ProblemClass::B,
        tier: Tier::Department,
        owner: officer.actor.user,
        leader: None,
        deadline: initial_deadline(&config, Tier::Department, now),
        description: "企业反映：变压器容量不足，新产线无法投产".into(),
        expectation: "两周内增容".into(),
    };
    let doc = ProblemDoc::create(&new, &config, &officer.actor, officer.actor_id.clone(), now)?;
    let doc_id = DocId::new(DocKind::Problem, &id.to_string());
    officer
        .client
        .replica_mut()
        .insert_new(doc_id.clone(), doc.into_record());
    officer.sync().await?;
    Ok(doc_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_visit_tiles_open_the_visit_list_and_history_pages_show_the_verdict()
-> anyhow::Result<()> {
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
    let mut officer = NativeDevice::logged_in(1, &base, "officer1", DEMO_PASSWORD).await?;
    officer.sync().await?;
    let problem = raise(&mut officer).await?;

    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let leader = Browser::launch(&driver).await?;
    leader.viewport(1280, 900, false).await?;
    leader
        .log_in(
            &link.url("/"),
            "leader1",
            DEMO_PASSWORD,
            "main.screen.dashboard[data-loaded=true] a.kpi[data-kpi=visit_coverage]",
            WAIT,
        )
        .await?;
    // The tile's "visits / officers" says how many visits the period holds.
    let sub = leader
        .text("a.kpi[data-kpi=visits_per_officer] .kpi-sub")
        .await?;
    let visits: u64 = sub
        .split('/')
        .next()
        .map(str::trim)
        .context("the visits count")?
        .parse()
        .with_context(|| format!("the visits count in {sub:?}"))?;
    ensure!(visits > 0, "the demo district's period holds visits");

    // The coverage tile opens the period's visit list, which counts the same visits.
    leader.click("a.kpi[data-kpi=visit_coverage]", "").await?;
    leader
        .wait_until(
            "the visit list with its rows",
            "document.querySelector('main.screen.visits tr.visit-row td.history')",
            WAIT,
        )
        .await?;
    let hash = leader.js_string("return location.hash;").await?;
    ensure!(hash.starts_with("#/visits?from="), "the tile opened {hash}");
    let total = leader
        .js_string("return document.querySelector('.list-total').dataset.total;")
        .await?;
    ensure!(
        total == visits.to_string(),
        "the list counts {total} visits, the tile {visits}"
    );
    let cells = leader
        .js(
            "return Array.from(document.querySelectorAll('tr.visit-row')).every(r => \
               r.querySelector('td.distance').textContent.trim() !== '' \
               && r.querySelector('td.evidence').textContent.trim() !== '' \
               && ['intact', 'broken', 'unchecked'].includes(r.dataset.history));",
            vec![],
        )
        .await?;
    ensure!(
        cells == serde_json::Value::Bool(true),
        "every visit row shows its check-in distance, evidence and history verdict"
    );
    let width = leader
        .js(
            "return document.querySelector('table.visit-table').getBoundingClientRect().width;",
            vec![],
        )
        .await?
        .as_f64()
        .context("the table's width")?;
    ensure!(
        width > 1000.0,
        "the visit table is {width} px wide at 1280 px"
    );

    // The new problem's history page: the server judged it intact at its commit.
    leader.route(&format!("#/h/{}", problem.as_str())).await?;
    leader
        .wait_text(".history-verdict[data-verdict=intact]", "留痕完整", WAIT)
        .await?;
    leader.close().await;
    Ok(())
}

/// The fraction in a tile's sub-line (`n / d`) as `(n, d)`.
fn fraction(sub: &str) -> anyhow::Result<(u64, u64)> {
    let (n, d) = sub.split_once('/').context("a fraction n / d")?;
    Ok((
        n.trim().parse().with_context(|| format!("{sub:?}"))?,
        d.trim().parse().with_context(|| format!("{sub:?}"))?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_opens_the_visit_list_and_the_evidence_tile_its_visits_without_evidence()
-> anyhow::Result<()> {
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
    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let leader = Browser::launch(&driver).await?;
    leader.viewport(1280, 900, false).await?;
    leader
        .log_in(
            &link.url("/"),
            "leader1",
            DEMO_PASSWORD,
            "main.screen.dashboard[data-loaded=true] a.kpi[data-kpi=evidence_rate]",
            WAIT,
        )
        .await?;

    // The tile: the rate of the period's visits with on-site evidence, "with / visits".
    let (with, visits) = fraction(
        &leader
            .text("a.kpi[data-kpi=evidence_rate] .kpi-sub")
            .await?,
    )?;
    ensure!(visits > 0, "the demo district's period holds visits");
    leader.click("a.kpi[data-kpi=evidence_rate]", "").await?;
    leader
        .wait_until(
            "the visit list",
            "document.querySelector('main.screen.visits .list-total')",
            WAIT,
        )
        .await?;
    let hash = leader.js_string("return location.hash;").await?;
    ensure!(
        hash.starts_with("#/visits?from=") && hash.contains("evidence=false"),
        "the evidence tile opened {hash}"
    );
    let total = leader
        .js_string("return document.querySelector('.list-total').dataset.total;")
        .await?;
    ensure!(
        total == (visits - with).to_string(),
        "the list holds {total} visits without evidence; the tile says {with} of {visits} have it"
    );
    let all_without = leader
        .js(
            "return Array.from(document.querySelectorAll('tr.visit-row')).every(r => \
               r.dataset.evidence === 'false');",
            vec![],
        )
        .await?;
    ensure!(
        all_without == serde_json::Value::Bool(true),
        "every row lacks evidence"
    );

    // The navigation's 走访 opens the whole visit list.
    leader.route("#/dash").await?;
    leader
        .wait_until(
            "the dashboard",
            "document.querySelector('main.screen.dashboard')",
            WAIT,
        )
        .await?;
    leader.click("nav.role-nav a.nav-link", "走访").await?;
    leader
        .wait_until(
            "the visit list from the navigation",
            "document.querySelector('main.screen.visits .list-total') \
             && document.querySelector('nav.role-nav a.nav-link.current')?.textContent === '走访'",
            WAIT,
        )
        .await?;
    let hash = leader.js_string("return location.hash;").await?;
    ensure!(hash == "#/visits", "the navigation opened {hash}");
    leader.close().await;
    Ok(())
}
