//! A department handler's inbox (待办). Placeholder until the screen is built.

use yew::prelude::*;

/// The inbox.
#[component]
pub fn Inbox() -> Html {
    html! { <main class="screen inbox"><h1>{ "待办" }</h1></main> }
}
