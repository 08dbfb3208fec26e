//! The JSON schemas of the OpenAPI document ([`super::openapi`]): what each kind of parameter
//! accepts and what each JSON request body holds, taken from the code that reads them (the
//! code enums' lists, the handlers' limits), so a request the document calls valid is one the
//! server accepts, and one it calls invalid is refused. A property-based tester nobody here
//! wrote (schemathesis, `tests/tests/api_conformance.rs`) holds the two to each other.

use serde_json::{Value, json};
use shared::model::{Flag, ProblemSource, ProblemState, Tier};

use crate::api::{Breakdown, MAX_PAGE, TITLE_MAX_CHARS};

/// The largest integer every JSON reader keeps exactly (2^53 − 1): counters and numbers are
/// bounded by it.
pub const SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The schema of a parameter of `kind` (the [`super::openapi::Param::kind`] names).
pub fn parameter(kind: &str) -> Value {
    match kind {
        "uuid" => json!({"type": "string", "format": "uuid"}),
        "ms" => json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}),
        "count" => json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}),
        "limit" => json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        "tz" => json!({
            "type": "integer",
            "minimum": super::dashboard::TZ_MINUTES.start(),
            "maximum": super::dashboard::TZ_MINUTES.end(),
        }),
        "states" => comma_list(ProblemState::ALL.iter().map(|s| s.code())),
        "supervision_states" => comma_list(
            shared::supervision::SupervisionState::ALL
                .iter()
                .map(|s| s.code()),
        ),
        "todo_days" => json!({
            "type": "integer",
            "minimum": 1,
            "maximum": super::supervision::MAX_TODO_DAYS,
        }),
        "look_back" => comma_list(crate::api::LookBack::ALL.iter().map(|l| l.code())),
        "flag" => one_of(Flag::ALL.iter().map(|f| f.code())),
        "tier" => one_of(Tier::ALL.iter().map(|t| t.code())),
        "source" => one_of(ProblemSource::ALL.iter().map(|s| s.code())),
        "sort" => one_of(crate::api::ProblemSort::ALL.iter().map(|s| s.code())),
        "order" => one_of(["asc", "desc"]),
        "breakdown" => one_of(Breakdown::ALL.iter().map(|b| b.code())),
        "blob_size" => one_of(["thumb"]),
        "visit_method" => one_of(shared::model::VisitMethod::ALL.iter().map(|m| m.code())),
        "record_kind" => one_of(
            [
                shared::doc::DocKind::Enterprise,
                shared::doc::DocKind::Visit,
                shared::doc::DocKind::Problem,
                shared::doc::DocKind::Monitoring,
            ]
            .map(shared::doc::DocKind::code),
        ),
        "tus_version" => one_of([super::uploads::TUS_VERSION]),
        "sha256" => json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
        "bulletin" => json!({"type": "integer", "minimum": 1, "maximum": SAFE_INTEGER}),
        other => json!({ "type": other }),
    }
}

fn one_of<'a>(codes: impl IntoIterator<Item = &'a str>) -> Value {
    json!({"type": "string", "enum": codes.into_iter().collect::<Vec<_>>()})
}

/// Codes, comma-separated; empty is no filter.
fn comma_list<'a>(codes: impl IntoIterator<Item = &'a str>) -> Value {
    let one = codes.into_iter().collect::<Vec<_>>().join("|");
    json!({"type": "string", "pattern": format!("^(({one})(,({one}))*)?$")})
}

/// A pattern matching text with something other than whitespace as the server's `trim` sees
/// it (`char::is_whitespace`), listed from that function so the two cannot differ.
fn not_only_whitespace() -> String {
    let mut class = String::new();
    let spaces: Vec<u32> = (0..=0xFFFF)
        .filter(|&c| char::from_u32(c).is_some_and(char::is_whitespace))
        .collect();
    let mut i = 0;
    while i < spaces.len() {
        let start = spaces[i];
        while i + 1 < spaces.len() && spaces[i + 1] == spaces[i] + 1 {
            i += 1;
        }
        class.push_str(&format!("\\u{start:04X}"));
        if spaces[i] != start {
            class.push_str(&format!("-\\u{:04X}", spaces[i]));
        }
        i += 1;
    }
    format!("[^{class}]")
}

/// The named request body schemas (`components.schemas`), by name.
pub fn bodies() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("LoginRequest".into(), login_request());
    m.insert(
        "RefreshRequest".into(),
        json!({
            "type": "object",
            "required": ["refresh_token"],
            "properties": {"refresh_token": {"type": "string"}},
        }),
    );
    m.insert(
        "SeenRequest".into(),
        json!({
            "type": "object",
            "required": ["ids"],
            "additionalProperties": false,
            "properties": {"ids": {
                "type": "array",
                "maxItems": super::notifications::MAX_SEEN,
                "items": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX},
            }},
        }),
    );
    m.insert(
        "IssueBulletin".into(),
        json!({
            "type": "object",
            "required": ["title", "from", "to"],
            "properties": {
                "title": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": TITLE_MAX_CHARS,
                    "pattern": not_only_whitespace(),
                },
                "from": parameter("ms"),
                "to": parameter("ms"),
            },
            "description": "the period runs from `from` to `to` (from before to)",
        }),
    );
    m
}

/// The schema (in `components.schemas`) of a route's request body, where one is described.
pub fn request_body(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("post", "/login") => Some("LoginRequest"),
        ("post", "/refresh") => Some("RefreshRequest"),
        ("post", "/notifications/seen") => Some("SeenRequest"),
        ("post", "/bulletins") => Some("IssueBulletin"),
        _ => None,
    }
}

/// `POST /api/login`'s body (`crate::auth::session::LoginRequest`).
fn login_request() -> Value {
    let secret = crate::auth::session::DEVICE_SECRET_CHARS;
    json!({
        "type": "object",
        "required": ["login", "password", "device_id"],
        "properties": {
            "login": {"type": "string"},
            "password": {"type": "string"},
            "device_id": {
                "type": "string",
                "format": "uuid",
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

/// The success status of a route whose answer has no body: tus's own (201 created, 200 for
/// HEAD, 204 otherwise), else 204.
pub fn no_body_status(method: &str, path: &str) -> &'static str {
    match method {
        "post" if path == "/uploads" => "201",
        "head" => "200",
        _ => "204",
    }
}

/// The tus headers a route reads (`Tus-Resumable` is a parameter of its own).
pub fn tus_headers(method: &str, path: &str) -> Vec<Value> {
    let header = |name: &str, required: bool, schema: Value, description: &str| {
        json!({
            "name": name,
            "in": "header",
            "required": required,
            "schema": schema,
            "description": description,
        })
    };
    let max = crate::blobs::limits::BlobLimits::default().max_blob_bytes;
    if !path.starts_with("/uploads") || method == "options" {
        return Vec::new();
    }
    let version = header(
        "Tus-Resumable",
        true,
        parameter("tus_version"),
        "the tus protocol version: 1.0.0 (412 without it)",
    );
    match (method, path) {
        ("post", "/uploads") => vec![
            version,
            header(
                "Upload-Length",
                true,
                json!({"type": "integer", "minimum": 1, "maximum": max}),
                "the file's size in bytes",
            ),
            header(
                "Upload-Metadata",
                true,
                json!({"type": "string", "pattern": "^sha256 [A-Za-z0-9+/=]+,filetype [A-Za-z0-9+/=]+$"}),
                "`sha256 <base64 of the 64 hex digits>,filetype <base64 of image/jpeg or image/png>`",
            ),
        ],
        ("patch", "/uploads/{id}") => vec![
            version,
            header(
                "Upload-Offset",
                true,
                json!({"type": "integer", "minimum": 0, "maximum": max}),
                "where this chunk starts: the offset HEAD answered",
            ),
        ],
        _ => vec![version],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_pattern_lists_exactly_the_characters_trim_removes() {
        let pattern = not_only_whitespace();
        assert!(pattern.starts_with("[^\\u0009-\\u000D\\u0020"), "{pattern}");
        assert!(pattern.contains("\\u3000"), "{pattern}");
        assert!(
            !pattern.contains("\\uFEFF"),
            "not whitespace to Rust: {pattern}"
        );
    }
}
