//! Bulletins (通报). Placeholder until the screens are built.

use yew::prelude::*;

/// Properties of [`BulletinPage`].
#[derive(Debug, PartialEq, Properties)]
pub struct BulletinPageProps {
    /// The bulletin's id.
    pub id: String,
}

/// Issued bulletins.
#[component]
pub fn BulletinList() -> Html {
    html! { <main class="screen bulletins"><h1>{ "通报" }</h1></main> }
}

/// One bulletin.
#[component]
pub fn BulletinPage(props: &BulletinPageProps) -> Html {
    html! { <main class="screen bulletin"><h1>{ props.id.clone() }</h1></main> }
}
