//! Every dashboard number links to the list behind it (issue #6): on the demo district, for a
//! period and a unit, the problems `/api/problems` lists under each KPI's filters — paged
//! through to the end — are exactly as many as `/api/dashboard/kpis` counts. A filter whose SQL
//! drifts from the KPI's makes these counts differ.

use std::collections::BTreeSet;

use shared::model::{DAY_MS, ProblemState};
use tests::TestServer;
use tests::raw::demo_token as token;

/// The states the `problems` KPI counts: all but withdrawn and merged duplicates.
fn counted_states() -> String {
    ProblemState::ALL
        .iter()
        .filter(|s| !matches!(s, ProblemState::Withdrawn | ProblemState::MergedDuplicate))
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads every page of `/api/problems?<query>` and returns how many distinct problems it
/// listed, checking the pages agree with the reported total and never repeat a row.
async fn count_all(
    http: &reqwest::Client,
    server: &TestServer,
    token: &str,
    query: String,
) -> anyhow::Result<u64> {
    let mut seen = BTreeSet::new();
    let mut offset = 0u64;
    loop {
        let resp = http
            .get(server.url(&format!(
                "/api/problems?{query}&limit=37&offset={offset}&sort=created"
            )))
            .bearer_auth(token)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "{query}: {}", resp.status());
        let page: serde_json::Value = resp.json().await?;
        let rows = page["rows"].as_array().cloned().unwrap_or_default();
        for row in &rows {
            let id = row["id"].as_str().unwrap_or_default().to_string();
            anyhow::ensure!(seen.insert(id.clone()), "{query}: {id} listed twice");
        }
        offset += rows.len() as u64;
        let total = page["total"].as_u64().unwrap_or_default();
        if rows.is_empty() || offset >= total {
            anyhow::ensure!(
                seen.len() as u64 == total,
                "{query}: pages hold {} rows, total says {total}",
                seen.len()
            );
            return Ok(total);
        }
    }
}

#[tokio::test]
async fn each_kpi_list_holds_exactly_the_problems_its_number_counts() -> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let seeded_at = demo.seeded_at;
    let base = server.url("");
    let http = reqwest::Client::new();
    let counted = counted_states();

    // The zone leader (whole zone) and a town's leader (their town only), over a quarter and
    // over a month.
    let zone_leader = token(&base, "leader1", 1).await?;
    let town_leader = token(&base, "leader2", 2).await?;
    for (who, bearer) in [("zone", &zone_leader), ("town", &town_leader)] {
        for days in [90, 30] {
            let (from, to) = (seeded_at.0 - days * DAY_MS, seeded_at.0 + DAY_MS);
            let resp = http
                .get(server.url(&format!("/api/dashboard/kpis?from={from}&to={to}")))
                .bearer_auth(bearer)
                .send()
                .await?;
            assert_eq!(resp.status(), 200);
            let kpis: serde_json::Value = resp.json().await?;
            let raised = format!("state={counted}&created_from={from}&created_to={to}");
            let looked_back = format!("event_from={from}&event_to={to}");
            let lists = [
                ("problems", raised.clone()),
                (
                    "resolved",
                    format!(
                        "state=signed_off,look_back_passed&created_from={from}&created_to={to}"
                    ),
                ),
                ("answered", format!("{raised}&answered=true")),
                ("on_time", format!("{raised}&on_time=true")),
                ("rated", format!("{raised}&rated=true")),
                ("satisfied", format!("{raised}&satisfied=true")),
                (
                    "look_backs_passed",
                    format!("look_back=passed&{looked_back}"),
                ),
                (
                    "look_backs_reopened",
                    format!("look_back=reopened&{looked_back}"),
                ),
            ];
            for (kpi, query) in lists {
                let listed = count_all(&http, server, bearer, query.clone()).await?;
                let number = kpis[kpi].as_u64().unwrap_or(u64::MAX);
                assert_eq!(
                    listed, number,
                    "{who}, {days} days: the {kpi} list ({query}) against {kpis}"
                );
            }
            // Not vacuous: over the quarter the zone has some of everything.
            if who == "zone" && days == 90 {
                for kpi in [
                    "answered",
                    "on_time",
                    "rated",
                    "satisfied",
                    "resolved",
                    "look_backs_passed",
                    "look_backs_reopened",
                ] {
                    assert!(kpis[kpi].as_u64() > Some(0), "the demo has {kpi}: {kpis}");
                }
                assert!(
                    kpis["on_time"].as_u64() < kpis["answered"].as_u64(),
                    "some answers came late: {kpis}"
                );
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_kpi_filters_split_their_sets_and_every_resolved_problem_was_signed_off()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let base = server.url("");
    let http = reqwest::Client::new();
    let leader = token(&base, "leader1", 1).await?;
    let count = |q: &str| count_all(&http, server, &leader, q.to_string());

    let all = count("state=").await?;
    for flag in ["answered", "rated", "signed_off"] {
        let yes = count(&format!("{flag}=true")).await?;
        let no = count(&format!("{flag}=false")).await?;
        assert_eq!(yes + no, all, "{flag}: true and false split every problem");
        assert!(yes > 0 && no > 0, "{flag}: {yes} / {no}");
    }
    // On time and late split the answered; satisfied and not split the rated.
    let answered = count("answered=true").await?;
    assert_eq!(
        count("on_time=true").await? + count("on_time=false").await?,
        answered
    );
    let rated = count("rated=true").await?;
    assert_eq!(
        count("satisfied=true").await? + count("satisfied=false").await?,
        rated
    );
    // A resolved problem was signed off; a signed-off one may since have been reopened.
    let resolved = count("state=signed_off,look_back_passed").await?;
    assert_eq!(
        count("state=signed_off,look_back_passed&signed_off=true").await?,
        resolved
    );
    assert!(count("signed_off=true").await? >= resolved);
    // Both look-back results together: any problem with either.
    let passed = count("look_back=passed").await?;
    let reopened = count("look_back=reopened").await?;
    let either = count("look_back=passed,reopened").await?;
    assert!(either >= passed.max(reopened) && either <= passed + reopened);
    Ok(())
}

#[tokio::test]
async fn a_bad_kpi_filter_value_is_a_clear_400_and_a_contradiction_a_422() -> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let base = server.url("");
    let http = reqwest::Client::new();
    let leader = token(&base, "leader1", 1).await?;
    // A value wrong on its own is a 400; values that contradict each other are a 422.
    for (query, status, says) in [
        ("answered=yes", 400, "answered must be true or false"),
        ("on_time=1", 400, "on_time must be true or false"),
        ("satisfied=", 400, "satisfied must be true or false"),
        ("look_back=failed", 400, "unknown look_back"),
        ("event_from=0", 422, "they need look_back"),
        (
            "look_back=passed&event_from=9&event_to=1",
            422,
            "is after event_to",
        ),
    ] {
        let resp = http
            .get(server.url(&format!("/api/problems?{query}")))
            .bearer_auth(&leader)
            .send()
            .await?;
        assert_eq!(resp.status(), status, "{query}");
        let body = resp.text().await?;
        assert!(body.contains(says), "{query}: {body}");
    }
    Ok(())
}
