//! Photos on a record's screen (the visit form, the visit, the problem): the thumbnails and
//! the camera/gallery picker; and the enterprise's signature: the pad where it signs and a
//! signature as records show it. Plain functions (no component type of their own: smaller
//! download). The pictures and the pad's drawing are `static/photos.js`'s.

use shared::model::{Photo, Position, Timestamp};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::infra::i18n::{Key, Lang};
use crate::infra::photos::{self, PickError};
use crate::infra::platform;

/// The photos `photos`, the picker (when `onpick` is given; `id` names its input) and the
/// last picking error.
pub fn photo_section(
    lang: Lang,
    photos: &[Photo],
    id: &'static str,
    onpick: Option<Callback<Event>>,
    error: Option<&str>,
) -> Html {
    html! {
        <section class="photo-section">
            <h2>{ lang.t(Key::Photos) }{ " " }{ photos.len() }</h2>
            <div class="photos">
                { for photos.iter().map(|p| html! {
                    <span class="ph" key={p.hash.clone()} data-h={p.hash.clone()} data-t={lang.t(Key::PhotoOnPhone)}>
                        <img alt={p.caption.clone()} />
                    </span>
                }) }
            </div>
            if let Some(onchange) = onpick {
                <label for={id}>{ lang.t(Key::AddPhotos) }</label>
                <input {id} type="file" accept="image/*" capture="environment" multiple={true} {onchange} />
            }
            if let Some(error) = error { <p class="field-error" role="alert">{ error.to_string() }</p> }
        </section>
    }
}

/// Takes the photos chosen in the input of the change event `e` (taken at `position`, if
/// known): downscaled and stored on the device, then handed to `done`, or the message saying
/// why not.
pub fn pick(
    e: Event,
    position: Option<Position>,
    lang: Lang,
    done: impl FnOnce(Result<Vec<Photo>, &'static str>) + 'static,
) {
    let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() else {
        return;
    };
    spawn_local(async move {
        done(photos::take(&input, position).await.map_err(|e| {
            lang.t(match e {
                PickError::NotImage => Key::NotAnImage,
                PickError::Quota => Key::PhotoQuota,
                PickError::Storage => Key::PhotoStoreFailed,
            })
        }));
    });
}

/// The signature pad `.sig#id`: an empty element with the pad's words, which `photos.js`
/// fills (the signer's name field `{id}-name`, the canvas, the clear button) and reads when
/// the signature is saved: no markup, state or callbacks of its own in the wasm.
pub fn signature_pad(lang: Lang, id: &'static str) -> Html {
    html! { <div class="sig" {id} data-t={lang.t(Key::SignPad)} /> }
}

/// A confirmation as records show it: "企业签字：name, time" and the signature's image
/// (`hash`), from the device or the server like a photo (none: confirmed by name only).
pub fn signed_line(lang: Lang, by_name: &str, at: Timestamp, hash: Option<&str>) -> Html {
    html! {
        <div class="signed">
            <p>{ lang.t(Key::Signed) }{ by_name.to_string() }{ "，" }{ platform::format_time(at) }</p>
            if let Some(h) = hash {
                <span class="ph sig-img" data-h={h.to_string()} data-t={lang.t(Key::PhotoOnPhone)}><img alt={by_name.to_string()} /></span>
            }
        </div>
    }
}
