//! Satisfaction by channel (issue 13, item 6), on the demo district over HTTP: 满意率 on the
//! dashboard says how many ratings came from the enterprise itself, from the officer with the
//! enterprise's signature and from the officer alone, and an issued bulletin carries the same
//! split (in its JSON and its exports).

use shared::config::Config;
use shared::doc::ProblemDoc;
use shared::model::{DAY_MS, Rating, RatingChannel, Timestamp};
use shared::sync::protocol::DocId;
use tests::device::wall_clock as now;
use tests::raw::{demo_token as token, stored};

fn channel(kpis: &serde_json::Value, name: &str) -> (u64, u64) {
    let c = &kpis["rated_by_channel"][name];
    (
        c["rated"].as_u64().unwrap_or(u64::MAX),
        c["satisfied"].as_u64().unwrap_or(u64::MAX),
    )
}

#[tokio::test]
async fn the_satisfaction_rate_is_split_by_channel_on_the_dashboard_and_in_a_bulletin()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let base = server.url("");
    let http = reqwest::Client::new();
    let leader = token(&base, "leader1", 1).await?;
    let (from, to) = (demo.seeded_at.0 - 91 * DAY_MS, demo.seeded_at.0 + DAY_MS);

    // The enterprise rates one of its rated problems itself: the server records it on its
    // behalf (as the card's page does), through the enterprise's channel.
    let page: serde_json::Value = http
        .get(server.url(&format!(
            "/api/problems?rated=true&created_from={from}&created_to={to}&limit=1"
        )))
        .bearer_auth(&leader)
        .send()
        .await?
        .json()
        .await?;
    let problem = page["rows"][0]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("a rated problem: {page}"))?
        .to_string();
    let id = DocId::new(shared::doc::DocKind::Problem, &problem);
    demo.service
        .with_store(move |st| -> anyhow::Result<()> {
            let (record, _) = stored(st, &id, server::writer::system_actor_id())?;
            let mut doc = ProblemDoc::from_record(record)?;
            let at = now();
            doc.edit(
                &Config::default(),
                &server::writer::system_actor(),
                at,
                |p| {
                    p.set_rating(
                        Rating::VerySatisfied,
                        "问题解决了",
                        RatingChannel::Enterprise,
                    )
                },
            )?;
            server::writer::commit_documents(
                st,
                &mut [(id, doc.into_record())],
                &Config::default(),
                Timestamp(at.0 + 1),
            )?;
            Ok(())
        })
        .await
        .expect("the store thread ran")?;

    let kpis: serde_json::Value = http
        .get(server.url(&format!("/api/dashboard/kpis?from={from}&to={to}")))
        .bearer_auth(&leader)
        .send()
        .await?
        .json()
        .await?;
    let (enterprise, signed, officer) = (
        channel(&kpis, "enterprise"),
        channel(&kpis, "officer_signed"),
        channel(&kpis, "officer"),
    );
    assert_eq!(enterprise, (1, 1), "{kpis}");
    assert!(signed.0 > 0 && officer.0 > 0, "the demo has both: {kpis}");
    assert_eq!(
        enterprise.0 + signed.0 + officer.0,
        kpis["rated"].as_u64().unwrap_or_default(),
        "every rating is in one channel: {kpis}"
    );
    assert_eq!(
        enterprise.1 + signed.1 + officer.1,
        kpis["satisfied"].as_u64().unwrap_or_default(),
        "{kpis}"
    );

    // A bulletin of the same period carries the same split, in its JSON and its CSV.
    let bulletin: serde_json::Value = http
        .post(server.url("/api/bulletins"))
        .bearer_auth(&leader)
        .json(&serde_json::json!({"title": "满意率来源", "from": from, "to": to}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        bulletin["zone"]["rated_by_channel"], kpis["rated_by_channel"],
        "{bulletin}"
    );
    let id = bulletin["id"].as_i64().unwrap_or_default();
    let csv = http
        .get(server.url(&format!("/api/bulletins/{id}/csv")))
        .bearer_auth(&leader)
        .send()
        .await?
        .text()
        .await?;
    let heading = csv.lines().next().unwrap_or_default();
    assert!(
        heading.contains("企业自评（满意/评价）") && heading.contains("干部代录（满意/评价）"),
        "{heading}"
    );
    Ok(())
}
