//! `GET /api/directory`: the names behind the ids records carry — every org unit (id, name,
//! kind, parent) and every person who can sign a record (id, display name, role, org unit) —
//! for any logged-in person, so phones show "王芳" instead of a short id in history and offer
//! departments by name when a problem is handed out.
//!
//! Why everyone gets the whole directory: a record in a person's scope can name anyone — its
//! officers, the handlers of any department it was handed to, the leaders who supervised it —
//! so limiting the list by scope would mean reading every document in scope on each call. What
//! the answer shows is therefore kept to what a name in a shared record needs: no logins,
//! password hashes, devices, assignments or account state (a disabled person stays listed, so
//! history still names them, but nothing says the account is disabled). Administrator accounts
//! are left out: they have no scope and sign no records (the server's own identity, 系统, signs
//! what the server writes, and is listed). At district scale (≈600 people, a few dozen units) it
//! is ≈60 KB of JSON, and an unchanged directory costs one `304` thanks to the `ETag`. At
//! province scale it should be limited to the caller's town subtree, the departments and the
//! leaders (TODO when the province deployment is planned).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared::model::{OrgUnitKind, Role};

use super::error::ApiError;
use crate::AppState;
use crate::auth::Authenticated;
use crate::store::{OrgUnitEntry, StoreError, UserRecord};

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/directory", get(directory))
}

/// One org unit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnitBody {
    /// Org unit id.
    pub id: String,
    /// Display name, e.g. 玉泉街道.
    pub name: String,
    /// `zone`, `town` or `department`.
    pub kind: &'static str,
    /// The unit above; `null` for the zone.
    pub parent: Option<String>,
}

/// One person, as others may see them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PersonBody {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role code.
    pub role: &'static str,
    /// Their org unit's id.
    pub org_unit: String,
}

/// `GET /api/directory`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Directory {
    /// Every org unit, zone first, then by kind and name.
    pub units: Vec<UnitBody>,
    /// Every person but administrators, by name, disabled accounts included; the server's own
    /// identity (系统) included, as it signs the documents it writes (demo, imports,
    /// monitoring problems).
    pub users: Vec<PersonBody>,
}

/// The directory from the store's rows.
pub fn build(units: Vec<OrgUnitEntry>, users: Vec<UserRecord>) -> Directory {
    let rank = |k: OrgUnitKind| match k {
        OrgUnitKind::Zone => 0,
        OrgUnitKind::Town => 1,
        OrgUnitKind::Department => 2,
    };
    let mut units: Vec<_> = units.into_iter().map(|e| e.unit).collect();
    units.sort_by(|a, b| (rank(a.kind), &a.name, a.id).cmp(&(rank(b.kind), &b.name, b.id)));
    let zone = units
        .iter()
        .find(|u| u.kind == OrgUnitKind::Zone)
        .map(|u| u.id);
    let mut people: Vec<PersonBody> = users
        .into_iter()
        .filter(|r| r.user.role != Role::Admin)
        .map(|r| PersonBody {
            id: r.user.id.to_string(),
            name: r.user.name,
            role: r.user.role.code(),
            org_unit: r.user.org_unit.to_string(),
        })
        .collect();
    if let Some(zone) = zone {
        let system = crate::writer::system_actor();
        people.push(PersonBody {
            id: system.user.to_string(),
            name: "系统".into(),
            role: system.role.code(),
            org_unit: zone.to_string(),
        });
    }
    people.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Directory {
        units: units
            .into_iter()
            .map(|u| UnitBody {
                id: u.id.to_string(),
                name: u.name,
                kind: u.kind.code(),
                parent: u.parent.map(|p| p.to_string()),
            })
            .collect(),
        users: people,
    }
}

fn internal(e: &StoreError) -> ApiError {
    ApiError::from_store(e, "directory store failure")
}

/// A strong validator of the body: the first 16 bytes of its SHA-256, quoted.
fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

async fn directory(
    State(state): State<AppState>,
    _who: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (units, users) = state
        .db()
        .directory()
        .listing()
        .await
        .map_err(|e| internal(&e))?;
    let body = serde_json::to_vec(&build(units, users)).map_err(|e| {
        tracing::error!(error = %e, "directory encoding failed");
        ApiError::Internal
    })?;
    let etag = etag_of(&body);
    let tag = HeaderValue::from_str(&etag).map_err(|_| ApiError::Internal)?;
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag), cache]).into_response());
    }
    Ok((
        [
            (header::ETAG, tag),
            cache,
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
}
