//! The officer's home (待办, issue 15 item 2) in headless Chromium against the real server
//! seeded with the demo district: the counts the phone computes from the documents it holds
//! (`shared::todo::officer_todo` on the device) are the counts the server's `GET /api/todo`
//! gives the same officer, each labelled by `TodoKind`; a count opens the list of its problems,
//! each a link to the problem; and the app icon's badge (`navigator.setAppBadge`) shows the
//! total.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};
use server::AppState;
use server::demo::DEMO_PASSWORD;
use server::sync::SyncService;
use shared::config::Config;
use shared::todo::TodoKind;
use tests::browser::{Browser, Chromedriver, Link, Served, require_site};
use tests::device::NativeDevice;

const WAIT: Duration = Duration::from_secs(40);

/// Each kind the home shows with the field of `GET /api/todo`'s counts that holds it (the
/// server has no refused records).
const KINDS: [(TodoKind, Option<&str>); 7] = [
    (TodoKind::Overdue, Some("overdue")),
    (TodoKind::DueSoon, Some("due_soon")),
    (
        TodoKind::AwaitingConfirmation,
        Some("awaiting_confirmation"),
    ),
    (TodoKind::Revisit, Some("revisits")),
    (TodoKind::LookBack, Some("look_backs")),
    (TodoKind::Supervision, Some("supervision")),
    (TodoKind::Refused, None),
];

/// Records the page's Badging API calls in `window.__badge` (headless Chromium's own may
/// refuse a page not installed as an app), before any of the app's scripts run.
const BADGE_SPY: &str = "Object.defineProperty(Navigator.prototype, 'setAppBadge', { \
     configurable: true, value: n => { window.__badge = n; return Promise.resolve(); } }); \
     Object.defineProperty(Navigator.prototype, 'clearAppBadge', { \
     configurable: true, value: () => { window.__badge = 0; return Promise.resolve(); } });";

/// The counts the home screen shows, by kind code (absent when a kind is not shown).
async fn shown_counts(browser: &Browser) -> anyhow::Result<Value> {
    browser
        .js(
            "const out = {}; \
             for (const li of document.querySelectorAll('.todo-counts > li[data-kind]')) { \
                 out[li.dataset.kind] = Number(li.querySelector('strong').textContent); } \
             return out;",
            vec![],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officers_home_shows_the_todo_counts_the_server_gives() -> anyhow::Result<()> {
    let site = require_site()?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(SyncService::open(
        &dir.path().join("lianxin.db"),
        Config::demo(),
    )?);
    tests::seed_demo(&service).await?;
    let served = Served::start(server::app(AppState::new(site, service))).await?;
    let base = format!("http://{}", served.addr);

    // The server's to-do for officer1.
    let phone = NativeDevice::logged_in(1, &base, "officer1", DEMO_PASSWORD).await?;
    let answer: Value = reqwest::Client::new()
        .get(format!("{base}/api/todo"))
        .bearer_auth(phone.token.as_deref().unwrap_or_default())
        .send()
        .await?
        .json()
        .await?;
    let expected: Vec<(TodoKind, u64)> = KINDS
        .iter()
        .map(|(kind, field)| {
            let n = field.map_or(Some(0), |f| answer["counts"][f].as_u64());
            n.map(|n| (*kind, n))
                .with_context(|| format!("GET /api/todo's {field:?}: {answer}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let total: u64 = expected.iter().map(|(_, n)| n).sum();
    ensure!(
        total > 0,
        "the demo officer has something to do on the server: {answer}"
    );

    let link = Link::start(served.addr).await?;
    let driver = Chromedriver::start().await?;
    let officer = Browser::launch(&driver).await?;
    officer
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": BADGE_SPY }),
        )
        .await?;
    officer
        .log_in(
            &link.url("/"),
            "officer1",
            DEMO_PASSWORD,
            ".todo-counts",
            WAIT,
        )
        .await?;
    officer.wait_synced("officer1 caught up", WAIT).await?;

    // Every kind shown with its label, and the number the server gives.
    let want: Value = expected
        .iter()
        .map(|(kind, n)| (kind.code().to_string(), json!(n)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let agree = officer
        .wait_until(
            "the home's counts to be the server's",
            &format!(
                "(() => {{ const want = {want}; return Object.keys(want).every(k => {{ \
                     const li = document.querySelector(`.todo-counts > li[data-kind=${{k}}]`); \
                     return li && Number(li.querySelector('strong').textContent) === want[k]; }}); }})()"
            ),
            WAIT,
        )
        .await;
    if let Err(e) = agree {
        let shown = shown_counts(&officer).await?;
        anyhow::bail!("the home shows {shown}, GET /api/todo gives {want}: {e}");
    }
    for (kind, _) in &expected {
        let text = officer
            .text(&format!(".todo-counts > li[data-kind={}]", kind.code()))
            .await?;
        ensure!(
            text.contains(kind.zh()),
            "{} is labelled {:?}: {text:?}",
            kind.code(),
            kind.zh()
        );
    }
    // Each count keeps its space before its label ("7 已超期"), in a <summary> (a flex box,
    // where the space text between them would vanish) as elsewhere.
    let cramped = officer
        .js(
            "const out = []; \
             for (const strong of document.querySelectorAll('.todo-counts > li[data-kind] strong')) { \
                 let label = strong.nextSibling; \
                 while (label && !label.textContent.trim()) label = label.nextSibling; \
                 const r = document.createRange(); r.selectNodeContents(label); \
                 const gap = r.getBoundingClientRect().left - strong.getBoundingClientRect().right; \
                 if (!(gap >= 2)) out.push(`${strong.closest('li').dataset.kind}: ${gap}`); } \
             return out;",
            vec![],
        )
        .await?;
    ensure!(
        cramped == json!([]),
        "counts without a space before their label: {cramped}"
    );
    officer.screenshot("todo-01-home").await?;

    // From the home to an enterprise's page and back: each screen keeps its own classes (yew
    // must not patch the home's <main> into the enterprise page's, or back).
    officer.click(".enterprise-card a", "").await?;
    officer
        .wait_until(
            "the enterprise's page with its classes",
            "location.hash.startsWith('#/e/') && !!document.querySelector('main.screen.enterprise a.button')",
            WAIT,
        )
        .await?;
    officer.js("history.back(); return null;", vec![]).await?;
    officer
        .wait_until(
            "the home with its classes",
            "!!document.querySelector('main.screen.enterprises .todo-counts')",
            WAIT,
        )
        .await?;

    // The badge on the app icon: the total.
    officer
        .wait_until(
            "the app icon's badge to show the total",
            &format!("window.__badge === {total}"),
            WAIT,
        )
        .await?;

    // A count opens the list of its problems, each a link to the problem.
    let (kind, n) = expected
        .iter()
        .find(|(kind, n)| *n > 0 && *kind != TodoKind::Refused)
        .context("a kind with problems")?;
    let item = format!(".todo-counts > li[data-kind={}]", kind.code());
    officer.click(&format!("{item} summary"), "").await?;
    officer
        .wait_until(
            "the list of the count's problems",
            &format!(
                "document.querySelectorAll('{item} details[open] li a[href^=\"#/p/\"]').length === {n}"
            ),
            WAIT,
        )
        .await?;
    officer.screenshot("todo-02-list").await?;
    officer.click(&format!("{item} li a"), "").await?;
    officer
        .wait_until(
            "the problem's page",
            "location.hash.startsWith('#/p/') && document.querySelector('main.screen h1')",
            WAIT,
        )
        .await?;
    officer.close().await;
    Ok(())
}
