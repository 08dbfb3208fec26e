//! Economic monitoring of a key enterprise. Placeholder until the screen is built.

use shared::model::EnterpriseId;
use yew::prelude::*;

/// Properties of [`MonitoringPage`].
#[derive(Debug, PartialEq, Properties)]
pub struct MonitoringPageProps {
    /// The enterprise.
    pub enterprise: EnterpriseId,
}

/// Monitoring figures of one enterprise.
#[component]
pub fn MonitoringPage(props: &MonitoringPageProps) -> Html {
    html! { <main class="screen monitoring"><h1>{ props.enterprise.to_string() }</h1></main> }
}
