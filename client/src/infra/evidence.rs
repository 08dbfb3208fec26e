//! Evidence as the server judges it, typed (full bundle): the leaders' visit list (`GET
//! /api/visits`: each visit's officers, method, photos, the enterprise's signature, check-in
//! distance, on-site evidence and history verdict) and a record's history verdict (`GET /api/history/{kind}/{id}`). The
//! screens read these, never the JSON.

use js_sys::Array;
use shared::model::{VisitId, VisitMethod};
use shared::sync::protocol::DocId;
use wasm_bindgen::JsValue;

use super::api::{self, ApiError, Session, get, get_str};

/// What the server found checking a record's hash-linked history (`store::history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not checked yet.
    Unchecked,
    /// Every change links to those before it and each is its author's.
    Intact,
    /// What is broken, in the server's words.
    Broken(String),
}

fn verdict(v: &JsValue, intact: &str, broken: &str) -> Verdict {
    match get(v, intact).as_bool() {
        Some(true) => Verdict::Intact,
        Some(false) => Verdict::Broken(get_str(v, broken).unwrap_or_default()),
        None => Verdict::Unchecked,
    }
}

/// One row of `GET /api/visits`.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub id: VisitId,
    /// When it was made, as the server counts it (ms).
    pub at: i64,
    pub enterprise_name: String,
    /// The visit's officers by name (a short id when the directory has none).
    pub officers: Vec<String>,
    pub method: Option<VisitMethod>,
    pub photos: u32,
    /// The enterprise's signature: who signed, when (ms, the device's clock) and the image's
    /// hash.
    pub signature: Option<(String, i64, String)>,
    /// Metres from the enterprise's registered position (`None`: no position to measure).
    pub distance_m: Option<f64>,
    /// An on-site visit outside the radius or without position.
    pub outside_radius: bool,
    /// A photo and a check-in within the radius.
    pub evidence: bool,
    pub history: Verdict,
}

/// One page of visits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VisitPage {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// The radius the rows were judged with, in metres.
    pub radius_m: u32,
    pub rows: Vec<VisitRow>,
}

fn signature(v: &JsValue) -> Option<(String, i64, String)> {
    Some((
        get_str(v, "by_name")?,
        get(v, "at").as_f64()? as i64,
        get_str(v, "hash")?,
    ))
}

fn row(v: &JsValue) -> Option<VisitRow> {
    let officers = Array::from(&get(v, "officers"))
        .iter()
        .filter_map(|o| {
            let name = get_str(&o, "name").unwrap_or_default();
            if name.is_empty() {
                get_str(&o, "id").map(|id| id.chars().take(8).collect())
            } else {
                Some(name)
            }
        })
        .collect();
    Some(VisitRow {
        id: VisitId::parse(&get_str(v, "id")?).ok()?,
        at: get(v, "at").as_f64()? as i64,
        enterprise_name: get_str(v, "enterprise_name").unwrap_or_default(),
        officers,
        method: get_str(v, "method").and_then(|m| VisitMethod::from_code(&m).ok()),
        photos: get(v, "photos").as_f64().unwrap_or(0.0) as u32,
        signature: signature(&get(v, "signature")),
        distance_m: get(v, "distance_m").as_f64(),
        outside_radius: get(v, "outside_radius").as_bool().unwrap_or(false),
        evidence: get(v, "evidence").as_bool().unwrap_or(false),
        history: verdict(v, "history_intact", "history_broken"),
    })
}

/// `GET /api/visits?<query>` (the route's query string, the endpoint's parameters).
pub async fn visits(session: &Session, query: &str) -> Result<VisitPage, ApiError> {
    let path = if query.is_empty() {
        "/api/visits".to_string()
    } else {
        format!("/api/visits?{query}")
    };
    let v = api::get_json(session, &path).await?;
    let rows = get(&v, "rows");
    if !Array::is_array(&rows) {
        return Err(ApiError::BadBody);
    }
    Ok(VisitPage {
        total: get(&v, "total").as_f64().ok_or(ApiError::BadBody)? as u64,
        radius_m: get(&v, "radius_m").as_f64().unwrap_or(0.0) as u32,
        rows: Array::from(&rows).iter().filter_map(|r| row(&r)).collect(),
    })
}

/// `GET /api/history/{kind}/{id}`: the server's verdict on `doc`'s history.
pub async fn history_verdict(session: &Session, doc: &DocId) -> Result<Verdict, ApiError> {
    let v = api::get_json(session, &format!("/api/history/{}", doc.as_str())).await?;
    Ok(verdict(&v, "intact", "broken"))
}
