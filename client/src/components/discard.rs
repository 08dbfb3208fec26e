//! "Discard my changes" (放弃本机修改) on a record the server refused: asks once more, then
//! the device drops its refused edits and the record is the server's again (or leaves the
//! device, if the server never took it).

use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::widgets::Ctx;
use crate::infra::i18n::{self, Key};
use crate::sync::SaveError;

/// Properties of [`DiscardButton`].
#[derive(PartialEq, Properties)]
pub struct DiscardProps {
    /// The app context.
    pub ctx: Ctx,
    /// The refused record.
    pub doc: DocId,
}

/// The button, its confirmation and its outcome.
#[component]
pub fn DiscardButton(props: &DiscardProps) -> Html {
    let lang = props.ctx.lang;
    let asking = use_state(|| false);
    let message = use_state(|| None::<(bool, String)>);
    let ask = {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(true))
    };
    let cancel = {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(false))
    };
    let confirm = {
        let (core, doc) = (props.ctx.core.clone(), props.doc.clone());
        let (asking, message) = (asking.clone(), message.clone());
        Callback::from(move |_: MouseEvent| {
            asking.set(false);
            let message = message.clone();
            core.discard(
                &doc,
                Callback::from(move |r: Result<(), SaveError>| {
                    message.set(Some(match r {
                        Ok(()) => (true, lang.t(Key::Discarded).to_string()),
                        Err(e) => (false, i18n::save_error(lang, &e)),
                    }));
                }),
            );
        })
    };
    html! {
        <div class="discard">
            if *asking {
                <p class="warn discard-confirm">{ lang.t(Key::DiscardConfirm) }</p>
                <button type="button" class="danger discard-yes" onclick={confirm}>{ lang.t(Key::Discard) }</button>
                <button type="button" class="secondary discard-no" onclick={cancel}>{ lang.t(Key::Cancel) }</button>
            } else {
                <button type="button" class="secondary discard-ask" onclick={ask}>{ lang.t(Key::Discard) }</button>
            }
            { match &*message {
                Some((true, m)) => html! { <p class="hint saved" role="status">{ m.clone() }</p> },
                Some((false, m)) => html! { <p class="field-error" role="alert">{ m.clone() }</p> },
                None => html! {},
            } }
        </div>
    }
}
