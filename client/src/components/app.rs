//! The root component: owns the chosen language and lays out the header and the current screen.

use yew::prelude::*;

use super::header::Header;
use super::landing::Landing;
use crate::infra::{page, prefs};

/// The whole app.
#[component]
pub fn App() -> Html {
    let lang = use_state(prefs::load_lang);

    use_effect_with(*lang, |lang| page::apply_lang(*lang));

    let on_switch_lang = {
        let lang = lang.clone();
        Callback::from(move |()| {
            let next = lang.other();
            prefs::save_lang(next);
            lang.set(next);
        })
    };

    html! {
        <div class="app">
            <Header lang={*lang} on_switch_lang={on_switch_lang} />
            <Landing lang={*lang} />
        </div>
    }
}
