//! The 连心卡 for officers, under `/api/enterprises/{id}/card` with a bearer token: the
//! card's link (made on first use), replacing it (a lost card) and revoking it, for whom the
//! rights table allows (`shared::workflow::rights::may_manage_card`) within their write
//! scope. The enterprise's public side is [`super::card_page`].

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::model::{EnterpriseId, Timestamp};
use shared::workflow::rights;

use super::error::ApiError;
use super::extract::ApiPath;
use crate::AppState;
use crate::auth::{Authenticated, now};
use crate::card::CardService;
use crate::db::AuditNote;
use crate::store::{AuditAction, StoreError};

/// Routes of this module, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/enterprises/{id}/card", get(card_info))
        .route("/enterprises/{id}/card/rotate", post(rotate))
        .route("/enterprises/{id}/card/revoke", post(revoke))
}

/// The card's link: `origin` + `/k/` + token.
pub fn card_link(origin: &str, token: &str) -> String {
    format!("{origin}/k/{token}")
}

/// The origin the request was made to (`Host`, and `X-Forwarded-Proto` from a TLS proxy in
/// front), from which the card's link is made.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// An enterprise's card as its officer's app shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CardInfo {
    /// The card's link (the capability URL the QR code holds).
    pub link: String,
    /// The printable card (A6; `?size=a4` for A4).
    pub print_url: String,
    /// The QR code as SVG.
    pub qr_url: String,
    /// When this card was made (server clock, ms).
    pub created_at: i64,
    /// The hotline printed on it.
    pub hotline: String,
}

fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "card store failure");
    ApiError::Internal
}

/// The enterprise `id` if the caller may manage its card: the rights table's say for the
/// role, and the enterprise in their write scope (else it answers like a missing one).
async fn managed(
    state: &AppState,
    auth: &Authenticated,
    id: &str,
) -> Result<EnterpriseId, ApiError> {
    rights::may_manage_card(auth.user.role).map_err(|d| ApiError::Forbidden(d.en()))?;
    let missing = || ApiError::NotFound(format!("no enterprise {id}"));
    let enterprise = EnterpriseId::parse(id).map_err(|_| missing())?;
    let at = now();
    let access = state
        .db()
        .directory()
        .access(auth.user.clone(), auth.device.clone(), at)
        .await
        .map_err(internal)?;
    let ok = access.write.contains(&enterprise)
        && state
            .db()
            .cards()
            .card_face(enterprise, at)
            .await
            .map_err(internal)?
            .is_some();
    if ok { Ok(enterprise) } else { Err(missing()) }
}

/// The audit entry of a card's change by the caller.
fn card_changed(auth: &Authenticated, enterprise: EnterpriseId, detail: &str) -> AuditNote {
    AuditNote {
        actor: auth.user.login.clone(),
        action: AuditAction::CardChanged,
        subject: enterprise.to_string(),
        detail: detail.into(),
    }
}

fn info(state: &AppState, headers: &HeaderMap, token: &str, created_at: Timestamp) -> CardInfo {
    let link = card_link(&origin(headers), token);
    CardInfo {
        print_url: format!("{link}/card"),
        qr_url: format!("{link}/qr.svg"),
        link,
        created_at: created_at.0,
        hotline: state.sync().config().hotline.clone(),
    }
}

fn no_store(info: CardInfo) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(info)).into_response()
}

/// `GET /api/enterprises/{id}/card`: the live card, made now if the enterprise has none.
async fn card_info(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let enterprise = managed(&state, &auth, &id).await?;
    let card = CardService::live_or_mint(state.sync(), enterprise, auth.user.id, now())
        .await
        .map_err(internal)?;
    Ok(no_store(info(
        &state,
        &headers,
        &card.token,
        card.created_at,
    )))
}

/// `POST /api/enterprises/{id}/card/rotate`: a new card; the old link stops working.
async fn rotate(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let enterprise = managed(&state, &auth, &id).await?;
    let at = now();
    let by = auth.user.id;
    let (token, hash) = crate::card::new_token();
    state
        .db()
        .cards()
        .replace_card(
            enterprise,
            (token.clone(), hash),
            by,
            at,
            card_changed(&auth, enterprise, "replaced"),
        )
        .await
        .map_err(internal)?;
    tracing::info!(%enterprise, user = %by, "card replaced");
    Ok(no_store(info(&state, &headers, &token, at)))
}

/// `POST /api/enterprises/{id}/card/revoke`: the card stops working and none replaces it
/// (until the next `GET` makes one).
async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let enterprise = managed(&state, &auth, &id).await?;
    let by = auth.user.id;
    state
        .db()
        .cards()
        .revoke_card(
            enterprise,
            by,
            now(),
            card_changed(&auth, enterprise, "revoked"),
        )
        .await
        .map_err(internal)?;
    tracing::info!(%enterprise, user = %by, "card revoked");
    Ok(StatusCode::NO_CONTENT)
}
