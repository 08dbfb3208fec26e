//! The visit list (走访记录): `GET /api/visits`, for whoever reads the problem list
//! (`problems::require_list_reader`), limited to the caller's read scope exactly as sync and the
//! problem list are (`auth::access_for`): a leader sees the visits to their unit's enterprises,
//! a department handler (whose scope holds problems, not visits) none. Check-ins are judged
//! with the district's `[check_in] radius_m`. The `unit` filter keeps the visits made by
//! officers of an org unit's subtree (as the dashboard's freshness reads a unit's officers);
//! like every filter it narrows the scope and never widens it: a town's leader asking for
//! another town's unit gets none of its visits.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shared::model::{EnterpriseId, OrgUnitId, Timestamp, UserId, VisitMethod};

use super::error::ApiError;
use super::extract::{ApiQuery, true_or_false, unknown};
use super::problems::require_list_reader;
use crate::AppState;
use crate::api::{MAX_PAGE, VisitFilter, VisitPage};
use crate::auth::Authenticated;
use crate::store::StoreError;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/visits", get(list))
}

/// `GET /api/visits` parameters; every one is optional.
#[derive(Debug, Default, Deserialize)]
pub struct VisitQuery {
    /// Made at or after (ms, as the server counts it).
    pub from: Option<i64>,
    /// Made before (ms).
    pub to: Option<i64>,
    /// Town org unit id (the enterprise's).
    pub town: Option<OrgUnitId>,
    /// Enterprise id.
    pub enterprise: Option<String>,
    /// An officer of the visit (user id).
    pub officer: Option<String>,
    /// An org unit (zone, town or department): visits by officers of it or of a unit below it.
    pub unit: Option<OrgUnitId>,
    /// Method code: `on_site`, `phone`, `window`.
    pub method: Option<String>,
    /// `true`: only on-site visits outside the radius or without position; `false`: the rest.
    pub outside_radius: Option<String>,
    /// `true`: with photos; `false`: without.
    pub photos: Option<String>,
    /// `true`: with on-site evidence (a photo and a check-in within the radius); `false`:
    /// without.
    pub evidence: Option<String>,
    /// `desc` (default: newest first) or `asc`.
    pub order: Option<String>,
    /// Rows per page, 1..=200 (default 50).
    pub limit: Option<u32>,
    /// Rows skipped (default 0).
    pub offset: Option<u64>,
}

impl VisitQuery {
    /// Parses the query into a filter, reporting the first invalid parameter.
    pub fn into_filter(self) -> Result<VisitFilter, ApiError> {
        let enterprise = self
            .enterprise
            .as_deref()
            .map(|e| EnterpriseId::parse(e).map_err(|_| unknown("enterprise", e)))
            .transpose()?;
        let officer = self
            .officer
            .as_deref()
            .map(|o| UserId::parse(o).map_err(|_| unknown("officer", o)))
            .transpose()?;
        let method = self
            .method
            .as_deref()
            .map(|m| VisitMethod::from_code(m).map_err(|_| unknown("method", m)))
            .transpose()?;
        let asc = match self.order.as_deref() {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(other) => return Err(unknown("order", other)),
        };
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(ApiError::Contradictory(format!(
                "from ({f}) is after to ({t})"
            )));
        }
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::BadRequest(format!(
                "limit must be 1..={MAX_PAGE}, not {limit}"
            )));
        }
        Ok(VisitFilter {
            from: self.from.map(Timestamp),
            to: self.to.map(Timestamp),
            town: self.town,
            enterprise,
            officer,
            // Resolved to the unit's subtree by the handler (`list`), which reads the directory.
            officer_units: None,
            method,
            outside_radius: true_or_false("outside_radius", self.outside_radius.as_deref())?,
            photos: true_or_false("photos", self.photos.as_deref())?,
            evidence: true_or_false("evidence", self.evidence.as_deref())?,
            asc,
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

fn internal(e: StoreError) -> ApiError {
    ApiError::from_store(&e, "visit list store failure")
}

async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(q): ApiQuery<VisitQuery>,
) -> Result<Json<VisitPage>, ApiError> {
    require_list_reader(&auth)?;
    let unit = q.unit;
    let mut filter = q.into_filter()?;
    let db = state.db();
    if let Some(unit) = unit {
        filter.officer_units = Some(db.directory().org_subtree(unit).await.map_err(internal)?);
    }
    let access = db
        .directory()
        .access(auth.user, auth.device, crate::auth::now())
        .await
        .map_err(internal)?;
    let check_in = state.sync().config().check_in.clone();
    let page = db
        .queries()
        .visits(access.read, filter, check_in)
        .await
        .map_err(internal)?;
    Ok(Json(page))
}
