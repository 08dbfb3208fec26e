//! The enterprise's signature (企业签字) on the officer's screen, as plain functions (no
//! component type of their own: smaller download): the pad with the signer's name (the
//! drawing itself is `static/photos.js`'s, which wires every `canvas.sg`), reading it into a
//! stored PNG, and a signature as records show it ("企业签字：name, time" and the image, from
//! the device's store or the server like a photo).

use shared::doc::{DocKind, VisitDoc};
use shared::model::{Signature, Timestamp, Visit};
use shared::sync::protocol::DocId;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::widgets::{Ctx, bind};
use crate::infra::i18n::{self, Key, Lang};
use crate::infra::photos::{self, PickError};
use crate::infra::platform;
use crate::sync::SaveError;

/// The signer's name field (`{id}-name`), the pad `canvas.sg#{id}` and its clear button.
pub fn signature_pad(lang: Lang, id: &'static str, name: &UseStateHandle<String>) -> Html {
    let name_id = format!("{id}-name");
    html! {
        <div class="sig">
            <label for={name_id.clone()}>{ lang.t(Key::Signer) }</label>
            <input id={name_id} type="text" maxlength="50" value={(**name).clone()} oninput={bind(name)} />
            <p class="muted small">{ lang.t(Key::SignHere) }</p>
            <canvas class="sg" {id} width="600" height="220" />
            <button type="button" class="secondary sgx">{ lang.t(Key::SignAgain) }</button>
        </div>
    }
}

/// The signature drawn on pad `id` with its signer `name`, stored on the device as a PNG:
/// `None` when nothing is drawn; a message when the name is missing or the store failed.
pub async fn read(
    id: &str,
    name: &str,
    lang: Lang,
) -> Result<Option<(String, Signature)>, &'static str> {
    let name = name.trim();
    let signature = photos::signature(id).await.map_err(|e| {
        lang.t(match e {
            PickError::Quota => Key::PhotoQuota,
            PickError::NotImage | PickError::Storage => Key::PhotoStoreFailed,
        })
    })?;
    match signature {
        None => Ok(None),
        Some(_)
            if name.is_empty()
                || name.chars().count() > shared::model::signature::MAX_SIGNER_CHARS =>
        {
            Err(lang.t(Key::SignerMissing))
        }
        Some(s) => Ok(Some((name.to_string(), s))),
    }
}

/// A signature as a record shows it: "企业签字：name, time" and the image.
pub fn signed_line(lang: Lang, by_name: &str, at: Timestamp, signature: &Signature) -> Html {
    html! {
        <div class="signed">
            <p>{ lang.t(Key::Signed) }{ by_name.to_string() }{ "，" }{ platform::format_time(at) }</p>
            <span class="ph sig-img" data-h={signature.hash.clone()} data-t={lang.t(Key::PhotoOnPhone)}><img alt={by_name.to_string()} /></span>
        </div>
    }
}

/// The visit's confirmation: the signature (or the name of who confirmed), else the card
/// where the enterprise's representative signs (`name` and `message` are the page's state).
pub fn visit_card(
    ctx: &Ctx,
    visit: &Visit,
    name: &UseStateHandle<String>,
    message: &UseStateHandle<Option<String>>,
) -> Html {
    let lang = ctx.lang;
    if let Some(c) = &visit.confirmation {
        return match &c.signature {
            Some(s) => signed_line(lang, &c.by_name, c.at, s),
            None => {
                html! { <p class="signed">{ lang.t(Key::Signed) }{ c.by_name.clone() }{ "，" }{ platform::format_time(c.at) }</p> }
            }
        };
    }
    let save = {
        let core = ctx.core.clone();
        let (name, message) = (name.clone(), message.clone());
        let doc_id = DocId::new(DocKind::Visit, &visit.id.to_string());
        Callback::from(move |_: MouseEvent| {
            let (core, name, message, doc_id) =
                (core.clone(), name.clone(), message.clone(), doc_id.clone());
            spawn_local(async move {
                let (by_name, signature) = match read("visit-sig", &name, lang).await {
                    Ok(Some(signed)) => signed,
                    Ok(None) => return message.set(Some(lang.t(Key::NothingSigned).into())),
                    Err(m) => return message.set(Some(m.into())),
                };
                let (Some(actor), Some(record)) = (core.actor(), core.doc(&doc_id)) else {
                    return;
                };
                let signed = VisitDoc::from_record(record).and_then(|mut d| {
                    let now = platform::now();
                    d.edit(&actor, now, |v| v.sign(&by_name, now, &signature))
                        .map(|()| d)
                });
                match signed {
                    Ok(doc) => core.save(
                        vec![(doc_id, doc.into_record())],
                        Callback::from(move |r: Result<(), SaveError>| {
                            message.set(Some(match r {
                                Ok(()) => lang.t(Key::SavedOnDevice).to_string(),
                                Err(e) => i18n::save_error(lang, &e),
                            }));
                        }),
                    ),
                    Err(e) => message.set(Some(i18n::doc_error(lang, &e))),
                }
            });
        })
    };
    html! {
        <section class="card sign-visit">
            <h2>{ lang.t(Key::SignVisit) }</h2>
            { signature_pad(lang, "visit-sig", name) }
            if let Some(m) = &**message { <p class="hint" role="status">{ m.clone() }</p> }
            <button type="button" class="primary sign-save" onclick={save}>{ lang.t(Key::SignSave) }</button>
        </section>
    }
}
