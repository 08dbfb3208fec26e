//! Tests of the OpenAPI document: every registered route is documented, and the other way round.

use super::*;

/// Every `.route("PATH", METHOD(...))` in the sources of the routers nested under `/api`.
fn registered() -> Vec<(String, String)> {
    let sources = [
        include_str!("../sync/mod.rs"),
        include_str!("auth.rs"),
        include_str!("account.rs"),
        include_str!("dashboard.rs"),
        include_str!("problems.rs"),
        include_str!("directory.rs"),
        include_str!("config.rs"),
        include_str!("notifications.rs"),
        include_str!("card.rs"),
        include_str!("api.rs"),
        include_str!("openapi.rs"),
        include_str!("uploads.rs"),
        include_str!("blobs.rs"),
        include_str!("backups.rs"),
        include_str!("admin.rs"),
        include_str!("admin_directory.rs"),
        include_str!("admin_audit.rs"),
        include_str!("admin_enterprises.rs"),
        include_str!("admin_org_units.rs"),
        include_str!("admin_config.rs"),
        include_str!("visits.rs"),
        include_str!("history.rs"),
        include_str!("supervision.rs"),
    ];
    let mut out = Vec::new();
    for src in sources {
        for piece in src.split(".route(\"").skip(1) {
            let Some((path, rest)) = piece.split_once('"') else {
                continue;
            };
            let method = rest
                .trim_start_matches(',')
                .trim_start()
                .split('(')
                .next()
                .unwrap_or_default()
                .to_string();
            out.push((method, path.to_string()));
            // Methods chained on the same path: `get(list).post(issue)`.
            let line = rest.lines().next().unwrap_or_default();
            for chained in line.split(").").skip(1) {
                let method = chained.split('(').next().unwrap_or_default();
                out.push((method.to_string(), path.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_api_route_is_documented_and_every_documented_route_exists() {
    let routes = registered();
    // Sanity: the scan sees the routers (the string above is not a real route).
    assert!(routes.len() >= 15, "{routes:?}");
    for (method, path) in &routes {
        if path == "PATH" {
            continue;
        }
        assert!(
            all_routes().any(|r| r.method == method && r.path == path),
            "{method} {path} is registered but missing from ROUTES"
        );
    }
    let doc = document();
    for r in all_routes() {
        assert!(
            routes.iter().any(|(m, p)| m == r.method && p == r.path),
            "{} {} is documented but not registered",
            r.method,
            r.path
        );
        assert!(
            doc["paths"][format!("/api{}", r.path)][r.method].is_object(),
            "{} {} missing from the document",
            r.method,
            r.path
        );
    }
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn the_configuration_is_described_with_its_version_headers_and_304() {
    let doc = document();
    let config = &doc["paths"]["/api/config"]["get"]["responses"];
    assert!(config["304"].is_object());
    assert!(config["200"]["headers"]["ETag"].is_object());
    assert!(config["200"]["headers"]["X-Lianxin-Config"].is_object());
    let sync = &doc["paths"]["/api/sync"]["post"]["responses"]["200"]["headers"];
    assert!(sync["X-Lianxin-Config"].is_object());
}

#[test]
fn the_login_body_is_described_with_the_device_secret() {
    let doc = document();
    let body = &doc["paths"]["/api/login"]["post"]["requestBody"]["content"][JSON]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/LoginRequest");
    let login = &doc["components"]["schemas"]["LoginRequest"];
    assert_eq!(login["properties"]["device_secret"]["minLength"], 16);
    assert!(
        !login["required"]
            .as_array()
            .expect("a list")
            .contains(&json!("device_secret")),
        "optional: older apps send none"
    );
}

#[test]
fn the_password_change_body_is_described_with_the_policys_minimum() {
    let doc = document();
    let body =
        &doc["paths"]["/api/account/password"]["post"]["requestBody"]["content"][JSON]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/PasswordChange");
    let change = &doc["components"]["schemas"]["PasswordChange"];
    assert_eq!(
        change["properties"]["new_password"]["minLength"],
        crate::auth::policy::MIN_PASSWORD_CHARS
    );
}
