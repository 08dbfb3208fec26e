//! The landing screen: what Lianxin is, and whether the server can be reached.

use yew::prelude::*;

use super::server_status::ServerStatus;
use crate::infra::i18n::{Key, Lang};

/// Properties of [`Landing`].
#[derive(Debug, PartialEq, Properties)]
pub struct LandingProps {
    /// The language shown now.
    pub lang: Lang,
}

/// The first screen a person sees.
#[component]
pub fn Landing(props: &LandingProps) -> Html {
    let lang = props.lang;
    html! {
        <main class="landing">
            <h1>{ lang.t(Key::LandingTitle) }</h1>
            <p class="description">{ lang.t(Key::LandingDescription) }</p>
            <ServerStatus {lang} />
        </main>
    }
}
