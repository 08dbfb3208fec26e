//! Problem lists, timelines, freshness and the OpenAPI document over HTTP, on the seeded demo
//! district: a town's leader sees only their town, a department handler only their inbox, an
//! enterprise outside the caller's scope answers like a missing one, and expectations come
//! from the demo's documents, not from the server's tables.

use std::collections::BTreeSet;

use server::AppState;
use shared::config::Config;
use shared::derive::derive;
use shared::doc::{DocKind, EnterpriseDoc, ProblemDoc};
use shared::model::{OrgUnitKind, Problem, Role};
use tests::TestServer;
use tests::device::wall_clock as now;
use tests::raw::demo_token as token;

struct Demo {
    server: TestServer,
    district: server::demo::DemoDistrict,
    problems: Vec<Problem>,
    http: reqwest::Client,
}

impl Demo {
    async fn start() -> anyhow::Result<(Demo, tempfile::TempDir)> {
        let dir = tempfile::tempdir()?;
        let service = tests::sync_service(dir.path())?;
        let seeded_at = tests::seed_demo(&service).await?;
        // The same district, regenerated: the documents the expectations come from.
        let district = server::demo::generate(seeded_at, &Config::default())?;
        let problems = district
            .documents
            .iter()
            .filter(|(id, _)| id.kind() == DocKind::Problem)
            .map(|(_, doc)| Ok(ProblemDoc::from_record(doc.clone())?.read()?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let server =
            TestServer::start(AppState::new(dir.path().join("no-site"), service.clone())).await?;
        let demo = Demo {
            server,
            district,
            problems,
            http: reqwest::Client::new(),
        };
        Ok((demo, dir))
    }

    async fn get(&self, token: &str, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        let resp = self
            .http
            .get(self.server.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    /// Every row of a list, page by page.
    async fn all_rows(&self, token: &str, query: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut rows = Vec::new();
        loop {
            let (status, page) = self
                .get(
                    token,
                    &format!("/api/problems?{query}&limit=25&offset={}", rows.len()),
                )
                .await?;
            anyhow::ensure!(status == 200, "{status} {page}");
            let got = page["rows"].as_array().cloned().unwrap_or_default();
            if got.is_empty() {
                anyhow::ensure!(page["total"].as_u64() == Some(rows.len() as u64), "{page}");
                return Ok(rows);
            }
            rows.extend(got);
        }
    }

    fn town_of_enterprises(&self, town: shared::model::OrgUnitId) -> BTreeSet<String> {
        self.district
            .documents
            .iter()
            .filter(|(id, _)| id.kind() == DocKind::Enterprise)
            .filter_map(|(_, doc)| EnterpriseDoc::from_record(doc.clone()).ok()?.read().ok())
            .filter(|e| e.town == town)
            .map(|e| e.id.to_string())
            .collect()
    }
}

fn ids(rows: &[serde_json::Value], skip_monitoring: bool) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| !skip_monitoring || r["source"] != "monitoring")
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn leaders_list_their_scope_and_handlers_their_inbox() -> anyhow::Result<()> {
    let (demo, _dir) = Demo::start().await?;
    let base = demo.server.url("");
    let config = Config::default();

    // The zone leader: every problem; red flags as `derive` says at (about) now.
    let zone = token(&base, "leader1", 1).await?;
    let rows = demo.all_rows(&zone, "sort=created&order=desc").await?;
    let documented: BTreeSet<String> = demo.problems.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(ids(&rows, true), documented);
    let red = demo.all_rows(&zone, "flag=red").await?;
    let want_red: BTreeSet<String> = demo
        .problems
        .iter()
        .filter(|p| derive(p, &config, now()).flag == shared::model::Flag::Red)
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(ids(&red, true), want_red);
    let overdue = demo
        .all_rows(&zone, "overdue=true&sort=days_overdue&order=desc")
        .await?;
    let want_overdue: BTreeSet<String> = demo
        .problems
        .iter()
        .filter(|p| derive(p, &config, now()).overdue)
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(ids(&overdue, true), want_overdue);
    assert!(!want_overdue.is_empty());
    let days: Vec<i64> = overdue
        .iter()
        .filter_map(|r| r["days_overdue"].as_i64())
        .collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");

    // A town's leader: only that town's problems, even when asking for another town.
    let leader2 = demo
        .district
        .users
        .iter()
        .find(|u| u.user.login == "leader2")
        .expect("leader2");
    let town = leader2.user.org_unit;
    let enterprises = demo.town_of_enterprises(town);
    let own_assigned: BTreeSet<String> = demo
        .district
        .assignments
        .iter()
        .filter(|a| a.user == leader2.user.id)
        .map(|a| a.enterprise.to_string())
        .collect();
    let town_token = token(&base, "leader2", 2).await?;
    let rows = demo.all_rows(&town_token, "sort=deadline").await?;
    for r in &rows {
        let e = r["enterprise"].as_str().unwrap_or_default();
        assert!(
            enterprises.contains(e) || own_assigned.contains(e),
            "leader2 sees {r}"
        );
    }
    let want: BTreeSet<String> = demo
        .problems
        .iter()
        .filter(|p| enterprises.contains(&p.enterprise.to_string()))
        .map(|p| p.id.to_string())
        .collect();
    assert!(ids(&rows, true).is_superset(&want) && !want.is_empty());
    let other = demo
        .district
        .org_units
        .iter()
        .find(|u| u.kind == OrgUnitKind::Town && u.id != town)
        .expect("another town");
    let (status, page) = demo
        .get(&town_token, &format!("/api/problems?town={}", other.id))
        .await?;
    assert_eq!(status, 200);
    for r in page["rows"].as_array().cloned().unwrap_or_default() {
        assert!(own_assigned.contains(r["enterprise"].as_str().unwrap_or_default()));
    }

    // A department handler: exactly the problems handed to the department.
    let handler = demo
        .district
        .users
        .iter()
        .find(|u| u.user.role == Role::DepartmentHandler)
        .expect("a handler");
    let dept = handler.user.org_unit;
    let handler_token = token(&base, &handler.user.login, 3).await?;
    let inbox = demo.all_rows(&handler_token, "").await?;
    let want: BTreeSet<String> = demo
        .problems
        .iter()
        .filter(|p| p.handling_units.contains(&dept))
        .map(|p| p.id.to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&inbox, true), want);
    for r in &inbox {
        let units = r["handling_units"].as_array().cloned().unwrap_or_default();
        assert!(
            units.iter().any(|u| u["id"] == dept.to_string()),
            "not handed to the department: {r}"
        );
    }

    // Officers have no list; a page is at most 200 rows; unknown codes are a clear 400.
    let officer = token(&base, "officer1", 4).await?;
    assert_eq!(demo.get(&officer, "/api/problems").await?.0, 403);
    assert_eq!(demo.get(&zone, "/api/problems?limit=201").await?.0, 400);
    assert_eq!(demo.get(&zone, "/api/problems?flag=purple").await?.0, 400);
    Ok(())
}

#[tokio::test]
async fn timelines_freshness_and_the_api_document() -> anyhow::Result<()> {
    let (demo, _dir) = Demo::start().await?;
    let base = demo.server.url("");
    let zone = token(&base, "leader1", 1).await?;
    let town_token = token(&base, "leader2", 2).await?;
    let leader2 = demo
        .district
        .users
        .iter()
        .find(|u| u.user.login == "leader2")
        .expect("leader2");
    let town = leader2.user.org_unit;
    let inside = demo.town_of_enterprises(town);
    let own_assigned: BTreeSet<String> = demo
        .district
        .assignments
        .iter()
        .filter(|a| a.user == leader2.user.id)
        .map(|a| a.enterprise.to_string())
        .collect();
    let p = demo
        .problems
        .iter()
        .filter(|p| inside.contains(&p.enterprise.to_string()))
        .max_by_key(|p| p.events.len())
        .expect("a problem in the town");

    // The whole story, in time order.
    let (status, t) = demo
        .get(
            &town_token,
            &format!("/api/enterprises/{}/timeline", p.enterprise),
        )
        .await?;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["profile"]["id"], p.enterprise.to_string());
    let entries = t["entries"].as_array().cloned().unwrap_or_default();
    let at: Vec<i64> = entries.iter().filter_map(|e| e["at"].as_i64()).collect();
    assert_eq!(at.len(), entries.len());
    assert!(at.windows(2).all(|w| w[0] <= w[1]));
    let events = entries
        .iter()
        .filter(|e| e["kind"] == "event" && e["problem"] == p.id.to_string())
        .count();
    assert_eq!(events, p.events.len());
    assert!(entries.iter().any(|e| e["kind"] == "visit"));

    // Outside the scope: exactly the answer for an enterprise that does not exist.
    let outside = demo
        .problems
        .iter()
        .map(|p| p.enterprise.to_string())
        .find(|e| !inside.contains(e) && !own_assigned.contains(e))
        .expect("an enterprise of another town");
    let (status, hidden) = demo
        .get(&town_token, &format!("/api/enterprises/{outside}/timeline"))
        .await?;
    assert_eq!(status, 404);
    let unknown = shared::model::EnterpriseId::from_random_bytes([9; 16]);
    let (status, missing) = demo
        .get(&town_token, &format!("/api/enterprises/{unknown}/timeline"))
        .await?;
    assert_eq!(status, 404);
    assert_eq!(hidden["error"], missing["error"]);
    assert_eq!(
        demo.get(&zone, &format!("/api/enterprises/{outside}/timeline"))
            .await?
            .0,
        200
    );

    // Freshness: every officer of the caller's unit, and only those.
    let officers = |unit: Option<shared::model::OrgUnitId>| -> BTreeSet<String> {
        demo.district
            .users
            .iter()
            .filter(|u| u.user.role == Role::Officer && unit.is_none_or(|t| u.user.org_unit == t))
            .map(|u| u.user.id.to_string())
            .collect()
    };
    let user_ids = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["user"].as_str().map(str::to_string))
            .collect()
    };
    let (status, all) = demo.get(&zone, "/api/dashboard/freshness").await?;
    assert_eq!(status, 200, "{all}");
    assert_eq!(user_ids(&all), officers(None));
    let (status, mine) = demo.get(&town_token, "/api/dashboard/freshness").await?;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(user_ids(&mine), officers(Some(town)));
    let officer = token(&base, "officer1", 4).await?;
    assert_eq!(demo.get(&officer, "/api/dashboard/freshness").await?.0, 403);

    // The API document lists what the server answers.
    let doc: serde_json::Value = demo
        .http
        .get(demo.server.url("/api/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/problems",
        "/api/enterprises/{id}/timeline",
        "/api/dashboard/freshness",
        "/api/dashboard/kpis",
        "/api/sync",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    Ok(())
}
