//! The visit list (走访记录): its filters, rows and page.

use std::collections::BTreeSet;

use serde::Serialize;
use shared::model::{EnterpriseId, OrgUnitId, Timestamp, UserId, VisitMethod};

/// Filters, order and page of a visit list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    /// Made (as the server counts it) at or after this instant.
    pub from: Option<Timestamp>,
    /// Made before this instant.
    pub to: Option<Timestamp>,
    /// The enterprise's town.
    pub town: Option<OrgUnitId>,
    /// This enterprise.
    pub enterprise: Option<EnterpriseId>,
    /// Made by this officer (one of the visit's officers).
    pub officer: Option<UserId>,
    /// Made by an officer whose org unit is one of these: the `unit` parameter's subtree (the
    /// unit and every unit below it, `Directory::org_subtree`), read from the officers' current
    /// org units. Narrows the caller's scope like every filter, never widens it.
    pub officer_units: Option<BTreeSet<OrgUnitId>>,
    /// How.
    pub method: Option<VisitMethod>,
    /// Outside the radius or without position (`true`), or not (`false`).
    pub outside_radius: Option<bool>,
    /// With at least one photo (`true`) or none (`false`).
    pub photos: Option<bool>,
    /// With on-site evidence (`true`) or without (`false`).
    pub evidence: Option<bool>,
    /// Oldest first instead of newest first.
    pub asc: bool,
    /// Rows per page, 1..=[`MAX_PAGE`].
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// A person on a visit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRef {
    /// User id.
    pub id: String,
    /// Name (empty when the directory does not know them).
    pub name: String,
}

/// One row of the visit list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitListRow {
    /// Visit id.
    pub id: String,
    /// When it was made, as the server counts it (ms; the device's claim bounded by what the
    /// server saw, `shared::server_time::kpi_time`).
    pub at: i64,
    /// Enterprise id.
    pub enterprise: String,
    /// Enterprise name (empty when its profile is not stored).
    pub enterprise_name: String,
    /// The enterprise's town.
    pub town: Option<String>,
    /// The visit's officers, by id.
    pub officers: Vec<PersonRef>,
    /// Method code (`on_site`, `phone`, `window`).
    pub method: String,
    /// Photos the record references.
    pub photos: u32,
    /// The enterprise confirmed the visit (by name, or signed).
    pub confirmed: bool,
    /// The enterprise's signature on the visit, if its representative signed.
    pub signature: Option<VisitSignature>,
    /// What the check-in found: `fixed`, `permission_refused`, `unavailable`; `None`: no
    /// check-in.
    pub check_in: Option<String>,
    /// The check-in's distance from the enterprise's registered position, in metres (`None`:
    /// no position at check-in, or none registered).
    pub distance_m: Option<f64>,
    /// An on-site visit outside the radius or without position.
    pub outside_radius: bool,
    /// On-site evidence: a photo and a check-in within the radius.
    pub evidence: bool,
    /// Its history's verdict (`store::history`): intact, broken, or `None` not yet checked.
    pub history_intact: Option<bool>,
    /// What is broken in its history, if it is.
    pub history_broken: Option<String>,
}

/// The enterprise's signature on a visit: who signed, when (the device's clock) and the
/// image's hash (`GET /api/blobs/{hash}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitSignature {
    /// The signer's name.
    pub by_name: String,
    /// When, ms (the officer's device's clock).
    pub at: i64,
    /// The PNG's SHA-256.
    pub hash: String,
}

/// One page of the visit list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitPage {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Rows asked for.
    pub limit: u32,
    /// The radius the rows were judged with, in metres.
    pub radius_m: u32,
    /// This page.
    pub rows: Vec<VisitListRow>,
}
