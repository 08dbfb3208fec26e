//! The app icon's badge (`navigator.setAppBadge`, `clearAppBadge`), where the browser has it
//! (an installed web app on Chromium-based browsers, among others); elsewhere nothing happens.

use wasm_bindgen::{JsCast, JsValue};

/// Shows `count` on the app icon, or clears it at 0. The browser's promise is not awaited: a
/// refusal (the app not installed) changes nothing the person sees.
pub fn set(count: u32) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    let name = if count == 0 {
        "clearAppBadge"
    } else {
        "setAppBadge"
    };
    let Ok(f) = js_sys::Reflect::get(&navigator, &JsValue::from_str(name)) else {
        return;
    };
    let Ok(f) = f.dyn_into::<js_sys::Function>() else {
        return;
    };
    let _ = if count == 0 {
        f.call0(&navigator)
    } else {
        f.call1(&navigator, &JsValue::from(count))
    };
}
