//! The API's own extractors for query strings, path segments and JSON bodies: axum's, with
//! their refusals answered as the API's JSON error ([`ApiError`]) instead of axum's plain
//! text, so every `/api` error has the one body the OpenAPI document describes.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize as _;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A query string read as `T`; a bad one is a 400 `bad_request` naming what is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

/// Path segments read as `T`; a bad one is a 400 `bad_request`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

/// A JSON body read as `T`: 415 without a JSON content type, 413 past the body limit, else a
/// 400 naming what is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(format!("the query string is not valid: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::BadRequest(format!("the path is not valid: {}", e.body_text()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        match e.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "the body must be JSON (Content-Type: application/json)".into(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            _ => ApiError::BadRequest(format!(
                "the body is not the expected JSON: {}",
                e.body_text()
            )),
        }
    }
}

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// A query parameter naming a code the server does not know: a 400 saying which.
pub fn unknown(what: &str, value: &str) -> ApiError {
    ApiError::BadRequest(format!("unknown {what} {value:?}"))
}

/// A `true`/`false` query parameter, absent when not given; anything else is a 400.
///
/// # Errors
/// When the value is neither `true` nor `false`.
pub fn true_or_false(name: &str, value: Option<&str>) -> Result<Option<bool>, ApiError> {
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false, not {other:?}"
        ))),
    }
}

/// A JSON integer, also when written with a fraction of zero: `7.0` is the integer 7 in JSON
/// Schema (what the OpenAPI document's `integer` means) and in JavaScript, which has one
/// number type.
///
/// # Errors
/// When the value is not a number, has a fraction, or is outside `i64`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    whole(serde_json::Number::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// A list of [`whole_number`]s.
///
/// # Errors
/// When an element is not a whole number within `i64`.
pub fn whole_numbers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    Vec::<serde_json::Number>::deserialize(d)?
        .into_iter()
        .map(|n| whole(n).map_err(serde::de::Error::custom))
        .collect()
}

/// 2^63 as a float: the first whole number past `i64`.
const PAST_I64: f64 = 9_223_372_036_854_775_808.0;

fn whole(n: serde_json::Number) -> Result<i64, String> {
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                // Open at both ends: a number written past i64 rounds to ±2^63 as a float.
                .filter(|f| f.fract() == 0.0 && -PAST_I64 < *f && *f < PAST_I64)
                .map(|f| f as i64)
        })
        .ok_or_else(|| format!("{n} is not a whole number within 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<i64, String> {
        whole(serde_json::from_str(json).map_err(|e| e.to_string())?)
    }

    #[test]
    fn a_whole_number_may_be_written_with_a_zero_fraction_but_not_past_64_bits() {
        assert_eq!(read("7"), Ok(7));
        assert_eq!(read("7.0"), Ok(7));
        assert_eq!(read("-9223372036854775808"), Ok(i64::MIN));
        assert!(read("7.5").is_err());
        assert!(read("-9223372036854775809").is_err());
        assert!(read("9223372036854775808").is_err());
        assert!(read("1e300").is_err());
    }
}
