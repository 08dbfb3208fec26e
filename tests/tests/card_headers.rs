//! The headers of the 连心卡's public responses: every answer under `/k/` — the page, the
//! printable card, its QR code, a form's answer, the "no longer valid" pages (404 and 410),
//! a refusal, the framework's own 405 — carries the card's strict policy (no script at all,
//! no framing, forms to this origin only), no referrer (the token is in the URL), no framing
//! and no caching; the app keeps its own policy.

use anyhow::{Context as _, ensure};
use server::card::CardLimits;
use server::http::card_page::CARD_CSP;
use server::http::client_addr::TrustedProxies;
use server::http::security::CSP;
use tests::card::{Answer, CardDemo};

fn has_card_headers(answer: &Answer) -> anyhow::Result<()> {
    let csp = answer.header("content-security-policy");
    ensure!(csp == CARD_CSP, "{} has CSP {csp:?}", answer.status);
    ensure!(
        csp.contains("default-src 'none'")
            && !csp.contains("script-src")
            && csp.contains("frame-ancestors 'none'")
            && csp.contains("form-action 'self'"),
        "the policy allows no script nor framing: {csp}"
    );
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        ensure!(
            answer.header(name) == value,
            "{} has {name}: {:?}",
            answer.status,
            answer.header(name)
        );
    }
    ensure!(
        answer
            .headers
            .get_all("content-security-policy")
            .iter()
            .count()
            == 1,
        "one policy, not the app's beside it"
    );
    Ok(())
}

#[tokio::test]
async fn every_card_answer_has_the_cards_own_strict_headers() -> anyhow::Result<()> {
    let limits = CardLimits {
        per_token: 12,
        ..CardLimits::default()
    };
    let demo = CardDemo::start(limits, TrustedProxies::default()).await?;
    let (link, problem, officer) = demo.answered_card().await?;

    let page = demo.get(&link, None).await?;
    ensure!(page.status == 200 && !page.body.contains("<script"));
    has_card_headers(&page)?;
    for path in ["/card", "/card?size=a4", "/qr.svg", "/no/such/page"] {
        let answer = demo.get(&format!("{link}{path}"), None).await?;
        ensure!(
            matches!(answer.status, 200 | 404),
            "{path}: {}",
            answer.status
        );
        has_card_headers(&answer).with_context(|| path.to_string())?;
    }
    let wrong_method = demo.get(&format!("{link}/problems"), None).await?;
    ensure!(wrong_method.status == 405, "{}", wrong_method.status);
    has_card_headers(&wrong_method)?;

    // A form's answer: the redirect back to the page, as sent.
    let posted = demo
        .post(&format!("{link}/p/{}/confirm", problem.id), &[])
        .await?;
    ensure!(
        posted.status == 303 && posted.header("location").contains("?done=confirm"),
        "{} {:?}",
        posted.status,
        posted.header("location")
    );
    has_card_headers(&posted)?;
    let refused = demo
        .post(&format!("{link}/p/{}/rate", problem.id), &[("rating", "9")])
        .await?;
    ensure!(refused.status == 400, "{}", refused.status);
    has_card_headers(&refused)?;

    let unknown = demo
        .get(&demo.server.url(&format!("/k/{}", "0".repeat(40))), None)
        .await?;
    ensure!(unknown.status == 404, "{}", unknown.status);
    has_card_headers(&unknown)?;
    let bearer = tests::raw::demo_token(&demo.server.url(""), &officer, 2).await?;
    let (enterprise, _, _) = tests::card::answered(&demo.district)?;
    let rotated = demo
        .http
        .post(
            demo.server
                .url(&format!("/api/enterprises/{enterprise}/card/rotate")),
        )
        .bearer_auth(bearer)
        .send()
        .await?;
    ensure!(rotated.status() == 200);
    let gone = demo.get(&link, None).await?;
    ensure!(gone.status == 410, "{}", gone.status);
    has_card_headers(&gone)?;

    // The token's limit: the refusal too, with when to come back.
    let mut limited = None;
    for _ in 0..20 {
        let new_link = demo.card_link(enterprise, &officer).await?;
        let answer = demo.get(&new_link, None).await?;
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.context("the card's limit is reached")?;
    has_card_headers(&limited)?;
    ensure!(
        limited
            .header("retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1)
    );

    // The app keeps its own policy.
    let app = demo.get(&demo.server.url("/healthz"), None).await?;
    ensure!(app.header("content-security-policy") == CSP);
    Ok(())
}
