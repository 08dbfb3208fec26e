//! The OpenAPI entries of a user's own account (`/api/account/…`, [`super::account`]), kept
//! beside [`super::openapi`] (which builds the document from its routes and these).

use serde_json::{Value, json};

use super::openapi::{BEARER, JSON, Param, Route};
use crate::auth::policy::MIN_PASSWORD_CHARS;

/// The account's routes, documented with the others.
pub const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/account/password",
        summary: "Change one's own password: {current_password, new_password} → a fresh session \
                  for this device (token, refresh_token, expires_at, user, device); every other \
                  device of the user must log in again. 403 wrong_password (counts as a failed \
                  login; 429 past the login limit), 400 password_policy with failures \
                  [too_short, same_as_login, only_digits, same_as_current]",
        auth: BEARER,
        params: &[],
        body: Some(JSON),
        response: JSON,
    },
    Route {
        method: "get",
        path: "/account/devices",
        summary: "The caller's devices: {devices: [{id, name, registered_at, last_seen, \
                  last_sync, revoked, revoked_at, current}]}, most recently seen first",
        auth: BEARER,
        params: &[],
        body: None,
        response: JSON,
    },
    Route {
        method: "post",
        path: "/account/devices/{id}/revoke",
        summary: "Revoke one of the caller's own devices (a lost phone): it wipes its data at \
                  its next request; 204, or 404 for a device that is not the caller's",
        auth: BEARER,
        params: &[Param {
            name: "id",
            location: "path",
            kind: "uuid",
            required: true,
            description: "the device id",
        }],
        body: None,
        response: "none",
    },
];

/// The request body schemas of these routes, by name, for `components.schemas`.
pub fn schemas() -> [(&'static str, Value); 1] {
    [(
        "PasswordChange",
        json!({
            "type": "object",
            "required": ["current_password", "new_password"],
            "properties": {
                "current_password": {"type": "string"},
                "new_password": {
                    "type": "string",
                    "minLength": MIN_PASSWORD_CHARS,
                    "description": "the password policy: at least the minimum length, not the \
                                    login, not only digits, not the current password",
                },
            },
        }),
    )]
}

/// The schema (in `components.schemas`) of one of these routes' request body, if described.
pub fn request_schema(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("post", "/account/password") => Some("PasswordChange"),
        _ => None,
    }
}
