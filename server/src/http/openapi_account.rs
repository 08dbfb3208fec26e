//! The OpenAPI entries of a user's own account (`/api/account/…`, [`super::account`]), kept
//! beside [`super::openapi`] (which builds the document from its routes and these).

use super::openapi::{BEARER, JSON, Param, Route};

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
            kind: "string",
            required: true,
            description: "the device id",
        }],
        body: None,
        response: "none",
    },
];
