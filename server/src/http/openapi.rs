//! `GET /api/openapi.json`: an OpenAPI 3.1 description of every `/api` route, for the IT
//! department's integrations. [`all_routes`] (this file's [`ROUTES`], the account's in
//! `openapi_account`, the administrator's in `openapi_admin` and on-site evidence's in
//! `openapi_evidence`) is the one list of routes:
//! the document is built from it, and a test checks it against every `.route(...)` the API
//! routers register.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::openapi_schemas;
use crate::AppState;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document_handler))
}

/// One query or path parameter.
pub struct Param {
    /// Name.
    pub name: &'static str,
    /// `query` or `path`.
    pub location: &'static str,
    /// What it holds: a JSON schema type (`string`, `integer`, `boolean`) or one of the
    /// kinds [`openapi_schemas::parameter`] knows (`uuid`, `ms`, `states`, `flag`, …).
    pub kind: &'static str,
    /// Required.
    pub required: bool,
    /// What it means.
    pub description: &'static str,
}

/// One API route.
pub struct Route {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path under `/api`, axum style (`{id}`), which is also OpenAPI style.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Who may call it.
    pub auth: &'static str,
    /// Parameters.
    pub params: &'static [Param],
    /// Request body media type, if any.
    pub body: Option<&'static str>,
    /// Response media type.
    pub response: &'static str,
}

pub(super) const fn q(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "query",
        kind,
        required: false,
        description,
    }
}

const fn path_id(description: &'static str) -> Param {
    path_param("id", "string", description)
}

const fn path_param(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "path",
        kind,
        required: true,
        description,
    }
}

const fn required(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "query",
        kind,
        required: true,
        description,
    }
}

const FROM: Param = required(
    "from",
    "ms",
    "first instant of the period, ms since the epoch (before `to`)",
);
const TO: Param = required(
    "to",
    "ms",
    "first instant after the period, ms since the epoch",
);
const UNIT: Param = q(
    "unit",
    "uuid",
    "org unit id (town or department); the caller's own unit when absent",
);

const PERIOD: [Param; 3] = [FROM, TO, UNIT];

const BREAKDOWN: [Param; 5] = [
    FROM,
    TO,
    UNIT,
    required(
        "by",
        "breakdown",
        "`category`, `tier`, `town`, `department` or `month`",
    ),
    q(
        "tz",
        "tz",
        "minutes east of UTC that months are counted in; 480 (China) when absent",
    ),
];

const BULLETIN: [Param; 1] = [path_param("id", "bulletin", "bulletin number")];

pub(super) const JSON: &str = "application/json";
pub(super) const BEARER: &str = "bearer access token";
const LEADERS: &str = "bearer access token; leaders and supervisors";

/// Every route under `/api`.
pub const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/sync",
        summary: "One sync round: push changes, pull what the device lacks (binary wire format); \
                  every answer's `X-Lianxin-Config` header is the district configuration's \
                  version (see GET /api/config); a request may declare in the same header the \
                  version the device holds, so values that version allowed are accepted too",
        auth: BEARER,
        params: &[],
        body: Some("application/octet-stream"),
        response: "application/octet-stream",
    },
    Route {
        method: "get",
        path: "/events",
        summary: "Server-sent events: `changed` whenever the change feed moves; closes when the \
                  session ends (logout, revocation, expiry); 429 past the per-user stream limit",
        auth: BEARER,
        params: &[],
        body: None,
        response: "text/event-stream",
    },
    Route {
        method: "post",
        path: "/login",
        summary: "Log in: {login, password, device_id, device_name, device_secret} → access and \
                  refresh tokens",
        auth: "none",
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/refresh",
        summary: "Exchange a refresh token {refresh_token} for a new access token and a new \
                  refresh token (rotation: the one presented is used up). A used-up token \
                  presented again revokes every token of its device (401 \
                  refresh_token_reused), except a lost answer's retry: the first time it is \
                  presented again, within 2 minutes of its use, while the pair issued for it \
                  was never used (refresh token not presented, access token not used), that \
                  pair is revoked and a new one answered. 429 with Retry-After past the \
                  per-device or per-address limit",
        auth: "refresh token in the body",
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "get",
        path: "/notifications",
        summary: "The caller's in-app reminders (新交办, 明日到期, 已超期, 督办, 企业差评, 回头看到期) \
                  not yet seen, earliest due first, at most 100: {notifications: [{id, kind, \
                  kind_zh, problem, text, text_en, due_at}]} (text in Chinese, text_en in \
                  English or null for older reminders)",
        auth: BEARER,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/notifications/seen",
        summary: "Marks the caller's in-app reminders seen: {ids: [...]} (at most 500; others' \
                  ids are ignored) → {seen: n}",
        auth: BEARER,
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "get",
        path: "/me",
        summary: "The caller: user, role, org unit, device",
        auth: BEARER,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/logout",
        summary: "Revoke the caller's tokens on this device",
        auth: BEARER,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/dashboard/kpis",
        summary: "Campaign KPIs of a period and org unit",
        auth: LEADERS,
        params: &PERIOD,
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/dashboard/freshness",
        summary: "Per officer of the unit: last sync, last contact, clock skew, and `unsent` — \
                  documents still on their devices unsent as each last reported in a sync \
                  request, summed (null when no device reports it: apps older than sync \
                  protocol 2), with `unsent_unknown` devices not reporting; `device_detail` \
                  gives each device's {device, name, last_sync, last_seen, clock_skew_ms, \
                  unsent}",
        auth: LEADERS,
        params: &[q(
            "unit",
            "uuid",
            "org unit id; the caller's own unit when absent",
        )],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/dashboard/breakdown",
        summary: "The period's problems (as the `problems` KPI counts them) by category, tier, \
                  town, department or month: {unit, by, rows: [{key, label, label_en, problems, \
                  resolved, overdue, from, to}]}",
        auth: LEADERS,
        params: &BREAKDOWN,
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/bulletins",
        summary: "Issued bulletins, newest first: number, title, period, issued when and by \
                  whom, the zone's problems, resolution and satisfaction rates",
        auth: LEADERS,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/bulletins",
        summary: "Issue a bulletin {title, from, to}: a KPI snapshot with rankings, immutable",
        auth: "bearer access token; leaders",
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "get",
        path: "/bulletins/{id}",
        summary: "An issued bulletin",
        auth: LEADERS,
        params: &BULLETIN,
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/bulletins/{id}/xlsx",
        summary: "An issued bulletin as an Excel workbook",
        auth: LEADERS,
        params: &BULLETIN,
        body: None,
        response: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    Route {
        method: "get",
        path: "/bulletins/{id}/csv",
        summary: "An issued bulletin as CSV",
        auth: LEADERS,
        params: &BULLETIN,
        body: None,
        response: "text/csv",
    },
    Route {
        method: "get",
        path: "/problems",
        summary: "Problems in the caller's scope (a handler's: their department's inbox), \
                  filtered, sorted and paginated, with flags at the time of the request",
        auth: "bearer access token; leaders, supervisors and department handlers",
        params: &[
            q("state", "states", "comma-separated state codes"),
            q("flag", "flag", "red, green or black"),
            q("town", "uuid", "town org unit id"),
            q("department", "uuid", "handling department's org unit id"),
            q("category", "string", "category code"),
            q("tier", "tier", "effective tier code"),
            q("overdue", "boolean", "overdue (true) or not (false)"),
            q("source", "source", "source code"),
            q("created_from", "ms", "created at or after, ms"),
            q("created_to", "ms", "created before, ms"),
            q(
                "answered",
                "boolean",
                "answered: responded or resolved on site (true) or not yet (false)",
            ),
            q(
                "on_time",
                "boolean",
                "first answered by the deadline (true) or after it (false)",
            ),
            q(
                "rated",
                "boolean",
                "rated by the enterprise (true) or not (false)",
            ),
            q(
                "satisfied",
                "boolean",
                "rated 3 or better (true) or below 3 (false)",
            ),
            q(
                "signed_off",
                "boolean",
                "signed off at least once (true) or never (false)",
            ),
            q(
                "look_back",
                "look_back",
                "had a look-back that passed and/or reopened it: passed, reopened or both, \
                 comma-separated",
            ),
            q(
                "event_from",
                "ms",
                "with look_back: the look-back happened at or after, ms",
            ),
            q(
                "event_to",
                "ms",
                "with look_back: the look-back happened before, ms",
            ),
            q(
                "sort",
                "sort",
                "deadline (default), created or days_overdue",
            ),
            q("order", "order", "asc (default) or desc"),
            q("limit", "limit", "rows per page, 1..=200, default 50"),
            q("offset", "count", "rows skipped, default 0"),
        ],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/enterprises/{id}/timeline",
        summary: "An enterprise's profile, visits and problems with their events, progress, \
                  supervision and ratings in time order; 404 outside the caller's scope",
        auth: BEARER,
        params: &[path_param("id", "uuid", "enterprise id")],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/enterprises/{id}/card",
        summary: "The enterprise's 连心卡: {link, print_url, qr_url, created_at, hotline}; the \
                  link (a capability URL to the enterprise's public page) is made on first \
                  use. For the enterprise's officer or a leader (the rights table), within \
                  their write scope; 404 outside it",
        auth: BEARER,
        params: &[path_param("id", "uuid", "enterprise id")],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/enterprises/{id}/card/rotate",
        summary: "Replaces the enterprise's card (a lost card): a new link, answered like \
                  `GET .../card`; the old link answers 410 with the \"no longer valid\" page",
        auth: BEARER,
        params: &[path_param("id", "uuid", "enterprise id")],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/enterprises/{id}/card/revoke",
        summary: "Revokes the enterprise's card without a new one (204); the next \
                  `GET .../card` makes one",
        auth: BEARER,
        params: &[path_param("id", "uuid", "enterprise id")],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/directory",
        summary: "Names for display: every org unit {id, name, kind, parent} and every person \
                  but administrators {id, name, role, org_unit}; no logins, no account state. \
                  An ETag makes an unchanged directory a 304",
        auth: BEARER,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/config",
        summary: "The district's configuration (categories, class labels, tier names, SLA, flag \
                  rules, monitoring, hotline, clock and follow-up rules) as JSON, with its \
                  version (a hash of it) as the ETag (quoted) and X-Lianxin-Config (bare); \
                  If-None-Match with the current version answers 304 with no body; \
                  `Accept: application/x-lianxin-config` answers the binary form the web app \
                  reads (shared::config::wire) instead",
        auth: BEARER,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "options",
        path: "/uploads",
        summary: "tus 1.0 discovery: Tus-Version, Tus-Extension (creation, checksum), \
                  Tus-Max-Size (the per-file limit), Tus-Checksum-Algorithm (sha256)",
        auth: "none",
        params: &[],
        body: None,
        response: "none",
    },
    Route {
        method: "post",
        path: "/uploads",
        summary: "tus creation: a new upload of Upload-Length bytes; Upload-Metadata names its \
                  sha256 (hex) and filetype (image/jpeg, image/png). 201 with Location; a file \
                  already stored answers Upload-Offset = Upload-Length (stored once). Refused: \
                  403 unreferenced (no record you can read references the hash), 413 \
                  too_large, 429 daily_budget, 415 unsupported_type; 503 no_blob_folder on a \
                  PostgreSQL server started without --blobs",
        auth: BEARER,
        params: &[],
        body: None,
        response: "none",
    },
    Route {
        method: "head",
        path: "/uploads/{id}",
        summary: "tus: Upload-Offset, the bytes durably received (resume from it, on any \
                  server of the database); 423 upload_busy while another server still \
                  receives a PATCH to it (ask again)",
        auth: "bearer access token; the upload's creator",
        params: &[path_id("the upload's id, from its Location")],
        body: None,
        response: "none",
    },
    Route {
        method: "patch",
        path: "/uploads/{id}",
        summary: "tus: appends the body at Upload-Offset (409 offset_mismatch with the right \
                  one); fsynced before the 204. Upload-Checksum sha256 optional (460 when it \
                  does not match). At the last byte the file is checked against its sha256 \
                  (422 hash_mismatch: discarded); 423 upload_busy while another server \
                  still receives a PATCH to it",
        auth: "bearer access token; the upload's creator",
        params: &[path_id("the upload's id, from its Location")],
        body: Some("application/offset+octet-stream"),
        response: "none",
    },
    Route {
        method: "get",
        path: "/blobs/{hash}",
        summary: "A file (photo, signature) by its SHA-256, for those who may read a record \
                  referencing it (else 404; 404 not_uploaded while it is still on the phone). \
                  ETag is the hash, cached a year as immutable; If-None-Match answers 304",
        auth: BEARER,
        params: &[
            path_param("hash", "sha256", "the file's SHA-256, 64 hex digits"),
            q(
                "size",
                "blob_size",
                "thumb: a JPEG of at most 320 px made by the server",
            ),
        ],
        body: None,
        response: "image/jpeg",
    },
    Route {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
        auth: "none",
        params: &[],
        body: None,
        response: JSON,
    },
];

/// Every documented route: [`ROUTES`], then the account's, the administrator's
/// ([`super::openapi_admin::ADMIN_ROUTES`]) and on-site evidence's.
pub fn all_routes() -> impl Iterator<Item = &'static Route> {
    ROUTES
        .iter()
        .chain(super::openapi_account::ROUTES)
        .chain(super::openapi_admin::ADMIN_ROUTES)
        .chain(super::openapi_enterprises::ROUTES)
        .chain(super::openapi_org_units::ROUTES)
        .chain(super::openapi_evidence::ROUTES)
        .chain(super::openapi_supervision::ROUTES)
}

/// The OpenAPI 3.1 document of [`all_routes`].
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in all_routes() {
        let mut params: Vec<Value> = r
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": p.location,
                    "required": p.required,
                    "description": p.description,
                    "schema": openapi_schemas::parameter(p.kind),
                })
            })
            .collect();
        params.extend(openapi_schemas::tus_headers(r.method, r.path));
        let mut op = json!({
            "summary": r.summary,
            "description": format!("Authentication: {}.", r.auth),
            "parameters": params,
            "responses": {
                "default": {
                    "description": "an error",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        });
        let (status, success) = match r.response {
            "none" => (
                openapi_schemas::no_body_status(r.method, r.path),
                json!({"description": "success, no body"}),
            ),
            media => (
                "200",
                json!({"description": "success", "content": {media: {}}}),
            ),
        };
        op["responses"][status] = success;
        if r.auth.starts_with("bearer") {
            op["security"] = json!([{"bearer": []}]);
        }
        if matches!(r.path, "/config" | "/directory" | "/blobs/{hash}") {
            op["responses"]["304"] =
                json!({"description": "unchanged since the If-None-Match tag"});
            op["responses"]["200"]["headers"] = json!({
                "ETag": {"description": "the version, quoted", "schema": {"type": "string"}},
            });
        }
        if matches!(r.path, "/config" | "/sync") {
            op["responses"]["200"]["headers"]["X-Lianxin-Config"] = json!({
                "description": "the district configuration's version",
                "schema": {"type": "string"},
            });
        }
        if let Some(body) = r.body {
            let named = openapi_schemas::request_body(r.method, r.path)
                .or_else(|| super::openapi_account::request_schema(r.method, r.path))
                .or_else(|| super::openapi_admin::request_schema(r.method, r.path))
                .or_else(|| super::openapi_enterprises::request_schema(r.method, r.path))
                .or_else(|| super::openapi_org_units::request_schema(r.method, r.path));
            let content = match named {
                Some(name) => json!({"schema": {"$ref": format!("#/components/schemas/{name}")}}),
                None => json!({"schema": {"type": "string", "format": "binary"}}),
            };
            op["requestBody"] = json!({"required": true, "content": {body: content}});
        }
        let path = format!("/api{}", r.path);
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    let mut schemas = openapi_schemas::bodies();
    for (name, schema) in super::openapi_account::schemas()
        .into_iter()
        .chain(super::openapi_admin::schemas())
        .chain(super::openapi_enterprises::schemas())
        .chain(super::openapi_org_units::schemas())
    {
        schemas.insert(name.into(), schema);
    }
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "description": "stable code"},
                "message": {"type": "string"},
            },
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Lianxin (连心) API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Reads for leaders' dashboards, department inboxes and integrations. \
                            Every write is a CRDT change through POST /api/sync.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
    })
}

async fn document_handler() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
