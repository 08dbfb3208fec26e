//! The administrator's routes in the OpenAPI document (`super::openapi`): the IT department's
//! operations (backups, accounts and devices, the directory: [`super::backups`],
//! [`super::admin`], [`super::admin_directory`]), kept
//! apart from the reads and the sync routes, with their request bodies' schemas.

use serde_json::{Value, json};
use shared::model::Role;

use super::openapi::{JSON, Param, Route};
use crate::auth::policy::MIN_PASSWORD_CHARS;

/// Who may call the administrator's routes.
const ADMINS: &str = "bearer access token; administrators (others: 403 forbidden)";

const LOGIN: Param = Param {
    name: "login",
    location: "path",
    kind: "string",
    required: true,
    description: "the user's login",
};

/// The administrator's `/api` routes.
pub const ADMIN_ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/admin/backups",
        summary: "The verified backups in the [backup] directory (oldest first), the schedule \
                  (every_hours, keep) and whether one is being taken",
        auth: "bearer access token; administrators",
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/backups",
        summary: "Take a backup now (database and blob files, verified, the oldest beyond keep \
                  removed, audit-logged); answers 200 with it when done, 409 backup_running \
                  while one is being taken, 409 backups_off without a [backup] directory",
        auth: "bearer access token; administrators",
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/admin/users",
        summary: "Every user, by login: {users: [{login, name, role, org_unit (its code), \
                  disabled, locked_out (the login throttle refuses them for now)}]}",
        auth: ADMINS,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/users",
        summary: "Add a user: {login, name, role, org_unit (a code), phone?, password} → \
                  {subject, sessions_ended}; audit-logged. 400 bad_request naming the field, 400 \
                  password_policy with failures [too_short, same_as_login, only_digits], 409 \
                  duplicate for a taken login",
        auth: ADMINS,
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/users/{login}/disable",
        summary: "Disable a user: no more logins, every device of theirs revoked and its event \
                  streams closed → {subject, sessions_ended}; audit-logged; 404 unknown login",
        auth: ADMINS,
        params: &[LOGIN],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/users/{login}/enable",
        summary: "Enable a disabled user again (their revoked devices stay revoked) → {subject, \
                  sessions_ended}; audit-logged; 404 unknown login",
        auth: ADMINS,
        params: &[LOGIN],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/users/{login}/password",
        summary: "Reset a user's password: {password} → {subject, sessions_ended}; every token \
                  of their devices is revoked (they log in again); audit-logged. 400 \
                  password_policy with failures [too_short, same_as_login, only_digits, \
                  same_as_current], 404 unknown login",
        auth: ADMINS,
        params: &[LOGIN],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "get",
        path: "/admin/devices",
        summary: "Every device, most recently seen first: {devices: [{id, user (login), name, \
                  registered_at, last_seen, last_sync, unsent (as it last reported; null: \
                  never), revoked, revoked_at}]}",
        auth: ADMINS,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/devices/{id}/revoke",
        summary: "Revoke a device (a lost phone): its tokens die, its event stream closes, its \
                  next request is refused as revoked and it wipes its data → {subject, \
                  sessions_ended}; audit-logged; 404 unknown device",
        auth: ADMINS,
        params: &[Param {
            name: "id",
            location: "path",
            kind: "uuid",
            required: true,
            description: "the device id",
        }],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/imports/{kind}",
        summary: "Import org units (code,name,kind,parent), enterprises (credit_code,name,town,\
                  address?,industry?,size?,key_enterprise?,lat?,lon?) or assignments \
                  (credit_code,login,valid_from,valid_to?) from the CSV file the command line \
                  imports, while the server runs → {kind, imported, present}; all or nothing: \
                  400 import_lines with lines [{line, message}] naming every bad line, nothing \
                  stored; audit-logged; devices receive new enterprises and assignments at \
                  their next sync; 404 unknown kind",
        auth: ADMINS,
        params: &[Param {
            name: "kind",
            location: "path",
            kind: "string",
            required: true,
            description: "org-units, enterprises or assignments",
        }],
        body: Some(CSV),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/assignments/{enterprise}/end",
        summary: "End the enterprise's open assignments (包联) now → {enterprise, ended, to: \
                  null}; the officers' phones drop its records at their next sync; \
                  audit-logged; 404 unknown enterprise or no open assignment",
        auth: ADMINS,
        params: &[ENTERPRISE],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/assignments/{enterprise}/move",
        summary: "Move the enterprise to another officer or leader now: {to_officer (login), \
                  from? (login, needed when it has several)} → {enterprise, ended, to}; its \
                  records, with their whole history, reach the new officer's phone and leave \
                  the old one's at their next sync; audit-logged; 400 when to_officer is not \
                  an officer or leader, 404 unknown enterprise, user or open assignment",
        auth: ADMINS,
        params: &[ENTERPRISE],
        body: Some(JSON),
        response: JSON,
    },
];

/// The enterprise an assignment route names.
const ENTERPRISE: Param = Param {
    name: "enterprise",
    location: "path",
    kind: "string",
    required: true,
    description: "the enterprise's id or its credit code",
};

/// The media type of an import's body.
const CSV: &str = "text/csv";

/// The request body schemas of these routes, by name, for `components.schemas`.
pub fn schemas() -> [(&'static str, Value); 4] {
    let password = json!({
        "type": "string",
        "minLength": MIN_PASSWORD_CHARS,
        "description": "the password policy: at least the minimum length, not the login, not \
                        only digits (and, for a reset, not the current password)",
    });
    [
        (
            "AddUser",
            json!({
                "type": "object",
                "required": ["login", "name", "role", "org_unit", "password"],
                "properties": {
                    "login": {"type": "string", "minLength": 1, "description": "one word"},
                    "name": {"type": "string", "minLength": 1, "description": "e.g. 王芳"},
                    "role": {
                        "type": "string",
                        "enum": Role::ALL.iter().map(|r| r.code()).collect::<Vec<_>>(),
                    },
                    "org_unit": {
                        "type": "string",
                        "description": "the org unit's code: a department for a \
                                        department_handler, a town or the zone for officers, \
                                        leaders and supervisors",
                    },
                    "phone": {
                        "type": ["string", "null"],
                        "description": "printed on the 连心卡: at most 32 digits, spaces, + and -",
                    },
                    "password": password.clone(),
                },
            }),
        ),
        (
            "CsvFile",
            json!({
                "type": "string",
                "description": "a CSV file, UTF-8 (a byte-order mark is allowed), its first line \
                                the header naming the columns",
            }),
        ),
        (
            "MoveAssignment",
            json!({
                "type": "object",
                "required": ["to_officer"],
                "properties": {
                    "to_officer": {"type": "string", "minLength": 1, "description": "a login"},
                    "from": {"type": ["string", "null"], "description": "a login"},
                },
            }),
        ),
        (
            "ResetPassword",
            json!({
                "type": "object",
                "required": ["password"],
                "properties": {"password": password},
            }),
        ),
    ]
}

/// The schema (in `components.schemas`) of one of these routes' request body, if described.
pub fn request_schema(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("post", "/admin/users") => Some("AddUser"),
        ("post", "/admin/users/{login}/password") => Some("ResetPassword"),
        ("post", "/admin/imports/{kind}") => Some("CsvFile"),
        ("post", "/admin/assignments/{enterprise}/move") => Some("MoveAssignment"),
        _ => None,
    }
}
