//! The administrator's org unit routes in the OpenAPI document (`super::openapi`):
//! [`super::admin_org_units`], with their request bodies' schemas.

use serde_json::{Value, json};
use shared::model::OrgUnitKind;

use super::openapi::{JSON, Param, Route};
use crate::admin::org_units::{CODE_MAX, NAME_MAX};

/// Who may call these routes.
const ADMINS: &str = "bearer access token; administrators (others: 403 forbidden)";

const CODE: Param = Param {
    name: "code",
    location: "path",
    kind: "string",
    required: true,
    description: "the org unit's code",
};

/// The routes.
pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/admin/org-units",
        summary: "Every org unit, depth first from the zone (under each, towns before \
                  departments, by name) → {units: [{id, code, name, kind, parent (its code; \
                  null for the zone), depth, members (users who belong to it)}]}",
        auth: ADMINS,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/org-units",
        summary: "Add an org unit: {code, name, kind, parent? (a code)} → {code, id, name}; \
                  audit-logged (org_unit_added). 400 bad_request naming what is wrong (a code \
                  that is not one word, an empty name, a name the parent's units have, an \
                  unknown kind or parent, a second zone, a zone with a parent or another unit \
                  without one), 409 duplicate for a taken code",
        auth: ADMINS,
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/org-units/{code}/rename",
        summary: "Rename an org unit: {name} → {code, id, name}; audit-logged \
                  (org_unit_renamed, OLD → NEW); dashboards name it so at once, devices at \
                  their next directory refresh. 400 for an empty or unchanged name or one the \
                  parent's units have, 404 unknown code",
        auth: ADMINS,
        params: &[CODE],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "post",
        path: "/admin/org-units/{code}/move",
        summary: "Put an org unit under another: {parent (a code)} → {code, id, name}; \
                  audit-logged (org_unit_moved); leaders' scopes follow at their next sync. \
                  400 for the zone, an unknown parent, a cycle (under itself or a unit below \
                  it), the parent it has, or a name the new parent's units have; 404 unknown \
                  code",
        auth: ADMINS,
        params: &[CODE],
        body: Some(JSON),
        response: JSON,
    },
];

/// The request body schemas of these routes, by name, for `components.schemas`.
pub fn schemas() -> [(&'static str, Value); 3] {
    let name = json!({
        "type": "string",
        "minLength": 1,
        "maxLength": NAME_MAX,
        "description": "e.g. 玉泉街道; not empty, no control characters",
    });
    [
        (
            "NewOrgUnit",
            json!({
                "type": "object",
                "required": ["code", "name", "kind"],
                "properties": {
                    "code": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": CODE_MAX,
                        "description": "one word, unique",
                    },
                    "name": name.clone(),
                    "kind": {
                        "type": "string",
                        "enum": [
                            OrgUnitKind::Zone.code(),
                            OrgUnitKind::Town.code(),
                            OrgUnitKind::Department.code(),
                        ],
                    },
                    "parent": {
                        "type": ["string", "null"],
                        "description": "the parent's code; none only for the zone",
                    },
                },
            }),
        ),
        (
            "RenameOrgUnit",
            json!({
                "type": "object",
                "required": ["name"],
                "properties": {"name": name},
            }),
        ),
        (
            "MoveOrgUnit",
            json!({
                "type": "object",
                "required": ["parent"],
                "properties": {
                    "parent": {"type": "string", "minLength": 1, "description": "a code"},
                },
            }),
        ),
    ]
}

/// The schema (in `components.schemas`) of one of these routes' request body, if described.
pub fn request_schema(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("post", "/admin/org-units") => Some("NewOrgUnit"),
        ("post", "/admin/org-units/{code}/rename") => Some("RenameOrgUnit"),
        ("post", "/admin/org-units/{code}/move") => Some("MoveOrgUnit"),
        _ => None,
    }
}
