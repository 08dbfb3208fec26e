//! The OpenAPI entries of on-site evidence (issue 14): the visit list with its check-in checks
//! and a record's history verdict.
//! A sibling of `openapi.rs` (over 600 lines), chained into its document by
//! `openapi::routes`.

use super::openapi::{Param, Route, q};

/// The routes of this module, in the order they are documented.
pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/visits",
        summary: "Visits in the caller's scope, newest first by default, filtered and paginated: \
              date (the server's counted time), enterprise, officers, method, photo count, \
              the enterprise's confirmation and its signature (signer, time and the PNG's \
              hash, read at /api/blobs/{hash}), check-in distance from the enterprise's \
              registered position and whether it is outside the district's radius",
        auth: "bearer access token; leaders, supervisors and department handlers",
        params: &[
            q(
                "from",
                "integer",
                "made at or after, ms (the server's counted time)",
            ),
            q("to", "ms", "made before, ms"),
            q("town", "uuid", "the enterprise's town org unit id"),
            q("enterprise", "uuid", "enterprise id"),
            q("officer", "uuid", "one of the visit's officers (user id)"),
            q(
                "unit",
                "uuid",
                "an org unit (zone, town or department): visits by officers of it or of a unit \
             below it; narrows the caller's scope, never widens it",
            ),
            q("method", "visit_method", "on_site, phone or window"),
            q(
                "outside_radius",
                "boolean",
                "on-site visits outside the radius or without position (true), or the rest (false)",
            ),
            q("photos", "boolean", "with photos (true) or without (false)"),
            q(
                "evidence",
                "boolean",
                "with on-site evidence: on site, a photo and a check-in within the radius (true), \
             or without (false)",
            ),
            q("order", "order", "desc (newest first, default) or asc"),
            q("limit", "limit", "rows per page, 1 to 200 (default 50)"),
            q("offset", "count", "rows skipped (default 0)"),
        ],
        body: None,
        response: "application/json",
    },
    Route {
        method: "get",
        path: "/history/{kind}/{id}",
        summary: "Whether a record's hash-linked history is intact (every change hashes to its \
                  hash, depends on changes the record holds, was recorded by the server, none \
                  recorded is missing, and each carries the actor of the device it names), \
                  or what is broken; intact null: changes since the last full check, not yet \
                  audited",
        auth: "bearer access token; whoever's read scope holds the record (else 404)",
        params: &[
            Param {
                name: "kind",
                location: "path",
                kind: "record_kind",
                required: true,
                description: "enterprise, visit, problem or monitoring",
            },
            Param {
                name: "id",
                location: "path",
                kind: "string",
                required: true,
                description: "the record's id",
            },
        ],
        body: None,
        response: "application/json",
    },
];
