//! The top bar: the product's name and the language switch.

use yew::prelude::*;

use crate::infra::i18n::{Key, Lang};

/// Properties of [`Header`].
#[derive(Debug, PartialEq, Properties)]
pub struct HeaderProps {
    /// The language shown now.
    pub lang: Lang,
    /// Called when the person taps the language switch.
    pub on_switch_lang: Callback<()>,
}

/// The top bar.
#[component]
pub fn Header(props: &HeaderProps) -> Html {
    let other = props.lang.other();
    let onclick = props.on_switch_lang.reform(|_: MouseEvent| ());
    html! {
        <header class="app-header">
            <span class="brand">{ shared::PRODUCT_NAME }</span>
            <button
                type="button"
                class="lang-switch"
                lang={other.tag()}
                aria-label={props.lang.t(Key::SwitchLanguage)}
                {onclick}
            >
                { other.native_name() }
            </button>
        </header>
    }
}
