//! A record's history verdict (历史留痕核验): `GET /api/history/{kind}/{id}` answers whether the
//! record's hash-linked history is intact, and what is broken if not (`store::history`), to
//! anyone whose read scope holds the record (`auth::access_for`, as sync); any other record
//! answers like a missing one (404).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared::doc::DocKind;
use shared::sync::protocol::DocId;

use super::error::ApiError;
use super::extract::ApiPath;
use crate::AppState;
use crate::api::HistoryVerdict;
use crate::auth::Authenticated;
use crate::store::StoreError;

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/history/{kind}/{id}", get(verdict))
}

/// The answer: the record and its verdict.
#[derive(Debug, Serialize)]
pub struct RecordVerdict {
    /// `kind/id`.
    pub doc: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: HistoryVerdict,
}

fn internal(e: StoreError) -> ApiError {
    ApiError::from_store(&e, "history verdict store failure")
}

async fn verdict(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath((kind, id)): ApiPath<(String, String)>,
) -> Result<Json<RecordVerdict>, ApiError> {
    let missing = || ApiError::NotFound(format!("no record {kind}/{id}"));
    let doc = DocKind::from_code(&kind)
        .and_then(|k| DocId::parse(&format!("{}/{id}", k.code())).ok())
        .ok_or_else(missing)?;
    let db = state.db();
    let access = db
        .directory()
        .access(auth.user, auth.device, crate::auth::now())
        .await
        .map_err(internal)?;
    let found = db
        .queries()
        .history_verdict(doc.clone())
        .await
        .map_err(internal)?
        .filter(|(enterprise, _)| access.read.allows(&doc, enterprise))
        .map(|(_, v)| v);
    let verdict = found.ok_or_else(missing)?;
    Ok(Json(RecordVerdict {
        doc: doc.as_str().to_string(),
        verdict,
    }))
}
