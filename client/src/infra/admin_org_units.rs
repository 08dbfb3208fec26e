//! The administrator's org unit calls, typed (`/api/admin/org-units…`): the tree with each
//! unit's depth and member count, and a unit added, renamed or put under another parent.
//! Full bundle only.

use wasm_bindgen::JsValue;

use super::admin::{AdminError, int, list, post, seg, string};
use super::api::{self, Session, object, text};

/// One unit of the tree, as the server lists it (depth first from the zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    pub code: String,
    pub name: String,
    /// `zone`, `town` or `department`.
    pub kind: String,
    /// The parent's code; none for the zone.
    pub parent: Option<String>,
    /// 0 for the zone.
    pub depth: u32,
    /// Users who belong to it.
    pub members: u64,
}

/// Every unit, depth first from the zone.
pub async fn org_units(session: &Session) -> Result<Vec<OrgUnit>, AdminError> {
    let v = api::get_json(session, "/api/admin/org-units").await?;
    Ok(list(&v, "units")
        .iter()
        .map(|u| OrgUnit {
            code: string(u, "code"),
            name: string(u, "name"),
            kind: string(u, "kind"),
            parent: Some(string(u, "parent")).filter(|p| !p.is_empty()),
            depth: int(u, "depth").unwrap_or(0).clamp(0, 64) as u32,
            members: int(u, "members").unwrap_or(0).max(0) as u64,
        })
        .collect())
}

/// A unit to add, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewOrgUnit {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: String,
}

/// Adds a unit.
pub async fn add_org_unit(session: &Session, u: &NewOrgUnit) -> Result<(), AdminError> {
    let parent = if u.parent.trim().is_empty() {
        JsValue::NULL
    } else {
        text(u.parent.trim())
    };
    let body = object(&[
        ("code", text(u.code.trim())),
        ("name", text(u.name.trim())),
        ("kind", text(&u.kind)),
        ("parent", parent),
    ]);
    post(session, "/api/admin/org-units", &body).await.map(drop)
}

/// Renames the unit `code`.
pub async fn rename_org_unit(session: &Session, code: &str, name: &str) -> Result<(), AdminError> {
    let path = format!("/api/admin/org-units/{}/rename", seg(code));
    post(session, &path, &object(&[("name", text(name.trim()))]))
        .await
        .map(drop)
}

/// Puts the unit `code` under the unit `parent` (a code).
pub async fn move_org_unit(session: &Session, code: &str, parent: &str) -> Result<(), AdminError> {
    let path = format!("/api/admin/org-units/{}/move", seg(code));
    post(session, &path, &object(&[("parent", text(parent.trim()))]))
        .await
        .map(drop)
}
