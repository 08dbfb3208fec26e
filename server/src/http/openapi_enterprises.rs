//! The administrator's enterprise routes in the OpenAPI document (`super::openapi`):
//! [`super::admin_enterprises`], with their request bodies' schemas.

use serde_json::{Value, json};

use super::openapi::{JSON, Param, Route, q};
use crate::admin::enterprises::{CONTACT_TEXT_MAX, CONTACTS_MAX, NAME_MAX, PHONE_MAX, TEXT_MAX};

/// Who may call these routes.
const ADMINS: &str = "bearer access token; administrators (others: 403 forbidden)";

const ID: Param = Param {
    name: "id",
    location: "path",
    kind: "string",
    required: true,
    description: "the enterprise profile's id",
};

/// The routes.
pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/admin/enterprises",
        summary: "Enterprise profiles by name → {rows: [{id, credit_code, name, address, town, \
                  town_name, industry, size, key_enterprise, duplicates (other profiles with \
                  the same credit code), merged_into}], more}; profiles merged into another \
                  are left out unless merged=true; 400 for a limit outside 1 to the page size",
        auth: ADMINS,
        params: &[
            q("q", "string", "text in the name, credit code or address"),
            q(
                "duplicates",
                "boolean",
                "only profiles whose credit code another shares",
            ),
            q("merged", "boolean", "also profiles merged into another"),
            q("offset", "count", "profiles skipped"),
            q("limit", "limit", "profiles in the page (default 100)"),
        ],
        body: None,
        response: JSON,
    },
    Route {
        method: "get",
        path: "/admin/enterprises/{id}",
        summary: "One profile from its document → {id, credit_code, name, address, town, \
                  industry, size, key_enterprise, position {lat, lon, accuracy_m}, contacts \
                  [{id, name, title, phone}], merged_into, absorbed, records}; 404 unknown id",
        auth: ADMINS,
        params: &[ID],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/enterprises/{id}/edit",
        summary: "Edit a profile: each field given is set, contacts (when given) is the whole \
                  list (a contact without id is new; one left out is removed); committed like \
                  a phone's change, audit-logged (enterprise_edited); phones receive it at \
                  their next sync → the profile as after; 400 naming every bad field, or when \
                  the profile was merged into another; 404 unknown id",
        auth: ADMINS,
        params: &[ID],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/enterprises/{id}/merge",
        summary: "Merge profile absorb into this one (same credit code): its visits and \
                  problems are re-pointed here with their history, its contacts and \
                  assignments follow, it stays stored marked merged and leaves lists and \
                  phones; audit-logged (enterprise_merged) → {survivor, absorbed, \
                  records_moved, contacts_added, assignments_moved, assignments_ended}; 400 \
                  for different credit codes, the same profile twice or one merged already; \
                  404 unknown id",
        auth: ADMINS,
        params: &[ID],
        body: Some(JSON),
        response: JSON,
    },
];

/// The request body schemas of these routes, by name, for `components.schemas`.
pub fn schemas() -> [(&'static str, Value); 2] {
    let text = |max: usize| json!({"type": "string", "maxLength": max});
    [
        (
            "EnterpriseEdit",
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
                    "address": text(TEXT_MAX),
                    "industry": text(TEXT_MAX),
                    "size": {"type": "string", "enum": ["above", "below"]},
                    "key_enterprise": {"type": "boolean"},
                    "position": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["lat", "lon", "accuracy_m"],
                        "properties": {
                            "lat": {"type": "number", "minimum": -90, "maximum": 90},
                            "lon": {"type": "number", "minimum": -180, "maximum": 180},
                            "accuracy_m": {"type": "number", "minimum": 0},
                        },
                    },
                    "contacts": {
                        "type": "array",
                        "maxItems": CONTACTS_MAX,
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["name"],
                            "properties": {
                                "id": {"type": ["string", "null"]},
                                "name": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": CONTACT_TEXT_MAX,
                                },
                                "title": text(CONTACT_TEXT_MAX),
                                "phone": {
                                    "type": "string",
                                    "maxLength": PHONE_MAX,
                                    "pattern": "^[0-9 +()-]*$",
                                },
                            },
                        },
                    },
                },
            }),
        ),
        (
            "MergeEnterprise",
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["absorb"],
                "properties": {
                    "absorb": {
                        "type": "string",
                        "minLength": 1,
                        "description": "the id of the profile merged into the one in the path",
                    },
                },
            }),
        ),
    ]
}

/// The schema (in `components.schemas`) of one of these routes' request body, if described.
pub fn request_schema(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("post", "/admin/enterprises/{id}/edit") => Some("EnterpriseEdit"),
        ("post", "/admin/enterprises/{id}/merge") => Some("MergeEnterprise"),
        _ => None,
    }
}
