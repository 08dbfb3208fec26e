//! `GET /api/openapi.json`: an OpenAPI 3.1 description of every `/api` route, for the IT
//! department's integrations. [`routes`] is the one list of routes ([`ROUTES`] and the lists of
//! sibling modules, `openapi_evidence`): the document is built from it, and a test checks it
//! against every `.route(...)` the API routers register.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

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
    /// JSON schema type: `string`, `integer` or `boolean`.
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
    Param {
        name: "id",
        location: "path",
        kind: "string",
        required: true,
        description,
    }
}

const PERIOD: [Param; 3] = [
    Param {
        name: "from",
        location: "query",
        kind: "integer",
        required: true,
        description: "first instant of the period, ms since the epoch",
    },
    Param {
        name: "to",
        location: "query",
        kind: "integer",
        required: true,
        description: "first instant after the period, ms since the epoch",
    },
    q(
        "unit",
        "string",
        "org unit id (town or department); the caller's own unit when absent",
    ),
];

const BREAKDOWN: [Param; 5] = [
    Param {
        name: "from",
        location: "query",
        kind: "integer",
        required: true,
        description: "first instant of the period, ms since the epoch",
    },
    Param {
        name: "to",
        location: "query",
        kind: "integer",
        required: true,
        description: "first instant after the period, ms since the epoch",
    },
    q(
        "unit",
        "string",
        "org unit id (town or department); the caller's own unit when absent",
    ),
    Param {
        name: "by",
        location: "query",
        kind: "string",
        required: true,
        description: "`category`, `tier`, `town`, `department` or `month`",
    },
    q(
        "tz",
        "integer",
        "minutes east of UTC that months are counted in; 480 (China) when absent",
    ),
];

const JSON: &str = "application/json";
const BEARER: &str = "bearer access token";
const LEADERS: &str = "bearer access token; leaders and supervisors";

/// Every route under `/api`.
pub const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/sync",
        summary: "One sync round: push changes, pull what the device lacks (binary wire format); \
                  every answer's `X-Lianxin-Config` header is the district configuration's \
                  version (see GET /api/config)",
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
        summary: "A new access token for a refresh token",
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
                  kind_zh, problem, text, due_at}]}",
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
            "string",
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
        params: &[path_id("bulletin number")],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/bulletins/{id}/xlsx",
        summary: "An issued bulletin as an Excel workbook",
        auth: LEADERS,
        params: &[path_id("bulletin number")],
        body: None,
        response: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    Route {
        method: "get",
        path: "/bulletins/{id}/csv",
        summary: "An issued bulletin as CSV",
        auth: LEADERS,
        params: &[path_id("bulletin number")],
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
            q("state", "string", "comma-separated state codes"),
            q("flag", "string", "red, green or black"),
            q("town", "string", "town org unit id"),
            q("department", "string", "handling department's org unit id"),
            q("category", "string", "category code"),
            q("tier", "string", "effective tier code"),
            q("overdue", "boolean", "overdue (true) or not (false)"),
            q("source", "string", "source code"),
            q("created_from", "integer", "created at or after, ms"),
            q("created_to", "integer", "created before, ms"),
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
                "string",
                "had a look-back that passed and/or reopened it: passed, reopened or both, \
                 comma-separated",
            ),
            q(
                "event_from",
                "integer",
                "with look_back: the look-back happened at or after, ms",
            ),
            q(
                "event_to",
                "integer",
                "with look_back: the look-back happened before, ms",
            ),
            q(
                "sort",
                "string",
                "deadline (default), created or days_overdue",
            ),
            q("order", "string", "asc (default) or desc"),
            q("limit", "integer", "rows per page, 1..=200, default 50"),
            q("offset", "integer", "rows skipped, default 0"),
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
        params: &[path_id("enterprise id")],
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
        params: &[path_id("enterprise id")],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/enterprises/{id}/card/rotate",
        summary: "Replaces the enterprise's card (a lost card): a new link, answered like \
                  `GET .../card`; the old link answers 410 with the \"no longer valid\" page",
        auth: BEARER,
        params: &[path_id("enterprise id")],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/enterprises/{id}/card/revoke",
        summary: "Revokes the enterprise's card without a new one (204); the next \
                  `GET .../card` makes one",
        auth: BEARER,
        params: &[path_id("enterprise id")],
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
                  too_large, 429 daily_budget, 415 unsupported_type",
        auth: BEARER,
        params: &[],
        body: None,
        response: "none",
    },
    Route {
        method: "head",
        path: "/uploads/{id}",
        summary: "tus: Upload-Offset, the bytes durably received (resume from it)",
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
                  (422 hash_mismatch: discarded)",
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
            Param {
                name: "hash",
                location: "path",
                kind: "string",
                required: true,
                description: "the file's SHA-256, 64 hex digits",
            },
            q(
                "size",
                "string",
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

/// Every documented route: [`ROUTES`], then those of the sibling modules.
pub fn routes() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().chain(super::openapi_evidence::ROUTES)
}

/// The OpenAPI 3.1 document of [`routes`].
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in routes() {
        let params: Vec<Value> = r
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": p.location,
                    "required": p.required,
                    "description": p.description,
                    "schema": {"type": p.kind},
                })
            })
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "description": format!("Authentication: {}.", r.auth),
            "parameters": params,
            "responses": {
                "200": {"description": "success", "content": {r.response: {}}},
                "default": {
                    "description": "an error",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        });
        if r.response == "none" {
            op["responses"]["200"] = json!({"description": "success, no body (tus: 201 or 204)"});
        }
        if r.auth != "none" {
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
            let content = match request_schema(r.method, r.path) {
                Some(name) => json!({"schema": {"$ref": format!("#/components/schemas/{name}")}}),
                None => json!({}),
            };
            op["requestBody"] = json!({"required": true, "content": {body: content}});
        }
        let path = format!("/api{}", r.path);
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "description": "stable code"},
                        "message": {"type": "string"},
                    },
                },
                "LoginRequest": login_request_schema(),
            },
        },
    })
}

/// The schema (in `components.schemas`) of a route's request body, where one is described.
fn request_schema(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("post", "/login") => Some("LoginRequest"),
        _ => None,
    }
}

/// `POST /api/login`'s body (`crate::auth::session::LoginRequest`).
fn login_request_schema() -> Value {
    let secret = crate::auth::session::DEVICE_SECRET_CHARS;
    json!({
        "type": "object",
        "required": ["login", "password", "device_id"],
        "properties": {
            "login": {"type": "string"},
            "password": {"type": "string"},
            "device_id": {
                "type": "string",
                "description": "the device's id, made by the client once and kept; the answer's \
                                device.id is the one to use from then on",
            },
            "device_name": {"type": "string", "description": "e.g. 王芳的手机"},
            "device_secret": {
                "type": "string",
                "minLength": secret.start(),
                "maxLength": secret.end(),
                "description": "a random secret the client makes once with its device id and \
                                keeps beside it; the server keeps its SHA-256. A login with a \
                                known device id but without its secret is given a new device \
                                (id and actor).",
            },
        },
    })
}

async fn document_handler() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
