//! Photos on the phone: the typed face of `static/photos.js` (`globalThis.lxp`, loaded by
//! `index.html` before the app), which does the browser-heavy work in a few KB of JS instead
//! of wasm: decode with orientation, downscale to 1600 px, JPEG, SHA-256, the photo store (the
//! IndexedDB database `lianxin-photos`, apart from the records'), the tus upload loop and the
//! thumbnails of `.ph[data-h]` elements (`components::photos`), and the enterprise's
//! signature pads (`canvas.sg`: the drawing, the PNG, stored like a photo).

use js_sys::Promise;
use shared::model::{Photo, Position, SIGNATURE_TYPE, Signature, Timestamp};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use yew::platform::spawn_local;

use super::i18n::Key;

#[wasm_bindgen(js_namespace = lxp)]
extern "C" {
    #[wasm_bindgen(js_name = pick)]
    fn js_pick(input: &web_sys::HtmlInputElement) -> Promise;
    #[wasm_bindgen(js_name = up)]
    fn js_up(token: &str, hashes: &str);
    #[wasm_bindgen(js_name = sig)]
    fn js_sig(id: &str) -> Promise;
    #[wasm_bindgen(js_name = un)]
    fn js_unsent(hashes: &str) -> Promise;
    #[wasm_bindgen(js_name = st)]
    fn js_status() -> String;
    #[wasm_bindgen(js_name = on)]
    fn js_on(f: &Closure<dyn Fn()>);
    #[wasm_bindgen(js_name = wipe)]
    fn js_wipe() -> Promise;
}

/// Why chosen files were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickError {
    /// A file is not an image the browser can decode.
    NotImage,
    /// The device's storage is full: that photo was not stored.
    Quota,
    /// Another storage failure.
    Storage,
}

/// The photos chosen in `input`, each downscaled and stored on the device before it is
/// returned (taken where `position` says, if known).
pub async fn take(
    input: &web_sys::HtmlInputElement,
    position: Option<Position>,
) -> Result<Vec<Photo>, PickError> {
    let lines = match JsFuture::from(js_pick(input)).await {
        Ok(v) => v.as_string().unwrap_or_default(),
        Err(e) => {
            return Err(match e.as_string().as_deref() {
                Some("type") => PickError::NotImage,
                Some("quota") => PickError::Quota,
                _ => PickError::Storage,
            });
        }
    };
    Ok(lines
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            let hash = parts.next()?.to_string();
            let size = parts.next()?.parse().ok()?;
            let taken_at = Timestamp(parts.next()?.parse().ok()?);
            Some(Photo {
                hash,
                size,
                media_type: "image/jpeg".into(),
                caption: String::new(),
                taken_at,
                position,
            })
        })
        .collect())
}

/// A signature read from a pad: the signer's name and the stored PNG, or what went wrong.
pub type Signed = Result<(String, Signature), Key>;

/// The signature drawn on the pad `.sig#id` (`components::photos::signature_pad`), with its
/// signer's name (the input `#id-name`), stored on the device as a PNG like a photo, handed to `done`; else what is
/// missing or failed: [`Key::NothingSigned`] (nothing drawn), [`Key::SignerMissing`],
/// [`Key::PhotoQuota`], [`Key::PhotoStoreFailed`]. One boxed callback, not a generic one: each
/// caller's code is not copied into its own future.
pub fn signature(id: &'static str, done: Box<dyn FnOnce(Signed)>) {
    spawn_local(async move {
        done(match JsFuture::from(js_sig(id)).await {
            Ok(line) => {
                let line = line.as_string().unwrap_or_default();
                let mut parts = line.splitn(3, ' ');
                match (
                    parts.next(),
                    parts.next().and_then(|n| n.parse().ok()),
                    parts.next(),
                ) {
                    (Some(hash), Some(size), Some(name)) => Ok((
                        name.to_string(),
                        Signature {
                            hash: hash.to_string(),
                            size,
                            media_type: SIGNATURE_TYPE.into(),
                        },
                    )),
                    _ => Err(Key::PhotoStoreFailed),
                }
            }
            Err(e) => Err(match e.as_string().as_deref() {
                Some("none") => Key::NothingSigned,
                Some("name") => Key::SignerMissing,
                Some("quota") => Key::PhotoQuota,
                _ => Key::PhotoStoreFailed,
            }),
        });
    });
}

/// Uploads, in the background, the stored photos among `hashes` (photos of records the server
/// has) that the server lacks.
pub fn upload(token: &str, hashes: &str) {
    js_up(token, hashes);
}

/// `n/m` while photo n of m uploads, else empty.
pub fn progress() -> String {
    js_status()
}

/// Calls `f` whenever the upload progress changes.
pub fn on_progress(f: impl Fn() + 'static) {
    let closure = Closure::<dyn Fn()>::new(f);
    js_on(&closure);
    closure.forget();
}

/// Deletes every stored photo (a revoked device's wipe, a logout).
pub async fn wipe() {
    let _ = JsFuture::from(js_wipe()).await;
}

/// How many of `hashes` (space-separated) are stored on this device and not yet taken by the
/// server (a storage failure counts none: the guard cannot see them).
pub async fn unsent(hashes: &str) -> usize {
    match JsFuture::from(js_unsent(hashes)).await {
        Ok(n) => n.as_f64().map_or(0, |n| n as usize),
        Err(_) => 0,
    }
}
