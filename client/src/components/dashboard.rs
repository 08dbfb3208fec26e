//! The leader dashboard (领导驾驶舱). Placeholder until the screen is built.

use yew::prelude::*;

/// The dashboard.
#[component]
pub fn Dashboard() -> Html {
    html! { <main class="screen dashboard"><h1>{ "驾驶舱" }</h1></main> }
}
