//! The administrator's org units over HTTP (issue 17 item 1), against a real server and SQLite
//! file: a unit is added, renamed and put under another parent, each audit-logged as the
//! administrator's; refused changes (a cycle, an unknown parent, a taken code, an empty name,
//! a name the parent's units have, the zone moved) say why and change nothing; a rename shows
//! at once in the leaders' dashboard breakdown and in the directory the phones read (its
//! `ETag` changes); nobody else may call these routes.

use serde_json::{Value, json};
use shared::model::Role;
use tests::admin::{ADMIN, AdminServer, token};
use tests::district::{self, PASSWORD};

/// A server with the zone, town `town-1` (the administrator's), leader `lead` at the zone and
/// officer `wang` in `town-1`.
async fn setup() -> anyhow::Result<AdminServer> {
    AdminServer::start(|s, town| {
        let zone = s
            .org_unit_by_code(district::ZONE)?
            .ok_or_else(|| anyhow::anyhow!("no zone"))?
            .unit
            .id;
        district::user(s, "lead", Role::Leader, zone)?;
        district::user(s, "wang", Role::Officer, town)?;
        Ok(())
    })
    .await
}

/// `method path` as `token` with an optional JSON body: the status and the JSON answer.
async fn call(
    s: &AdminServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let client = reqwest::Client::new();
    let url = s.server.url(path);
    let mut request = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    }
    .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

/// The units as `GET /api/admin/org-units` lists them: `(code, name, parent, depth)`.
async fn units(s: &AdminServer) -> anyhow::Result<Vec<(String, String, String, u64)>> {
    let (status, body) = call(s, &s.admin, "GET", "/api/admin/org-units", None).await?;
    anyhow::ensure!(status == 200, "{status} {body}");
    Ok(body["units"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|u| {
            (
                u["code"].as_str().unwrap_or_default().to_string(),
                u["name"].as_str().unwrap_or_default().to_string(),
                u["parent"].as_str().unwrap_or_default().to_string(),
                u["depth"].as_u64().unwrap_or(99),
            )
        })
        .collect())
}

/// The audit entries of `action`, newest first: `(actor, subject, detail)`.
async fn audited(s: &AdminServer, action: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let path = format!("/api/admin/audit?action={action}");
    let (_, page) = call(s, &s.admin, "GET", &path, None).await?;
    Ok(page["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (f("actor"), f("subject"), f("detail"))
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_renames_and_moves_units_each_in_the_audit_log() -> anyhow::Result<()>
{
    let s = setup().await?;

    let add = |code: &str, name: &str, kind: &str, parent: &str| json!({"code": code, "name": name, "kind": kind, "parent": parent});
    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/org-units",
        Some(add("xinqu", "新区", "town", "zone")),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "新区");
    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/org-units",
        Some(add("xinqu-office", "新区办事处", "department", "xinqu")),
    )
    .await?;
    assert_eq!(status, 200, "{body}");

    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/org-units/xinqu/rename",
        Some(json!({"name": "  新区街道 "})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "新区街道", "trimmed");
    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/org-units/xinqu-office/move",
        Some(json!({"parent": "town-1"})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");

    let listed = units(&s).await?;
    let find = |code: &str| listed.iter().find(|u| u.0 == code).cloned();
    assert_eq!(
        find("xinqu"),
        Some(("xinqu".into(), "新区街道".into(), "zone".into(), 1))
    );
    assert_eq!(
        find("xinqu-office"),
        Some((
            "xinqu-office".into(),
            "新区办事处".into(),
            "town-1".into(),
            2
        ))
    );
    assert_eq!(
        listed[0].0, "zone",
        "the tree starts at the zone: {listed:?}"
    );
    let under_town = listed.iter().position(|u| u.0 == "xinqu-office");
    let town = listed.iter().position(|u| u.0 == "town-1");
    assert_eq!(under_town, town.map(|t| t + 1), "listed under its parent");
    let (_, body) = call(&s, &s.admin, "GET", "/api/admin/org-units", None).await?;
    let town_1 = body["units"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["code"] == "town-1").cloned())
        .unwrap_or_default();
    assert_eq!(town_1["members"], 2, "the administrator and wang: {town_1}");

    assert_eq!(
        audited(&s, "org_unit_added").await?,
        [
            (
                ADMIN.into(),
                "xinqu-office".into(),
                "新区办事处 department under xinqu".into()
            ),
            (ADMIN.into(), "xinqu".into(), "新区 town under zone".into()),
        ]
    );
    assert_eq!(
        audited(&s, "org_unit_renamed").await?,
        [(ADMIN.into(), "xinqu".into(), "新区 → 新区街道".into())]
    );
    assert_eq!(
        audited(&s, "org_unit_moved").await?,
        [(ADMIN.into(), "xinqu-office".into(), "xinqu → town-1".into())]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_changes_say_why_and_change_nothing() -> anyhow::Result<()> {
    let s = setup().await?;
    for (code, name, kind, parent) in [
        ("a", "甲镇", "town", "zone"),
        ("a-1", "甲镇一组", "town", "a"),
        ("a-1-x", "甲镇一组办", "department", "a-1"),
    ] {
        let body = json!({"code": code, "name": name, "kind": kind, "parent": parent});
        let (status, answer) =
            call(&s, &s.admin, "POST", "/api/admin/org-units", Some(body)).await?;
        assert_eq!(status, 200, "{answer}");
    }
    let before = units(&s).await?;
    let entries = |s: &AdminServer| {
        let service = s.service.clone();
        async move {
            service
                .with_store(|st| st.audit_log(0, 10_000).map(|l| l.len()))
                .await
                .ok_or_else(|| anyhow::anyhow!("the store thread stopped"))?
                .map_err(anyhow::Error::from)
        }
    };
    let logged = entries(&s).await?;

    let refusals: [(&str, Value, u16, &str); 10] = [
        (
            "/api/admin/org-units/a/move",
            json!({"parent": "a-1-x"}),
            400,
            "cycle",
        ),
        (
            "/api/admin/org-units/a/move",
            json!({"parent": "a"}),
            400,
            "cycle",
        ),
        (
            "/api/admin/org-units/a-1/move",
            json!({"parent": "nowhere"}),
            400,
            "no parent org unit \"nowhere\"",
        ),
        (
            "/api/admin/org-units/zone/move",
            json!({"parent": "a"}),
            400,
            "the zone has no parent",
        ),
        (
            "/api/admin/org-units/nowhere/rename",
            json!({"name": "无"}),
            404,
            "nowhere",
        ),
        (
            "/api/admin/org-units/a/rename",
            json!({"name": "   "}),
            400,
            "the name is empty",
        ),
        (
            "/api/admin/org-units/a/rename",
            json!({"name": "town-1"}),
            400,
            "already named",
        ),
        (
            "/api/admin/org-units",
            json!({"code": "a", "name": "乙镇", "kind": "town", "parent": "zone"}),
            409,
            "exists already",
        ),
        (
            "/api/admin/org-units",
            json!({"code": "b", "name": "乙镇", "kind": "town", "parent": "nowhere"}),
            400,
            "no parent org unit",
        ),
        (
            "/api/admin/org-units",
            json!({"code": "two words", "name": "乙镇", "kind": "town", "parent": "zone"}),
            400,
            "one word",
        ),
    ];
    for (path, body, status, says) in refusals {
        let (got, answer) = call(&s, &s.admin, "POST", path, Some(body.clone())).await?;
        assert_eq!(got, status, "{path} {body}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{path} {body}: {message}");
    }

    assert_eq!(units(&s).await?, before, "nothing changed");
    assert_eq!(entries(&s).await?, logged, "nothing was audit-logged");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_shows_at_once_in_the_breakdown_and_the_directory() -> anyhow::Result<()> {
    let s = setup().await?;
    let leader = token(&s.server, "lead", PASSWORD, 91).await?;
    let client = reqwest::Client::new();
    let breakdown = "/api/dashboard/breakdown?from=0&to=4102444800000&by=town";
    let town_label = |body: &Value| {
        body["rows"]
            .as_array()
            .and_then(|rows| rows.first())
            .and_then(|r| r["label"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (status, before) = call(&s, &leader, "GET", breakdown, None).await?;
    assert_eq!(status, 200, "{before}");
    assert_eq!(town_label(&before), "town-1");
    let directory = client
        .get(s.server.url("/api/directory"))
        .bearer_auth(&leader)
        .send()
        .await?;
    let etag = directory
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(!etag.is_empty());

    let (status, body) = call(
        &s,
        &s.admin,
        "POST",
        "/api/admin/org-units/town-1/rename",
        Some(json!({"name": "玉泉街道"})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");

    // Asked again at once (within the dashboards' ten seconds of sharing an answer).
    let (_, after) = call(&s, &leader, "GET", breakdown, None).await?;
    assert_eq!(town_label(&after), "玉泉街道", "{after}");
    let directory = client
        .get(s.server.url("/api/directory"))
        .bearer_auth(&leader)
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(directory.status(), 200, "the directory changed: no 304");
    let body: Value = directory.json().await?;
    let named = body["units"]
        .as_array()
        .is_some_and(|u| u.iter().any(|u| u["name"] == "玉泉街道"));
    assert!(named, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_administrator_lists_or_changes_org_units() -> anyhow::Result<()> {
    let s = setup().await?;
    let leader = token(&s.server, "lead", PASSWORD, 92).await?;
    let officer = token(&s.server, "wang", PASSWORD, 93).await?;
    for who in [&leader, &officer] {
        for (method, path, body) in [
            ("GET", "/api/admin/org-units", None),
            (
                "POST",
                "/api/admin/org-units",
                Some(json!({"code": "c", "name": "丙镇", "kind": "town", "parent": "zone"})),
            ),
            (
                "POST",
                "/api/admin/org-units/town-1/rename",
                Some(json!({"name": "丙镇"})),
            ),
            (
                "POST",
                "/api/admin/org-units/town-1/move",
                Some(json!({"parent": "zone"})),
            ),
        ] {
            let (status, answer) = call(&s, who, method, path, body).await?;
            assert_eq!(status, 403, "{method} {path}: {answer}");
        }
    }
    let listed = units(&s).await?;
    assert!(listed.iter().all(|u| u.0 != "c" && u.1 != "丙镇"));
    Ok(())
}
