//! The administrator's routes in the OpenAPI document (`super::openapi`): the IT department's
//! operations (backups), kept apart from the reads and the sync routes.

use super::openapi::{JSON, Route};

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
];
