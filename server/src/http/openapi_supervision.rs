//! The OpenAPI entries of supervision (督办) and the officer's to-do (待办, issue 15 items 2
//! and 3). A sibling of `openapi.rs` (over 600 lines), chained into its document by
//! `openapi::all_routes`.

use super::openapi::{Route, q};

/// The routes of this module, in the order they are documented.
pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/supervision",
        summary: "Supervision instructions (督办) on the problems in the caller's scope, each \
                  with its addressee, due date, first acknowledgement and state (issued, \
                  acknowledged, overdue, closed), due first; open ones (all but closed) unless \
                  `state` says otherwise; `by_state` counts the matching rows per state",
        auth: "bearer access token; leaders, supervisors and department handlers",
        params: &[
            q(
                "state",
                "supervision_states",
                "comma-separated states: issued, acknowledged, overdue, closed",
            ),
            q("to_person", "uuid", "addressed to this person (user id)"),
            q("to_unit", "uuid", "addressed to this org unit"),
            q("town", "uuid", "the enterprise's town org unit id"),
            q("limit", "limit", "rows per page, 1 to 200 (default 50)"),
            q("offset", "count", "rows skipped (default 0)"),
        ],
        body: None,
        response: "application/json",
    },
    Route {
        method: "get",
        path: "/todo",
        summary: "The caller's to-do counts (待办): owned problems overdue, due within `days`, \
                  waiting for the enterprise's confirmation, revisits, look-backs due, and \
                  supervision instructions addressed to the caller not yet acknowledged — the \
                  phone's definition (shared::todo) over the documents the server holds",
        auth: "bearer access token; any role",
        params: &[q(
            "days",
            "todo_days",
            "days ahead that count as due soon, 1 to 60 (default: the district's 临期 flag window, 2 days in the default table)",
        )],
        body: None,
        response: "application/json",
    },
];
