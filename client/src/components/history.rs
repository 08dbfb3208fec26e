//! The per-field history of a record: every field each change set, with who (person), which
//! device, and when by that device's clock — history as evidence.

use shared::doc::history::field_history;
use shared::sync::protocol::DocId;
use yew::prelude::*;

use super::widgets::{back, use_ctx};
use crate::infra::i18n::{self, Key};
use crate::infra::platform;
use crate::infra::route::Route;

/// Properties of [`HistoryPage`].
#[derive(Debug, PartialEq, Properties)]
pub struct HistoryPageProps {
    /// The record.
    pub doc: DocId,
}

/// The history page.
#[component]
pub fn HistoryPage(props: &HistoryPageProps) -> Html {
    let ctx = use_ctx();
    let lang = ctx.lang;
    let core = ctx.core.clone();
    let Some(mut record) = core.doc(&props.doc) else {
        return html! {
            <main class="screen">{ back(lang, &Route::Enterprises) }<p class="empty">{ lang.t(Key::NotOnDevice) }</p></main>
        };
    };
    let mut changes = field_history(&mut record);
    changes.reverse();
    let device = core.device();
    html! {
        <main class="screen history">
            { back(lang, &Route::of_doc(&props.doc)) }
            <h1>{ lang.t(Key::History) }</h1>
            <ol class="log history-list">
                { for changes.iter().filter(|c| shown(&c.field, c.value.as_deref())).map(|c| {
                    let who = match &c.author {
                        Some(a) => {
                            let person = i18n::person(lang, &core, a.user);
                            let dev = if a.device == device {
                                lang.t(Key::ThisDevice).to_string()
                            } else {
                                format!("{}{}", lang.t(Key::DeviceShort), &a.device.to_string()[..8])
                            };
                            format!("{person} · {dev}")
                        }
                        None => format!("{}{}", lang.t(Key::ActorShort), c.actor.chars().take(8).collect::<String>()),
                    };
                    let value = c.value.as_deref()
                        .map(|v| i18n::field_value(lang, &core.config, &c.field, v).chars().take(160).collect::<String>())
                        .unwrap_or_else(|| lang.t(Key::Removed).to_string());
                    html! {
                        <li class="history-entry">
                            <div class="muted">{ platform::format_time(c.device_time) }{ " · " }{ who }</div>
                            <div><strong>{ i18n::field_name(lang, &c.field) }</strong>{ ": " }{ value }
                                if c.conflict { <span class="badge conflict">{ lang.t(Key::Conflict) }</span> }
                            </div>
                        </li>
                    }
                }) }
            </ol>
        </main>
    }
}

/// Whether a history line says something to a person: not the document's header, not the
/// creation of an empty container, not the creation stamp (shown as the record's author).
fn shown(field: &str, value: Option<&str>) -> bool {
    let root = field.split('.').next().unwrap_or(field);
    !matches!(root, "schema" | "kind" | "id")
        && !root.starts_with("created_")
        && !value.is_some_and(|v| v.starts_with('<'))
}
