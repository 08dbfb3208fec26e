//! The administrator's routes in the OpenAPI document (`super::openapi`): the IT department's
//! operations (backups, accounts and devices, the directory, the audit log, the
//! configuration: [`super::backups`], [`super::admin`], [`super::admin_directory`],
//! [`super::admin_audit`], [`super::admin_config`]), kept
//! apart from the reads and the sync routes, with their request bodies' schemas.

use serde_json::{Value, json};
use shared::model::Role;

use super::openapi::{JSON, Param, Route, q};
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
                  address?,industry?,size?,key_enterprise?,lat?,lon?), assignments \
                  (credit_code,login,valid_from,valid_to?) or users (login,name,role,org_unit,\
                  phone?,password?; an empty password is generated and answered once in \
                  passwords [{login, password}]) from the CSV file the command line \
                  imports, or an .xlsx workbook (its first sheet, the same columns, told \
                  apart by its first bytes; bounded in size, parts, inflated bytes and cells; \
                  formulas read as their saved values, never evaluated; lines are the \
                  sheet's row numbers), while the server runs → {kind, imported, present, passwords}; all \
                  or nothing: \
                  400 import_lines with lines [{line, message}] naming every bad line, nothing \
                  stored; audit-logged; devices receive new enterprises and assignments at \
                  their next sync; 404 unknown kind",
        auth: ADMINS,
        params: &[Param {
            name: "kind",
            location: "path",
            kind: "string",
            required: true,
            description: "org-units, enterprises, assignments or users",
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
    Route {
        method: "get",
        path: "/admin/audit",
        summary: "A page of the audit log, newest first, kept by the filter → {entries: [{seq, \
                  at, actor, action, subject, detail, hash}], next_before (ask with before = \
                  it for the next page; null: the last), actions (every action code)}; 400 \
                  for a limit outside 1 to the page size",
        auth: ADMINS,
        params: AUDIT_QUERY,
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/admin/audit/export",
        summary: "Every entry the filter keeps as CSV (seq,at,actor,action,subject,detail,hash; \
                  UTF-8 with a BOM, newest first, cells a spreadsheet would read as formulas \
                  neutralized); limit is ignored",
        auth: ADMINS,
        params: AUDIT_QUERY,
        body: None,
        response: "text/csv",
    },
    Route {
        method: "get",
        path: "/admin/audit/verify",
        summary: "Walk the audit log's hash chain → {intact, entries, broken_at, reason}: the \
                  first entry changed, removed or inserted behind the server's back",
        auth: ADMINS,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/admin/config",
        summary: "The district configuration the server runs with, as TOML, and the version \
                  devices are told → {version, toml} (the file's [server], [reminders] and \
                  [backup] sections are not shown)",
        auth: ADMINS,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/config/validate",
        summary: "Check a configuration file (the body, TOML) as the server would at start → \
                  {valid, version (devices would be told), errors (every problem)}; 400 when \
                  the body is not UTF-8",
        auth: ADMINS,
        params: &[],
        body: Some(TOML),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/config",
        summary: "Apply a configuration file (the body, TOML) without a restart: validated as \
                  at start, written over the server's --config file (atomically), audit-logged \
                  with both versions, then run at once → {previous, version, restart_needed \
                  (sections read at start only that changed: server, reminders, backup)}; \
                  devices get it after their next sync. 422 invalid with {errors (every \
                  problem), version (still running)}; 409 no_config_file when the server was \
                  started without --config; 400 when the body is not UTF-8",
        auth: ADMINS,
        params: &[],
        body: Some(TOML),
        response: JSON,
    },
];

/// The filter of the audit log's list and export.
const AUDIT_QUERY: &[Param] = &[
    q("action", "string", "only this action code"),
    q(
        "actor",
        "string",
        "only this actor (a login, server, cli:<user>)",
    ),
    q(
        "q",
        "string",
        "only entries whose actor, subject or detail contains this",
    ),
    q("from", "ms", "only entries at or after this instant"),
    q("to", "ms", "only entries before this instant"),
    q(
        "before",
        "ms",
        "only entries before this position (the last page's next_before)",
    ),
    q("limit", "limit", "entries in the page (default 100)"),
];

/// The media type of a configuration file.
const TOML: &str = "application/toml";

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
pub fn schemas() -> [(&'static str, Value); 5] {
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
            "TomlFile",
            json!({
                "type": "string",
                "description": "a configuration file as --config reads it (TOML, UTF-8)",
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
        ("post", "/admin/config/validate" | "/admin/config") => Some("TomlFile"),
        _ => None,
    }
}
