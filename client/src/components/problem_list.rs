//! The problem list with filters and batch actions, and the flag board. Placeholder until the
//! screens are built.

use yew::prelude::*;

/// Properties of [`ProblemList`].
#[derive(Debug, PartialEq, Properties)]
pub struct ProblemListProps {
    /// The list's query string (`/api/problems` parameters).
    pub query: String,
}

/// The problem list.
#[component]
pub fn ProblemList(props: &ProblemListProps) -> Html {
    html! { <main class="screen problems"><h1>{ props.query.clone() }</h1></main> }
}

/// The flag board.
#[component]
pub fn FlagBoard() -> Html {
    html! { <main class="screen flags"><h1>{ "红黄黑牌" }</h1></main> }
}
