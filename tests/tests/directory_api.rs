//! The directory over HTTP, on the demo district: any logged-in person gets every org unit and
//! every person's display name, role and unit — never a login, a password hash, whether an
//! account is disabled, or an administrator account — and an unchanged directory costs a 304.

use tests::raw::demo_token as token;

#[tokio::test]
async fn an_officer_gets_names_of_units_and_people_without_logins_account_state_or_admins()
-> anyhow::Result<()> {
    let demo = tests::DemoServer::start().await?;
    let server = &demo.server;
    let (units, users) = demo
        .service
        .with_store(|s| anyhow::Ok((s.list_org_units()?, s.list_users()?)))
        .await
        .expect("the store thread ran")?;
    let http = reqwest::Client::new();
    let officer = token(&server.url(""), "officer1", 1).await?;

    let resp = http
        .get(server.url("/api/directory"))
        .bearer_auth(&officer)
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .expect("an ETag");
    let text = resp.text().await?;
    let body: serde_json::Value = serde_json::from_str(&text)?;

    // Every unit, with its kind and parent; the zone first.
    let got_units = body["units"].as_array().expect("units");
    assert_eq!(got_units.len(), units.len());
    assert_eq!(got_units[0]["kind"], "zone");
    assert!(got_units[0]["parent"].is_null());
    let departments = got_units.iter().filter(|u| u["kind"] == "department");
    assert_eq!(departments.count(), 4, "the demo's four departments");
    for u in &units {
        assert!(
            got_units
                .iter()
                .any(|g| g["id"] == u.unit.id.to_string() && g["name"] == u.unit.name.as_str()),
            "unit {} by name",
            u.code
        );
    }

    // Every person but administrators by name, role and unit; the system identity too; no
    // login, no hash, no disabled flag.
    let got_users = body["users"].as_array().expect("users");
    let admins: Vec<_> = users
        .iter()
        .filter(|u| u.user.role == shared::model::Role::Admin)
        .collect();
    assert!(!admins.is_empty(), "the demo has an administrator");
    assert_eq!(
        got_users.len(),
        users.len() - admins.len() + 1,
        "people but administrators, and the system"
    );
    for admin in admins {
        assert!(
            !got_users
                .iter()
                .any(|g| g["id"] == admin.user.id.to_string()),
            "administrator {} left out",
            admin.user.login
        );
    }
    let handler = users
        .iter()
        .find(|u| u.user.login == "handler1")
        .expect("handler1 in the demo");
    let entry = got_users
        .iter()
        .find(|g| g["id"] == handler.user.id.to_string())
        .expect("handler1 listed");
    assert_eq!(entry["name"], handler.user.name.as_str());
    assert_eq!(entry["role"], "department_handler");
    assert_eq!(entry["org_unit"], handler.user.org_unit.to_string());
    assert!(got_users.iter().any(|g| g["name"] == "系统"));
    for g in got_users {
        let keys: Vec<&String> = g.as_object().expect("a person").keys().collect();
        assert_eq!(
            keys,
            ["id", "name", "org_unit", "role"],
            "only display fields"
        );
    }
    for u in &users {
        assert!(!text.contains(&u.password_hash.0), "no password hash");
    }

    // Asked again with the tag: nothing changed, nothing sent.
    let resp = http
        .get(server.url("/api/directory"))
        .bearer_auth(&officer)
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().await?.is_empty());

    // Without a session: 401.
    let resp = http.get(server.url("/api/directory")).send().await?;
    assert_eq!(resp.status(), 401);
    Ok(())
}
