//! The client's address behind the reverse proxy the README documents: with the proxy listed
//! in `trusted_proxies`, two clients behind it are limited separately, on the 连心卡's page
//! and at login; without it, a forged `X-Forwarded-For` changes nothing (the peer's address
//! is the client's, so spoofing cannot evade a limit).

use anyhow::ensure;
use server::card::CardLimits;
use server::demo::DEMO_PASSWORD;
use server::http::client_addr::TrustedProxies;
use tests::card::CardDemo;

/// Few requests per address, many per card: the address's limit is what the test sees.
fn limits() -> CardLimits {
    CardLimits {
        per_token: 1000,
        per_address: 3,
        window_ms: 60_000,
        max_keys: 100,
    }
}

/// The test's proxy: the loopback address every test connection comes from.
fn loopback_proxy() -> anyhow::Result<TrustedProxies> {
    Ok(TrustedProxies::new(vec!["127.0.0.1".parse()?]))
}

const ALICE: &str = "203.0.113.10";
const BOB: &str = "203.0.113.20";

fn made_up(n: u32) -> String {
    format!("/k/{n:040x}")
}

#[tokio::test]
async fn two_clients_behind_a_trusted_proxy_are_limited_separately() -> anyhow::Result<()> {
    let demo = CardDemo::start(limits(), loopback_proxy()?).await?;
    let (link, _, officer) = demo.answered_card().await?;

    // Alice spends her address's requests on made-up links.
    for n in 0..3 {
        let page = demo.get(&demo.server.url(&made_up(n)), Some(ALICE)).await?;
        ensure!(page.status == 404, "request {n}: {}", page.status);
    }
    let limited = demo.get(&demo.server.url(&made_up(9)), Some(ALICE)).await?;
    ensure!(
        limited.status == 429,
        "Alice is limited: {}",
        limited.status
    );
    // A client writing its own header through the proxy: the proxy appends what it saw
    // (Alice), and that is what counts.
    let forged = demo
        .get(&link, Some(&format!("198.51.100.1, {ALICE}")))
        .await?;
    ensure!(
        forged.status == 429,
        "a forged hop on the left is not believed"
    );
    let page = demo.get(&link, Some(BOB)).await?;
    ensure!(page.status == 200, "Bob is not: {}", page.status);

    // The login throttle: five failures by Alice block Alice, not Bob.
    for n in 0..5 {
        let status = demo
            .login(&format!("guess{n}"), "guess", 1, Some(ALICE))
            .await?;
        ensure!(status == 401, "guess {n}: {status}");
    }
    ensure!(demo.login(&officer, DEMO_PASSWORD, 1, Some(ALICE)).await? == 429);
    ensure!(demo.login(&officer, DEMO_PASSWORD, 2, Some(BOB)).await? == 200);
    Ok(())
}

#[tokio::test]
async fn an_untrusted_peers_forged_header_changes_nothing() -> anyhow::Result<()> {
    // No trusted proxy (the default): the loopback peer is the client, whatever it claims.
    let demo = CardDemo::start(limits(), TrustedProxies::default()).await?;
    let (link, _, officer) = demo.answered_card().await?;

    for n in 0..3 {
        let claimed = format!("198.51.100.{n}");
        let page = demo
            .get(&demo.server.url(&made_up(n)), Some(&claimed))
            .await?;
        ensure!(page.status == 404, "request {n}: {}", page.status);
    }
    let page = demo.get(&link, Some(BOB)).await?;
    ensure!(
        page.status == 429,
        "a new forged address is the same client: {}",
        page.status
    );

    for n in 0..5 {
        let claimed = format!("198.51.100.{}", 10 + n);
        let status = demo
            .login(&format!("guess{n}"), "guess", 1, Some(&claimed))
            .await?;
        ensure!(status == 401, "guess {n}: {status}");
    }
    ensure!(
        demo.login(&officer, DEMO_PASSWORD, 2, Some(BOB)).await? == 429,
        "five failures from this peer limit it whatever it claims"
    );
    Ok(())
}
