//! The list of issued bulletins over HTTP (`GET /api/bulletins`), on the demo district: newest
//! first with its zone headline, the same for every leader (bulletins cover the whole zone),
//! and refused to everyone else.

use shared::model::DAY_MS;
use tests::raw::demo_token as token;

#[tokio::test]
async fn leaders_list_issued_bulletins_newest_first_and_others_are_refused() -> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let seeded_at = demo.seeded_at;
    let base = server.url("");
    let http = reqwest::Client::new();
    let (from, to) = (seeded_at.0 - 90 * DAY_MS, seeded_at.0 + DAY_MS);
    let leader = token(&base, "leader1", 1).await?;

    // Nothing issued yet: an empty list, not an error.
    let resp = http
        .get(server.url("/api/bulletins"))
        .bearer_auth(&leader)
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await?,
        serde_json::json!([])
    );

    // Two bulletins issued one after the other.
    let mut issued = Vec::new();
    for title in ["十月通报", "第四季度通报"] {
        let resp = http
            .post(server.url("/api/bulletins"))
            .bearer_auth(&leader)
            .json(&serde_json::json!({"title": title, "from": from, "to": to}))
            .send()
            .await?;
        assert_eq!(resp.status(), 200);
        let b: serde_json::Value = resp.json().await?;
        issued.push(b);
    }

    let resp = http
        .get(server.url("/api/bulletins"))
        .bearer_auth(&leader)
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    let list: Vec<serde_json::Value> = resp.json().await?;
    let titles: Vec<&str> = list.iter().filter_map(|b| b["title"].as_str()).collect();
    assert_eq!(titles, ["第四季度通报", "十月通报"], "newest first");
    let newest = &list[0];
    assert_eq!(newest["id"], issued[1]["id"]);
    assert_eq!(newest["period_from"], from);
    assert_eq!(newest["period_to"], to);
    assert_eq!(newest["issued_at"], issued[1]["issued_at"]);
    assert_eq!(newest["issued_by"], issued[1]["issued_by"]);
    assert!(
        newest["issued_by_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "the issuer is named: {newest}"
    );
    assert_eq!(newest["problems"], issued[1]["zone"]["problems"]);
    assert_eq!(
        newest["resolution_rate"],
        issued[1]["zone"]["resolution_rate"]
    );
    assert_eq!(
        newest["satisfaction_rate"],
        issued[1]["zone"]["satisfaction_rate"]
    );
    assert!(
        newest.get("towns").is_none(),
        "the list carries headlines, not rankings"
    );

    // A town's leader sees the same zone-wide bulletins.
    let town_leader = token(&base, "leader2", 2).await?;
    let resp = http
        .get(server.url("/api/bulletins"))
        .bearer_auth(&town_leader)
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Vec<serde_json::Value>>().await?, list);

    // Officers and department handlers may not list them; without a token nobody may.
    for (login, n) in [("officer1", 3), ("handler1", 4)] {
        let t = token(&base, login, n).await?;
        let resp = http
            .get(server.url("/api/bulletins"))
            .bearer_auth(&t)
            .send()
            .await?;
        assert_eq!(resp.status(), 403, "{login}");
    }
    let resp = http.get(server.url("/api/bulletins")).send().await?;
    assert_eq!(resp.status(), 401);
    Ok(())
}

#[tokio::test]
async fn a_bulletin_title_longer_than_the_limit_is_refused_and_nothing_is_issued()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let (from, to) = (demo.seeded_at.0 - 30 * DAY_MS, demo.seeded_at.0);
    let http = reqwest::Client::new();
    let leader = token(&server.url(""), "leader1", 1).await?;
    let too_long = "通".repeat(server::api::TITLE_MAX_CHARS + 1);

    let resp = http
        .post(server.url("/api/bulletins"))
        .bearer_auth(&leader)
        .json(&serde_json::json!({"title": too_long, "from": from, "to": to}))
        .send()
        .await?;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await?;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most")),
        "{body}"
    );
    let list: serde_json::Value = http
        .get(server.url("/api/bulletins"))
        .bearer_auth(&leader)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list, serde_json::json!([]));
    Ok(())
}
