//! `GET /api/supervision` (督办 as leaders follow it), typed: the page of instructions with
//! their states, read from the server's JSON.

use js_sys::Array;
use shared::supervision::SupervisionState;
use wasm_bindgen::JsValue;

use super::api::{self, ApiError, Session, get, get_str};

/// One instruction of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Entry id.
    pub id: String,
    /// Its problem's id.
    pub problem: String,
    /// The problem's description.
    pub description: String,
    /// The enterprise's name.
    pub enterprise: String,
    /// What was asked.
    pub text: String,
    /// Who gave it.
    pub by: String,
    /// When (ms).
    pub at: i64,
    /// To whom, by name.
    pub to: String,
    /// Due (ms).
    pub due: Option<i64>,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<(String, i64)>,
    /// Where it stands.
    pub state: SupervisionState,
}

/// A page of the list, with the matching rows counted per state.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Matching rows, all pages.
    pub total: u64,
    /// How many matching rows are in each state.
    pub by_state: Vec<(SupervisionState, u64)>,
    /// This page.
    pub rows: Vec<Row>,
}

fn number(v: &JsValue, key: &str) -> Option<f64> {
    get(v, key).as_f64()
}

fn name(v: &JsValue, key: &str) -> Option<String> {
    let named = get(v, key);
    if named.is_null() || named.is_undefined() {
        return None;
    }
    get_str(&named, "name")
        .filter(|n| !n.is_empty())
        .or_else(|| get_str(&named, "id"))
}

fn row(v: &JsValue) -> Option<Row> {
    Some(Row {
        id: get_str(v, "id")?,
        problem: get_str(v, "problem")?,
        description: get_str(v, "description").unwrap_or_default(),
        enterprise: name(v, "enterprise").unwrap_or_default(),
        text: get_str(v, "text").unwrap_or_default(),
        by: name(v, "by").unwrap_or_default(),
        at: number(v, "at")? as i64,
        to: name(v, "to_person")
            .or_else(|| name(v, "to_unit"))
            .unwrap_or_default(),
        due: number(v, "due").map(|d| d as i64),
        acknowledged: name(v, "acknowledged_by")
            .zip(number(v, "acknowledged_at").map(|t| t as i64)),
        state: SupervisionState::from_code(&get_str(v, "state")?).ok()?,
    })
}

/// The instructions in the person's scope in `states` (comma-separated codes; empty: the open
/// ones), first `limit`.
pub async fn list(session: &Session, states: &str, limit: u32) -> Result<Page, ApiError> {
    let path = if states.is_empty() {
        format!("/api/supervision?limit={limit}")
    } else {
        format!("/api/supervision?state={states}&limit={limit}")
    };
    let v = api::get_json(session, &path).await?;
    let rows = get(&v, "rows");
    let by_state = Array::from(&get(&v, "by_state"))
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            let state = SupervisionState::from_code(&pair.get(0).as_string()?).ok()?;
            Some((state, pair.get(1).as_f64()? as u64))
        })
        .collect();
    Ok(Page {
        total: number(&v, "total").unwrap_or(0.0) as u64,
        by_state,
        rows: Array::from(&rows).iter().filter_map(|r| row(&r)).collect(),
    })
}
