//! The enterprise's 连心卡 from the officer's phone: fetches the card's link from the server
//! (`GET /api/enterprises/{id}/card`, made there on first use) and opens its printable page,
//! which shows the QR code, the officers, the hotline and the link (server-rendered: the
//! app carries no QR code of its own); replaces a lost card (`POST .../card/rotate`). Needs
//! the network: the card's link is the server's.

use shared::model::EnterpriseId;
use wasm_bindgen::JsValue;

use super::api::{self, ApiError, Session};
use super::i18n::Lang;

/// Opens the card of `enterprise` (its printable page) in a new tab, or in this one if the
/// browser refuses a new tab.
pub async fn open_card(session: &Session, enterprise: EnterpriseId) -> Result<(), ApiError> {
    let card = api::get_json(session, &format!("/api/enterprises/{enterprise}/card")).await?;
    open(&card)
}

/// Replaces the card of `enterprise` (the old link stops working at once) and opens the new
/// one.
pub async fn replace_card(session: &Session, enterprise: EnterpriseId) -> Result<(), ApiError> {
    let card = api::post_json(
        session,
        &format!("/api/enterprises/{enterprise}/card/rotate"),
        &JsValue::NULL,
    )
    .await?;
    open(&card)
}

fn open(card: &JsValue) -> Result<(), ApiError> {
    let url = api::get_str(card, "print_url").ok_or(ApiError::BadBody)?;
    let window = web_sys::window().ok_or(ApiError::BadBody)?;
    match window.open_with_url_and_target(&url, "_blank") {
        Ok(Some(_)) => Ok(()),
        _ => window
            .location()
            .assign(&url)
            .map_err(|_| ApiError::BadBody),
    }
}

/// Asks the officer to confirm replacing the card (the printed one stops working).
pub fn confirm_replace(lang: Lang) -> bool {
    web_sys::window()
        .and_then(|w| {
            w.confirm_with_message(lang.pick(
                "更换后，旧连心卡的二维码和链接立即失效。确定更换？",
                "The old card's QR code and link stop working at once. Replace the card?",
            ))
            .ok()
        })
        .unwrap_or(false)
}

/// Tells the officer why the card could not be opened.
pub fn report(lang: Lang, e: &ApiError) {
    let text = match e {
        ApiError::Unreachable => lang
            .pick(
                "无法连接服务器：连心卡需要联网打开。",
                "The server cannot be reached: the card needs the network.",
            )
            .to_string(),
        ApiError::TokenExpired => lang
            .pick(
                "登录已过期：同步后再试。",
                "The session expired: sync, then try again.",
            )
            .to_string(),
        ApiError::Status(_, m) => format!("{}{m}", lang.pick("服务器：", "Server: ")),
        other => format!(
            "{}{}",
            lang.pick("打开失败：", "Could not open: "),
            other.name()
        ),
    };
    if let Some(w) = web_sys::window() {
        let _ = w.alert_with_message(&text);
    }
}
