//! The administrator's enterprise calls, typed (`/api/admin/enterprises…`): the list with
//! duplicates by credit code, one profile, an edit (fields, position, contacts) and a merge.
//! Full bundle only.

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::admin::{AdminError, flag, int, list, post, seg, string};
use super::api::{self, Session, get, object, text};

/// One profile in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseRow {
    pub id: String,
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub town_name: String,
    pub key_enterprise: bool,
    /// Other profiles with the same credit code.
    pub duplicates: u32,
    /// The profile it was merged into.
    pub merged_into: Option<String>,
}

/// Profiles by name whose name, credit code or address contains `q`; only those with
/// duplicates when `duplicates`.
pub async fn enterprises(
    session: &Session,
    q: &str,
    duplicates: bool,
) -> Result<Vec<EnterpriseRow>, AdminError> {
    let mut path = format!("/api/admin/enterprises?limit=200&q={}", seg(q.trim()));
    if duplicates {
        path.push_str("&duplicates=true");
    }
    let v = api::get_json(session, &path).await?;
    Ok(list(&v, "rows")
        .iter()
        .map(|r| EnterpriseRow {
            id: string(r, "id"),
            credit_code: string(r, "credit_code"),
            name: string(r, "name"),
            address: string(r, "address"),
            town_name: string(r, "town_name"),
            key_enterprise: flag(r, "key_enterprise"),
            duplicates: int(r, "duplicates")
                .unwrap_or(0)
                .clamp(0, i64::from(u32::MAX)) as u32,
            merged_into: get(r, "merged_into").as_string(),
        })
        .collect())
}

/// A contact as the form holds it (no id: a new one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactForm {
    pub id: Option<String>,
    pub name: String,
    /// Role in the enterprise (职务).
    pub title: String,
    pub phone: String,
}

/// A profile as the form holds it (numbers as typed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseForm {
    pub id: String,
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub industry: String,
    /// `above` / `below`.
    pub size: String,
    pub key_enterprise: bool,
    pub lat: String,
    pub lon: String,
    pub accuracy_m: String,
    pub contacts: Vec<ContactForm>,
    /// The profile it was merged into (then it is not edited).
    pub merged_into: Option<String>,
    /// Visits and problems stored under it.
    pub records: i64,
}

fn number_text(v: &JsValue, key: &str) -> String {
    get(v, key)
        .as_f64()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

fn parse_form(v: &JsValue) -> EnterpriseForm {
    let position = get(v, "position");
    EnterpriseForm {
        id: string(v, "id"),
        credit_code: string(v, "credit_code"),
        name: string(v, "name"),
        address: string(v, "address"),
        industry: string(v, "industry"),
        size: string(v, "size"),
        key_enterprise: flag(v, "key_enterprise"),
        lat: number_text(&position, "lat"),
        lon: number_text(&position, "lon"),
        accuracy_m: number_text(&position, "accuracy_m"),
        contacts: list(v, "contacts")
            .iter()
            .map(|c| ContactForm {
                id: Some(string(c, "id")),
                name: string(c, "name"),
                title: string(c, "title"),
                phone: string(c, "phone"),
            })
            .collect(),
        merged_into: get(v, "merged_into").as_string(),
        records: int(v, "records").unwrap_or(0),
    }
}

/// One profile.
pub async fn enterprise(session: &Session, id: &str) -> Result<EnterpriseForm, AdminError> {
    let v = api::get_json(session, &format!("/api/admin/enterprises/{}", seg(id))).await?;
    Ok(parse_form(&v))
}

/// Why a form is not sent: a number that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotANumber(pub &'static str);

/// Saves the form (every field, the whole contact list); answers the profile as stored.
///
/// # Errors
/// The server's refusal (every bad field named), or [`NotANumber`] before sending.
pub async fn save_enterprise(
    session: &Session,
    form: &EnterpriseForm,
) -> Result<Result<EnterpriseForm, NotANumber>, AdminError> {
    let number = |s: &str, field: &'static str| -> Result<JsValue, NotANumber> {
        s.trim()
            .parse::<f64>()
            .map(JsValue::from_f64)
            .map_err(|_| NotANumber(field))
    };
    let mut fields = vec![
        ("name", text(form.name.trim())),
        ("address", text(form.address.trim())),
        ("industry", text(form.industry.trim())),
        ("size", text(&form.size)),
        ("key_enterprise", JsValue::from_bool(form.key_enterprise)),
    ];
    let typed = [&form.lat, &form.lon, &form.accuracy_m];
    if typed.iter().any(|s| !s.trim().is_empty()) {
        let (lat, lon, accuracy) = match (
            number(&form.lat, "lat"),
            number(&form.lon, "lon"),
            number(&form.accuracy_m, "accuracy_m"),
        ) {
            (Ok(lat), Ok(lon), Ok(accuracy)) => (lat, lon, accuracy),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(Err(e)),
        };
        let position = object(&[("lat", lat), ("lon", lon), ("accuracy_m", accuracy)]);
        fields.push(("position", position));
    }
    let contacts = Array::new();
    for c in &form.contacts {
        let id = c.id.as_deref().map_or(JsValue::NULL, text);
        contacts.push(&object(&[
            ("id", id),
            ("name", text(c.name.trim())),
            ("title", text(c.title.trim())),
            ("phone", text(c.phone.trim())),
        ]));
    }
    fields.push(("contacts", contacts.into()));
    let path = format!("/api/admin/enterprises/{}/edit", seg(&form.id));
    let v = post(session, &path, &object(&fields)).await?;
    Ok(Ok(parse_form(&v)))
}

/// Merges profile `absorb` into `keep`; answers how many records were re-pointed.
pub async fn merge_enterprises(
    session: &Session,
    keep: &str,
    absorb: &str,
) -> Result<i64, AdminError> {
    let path = format!("/api/admin/enterprises/{}/merge", seg(keep));
    let v = post(session, &path, &object(&[("absorb", text(absorb))])).await?;
    Ok(int(&v, "records_moved").unwrap_or(0))
}
