//! Photos on a record's screen (the visit form, the visit, the problem): the thumbnails and
//! the camera/gallery picker, as plain functions (no component type of their own: smaller
//! download). The pictures themselves are filled in by `static/photos.js`.

use shared::model::{Photo, Position};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::infra::i18n::{Key, Lang};
use crate::infra::photos::{self, PickError};

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
