//! Small browser facts and services: the clock, randomness, whether the browser is online,
//! local time for display, geolocation for check-in, persistent storage and its estimate,
//! the browser's deflate (`CompressionStream`) for sync requests, a lock shared by the
//! app's tabs (Web Locks), saving bytes as a file the user downloads, and the app icon's
//! badge (`badge.js` beside this file).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Date, Promise, Reflect, Uint8Array};
use shared::model::{Position, PositionFix, Timestamp};
use wasm_bindgen::prelude::{Closure, wasm_bindgen};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The device's clock as an engine input (never `SystemTime`: it panics on wasm32).
pub fn now() -> Timestamp {
    Timestamp(Date::now() as i64)
}

/// 16 fresh random bytes for ids made on the device.
pub fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No crypto source: fall back to Math.random, still unique enough for ids.
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// A fresh random number for the engine's jitter.
pub fn random_u32() -> u32 {
    let b = random_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Whether the browser believes it has a network.
pub fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Minutes the device's time zone is east of UTC (480 in China).
pub fn utc_offset_minutes() -> i64 {
    -(Date::new_0().get_timezone_offset() as i64)
}

fn two(n: u32) -> String {
    format!("{n:02}")
}

/// `YYYY-MM-DD HH:MM` in the device's time zone.
pub fn format_time(t: Timestamp) -> String {
    let d = Date::new(&JsValue::from_f64(t.0 as f64));
    format!(
        "{}-{}-{} {}:{}",
        d.get_full_year(),
        two(d.get_month() + 1),
        two(d.get_date()),
        two(d.get_hours()),
        two(d.get_minutes())
    )
}

/// `YYYY-MM-DD` in the device's time zone.
pub fn format_date(t: Timestamp) -> String {
    let d = Date::new(&JsValue::from_f64(t.0 as f64));
    format!(
        "{}-{}-{}",
        d.get_full_year(),
        two(d.get_month() + 1),
        two(d.get_date())
    )
}

/// Asks for one position fix. A refused permission and an unavailable position are results
/// to record, not errors.
pub async fn locate() -> PositionFix {
    let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else {
        return PositionFix::Unavailable("no geolocation in this browser".into());
    };
    let slot: Rc<RefCell<Option<PositionFix>>> = Rc::new(RefCell::new(None));
    let promise = Promise::new(&mut |resolve, _reject| {
        let ok_slot = slot.clone();
        let ok_resolve = resolve.clone();
        let success = Closure::once_into_js(move |position: web_sys::Position| {
            let c = position.coords();
            let fix = match Position::new(c.latitude(), c.longitude(), c.accuracy()) {
                Ok(p) => PositionFix::Fixed(p),
                Err(e) => PositionFix::Unavailable(e.to_string()),
            };
            *ok_slot.borrow_mut() = Some(fix);
            let _ = ok_resolve.call0(&JsValue::NULL);
        });
        let err_slot = slot.clone();
        let err_resolve = resolve.clone();
        let failure = Closure::once_into_js(move |error: web_sys::PositionError| {
            let fix = if error.code() == web_sys::PositionError::PERMISSION_DENIED {
                PositionFix::PermissionRefused
            } else {
                PositionFix::Unavailable(error.message())
            };
            *err_slot.borrow_mut() = Some(fix);
            let _ = err_resolve.call0(&JsValue::NULL);
        });
        let options = web_sys::PositionOptions::new();
        options.set_enable_high_accuracy(true);
        options.set_timeout(20_000);
        options.set_maximum_age(60_000);
        if geo
            .get_current_position_with_error_callback_and_options(
                success.unchecked_ref(),
                Some(failure.unchecked_ref()),
                &options,
            )
            .is_err()
        {
            *slot.borrow_mut() = Some(PositionFix::Unavailable("geolocation failed".into()));
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
    slot.take()
        .unwrap_or_else(|| PositionFix::Unavailable("no answer".into()))
}

/// Asks the browser to keep this site's storage under pressure; `None` when it cannot say.
pub async fn request_persistent_storage() -> Option<bool> {
    let storage = web_sys::window()?.navigator().storage();
    if let Ok(p) = storage.persisted()
        && JsFuture::from(p).await.ok()?.as_bool() == Some(true)
    {
        return Some(true);
    }
    let answer = JsFuture::from(storage.persist().ok()?).await.ok()?;
    answer.as_bool()
}

/// Bytes used and the quota, as the browser estimates them.
pub async fn storage_estimate() -> Option<(f64, f64)> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let get = |name: &str| {
        Reflect::get(&estimate, &JsValue::from_str(name))
            .ok()?
            .as_f64()
    };
    Some((get("usage")?, get("quota")?))
}

/// The build id written into the page by `cargo xtask build-client`.
pub fn build_id() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("meta[name=lianxin-build]").ok().flatten())
        .and_then(|m| m.get_attribute("content"))
        .unwrap_or_default()
}

/// `bytes` as a raw DEFLATE stream (RFC 1951), compressed by the browser's
/// `CompressionStream("deflate-raw")`, so the app carries no compressor of its own; `None`
/// when the browser cannot (the caller then sends the bytes as they are).
pub async fn deflate_raw(bytes: &[u8]) -> Option<Vec<u8>> {
    use web_sys::{ReadableWritablePair, Response};
    // web-sys offers `CompressionStream` only behind its unstable-API flag: looked up instead.
    let constructor = Reflect::get(&js_sys::global(), &JsValue::from_str("CompressionStream"))
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let format = js_sys::Array::of1(&JsValue::from_str("deflate-raw"));
    let deflate = Reflect::construct(&constructor, &format).ok()?;
    let source = Response::new_with_opt_u8_array(Some(&mut bytes.to_vec()))
        .ok()?
        .body()?;
    // A `CompressionStream` is a readable/writable pair.
    let deflated = source.pipe_through(deflate.unchecked_ref::<ReadableWritablePair>());
    let buffer = Response::new_with_opt_readable_stream(Some(&deflated))
        .ok()?
        .array_buffer()
        .ok()?;
    let buffer = JsFuture::from(buffer).await.ok()?;
    Some(Uint8Array::new(&buffer).to_vec())
}

#[wasm_bindgen(module = "/src/infra/badge.js")]
extern "C" {
    /// Shows `n` on the app icon (none for 0) where the browser has the Badging API.
    fn badge(n: u32);
}

/// Shows `n` on the app icon (`navigator.setAppBadge`; cleared for 0), only where the browser
/// has it: elsewhere nothing happens and nothing fails.
pub fn set_badge(n: usize) {
    badge(u32::try_from(n).unwrap_or(u32::MAX));
}

/// Reloads the page.
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// Runs `work` holding the lock `name`, which every tab of the app shares (the Web Locks API,
/// `navigator.locks.request`): a tab asking for it waits until no other tab holds it. Where the
/// browser has no `navigator.locks` (an insecure origin, an old browser), `work` runs unlocked.
pub async fn with_tab_lock<T>(name: &str, work: impl Future<Output = T>) -> T {
    let locks = web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &JsValue::from_str("locks")).ok())
        .filter(|l| l.is_object());
    let request = locks.as_ref().and_then(|l| {
        Reflect::get(l, &JsValue::from_str("request"))
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()
    });
    let (Some(locks), Some(request)) = (locks, request) else {
        return work.await;
    };
    // The lock is held until `held` settles: `release` resolves it once `work` is done.
    let mut release = None;
    let held = Promise::new(&mut |resolve, _| release = Some(resolve));
    let granted = Promise::new(&mut |granted, _| {
        let held = held.clone();
        let on_grant = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            let _ = granted.call0(&JsValue::NULL);
            held.into()
        });
        // A request the browser refuses: the work runs unlocked rather than never.
        if request
            .call2(&locks, &JsValue::from_str(name), &on_grant)
            .is_err()
        {
            let _ = on_grant
                .unchecked_ref::<js_sys::Function>()
                .call1(&JsValue::NULL, &JsValue::NULL);
        }
    });
    let _ = JsFuture::from(granted).await;
    let out = work.await;
    if let Some(release) = release {
        let _ = release.call0(&JsValue::NULL);
    }
    out
}

/// Hands `bytes` to the browser as a download named `filename` (a Blob URL and a link the app
/// clicks), then releases the URL. `Err` names what the browser lacked.
pub async fn save_file(bytes: &[u8], filename: &str, mime: &str) -> Result<(), String> {
    use js_sys::{Array, Function, Object};
    let window = web_sys::window().ok_or("no window")?;
    // new Blob([bytes], {type}) and URL.createObjectURL, called through Reflect so the app
    // needs no extra web-sys features.
    let global: JsValue = window.clone().into();
    let blob_ctor: Function = Reflect::get(&global, &"Blob".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("no Blob")?;
    let options = Object::new();
    let _ = Reflect::set(&options, &"type".into(), &mime.into());
    let data = Uint8Array::from(bytes);
    let blob = Reflect::construct(&blob_ctor, &Array::of2(&Array::of1(&data), &options))
        .map_err(|_| "Blob")?;
    let url_api = Reflect::get(&global, &"URL".into()).map_err(|_| "no URL")?;
    let create: Function = Reflect::get(&url_api, &"createObjectURL".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("no createObjectURL")?;
    let url = create
        .call1(&url_api, &blob)
        .ok()
        .and_then(|u| u.as_string())
        .ok_or("createObjectURL")?;
    let document = window.document().ok_or("no document")?;
    let link = document.create_element("a").map_err(|_| "a")?;
    let _ = link.set_attribute("href", &url);
    let _ = link.set_attribute("download", filename);
    let _ = link.set_attribute("hidden", "");
    if let Some(root) = document.document_element() {
        let _ = root.append_child(&link);
    }
    if let Ok(click) = Reflect::get(&link, &"click".into()).and_then(|f| f.dyn_into::<Function>()) {
        let _ = click.call0(&link);
    }
    link.remove();
    // Give the browser time to start the download before the URL is released.
    yew::platform::time::sleep(std::time::Duration::from_secs(30)).await;
    if let Ok(revoke) =
        Reflect::get(&url_api, &"revokeObjectURL".into()).and_then(|f| f.dyn_into::<Function>())
    {
        let _ = revoke.call1(&url_api, &url.into());
    }
    Ok(())
}
