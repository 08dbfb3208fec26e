//! Leaders' dashboard and bulletins over HTTP, on the demo district: KPIs match the store's,
//! only leaders and supervisors see them, a town's leader sees only their town, and an issued
//! bulletin exports to .xlsx and CSV that a spreadsheet reader opens.

use calamine::{Reader, Xlsx};
use server::AppState;
use shared::config::Config;
use shared::model::DAY_MS;
use tests::TestServer;
use tests::device::wall_clock as now;
use tests::raw::demo_token as token;

#[tokio::test]
async fn leaders_see_kpis_and_export_an_issued_bulletin() -> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let seeded_at = demo.seeded_at;
    let base = server.url("");
    let http = reqwest::Client::new();
    let (from, to) = (seeded_at.0 - 90 * DAY_MS, seeded_at.0 + DAY_MS);

    // The zone leader sees the zone's KPIs, equal to the store's own computation.
    let leader = token(&base, "leader1", 1).await?;
    let resp = http
        .get(server.url(&format!("/api/dashboard/kpis?from={from}&to={to}")))
        .bearer_auth(&leader)
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    let kpis: serde_json::Value = resp.json().await?;
    assert!(kpis["problems"].as_u64().is_some_and(|n| n > 50), "{kpis}");
    assert_eq!(kpis["assigned_enterprises"], 40);

    // Officers may not; a town's leader may not look at another town.
    let officer = token(&base, "officer1", 2).await?;
    let resp = http
        .get(server.url(&format!("/api/dashboard/kpis?from={from}&to={to}")))
        .bearer_auth(&officer)
        .send()
        .await?;
    assert_eq!(resp.status(), 403);
    let town_leader = token(&base, "leader2", 3).await?;
    let resp = http
        .get(server.url(&format!("/api/dashboard/kpis?from={from}&to={to}")))
        .bearer_auth(&town_leader)
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    let town: serde_json::Value = resp.json().await?;
    assert!(town["problems"].as_u64() < kpis["problems"].as_u64());
    let resp = http
        .get(server.url(&format!("/api/dashboard/kpis?from={to}&to={from}")))
        .bearer_auth(&leader)
        .send()
        .await?;
    assert_eq!(resp.status(), 422, "an inverted period is a clear 422");

    // Issue a bulletin and export it.
    let resp = http
        .post(server.url("/api/bulletins"))
        .bearer_auth(&leader)
        .json(&serde_json::json!({"title": "第四季度通报", "from": from, "to": to}))
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    let bulletin: serde_json::Value = resp.json().await?;
    let id = bulletin["id"].as_i64().unwrap_or_default();
    assert_eq!(bulletin["towns"].as_array().map(Vec::len), Some(3));
    let bytes = http
        .get(server.url(&format!("/api/bulletins/{id}/xlsx")))
        .bearer_auth(&leader)
        .send()
        .await?
        .bytes()
        .await?;
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec()))?;
    assert_eq!(book.worksheet_range("镇街排名")?.rows().count(), 4);
    assert_eq!(book.worksheet_range("部门排名")?.rows().count(), 5);
    let csv = http
        .get(server.url(&format!("/api/bulletins/{id}/csv")))
        .bearer_auth(&leader)
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(csv.lines().count(), 8);
    let resp = http
        .post(server.url("/api/bulletins"))
        .bearer_auth(&officer)
        .json(&serde_json::json!({"title": "x", "from": from, "to": to}))
        .send()
        .await?;
    assert_eq!(resp.status(), 403);
    Ok(())
}

#[tokio::test]
async fn chart_breakdowns_add_up_to_the_kpis_and_keep_a_town_leader_in_their_town()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let seeded_at = demo.seeded_at;
    let base = server.url("");
    let http = reqwest::Client::new();
    let (from, to) = (seeded_at.0 - 90 * DAY_MS, seeded_at.0 + DAY_MS);
    let get = |token: String, path: String| {
        let request = http.get(server.url(&path)).bearer_auth(token);
        async move { request.send().await }
    };
    let leader = token(&base, "leader1", 1).await?;
    let period = format!("from={from}&to={to}");

    // The category bars of the zone add up to the zone's KPI tiles.
    let kpis: serde_json::Value = get(leader.clone(), format!("/api/dashboard/kpis?{period}"))
        .await?
        .json()
        .await?;
    let resp = get(
        leader.clone(),
        format!("/api/dashboard/breakdown?{period}&by=category"),
    )
    .await?;
    assert_eq!(resp.status(), 200);
    let by_category: serde_json::Value = resp.json().await?;
    assert_eq!(by_category["unit"]["kind"], "zone");
    let rows = by_category["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), Config::default().categories.len());
    for field in ["problems", "resolved", "overdue"] {
        let sum: u64 = rows.iter().filter_map(|r| r[field].as_u64()).sum();
        assert_eq!(Some(sum), kpis[field].as_u64(), "{field}");
    }

    // The lists the dashboard links its numbers to hold exactly what the numbers count.
    let counted: Vec<&str> = shared::model::ProblemState::ALL
        .iter()
        .filter(|s| {
            !matches!(
                s,
                shared::model::ProblemState::Withdrawn
                    | shared::model::ProblemState::MergedDuplicate
            )
        })
        .map(|s| s.code())
        .collect();
    let created = format!("created_from={from}&created_to={to}");
    let listed = |query: String| {
        let request = http
            .get(server.url(&format!("/api/problems?{query}&limit=1")))
            .bearer_auth(leader.clone());
        async move {
            let page: serde_json::Value = request.send().await?.json().await?;
            anyhow::Ok(page["total"].as_u64())
        }
    };
    let state = format!("state={}", counted.join(","));
    assert_eq!(
        listed(format!("{state}&{created}")).await?,
        kpis["problems"].as_u64()
    );
    assert_eq!(
        listed(format!("state=signed_off,look_back_passed&{created}")).await?,
        kpis["resolved"].as_u64()
    );
    assert_eq!(
        listed(format!("overdue=true&{created}")).await?,
        kpis["overdue"].as_u64()
    );
    let bar = &rows[0];
    let category = bar["key"].as_str().unwrap_or_default();
    assert_eq!(
        listed(format!("category={category}&{state}&{created}")).await?,
        bar["problems"].as_u64()
    );

    // The town bars name the zone's three towns; the town leader sees only their own.
    let by_town: serde_json::Value = get(
        leader.clone(),
        format!("/api/dashboard/breakdown?{period}&by=town"),
    )
    .await?
    .json()
    .await?;
    let towns = by_town["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(towns.len(), 3);
    assert!(
        towns
            .iter()
            .all(|t| t["label"].as_str().is_some_and(|l| !l.is_empty()))
    );
    let town_leader = token(&base, "leader2", 2).await?;
    let own: serde_json::Value = get(
        town_leader.clone(),
        format!("/api/dashboard/breakdown?{period}&by=town"),
    )
    .await?
    .json()
    .await?;
    assert_eq!(own["unit"]["kind"], "town");
    assert_eq!(own["rows"].as_array().map(Vec::len), Some(1));
    let other = towns
        .iter()
        .filter_map(|t| t["key"].as_str())
        .find(|k| Some(*k) != own["unit"]["id"].as_str())
        .unwrap_or_default()
        .to_string();
    let resp = get(
        town_leader,
        format!("/api/dashboard/breakdown?{period}&by=town&unit={other}"),
    )
    .await?;
    assert_eq!(resp.status(), 403, "another town's chart is refused");

    // Officers may not; an unknown grouping is a clear 400.
    let officer = token(&base, "officer1", 3).await?;
    let resp = get(
        officer,
        format!("/api/dashboard/breakdown?{period}&by=tier"),
    )
    .await?;
    assert_eq!(resp.status(), 403);
    let resp = get(
        leader,
        format!("/api/dashboard/breakdown?{period}&by=weather"),
    )
    .await?;
    assert_eq!(resp.status(), 400);
    Ok(())
}

/// A new problem, raised now by `officer` in the first enterprise on their device, synced.
async fn raise_problem(officer: &mut tests::device::NativeDevice, tag: u64) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use shared::derive::initial_deadline;
    use shared::doc::{DocKind, NewProblem, ProblemDoc};
    use shared::model::{EnterpriseId, ProblemClass, ProblemId, ProblemSource, Tier};
    use shared::sync::protocol::DocId;

    officer.sync().await?;
    let enterprise = officer
        .client
        .replica()
        .ids()
        .find(|d| d.kind() == DocKind::Enterprise)
        .map(|d| EnterpriseId::parse(d.root_id()))
        .context("the officer has an enterprise")??;
    let config = Config::default();
    let at = now();
    let id = ProblemId::from_random_bytes(tests::device::id_bytes(90, tag));
    let doc = ProblemDoc::create(
        &NewProblem {
            id,
            enterprise,
            visit: None,
            source: ProblemSource::Visit,
            category: config.categories[0].code.clone(),
            class: ProblemClass::A,
            tier: Tier::Department,
            owner: officer.actor.user,
            leader: None,
            deadline: initial_deadline(&config, Tier::Department, at),
            description: "招工难，缺技术工人".into(),
            expectation: String::new(),
        },
        &config,
        &officer.actor,
        officer.actor_id.clone(),
        at,
    )?;
    officer.client.replica_mut().insert_new(
        DocId::new(DocKind::Problem, &id.to_string()),
        doc.into_record(),
    );
    officer.sync().await
}

#[tokio::test]
async fn a_dashboard_read_right_after_an_officers_sync_counts_their_new_problem()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let seeded_at = demo.seeded_at;
    let base = server.url("");
    let http = reqwest::Client::new();
    let (from, to) = (seeded_at.0 - 90 * DAY_MS, seeded_at.0 + DAY_MS);
    let kpis = server.url(&format!("/api/dashboard/kpis?from={from}&to={to}"));
    let categories = server.url(&format!(
        "/api/dashboard/breakdown?from={from}&to={to}&by=category"
    ));
    let read = |token: String, url: String| {
        let request = http.get(url.clone()).bearer_auth(token);
        async move {
            let resp = request.send().await?;
            anyhow::ensure!(resp.status() == 200, "{url}: {}", resp.status());
            Ok::<_, anyhow::Error>(resp.json::<serde_json::Value>().await?)
        }
    };
    let count = |figures: &serde_json::Value, at: &str| {
        figures
            .pointer(at)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| anyhow::anyhow!("no count at {at}: {figures}"))
    };

    // The leader reads the figures twice (the second read is the shared answer).
    let leader = token(&base, "leader1", 1).await?;
    let first = read(leader.clone(), kpis.clone()).await?;
    assert_eq!(read(leader.clone(), kpis.clone()).await?, first);
    let bars = read(leader.clone(), categories.clone()).await?;

    // An officer raises a problem now; the very next read counts it.
    let mut officer =
        tests::device::NativeDevice::logged_in(7, &base, "officer1", "lianxin-demo").await?;
    raise_problem(&mut officer, 1).await?;
    let after = read(leader.clone(), kpis).await?;
    assert_eq!(
        count(&after, "/problems")?,
        count(&first, "/problems")? + 1,
        "{after}"
    );
    let bars_after = read(leader, categories).await?;
    assert_eq!(
        count(&bars_after, "/rows/0/problems")?,
        count(&bars, "/rows/0/problems")? + 1,
        "{bars_after}"
    );
    Ok(())
}

/// The freshness row of the officer named `name`, read by `leader`.
async fn freshness_of(base: &str, leader: &str, name: &str) -> anyhow::Result<serde_json::Value> {
    let rows: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/dashboard/freshness"))
        .bearer_auth(leader)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    rows.as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == name))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no freshness row for {name}: {rows}"))
}

/// A zone leader `boss` and officers `wang` (enterprise 1) and `li` (enterprise 2) in a running
/// server's store; returns the leader's access token.
async fn leader_and_officers(
    service: &std::sync::Arc<server::sync::SyncService>,
    base: &str,
) -> anyhow::Result<String> {
    use tests::district;
    district::officer(service, "wang", [1]).await?;
    district::officer(service, "li", [2]).await?;
    service
        .with_store(|s| -> anyhow::Result<()> {
            let zone =
                district::org_unit(s, district::ZONE, shared::model::OrgUnitKind::Zone, None)?;
            district::user(s, "boss", shared::model::Role::Leader, zone)?;
            Ok(())
        })
        .await
        .expect("the store thread ran")?;
    let boss = tests::device::NativeDevice::logged_in(9, base, "boss", district::PASSWORD).await?;
    Ok(boss.token.clone().unwrap_or_default())
}

#[tokio::test]
async fn freshness_shows_the_changes_still_on_an_officers_device_until_a_full_sync()
-> anyhow::Result<()> {
    use shared::sync::client::{Effect, Input};
    use tests::district::{PASSWORD, enterprise};

    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    let boss = leader_and_officers(&service, &base).await?;
    let mut wang = tests::device::NativeDevice::logged_in(1, &base, "wang", PASSWORD).await?;
    const VISITS: usize = 80;
    for n in 0..VISITS {
        wang.record_visit(
            enterprise(1),
            &format!("第{n}次走访：企业反映用电、用工情况"),
        )?;
    }

    // One chunk goes up — the first, at the starting chunk size — and its answer is lost.
    let effects = wang.client.handle(Input::SyncNow, now(), 1);
    let Some(Effect::Send { body, pushed }) = effects.into_iter().next() else {
        anyhow::bail!("sync now sends a request");
    };
    anyhow::ensure!(
        pushed > 0 && pushed < VISITS,
        "{pushed} visits in the first chunk"
    );
    let answer = reqwest::Client::new()
        .post(server.url("/api/sync"))
        .bearer_auth(wang.token.as_deref().unwrap_or_default())
        .body(body)
        .send()
        .await?;
    assert_eq!(answer.status(), 200);
    wang.connection_lost();
    let row = freshness_of(&base, &boss, "wang").await?;
    assert_eq!(
        row["unsent"].as_u64(),
        Some((VISITS - pushed) as u64),
        "{row}"
    );
    assert_eq!(row["unsent_unknown"], 0, "{row}");
    assert_eq!(
        row["device_detail"][0]["unsent"].as_u64(),
        Some((VISITS - pushed) as u64),
        "{row}"
    );

    // A full sync empties the outbox, and the last request says so.
    wang.sync().await?;
    let row = freshness_of(&base, &boss, "wang").await?;
    assert_eq!(row["unsent"].as_u64(), Some(0), "{row}");
    assert!(row["last_sync"].as_i64().is_some(), "{row}");
    Ok(())
}

#[tokio::test]
async fn a_phone_on_the_previous_app_still_syncs_and_its_changes_on_device_show_unknown()
-> anyhow::Result<()> {
    use shared::model::Timestamp;
    use shared::sync::protocol::{self, SyncRequestV1, SyncResponse};
    use tests::district::PASSWORD;

    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    let boss = leader_and_officers(&service, &base).await?;
    let li = tests::device::NativeDevice::logged_in(2, &base, "li", PASSWORD).await?;
    let post = |body: Vec<u8>| {
        reqwest::Client::new()
            .post(server.url("/api/sync"))
            .bearer_auth(li.token.clone().unwrap_or_default())
            .body(body)
            .send()
    };
    let v1 = SyncRequestV1 {
        cursor: 0,
        ack: 0,
        device_time: now(),
        push: vec![],
        max_response_bytes: 65_536,
    };

    // Version 1 is served, and answered in version 1 so the old app can read it.
    let answer = post(protocol::encode_as(&v1, 1)).await?;
    assert_eq!(answer.status(), 200);
    let bytes = answer.bytes().await?;
    assert_eq!(bytes.get(2), Some(&1), "answered in version 1");
    let response: SyncResponse = protocol::decode_response(&bytes)?;
    assert!(response.server_time >= Timestamp(0));
    let row = freshness_of(&base, &boss, "li").await?;
    assert!(row["unsent"].is_null(), "{row}");
    assert_eq!(row["unsent_unknown"], 1, "{row}");
    assert!(row["device_detail"][0]["unsent"].is_null(), "{row}");

    // A version this server does not speak is still refused with a 4xx before decoding.
    let answer = post(protocol::encode_as(&v1, 4)).await?;
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await?;
    assert_eq!(body["error"], "protocol_version", "{body}");
    Ok(())
}

#[tokio::test]
async fn an_officers_sync_with_nothing_to_push_shows_as_their_last_sync() -> anyhow::Result<()> {
    use tests::district::PASSWORD;

    let dir = tempfile::tempdir()?;
    let service = tests::sync_service(dir.path())?;
    let server =
        TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
    let base = server.url("");
    let boss = leader_and_officers(&service, &base).await?;
    let mut li = tests::device::NativeDevice::logged_in(2, &base, "li", PASSWORD).await?;
    let before = now();

    // Li's phone has nothing to push: the sync commits nothing, yet it is Li's last sync.
    li.sync().await?;
    let row = freshness_of(&base, &boss, "li").await?;
    assert!(
        row["last_sync"].as_i64().is_some_and(|t| t >= before.0),
        "{row}"
    );
    assert!(row["clock_skew_ms"].as_i64().is_some(), "{row}");
    assert_eq!(
        row["device_detail"][0]["last_sync"], row["last_sync"],
        "{row}"
    );
    Ok(())
}
