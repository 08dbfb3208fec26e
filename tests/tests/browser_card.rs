//! The 连心卡 end to end, in two headless Chromium contexts against the real server on the demo
//! district: the officer opens the enterprise's card from the enterprise screen, and its
//! printed form (print media) carries a QR code that a decoder reads back to the card's link;
//! the enterprise opens that link at 360×780 with no login, sees its problem and the response,
//! on a page that is small (no script, no other download); it rates the problem 2, and after a
//! sync the officer's phone shows the rating and its channel; the officer replaces the card, and
//! the old link shows the "no longer valid" page with the hotline.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::json;
use server::demo::DEMO_PASSWORD;
use shared::config::Config;
use shared::model::{EnterpriseId, Problem};
use tests::DemoServer;
use tests::browser::{Browser, Chromedriver, require_site};
use tests::card::{answered, read_qr_codes};

const WAIT: Duration = Duration::from_secs(40);

/// Largest the enterprise's page may be, everything it loads included.
const PAGE_BUDGET: f64 = 30.0 * 1024.0;

/// Opens the enterprise's card from the officer's enterprise screen (the card opens in a new
/// tab), switches to that tab and returns the link the card prints.
async fn officer_opens_the_card(
    officer: &Browser,
    enterprise: EnterpriseId,
    button: &str,
) -> anyhow::Result<String> {
    let before = officer.client.windows().await?;
    officer.route(&format!("#/e/{enterprise}")).await?;
    officer
        .wait_until(
            "the card buttons",
            "document.querySelector('.card-actions')",
            WAIT,
        )
        .await?;
    // Replacing asks first; the officer agrees.
    officer.js("window.confirm = () => true;", vec![]).await?;
    officer.click(button, "").await?;
    let deadline = std::time::Instant::now() + WAIT;
    let tab = loop {
        let now = officer.client.windows().await?;
        if let Some(tab) = now.into_iter().find(|w| !before.contains(w)) {
            break tab;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the card did not open"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    officer.client.switch_to_window(tab).await?;
    officer
        .wait_until(
            "the printable card",
            "document.querySelector('.qr svg')",
            WAIT,
        )
        .await?;
    officer.text(".link").await
}

/// Emulates print media and reads the QR code(s) of a screenshot of the card.
async fn printed_qr_codes(officer: &Browser) -> anyhow::Result<Vec<String>> {
    officer
        .cdp("Emulation.setEmulatedMedia", json!({ "media": "print" }))
        .await?;
    let hidden = officer
        .js(
            "return getComputedStyle(document.querySelector('.noprint')).display;",
            vec![],
        )
        .await?;
    ensure!(
        hidden == json!("none"),
        "the size links do not print: {hidden}"
    );
    let shot = officer
        .cdp(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": 360, "height": 780, "scale": 2 }
            }),
        )
        .await?;
    let png = tests::browser::base64_decode(shot["data"].as_str().context("screenshot data")?)?;
    let dir = tests::browser::site_dir().with_file_name("screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("card-print.png"), &png)?;
    read_qr_codes(&png)
}

/// The enterprise's page: the problem and its response shown, and how many bytes it took.
async fn enterprise_sees_the_problem(
    enterprise: &Browser,
    link: &str,
    problem: &Problem,
) -> anyhow::Result<f64> {
    enterprise.goto(link).await?;
    let article = format!("#p-{}", problem.id);
    enterprise
        .wait_until(
            "the problem",
            &format!("document.querySelector({})", json!(article)),
            WAIT,
        )
        .await?;
    let first_line: String = problem
        .response
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(20)
        .collect();
    enterprise.wait_text(&article, &first_line, WAIT).await?;
    let sizes = enterprise
        .js(
            "const nav = performance.getEntriesByType('navigation')[0]; \
             const res = performance.getEntriesByType('resource'); \
             return { page: nav.transferSize, body: nav.encodedBodySize, \
                      others: res.reduce((n, r) => n + r.transferSize, 0), count: res.length, \
                      scripts: document.scripts.length };",
            vec![],
        )
        .await?;
    ensure!(
        sizes["scripts"] == json!(0),
        "the page runs no script: {sizes}"
    );
    ensure!(
        sizes["count"] == json!(0),
        "the page loads nothing else: {sizes}"
    );
    let total =
        sizes["page"].as_f64().unwrap_or(f64::MAX) + sizes["others"].as_f64().unwrap_or(0.0);
    ensure!(
        total > 0.0 && total < PAGE_BUDGET,
        "the page took {total} bytes: {sizes}"
    );
    Ok(total)
}

/// The enterprise rates the problem 2 (不满意) with a comment on its page.
async fn enterprise_rates_two(enterprise: &Browser, problem: &Problem) -> anyhow::Result<()> {
    let form = format!("#p-{} form[action$='/rate']", problem.id);
    enterprise
        .js(
            "const f = document.querySelector(arguments[0]); \
             f.closest('details').open = true; \
             f.querySelector('input[name=rating][value=\"2\"]').click(); \
             f.querySelector('textarea[name=comment]').value = arguments[1]; \
             f.querySelector('button').click();",
            vec![json!(form), json!("答复不解决实际问题")],
        )
        .await?;
    enterprise
        .wait_until("the thanks", "document.querySelector('#done')", WAIT)
        .await?;
    enterprise
        .wait_text(&format!("#p-{}", problem.id), "不满意", WAIT)
        .await
}

/// After a sync, the officer's problem screen shows the enterprise's rating and its channel.
/// (Issue 13 item 3, once merged: the problem is also reopened with a revisit task; that
/// assertion belongs after this one.)
async fn officer_sees_the_rating(officer: &Browser, problem: &Problem) -> anyhow::Result<()> {
    officer.route(&format!("#/p/{}", problem.id)).await?;
    officer
        .wait_synced("the officer's phone to sync the rating", WAIT)
        .await?;
    officer.wait_text(".rating-now", "不满意", WAIT).await?;
    officer.wait_text(".rating-now", "企业自评", WAIT).await?;
    // A bad rating acts: the problem is reopened for a revisit, on the owner's home screen.
    officer
        .wait_text(".notice.reopened", "企业差评", WAIT)
        .await?;
    officer.route("#/").await?;
    officer
        .wait_until(
            "the revisit task on the officer's home screen",
            &format!(
                "document.querySelector('.follow-up[data-kind=revisit][data-problem=\"{}\"]') !== null",
                problem.id
            ),
            WAIT,
        )
        .await
}

#[tokio::test]
async fn the_enterprise_rates_on_its_card_and_a_replaced_card_stops_working() -> anyhow::Result<()>
{
    let site = require_site()?;
    let demo = DemoServer::with_site(site).await?;
    let district = server::demo::generate(demo.seeded_at, &Config::default())?;
    let (enterprise_id, problem, login) = answered(&district)?;
    let driver = Chromedriver::start().await?;

    let officer = Browser::launch(&driver).await?;
    officer
        .log_in(
            &demo.server.url("/"),
            &login,
            DEMO_PASSWORD,
            ".enterprise-card",
            WAIT,
        )
        .await?;
    let app_tab = officer.client.window().await?;
    let link = officer_opens_the_card(&officer, enterprise_id, ".open-card").await?;
    ensure!(link.starts_with(&demo.server.url("/k/")), "{link}");
    let codes = printed_qr_codes(&officer).await?;
    ensure!(
        codes == vec![link.clone()],
        "the printed QR code reads {codes:?}, not {link}"
    );
    officer.client.close_window().await?;
    officer.client.switch_to_window(app_tab.clone()).await?;

    // A second context: the enterprise's own phone, never logged in.
    let enterprise = Browser::launch(&driver).await?;
    let bytes = enterprise_sees_the_problem(&enterprise, &link, &problem).await?;
    eprintln!("the enterprise's page took {bytes} bytes");
    enterprise_rates_two(&enterprise, &problem).await?;

    officer_sees_the_rating(&officer, &problem).await?;

    let new_link = officer_opens_the_card(&officer, enterprise_id, ".replace-card").await?;
    ensure!(
        new_link != link && new_link.starts_with(&demo.server.url("/k/")),
        "{new_link}"
    );
    enterprise.goto(&link).await?;
    enterprise.wait_text("h1", "此连心卡已失效", WAIT).await?;
    enterprise
        .wait_text("body", &Config::demo().hotline, WAIT)
        .await?;
    let status = enterprise
        .js(
            "return performance.getEntriesByType('navigation')[0].responseStatus;",
            vec![],
        )
        .await?;
    ensure!(status == 410, "the old link answers 410: {status}");

    enterprise.close().await;
    officer.close().await;
    Ok(())
}
