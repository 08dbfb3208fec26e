//! Small pieces every screen uses: the app context, form controls bound to state, badges for
//! flags and states, and field-error lines.
//!
//! A class chosen at run time is set as the element's property, `~className={…}`, on every
//! screen of the officer bundle, never as `class={…}`: yew turns a non-literal `class` into its
//! `Classes` set (an index map with its hash table), code the officer bundle's size budget
//! does without. Literal classes (`class="…"`) cost nothing; `classes!` stays in the full
//! bundle's screens. yew keeps the two apart (`className` and `class` are different names to
//! it): patching an element drawn with one into an element drawn with the other sets the new
//! and then unsets the old, and the class is lost. So every screen's `<main>` has a `key`
//! naming the screen (`tests/tests/screens_keyed.rs`), which makes a screen switch a new
//! element, and within a screen one place uses one of the two, never both.

use std::rc::Rc;

use js_sys::Reflect;
use shared::forms::FieldError;
use shared::model::{Flag, ProblemState};
use wasm_bindgen::JsValue;
use yew::prelude::*;

use crate::infra::i18n::{self, Key, Lang};
use crate::sync::Core;

/// What every screen reads: the device, the language, and a number that changes with any
/// change to show. The app passes it to each screen as a property (not a yew context: one
/// component type and its subscription code fewer in the app), so a screen renders again
/// whenever it changes.
#[derive(Clone)]
pub struct Ctx {
    /// The device.
    pub core: Rc<Core>,
    /// The language shown.
    pub lang: Lang,
    /// Changes whenever the records or the sync status changed.
    pub generation: u64,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("lang", &self.lang)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Ctx {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.core, &other.core)
            && self.lang == other.lang
            && self.generation == other.generation
    }
}

/// The `value` of the element an event came from (input, textarea or select).
pub fn event_value(e: &Event) -> String {
    e.target()
        .and_then(|t| Reflect::get(&t, &JsValue::from_str("value")).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// A callback that writes an input's text into `state`.
pub fn bind(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| state.set(event_value(&e)))
}

/// A callback that writes a select's choice into `state`.
pub fn bind_select(state: &UseStateHandle<String>) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |e: Event| state.set(event_value(&e)))
}

/// A `<select>` of `(code, label)` options with `value` chosen.
pub fn select(
    id: &str,
    value: &str,
    options: Vec<(String, String)>,
    placeholder: Option<&str>,
    onchange: Callback<Event>,
) -> Html {
    html! {
        <select id={id.to_string()} name={id.to_string()} {onchange}>
            if let Some(p) = placeholder {
                <option value="" selected={value.is_empty()} disabled=true>{ p }</option>
            }
            { for options.into_iter().map(|(code, label)| {
                let selected = code == value;
                html! { <option value={code} {selected}>{ label }</option> }
            }) }
        </select>
    }
}

/// The error lines of `field` (of problem sub-form `problem`, if any).
pub fn field_errors(
    lang: Lang,
    errors: &[FieldError],
    field: &str,
    problem: Option<usize>,
) -> Html {
    html! {
        { for errors.iter().filter(|e| e.field == field && e.problem == problem).map(|e| html! {
            <p class="field-error" role="alert">{ i18n::form_error(lang, &e.error) }</p>
        }) }
    }
}

/// A flag badge (红旗/绿旗/黑旗).
pub fn flag_badge(lang: Lang, flag: Flag) -> Html {
    let class = format!("badge flag-{}", flag.code());
    html! { <span ~className={class}>{ lang.pick(flag.zh(), flag.en()) }</span> }
}

/// The flag legend (旗色说明) shown wherever flags are: each flag with what gives it in this
/// district's rule table (`i18n::flag_rule`), and the flag when no rule matches.
pub fn flag_legend(lang: Lang, config: &shared::config::Config) -> Html {
    let rules = |flag: Flag| -> Vec<String> {
        let mut said: Vec<String> = config
            .flag_rules
            .iter()
            .filter(|r| r.flag == Some(flag))
            .map(|r| i18n::flag_rule(lang, r))
            .collect();
        if config.default_flag == flag {
            said.push(lang.pick("其他情况", "otherwise").into());
        }
        said
    };
    html! {
        <details class="flag-legend">
            <summary>{ lang.pick("旗色说明", "What the flags mean") }</summary>
            <ul>
                { for Flag::ALL.iter().map(|f| (*f, rules(*f))).filter(|(_, r)| !r.is_empty()).map(|(f, r)| html! {
                    <li data-flag={f.code()}>{ flag_badge(lang, f) }{ " " }{ r.join(lang.pick("；", "; ")) }</li>
                }) }
            </ul>
        </details>
    }
}

/// A problem-state badge.
pub fn state_badge(lang: Lang, state: ProblemState) -> Html {
    let class = if state.is_closed() {
        "badge state closed"
    } else {
        "badge state"
    };
    html! { <span ~className={class}>{ lang.pick(state.zh(), state.en()) }</span> }
}

/// A "back" link line.
pub fn back(lang: Lang, route: &crate::infra::route::Route) -> Html {
    let href = route.hash();
    html! { <a class="back" {href}>{ "‹ " }{ lang.t(Key::Back) }</a> }
}

/// The screen of a record this device does not hold. A device caught up with the server holds
/// every record its account may read, so then the record is outside what the account can see
/// (or does not exist: the server answers both alike); offline or mid-sync, it may be yet to
/// arrive.
pub fn missing(ctx: &Ctx) -> Html {
    let s = ctx.core.status();
    let caught_up = s.online && !s.unreachable && !s.syncing && s.last_success.is_some();
    let (key, class) = if caught_up {
        (Key::OutOfScope, "empty out-of-scope")
    } else {
        (Key::NotOnDevice, "empty")
    };
    html! {
        <main key="missing" class="screen">{ back(ctx.lang, &crate::infra::route::Route::Enterprises) }<p ~className={class}>{ ctx.lang.t(key) }</p></main>
    }
}
