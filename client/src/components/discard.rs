//! "Discard my changes" (放弃本机修改) on a record the server refused: a second tap confirms
//! (a `<details>`, so the confirmation costs no component state), then the device drops its
//! refused edits and the record is the server's again, or leaves the device if the server
//! never took it. The refusal banner disappearing is the answer; a failure is announced.

use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::i18n::{self, Key};
use crate::sync::SaveError;

/// The discard control for the refused record `doc`.
pub fn discard_button(ctx: &Ctx, doc: &DocId) -> Html {
    let lang = ctx.lang;
    let confirm = {
        let (core, doc) = (ctx.core.clone(), doc.clone());
        Callback::from(move |_: MouseEvent| {
            core.discard(
                &doc,
                Callback::from(move |r: Result<(), SaveError>| {
                    if let (Err(e), Some(w)) = (r, web_sys::window()) {
                        let _ = w.alert_with_message(&i18n::save_error(lang, &e));
                    }
                }),
            );
        })
    };
    html! {
        <details class="discard">
            <summary class="button secondary discard-ask">{ lang.t(Key::Discard) }</summary>
            <p class="warn discard-confirm">{ lang.t(Key::DiscardConfirm) }</p>
            <button type="button" class="danger discard-yes" onclick={confirm}>{ lang.t(Key::Discard) }</button>
        </details>
    }
}
